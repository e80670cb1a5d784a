"""`check`: the cron and monitoring entry point (SPEC §5). Kept apart so it stays light."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from . import SETTINGS, JsonOpt, LedgerOpt, NowOpt, app
from .commands import _service, _within


@app.command("check")
def check_cmd(
    within: Annotated[Optional[str], typer.Option("--within", help="Warn about what is due within this duration (default from the profile, e.g. 6h).", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing when the exit code is 0.")] = False,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    json_out: JsonOpt = False,
):
    """For cron and monitoring: exit 0 ok, 1 due soon, 2 overdue, 3 ledger unreadable or not verified."""
    from .. import alerts
    from ..errors import Nis2IncidentError

    try:
        service = _service(ledger, now)
        state, views = service.views()
        window = _within(service, state.profile, within)
    except Nis2IncidentError as exc:
        if SETTINGS.debug:
            raise
        if not json_out:
            typer.echo(f"NIS2-INCIDENT UNKNOWN - {exc.message}")
        from ..render.views import err_console

        err_console().print(f"error: {exc.message}", markup=False, soft_wrap=True)
        raise typer.Exit(alerts.UNKNOWN)
    found = alerts.findings(views, service.now, window)
    code = alerts.exit_code(found)
    if quiet and code == alerts.OK:
        raise typer.Exit(code)
    if json_out:
        for f in found:
            sys.stdout.write(json.dumps(alerts.json_record(f, service.now), ensure_ascii=False) + "\n")
    else:
        for f in found:
            typer.echo(alerts.text_line(f, service.now))
        open_count = sum(len(v.open_obligations) for v in views)
        typer.echo(alerts.summary_line(found, window, open_count))
    raise typer.Exit(code)
