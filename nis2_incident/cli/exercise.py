"""`exercise`: tabletop exercises as files (README: Tabletop exercises). `check` for CI, `schema`, `new`, `timeline`.

Exercises replay on a ledger of their own (a log in a temporary folder) at their own clock: `--ledger` and `--now` are accepted like
on every command, and never used. These are the Typer sub-commands, built from the declarations of
`options.py` (EXERCISE_CHECK, ...); their bodies are in `drills.py`, which the fast path runs too.
"""

from __future__ import annotations

import typer

from . import options
from .application import run_body as _run, with_options


exercise_app = typer.Typer(
    name="exercise",
    help="Tabletop exercises as TOML files: check them in CI (exit 0 pass, 1 fail, 3 invalid), print the "
    "format's JSON Schema, write a template, show a scenario's timeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@exercise_app.command("check")
@with_options(options.EXERCISE_CHECK)
def check_cmd(**params):
    """Replay each exercise on a ledger of its own at its own clock; report every missed deadline and
    failed expectation. Exit 0 all pass, 1 one fails, 3 one is invalid."""
    _run("exercise check", params)


@exercise_app.command("schema")
@with_options(options.EXERCISE_SCHEMA)
def schema_cmd(**params):
    """Print the JSON Schema of the exercise format, for editors (taplo, VS Code) and CI."""
    _run("exercise schema", params)


@exercise_app.command("new")
@with_options(options.EXERCISE_NEW)
def new_cmd(**params):
    """Write a commented template of an exercise (never overwrites a file)."""
    _run("exercise new", params)


@exercise_app.command("timeline")
@with_options(options.EXERCISE_TIMELINE)
def timeline_cmd(**params):
    """The scenario's timeline: T-relative and local times, actions, deadlines, expectations."""
    _run("exercise timeline", params)


__all__ = ["exercise_app"]
