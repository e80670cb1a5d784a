"""`ledger migrate OLD NEW`: convert between the JSON Lines log and the TOML or JSON document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from . import SETTINGS
from .application import JsonOpt, NowOpt, app
from .core import _report_write

ledger_app = typer.Typer(help="Convert the ledger between its formats (log, TOML, JSON), with the same hashes.",
                         no_args_is_help=True, rich_markup_mode=None)


@ledger_app.command("migrate")
def migrate_cmd(
    old: Annotated[str, typer.Argument(help="The ledger to read (.jsonl log, .toml or .json document).", show_default=False)],
    new: Annotated[str, typer.Argument(help="The ledger to create, in the format its name says (.jsonl, .toml, .json); never overwritten.", show_default=False)],
    now: NowOpt = None,
    json_out: JsonOpt = False,
):
    """Copy every event of OLD into a new ledger NEW (verified first, verified after): the same events,
    the same hashes, the same head, so kept heads still verify. OLD is left as it is."""
    from .. import timeutil as tu
    from ..ledger import Store
    from ..service import Service

    source, target = Path(old).expanduser(), Path(new).expanduser()
    if source.resolve() == target.resolve():
        raise InputError(f"{new}: the same file as {old}; accepted: a new file name, e.g. ledger.jsonl")
    store = Store(target, lock_timeout=SETTINGS.lock_timeout)
    service = Service(Store(source, lock_timeout=SETTINGS.lock_timeout), tu.now_utc(), regimes_dir=SETTINGS.regimes)
    outcome = service.migrate(store)
    info = outcome.value
    if json_out:
        from ..render.jsonout import emit

        emit(info)
    _report_write(outcome, f"migrated {info['events']} event(s), {info['incidents']} incident(s): "
                           f"{info['from']} -> {info['to']} ({store.kind})")


app.add_typer(ledger_app, name="ledger")
