"""`check`: the cron and monitoring entry point (SPEC §5, issue 5). Kept apart so it stays light:
nothing on its path imports Rich; `syslog` is imported only for `--format syslog`.

Read-only and lock-free on the ledger (it reads the file, which writers replace atomically). What was
announced is kept in its own state file beside the ledger, under that file's own lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import SETTINGS, JsonOpt, LedgerOpt, NowOpt, app, boundary
from .commands import _service, _within

FORMATS = ("text", "nagios", "json", "syslog")


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


def _syslog(records: list[tuple[int, str]]) -> None:
    """Send (level, message) pairs to the local syslog (facility user, ident nis2-incident)."""
    import syslog

    from .. import alerts

    priority = {alerts.WARNING: syslog.LOG_WARNING, alerts.CRITICAL: syslog.LOG_CRIT, alerts.UNKNOWN: syslog.LOG_ERR}
    syslog.openlog("nis2-incident", syslog.LOG_PID, syslog.LOG_USER)
    try:
        for level, message in records:
            syslog.syslog(priority.get(level, syslog.LOG_NOTICE), message)
    finally:
        syslog.closelog()


@app.command("check")
@boundary
def check_cmd(
    within: Annotated[Optional[str], typer.Option("--within", help="Warn about what is due within this duration (default from the profile, e.g. 6h).", show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text (one line a finding, then the Nagios summary), nagios (status line with perfdata first, then every current finding; no state), json (JSON lines), syslog (each finding to the local syslog).")] = "text",
    all_: Annotated[bool, typer.Option("--all", help="Announce every current finding, new or not, and leave the state file as it is.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing when there is nothing new to announce (errors are always printed).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Announce what is new but do not record it in the state file.")] = False,
    state_path: Annotated[Optional[str], typer.Option("--state", help="The file that remembers what was announced (default: <ledger>.check-state.json beside the ledger).", show_default=False)] = None,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    json_out: JsonOpt = False,
):
    """For cron and monitoring: exit 0 ok, 1 due soon or past a reminder step, 2 overdue, 3 ledger
    unreadable or not verified. Each reminder step is announced once (see the README)."""
    from .. import alerts
    from .. import timeutil as tu
    from ..errors import InputError, Nis2IncidentError

    chosen = (fmt or "").strip().lower()
    try:
        if chosen not in FORMATS:
            raise InputError(f"--format {fmt!r}; accepted: {', '.join(FORMATS)}")
        if json_out and chosen not in ("text", "json"):
            raise InputError(f"--json is --format json; it cannot go with --format {chosen}")
        if json_out:
            chosen = "json"
        service = _service(ledger, now)
        state, views = service.views()
        window = _within(service, state.profile, within)
    except Nis2IncidentError as exc:
        # Exit 3 every time, whatever the state file says: a broken record is never old news.
        if SETTINGS.debug:
            raise
        if chosen in ("text", "nagios"):
            sys.stdout.write(alerts.unknown_line(exc.message) + "\n")
        elif chosen == "syslog":
            _syslog([(alerts.UNKNOWN, f"{alerts.MSGID_UNKNOWN} {exc.message}")])
        _stderr(f"error: {exc.message}")
        raise typer.Exit(alerts.UNKNOWN)

    clock = service.now
    found = alerts.findings(views, clock, window)
    code = alerts.exit_code(found)
    open_count = sum(len(v.open_obligations) for v in views)
    summary = alerts.summary_line(found, window, open_count)

    if chosen == "nagios":
        # A Nagios-family scheduler wants the current state every time and does its own notification
        # logic: the status line (with perfdata) first, then every current finding as long output.
        lines = [summary] + [alerts.text_line(f, clock) for f in found]
        sys.stdout.write("\n".join(lines) + "\n")
        raise typer.Exit(code)

    def emit(announce: list, fresh: set) -> None:
        """Print (or send) the announced findings and the summary; nothing at all under --quiet when
        nothing is new (--all: when there is no finding)."""
        if quiet and not (announce if all_ else fresh):
            return
        if chosen == "json":
            for f in announce:
                sys.stdout.write(json.dumps(alerts.json_record(f, clock, f.key in fresh), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        if chosen == "syslog":
            if announce:
                _syslog([(f.level, alerts.syslog_message(f, clock)) for f in announce])
        else:
            for f in announce:
                sys.stdout.write(alerts.text_line(f, clock) + "\n")
        sys.stdout.write(summary + "\n")
        sys.stdout.flush()

    from ..alert_state import StateFile, default_path

    store_path = service.store.path
    state_file = StateFile(Path(state_path).expanduser() if state_path else default_path(store_path),
                           lock_timeout=SETTINGS.lock_timeout)
    if all_:
        announced, warning = state_file.load()  # read only: to tell which findings are new
        if warning:
            _stderr(f"warning: {warning}")
        new, _ = alerts.select_new(found, announced, clock)
        emit(found, {f.key for f in new})
        raise typer.Exit(code)

    new = None
    try:
        with state_file.locked():
            announced, warning = state_file.load()
            if warning:
                _stderr(f"warning: {warning}")
            new, keep = alerts.select_new(found, announced, clock)
            emit(new, {f.key for f in new})  # announce first: a crash before saving repeats, never loses
            if not dry_run and keep != announced:
                state_file.save(keep, store_path.resolve(), tu.rfc3339(clock))
    except Nis2IncidentError as exc:
        # The state could not be locked or written: say so, and announce rather than stay silent.
        if SETTINGS.debug:
            raise
        _stderr(f"warning: {exc.message}")
        if new is None:
            new, _ = alerts.select_new(found, {}, clock)
            emit(new, {f.key for f in new})
    raise typer.Exit(code)
