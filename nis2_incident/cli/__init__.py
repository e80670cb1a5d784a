"""The command line: global options, the single error boundary, and the command groups.

Typer stays here; everything below takes plain values. Only this package reads the real clock
(through `--now` / `$NIS2_INCIDENT_NOW` or `timeutil.now_utc`).

Two ways in (issues 8 and 13). `main()` first offers argv to `fast.py`, which runs every command (the
`ledger` and `exercise` sub-commands included) without importing Typer (about 100 ms before a command
starts), for the argv shapes it fully understands: known options, spelled in full. Everything else
(`--help`, `--version`, an unknown or misspelt option, a missing value, ...) goes to the Typer app of
`application.py`, as before. Both read the options declared once in `options.py` and run the same
command bodies (`core.py`, `outputs.py`, `writes.py`, `drills.py`); tests/test_startup.py checks that they give the
same output.
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

from .options import ENV_LEDGER, ENV_NOW  # noqa: E402


@dataclass
class Settings:
    ledger: Optional[str] = None
    now: Optional[str] = None
    lock_timeout: float = 10.0
    debug: bool = False
    regimes: Optional[str] = None


SETTINGS = Settings()


def apply_globals(params: dict) -> None:
    """What the global options set: the Typer callback's (`application._global`) and the fast path's."""
    SETTINGS.ledger, SETTINGS.now = params.get("ledger"), params.get("now")
    SETTINGS.debug, SETTINGS.regimes = params.get("debug", False), params.get("regimes")
    if params.get("lock_timeout") is not None:
        SETTINGS.lock_timeout = params["lock_timeout"]


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
        server = server_target(value)
        if server is not None:
            return server
        return _resolved(Path(value).expanduser())
    return _resolved(default_ledger_path())


def server_target(value: str):
    """A PostgreSQL ledger (`postgresql://…`, `service=NAME`, libpq key=value; issue 15): its
    `pg.Target` (the connection string, shown without its password), else None (a file)."""
    from ..ledger.store import _maybe_server

    if not _maybe_server(value):
        return None
    from ..ledger import pg

    return pg.Target(value) if pg.is_target(value) else None


def is_server(path) -> bool:
    """Whether `ledger_path` gave a PostgreSQL ledger rather than a file."""
    return hasattr(path, "conninfo")


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
_TYPER_NAMES = {"app", "lazy_group", "LedgerOpt", "NowOpt", "JsonOpt", "LockOpt"}


def __getattr__(name: str):
    if name in _TYPER_NAMES:
        from . import application

        value = getattr(application, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point. The commands of `options.COMMANDS`, for the argv shapes `fast.py` fully
    understands, run without Typer; everything else runs in the Typer app, which builds only the command that runs. Both
    leave through the one exit point (`exits.finish`)."""
    import gc

    from . import fast

    # The cyclic garbage collector runs a collection every 700 new container objects (CPython's
    # default); a whole read at 10,000 incidents makes millions (events, incidents, obligations),
    # none of them in a reference cycle, and each older-generation pass walks everything alive: at
    # 10,000 incidents that was 0.5 s of the fold's 0.75 s and of the deadlines' 1.45 s (issue 13,
    # item 6). Every 10,000 keeps cycles collected (memory measured the same) at a fraction of the cost.
    gc.set_threshold(10_000, 10, 10)
    args = sys.argv[1:] if argv is None else list(argv)
    code = fast.run(args)
    if code is not None:
        sys.exit(code)
    from .application import lazy_group

    lazy_group().main(args=args, prog_name="nis2-incident")


__all__ = ["app", "main", "LedgerError"]
