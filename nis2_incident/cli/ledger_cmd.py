"""`ledger migrate OLD NEW`: convert between the JSON Lines log, the TOML or JSON document and
PostgreSQL; `ledger pull --to FILE.jsonl` and `ledger push FILE.jsonl` (team mode's offline copy,
issue 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from . import SETTINGS, server_target
from .application import JsonOpt, LedgerOpt, NowOpt, app
from .core import _report_write

ledger_app = typer.Typer(help="Convert the ledger between its formats (log, TOML, JSON, PostgreSQL), with the same "
                              "hashes; pull and push an offline copy of a shared record.",
                         no_args_is_help=True, rich_markup_mode=None)


def _where(text: str):
    """A ledger named on the command line: a PostgreSQL connection string, else a file."""
    return server_target(text) or Path(text).expanduser()


def _kind(store) -> str:
    return getattr(store, "backend", store.kind)


@ledger_app.command("migrate")
def migrate_cmd(
    old: Annotated[str, typer.Argument(help="The ledger to read (.jsonl log, .toml or .json document, or a postgresql:// connection string).", show_default=False)],
    new: Annotated[str, typer.Argument(help="The ledger to create, in the format its name says (.jsonl, .toml, .json, or an empty PostgreSQL database); never overwritten.", show_default=False)],
    now: NowOpt = None,
    json_out: JsonOpt = False,
):
    """Copy every event of OLD into a new ledger NEW (verified first, verified after): the same events,
    the same hashes, the same head, so kept heads still verify. OLD is left as it is."""
    from .. import timeutil as tu
    from ..ledger import Store
    from ..service import Service

    source, target = _where(old), _where(new)
    if isinstance(source, Path) and isinstance(target, Path) and source.resolve() == target.resolve():
        raise InputError(f"{new}: the same file as {old}; accepted: a new file name, e.g. ledger.jsonl")
    if str(source) == str(target):
        raise InputError(f"{target}: the same ledger as {source}; accepted: another database or a file name")
    store = Store(target, lock_timeout=SETTINGS.lock_timeout)
    service = Service(Store(source, lock_timeout=SETTINGS.lock_timeout), tu.now_utc(), regimes_dir=SETTINGS.regimes)
    outcome = service.migrate(store)
    info = outcome.value
    if json_out:
        from ..render.jsonout import emit

        emit(info)
    _report_write(outcome, f"migrated {info['events']} event(s), {info['incidents']} incident(s): "
                           f"{info['from']} -> {info['to']} ({_kind(store)})")


@ledger_app.command("pull")
def pull_cmd(
    to: Annotated[str, typer.Option("--to", help="The local copy (a .jsonl log): created, or brought up to date; never given up if it holds events the record does not.", show_default=False)],
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    json_out: JsonOpt = False,
):
    """Copy the shared record (--ledger, e.g. postgresql://…) to a local log, to work on when the
    server is down: the same lines, the same hashes, so `verify --head` agrees."""
    from .. import team
    from .core import _service

    service = _service(ledger, now)
    outcome = team.pull(service, Path(to).expanduser())
    info = outcome.value
    if json_out:
        from ..render.jsonout import emit

        emit(info)
    _report_write(outcome, f"pulled {info['copied']} event(s): {info['from']} -> {info['to']} "
                           f"({info['events']} in all)")


@ledger_app.command("push")
def push_cmd(
    source: Annotated[str, typer.Argument(help="The local copy made by `ledger pull`, with the events recorded in it offline.", show_default=False)],
    rebase: Annotated[bool, typer.Option("--rebase", help="If the record moved since the pull, re-seal the offline events after its head (each keeps its original seq, hash and time under `offline`).")] = False,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    json_out: JsonOpt = False,
):
    """Append to the shared record (--ledger) the events recorded offline in a copy made by `ledger
    pull`: as they are if the record's head has not moved, else refused unless --rebase."""
    from .. import team
    from .core import _service

    service = _service(ledger, now)
    outcome = team.push(service, Path(source).expanduser(), rebase)
    info = outcome.value
    if json_out:
        from ..render.jsonout import emit

        emit(info)
    how = " (re-sealed after the record's head)" if info.get("rebased") else ""
    _report_write(outcome, f"pushed {info['pushed']} event(s){how}: {info['from']} -> {info['to']}")


app.add_typer(ledger_app, name="ledger")
