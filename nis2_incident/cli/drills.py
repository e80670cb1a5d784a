"""The bodies of the `exercise` sub-commands (README: Tabletop exercises), without Typer (issue 13 item
7): the fast path (`fast.py`) and the Typer sub-commands (`exercise.py`) run them, with the options
declared once in `options.py` (EXERCISE_CHECK, ...). Exercises replay on a ledger of their own at their
own clock: `--ledger` and `--now` are accepted like on every command, and never used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

from ..errors import InputError, StateError
from .core import echo
from .exits import say as _say


def check(files: list[str], junit: Optional[str] = None, fmt: str = "text", json_out: bool = False,
          ledger: Optional[str] = None, now: Optional[str] = None) -> int:
    """`exercise check`: the exit code (0 all pass, 1 one fails, 3 one is invalid)."""
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
        return code
    lines = report.github_lines(results) if kind == "github" else report.text_lines(results)
    for r in results:
        if r.error is not None:
            _say(f"error: {r.error.message}")
        for note in r.notes:
            _say(f"note: {note}")
    from ..render.safe import printable

    for line in lines:
        echo(printable(line))
    return code


def schema() -> int:
    """`exercise schema`: the JSON Schema of the exercise format."""
    from ..exercise import json_schema

    sys.stdout.write(json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n")
    return 0


def new(file: Optional[str] = None) -> int:
    """`exercise new [FILE]`: a commented template (never overwrites a file)."""
    from ..exercise import TEMPLATE

    if not file:
        sys.stdout.write(TEMPLATE)
        return 0
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
    return 0


def timeline(file: str, json_out: bool = False, ledger: Optional[str] = None, now: Optional[str] = None) -> int:
    """`exercise timeline FILE`: T-relative and local times, actions, deadlines, expectations."""
    from .. import exercise
    from ..render import exercise as report

    result = exercise.check_file(file)
    if result.error is not None:
        raise result.error
    if json_out:
        sys.stdout.write(json.dumps(report.timeline_json(result), ensure_ascii=False, indent=2) + "\n")
        return 0
    from ..render.views import out_console

    out_console().print(report.timeline(result))
    return 0
