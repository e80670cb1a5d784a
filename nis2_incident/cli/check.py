"""`check`: the cron and monitoring entry point (README: check; issue 5): its options and help for the
Typer app. What it does is `core.check`, which `fast.py` also runs without Typer (issue 8); nothing on
its path imports Rich; `syslog` is imported only for `--format syslog`.

Read-only and lock-free on the ledger (it reads the file, which writers replace atomically). What was
announced is kept in its own state file beside the ledger, under that file's own lock.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .application import JsonOpt, LedgerOpt, NowOpt, app
from .core import FORMATS, _service, _within  # noqa: F401


@app.command("check")
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
    from . import core

    raise typer.Exit(core.check(within, fmt, all_, quiet, dry_run, state_path, ledger, now, json_out))
