"""The command line: global options, the single error boundary, and the command groups.

Typer stays here; everything below takes plain values. Only this package reads the real clock
(through `--now` / `$NIS2_INCIDENT_NOW` or `timeutil.now_utc`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import __version__
from .. import timeutil as tu
from ..errors import InputError, LedgerError, Nis2IncidentError

ENV_LEDGER = "NIS2_INCIDENT_LEDGER"
ENV_NOW = "NIS2_INCIDENT_NOW"

app = typer.Typer(
    name="nis2-incident",
    help="Record incidents, compute NIS 2 / GDPR / health-code reporting deadlines, keep a tamper-evident "
    "ledger. Not legal advice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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


# Options shared by every command (also accepted before the command name).
LedgerOpt = Annotated[Optional[str], typer.Option("--ledger", help=f"Ledger file (else ${ENV_LEDGER}, else the per-user data file; see `paths`).", show_default=False)]
NowOpt = Annotated[Optional[str], typer.Option("--now", help=f"Compute as of this instant (WHEN; else ${ENV_NOW}, else the clock).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]
LockOpt = Annotated[Optional[float], typer.Option("--lock-timeout", help="Seconds to wait for another writer (default 10).", show_default=False)]


def _version(value: bool):
    if value:
        typer.echo(f"nis2-incident {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    lock_timeout: LockOpt = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    regimes: Annotated[Optional[str], typer.Option("--regimes", help="A folder of regime files that add to or override the shipped ones (else the profile's regimes_dir).", show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
):
    SETTINGS.ledger, SETTINGS.now, SETTINGS.debug, SETTINGS.regimes = ledger, now, debug, regimes
    if lock_timeout is not None:
        SETTINGS.lock_timeout = lock_timeout


def fail(exc: Nis2IncidentError, code: int | None = None):
    from ..render.views import err_console

    err_console().print(f"error: {exc.message}", markup=False, soft_wrap=True)
    raise typer.Exit(code if code is not None else exc.exit_code)


def boundary(fn):
    """The single error boundary: project errors become one line on stderr and their exit code."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except Nis2IncidentError as exc:
            if SETTINGS.debug:
                raise
            fail(exc)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except typer.Abort:  # Ctrl-C or Ctrl-D at a prompt: nothing was recorded
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug: say so plainly, keep the traceback for --debug
            if SETTINGS.debug:
                raise
            from ..render.views import err_console

            err_console().print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug and report it)",
                                markup=False, soft_wrap=True)
            raise typer.Exit(70) from None

    return wrapper


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
            sys.stderr.write(f"error: {exc.message}\n")
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":  # Ctrl-C at a prompt
            sys.exit(130)
        raise
    sys.exit(rv if isinstance(rv, int) else 0)


from . import check, commands, drafts, exercise  # noqa: E402,F401  (registers the commands)

app.add_typer(exercise.exercise_app, name="exercise")

__all__ = ["app", "main", "LedgerError"]
