"""`exercise`: tabletop exercises as files (README: Tabletop exercises). `check` for CI, `schema`, `new`, `timeline`.

Exercises replay on a ledger of their own (a log in a temporary folder) at their own clock: `--ledger` and `--now` are accepted like
on every command, and never used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InputError, StateError


exercise_app = typer.Typer(
    name="exercise",
    help="Tabletop exercises as TOML files: check them in CI (exit 0 pass, 1 fail, 3 invalid), print the "
    "format's JSON Schema, write a template, show a scenario's timeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

UnusedLedger = Annotated[Optional[str], typer.Option(
    "--ledger", help="Accepted like on every command and never read or written: exercises run on a "
                     "ledger of its own, in a temporary folder.", show_default=False)]
UnusedNow = Annotated[Optional[str], typer.Option(
    "--now", help="Accepted like on every command and not used: an exercise runs at its own clock (its T0, "
                  "actions and expectations).", show_default=False)]
JsonOut = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


from .exits import say as _say  # noqa: E402


@exercise_app.command("check")
def check_cmd(
    files: Annotated[list[str], typer.Argument(metavar="FILE", help="Exercise files, folders (their *.toml, recursively) or globs.")],
    junit: Annotated[Optional[str], typer.Option("--junit", help="Also write a JUnit XML report to this file (one test case per expectation).", show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", help="text (default), or github for GitHub Actions workflow annotations.")] = "text",
    json_out: JsonOut = False,
    ledger: UnusedLedger = None,
    now: UnusedNow = None,
):
    """Replay each exercise on a ledger of its own at its own clock; report every missed deadline and
    failed expectation. Exit 0 all pass, 1 one fails, 3 one is invalid."""
    from .. import exercise
    from ..render import exercise as report

    kind = fmt.strip().lower()
    if kind not in ("text", "github"):
        raise InputError(f"--format {fmt!r}; accepted: text, github (and --json for JSON)")
    if json_out and kind != "text":
        raise InputError("--json and --format github are exclusive; choose one")
    results = exercise.check(files)
    code = exercise.exit_code(results)
    if junit:
        target = Path(junit).expanduser()
        try:
            target.write_bytes(report.junit_xml(results))
        except OSError as exc:
            raise InputError(f"--junit {target}: cannot write ({exc.strerror or exc}); accepted: a file in an "
                             "existing, writable folder") from None
    if json_out:
        sys.stdout.write(json.dumps(report.as_json(results), ensure_ascii=False, indent=2) + "\n")
        raise typer.Exit(code)
    lines = report.github_lines(results) if kind == "github" else report.text_lines(results)
    for r in results:
        if r.error is not None:
            _say(f"error: {r.error.message}")
        for note in r.notes:
            _say(f"note: {note}")
    from ..render.safe import printable

    for line in lines:
        typer.echo(printable(line))
    raise typer.Exit(code)


@exercise_app.command("schema")
def schema_cmd():
    """Print the JSON Schema of the exercise format, for editors (taplo, VS Code) and CI."""
    from ..exercise import json_schema

    sys.stdout.write(json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n")


@exercise_app.command("new")
def new_cmd(
    file: Annotated[Optional[str], typer.Argument(metavar="[FILE]", help="Where to write the template (default: stdout).", show_default=False)] = None,
):
    """Write a commented template of an exercise (never overwrites a file)."""
    from ..exercise import TEMPLATE

    if not file:
        sys.stdout.write(TEMPLATE)
        return
    target = Path(file).expanduser()
    if target.parent.exists() and not target.parent.is_dir():
        raise InputError(f"{target}: {target.parent} is a file, not a folder; accepted: a new file in a folder")
    if target.is_dir():
        raise StateError(f"{target}: is a folder; accepted: a new file name, e.g. {target / 'drill.toml'}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # as `init` does for the ledger's folder
        with open(target, "x", encoding="utf-8") as fh:
            fh.write(TEMPLATE)
    except FileExistsError:
        raise StateError(f"{target}: already exists; it is never overwritten. Choose another name") from None
    except OSError as exc:
        raise InputError(f"{target}: cannot write ({exc.strerror or exc}); accepted: a new file in a writable "
                         "folder") from None
    _say(f"wrote {target}; check it with `nis2-incident exercise check {target}`")


@exercise_app.command("timeline")
def timeline_cmd(
    file: Annotated[str, typer.Argument(metavar="FILE", help="An exercise file.")],
    json_out: JsonOut = False,
    ledger: UnusedLedger = None,
    now: UnusedNow = None,
):
    """The scenario's timeline: T-relative and local times, actions, deadlines, expectations."""
    from .. import exercise
    from ..render import exercise as report

    result = exercise.check_file(file)
    if result.error is not None:
        raise result.error
    if json_out:
        sys.stdout.write(json.dumps(report.timeline_json(result), ensure_ascii=False, indent=2) + "\n")
        return
    from ..render.views import out_console

    out_console().print(report.timeline(result))


__all__ = ["exercise_app"]
