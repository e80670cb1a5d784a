"""`ledger migrate OLD NEW`: convert between the JSON Lines log, the TOML or JSON document and
PostgreSQL; `ledger pull --to FILE.jsonl` and `ledger push FILE.jsonl` (team mode's offline copy,
issue 15): the Typer sub-commands, built from the declarations of `options.py` (LEDGER_MIGRATE,
LEDGER_PULL, LEDGER_PUSH); their bodies are in `writes.py`, which the fast path runs too."""

from __future__ import annotations

import typer

from . import options
from .application import app, run_body as _run, with_options

ledger_app = typer.Typer(help="Convert the ledger between its formats (log, TOML, JSON, PostgreSQL), with the same "
                              "hashes; pull and push an offline copy of a shared record.",
                         no_args_is_help=True, rich_markup_mode=None)


@ledger_app.command("migrate")
@with_options(options.LEDGER_MIGRATE)
def migrate_cmd(**params):
    """Copy every event of OLD into a new ledger NEW (verified first, verified after): the same events,
    the same hashes, the same head, so kept heads still verify. OLD is left as it is."""
    _run("ledger migrate", params)


@ledger_app.command("pull")
@with_options(options.LEDGER_PULL)
def pull_cmd(**params):
    """Copy the shared record (--ledger, e.g. postgresql://…) to a local log, to work on when the
    server is down: the same lines, the same hashes, so `verify --head` agrees."""
    _run("ledger pull", params)


@ledger_app.command("push")
@with_options(options.LEDGER_PUSH)
def push_cmd(**params):
    """Append to the shared record (--ledger) the events recorded offline in a copy made by `ledger
    pull`: as they are if the record's head has not moved, else refused unless --rebase."""
    _run("ledger push", params)


app.add_typer(ledger_app, name="ledger")
