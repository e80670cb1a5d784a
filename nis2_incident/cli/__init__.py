"""The command line: global options, the single error boundary, and the command groups.

Typer stays here; everything below takes plain values. Only this package reads the real clock
(through `--now` / `$NIS2_INCIDENT_NOW` or `timeutil.now_utc`).

Two ways in (issue 8). `main()` first offers argv to `fast.py`, which runs `check`, `status` and
`open` without importing Typer (whose parameter handling imports pydantic: 130 ms before a command
starts), for the argv shapes it fully understands: known options, spelled in full. Everything else
(`--help`, `--version`, an unknown or misspelt option, a missing value, interactive `open`, ...) goes
to the Typer app of `application.py`, as before. Both run the same command bodies (`core.py`), and
tests/test_fastpath.py checks that their options are the same and that they give the same output.
This module imports neither Typer nor Rich; `app` and the Typer helpers are loaded on first use.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .. import timeutil as tu
from ..errors import InputError, LedgerError

ENV_LEDGER = "NIS2_INCIDENT_LEDGER"
ENV_NOW = "NIS2_INCIDENT_NOW"


@dataclass
class Settings:
    ledger: Optional[str] = None
    now: Optional[str] = None
    lock_timeout: float = 10.0
    debug: bool = False
    regimes: Optional[str] = None


SETTINGS = Settings()


def default_ledger_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("nis2-incident", appauthor=False) / "ledger.toml"


def ledger_path(option: Optional[str] = None) -> Path:
    chosen = option or SETTINGS.ledger or os.environ.get(ENV_LEDGER)
    return Path(chosen).expanduser() if chosen else default_ledger_path()


def resolve_now(option: Optional[str], tz: str) -> "tu.datetime":
    text = option or SETTINGS.now or os.environ.get(ENV_NOW)
    real = tu.now_utc()
    if not text:
        return real
    try:
        return tu.parse_when(text, real, tz)
    except InputError as exc:
        raise InputError(f"--now: {exc.message}") from None


# The Typer app and its helpers, from application.py, imported when first asked for.
_TYPER_NAMES = {"app", "lazy_group", "LedgerOpt", "NowOpt", "JsonOpt", "LockOpt"}


def __getattr__(name: str):
    if name in _TYPER_NAMES:
        from . import application

        value = getattr(application, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: the Typer app, building only the command that runs, and leaving through
    the one exit point (`exits.finish`, called by `application.Group.main`)."""
    from .application import lazy_group

    lazy_group().main(args=sys.argv[1:] if argv is None else argv, prog_name="nis2-incident")


__all__ = ["app", "main", "LedgerError"]
