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
from ..errors import InputError, LedgerError, Nis2IncidentError

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
    """The per-user ledger: `ledger.jsonl` in the user's data folder; a `ledger.toml` left there by
    an earlier version (and no log beside it) stays the default until it is migrated."""
    import platformdirs

    folder = platformdirs.user_data_path("nis2-incident", appauthor=False)
    log, older = folder / "ledger.jsonl", folder / "ledger.toml"
    return older if older.exists() and not log.exists() else log


def ledger_path(option: Optional[str] = None) -> Path:
    """The ledger's path: `--ledger` (the command's, then the global one), else $NIS2_INCIDENT_LEDGER,
    else the per-user default. An empty value is refused, never read as "not given" (issue 14). A
    symbolic link is resolved here, once, for every command: the lock, the derived files and the
    writes are those of the file it points to, so two paths to one ledger share one lock."""
    for name, value in (("--ledger", option), ("--ledger", SETTINGS.ledger), (f"${ENV_LEDGER}", os.environ.get(ENV_LEDGER))):
        if value is None:
            continue
        if not value.strip():
            raise InputError(f"{name} is empty; accepted: the path of a ledger file (or leave it unset for the "
                             f"default, {default_ledger_path()})")
        return _resolved(Path(value).expanduser())
    return _resolved(default_ledger_path())


def _resolved(path: Path) -> Path:
    if not path.is_symlink():
        return path  # as given (relative stays relative in messages)
    from ..ledger import safefile

    return safefile.resolve(path)


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
_TYPER_NAMES = {"app", "boundary", "fail", "LedgerOpt", "NowOpt", "JsonOpt", "LockOpt"}


def __getattr__(name: str):
    if name in _TYPER_NAMES:
        from . import application

        value = getattr(application, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _command_name(args: list[str]) -> str | None:
    """The command in argv, skipping global options and their values (`--ledger X --now Y check`)."""
    with_value = {"--ledger", "--now", "--lock-timeout", "--regimes"}
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in with_value:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main() -> None:
    """Console entry point. Usage errors of `check` exit 3 (UNKNOWN) as monitoring expects."""
    if "--debug" in sys.argv:
        SETTINGS.debug = True
    from . import fast

    try:
        code = fast.run(sys.argv[1:])
    except Nis2IncidentError as exc:  # with --debug, as below for the Typer app
        from ..render.safe import printable

        sys.stderr.write(f"error: {printable(exc.message)}\n")
        sys.exit(exc.exit_code)
    if code is not None:
        sys.exit(code)

    import typer

    from .application import app

    try:
        rv = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # Click's usage errors (unknown option, missing argument) arrive here.
        code = getattr(exc, "exit_code", None)
        show = getattr(exc, "show", None)
        if show is not None and code is not None:
            show()
            sys.exit(3 if _command_name(sys.argv[1:]) == "check" and code == 2 else code)
        if isinstance(exc, Nis2IncidentError):
            from ..render.safe import printable

            sys.stderr.write(f"error: {printable(exc.message)}\n")
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":  # Ctrl-C at a prompt
            sys.exit(130)
        raise
    sys.exit(rv if isinstance(rv, int) else 0)


__all__ = ["app", "main", "LedgerError"]
