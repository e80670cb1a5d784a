"""`check`: the cron and monitoring entry point (README: check; issue 5): its options and help for the
Typer app. What it does is `core.check`, which `fast.py` also runs without Typer (issue 8); nothing on
its path imports Rich; `syslog` is imported only for `--format syslog`.

Read-only and lock-free on the ledger (it reads the file, which writers replace atomically). What was
announced is kept in its own state file beside the ledger, under that file's own lock.
"""

from __future__ import annotations

import typer

from . import options
from .application import app, with_options
from .core import FORMATS, _service, _within  # noqa: F401


@app.command("check")
@with_options(options.CHECK)
def check_cmd(**params):
    """For cron and monitoring: exit 0 ok, 1 due soon or past a reminder step, 2 overdue, 3 ledger
    unreadable or not verified. Each reminder step is announced once (see the README)."""
    from . import core

    raise typer.Exit(core.check(**params))
