"""The Typer app: global options, the single error boundary, and the registered command groups.

`cli/__init__.py` keeps what needs no Typer (settings, paths, the clock, `main`); `fast.py` runs the
most frequent commands without this module (see `cli/__init__.py`).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import __version__
from ..errors import Nis2IncidentError
from . import ENV_LEDGER, ENV_NOW, SETTINGS

app = typer.Typer(
    name="nis2-incident",
    help="Record incidents, compute NIS 2 / GDPR / health-code reporting deadlines, keep a tamper-evident "
    "ledger. Not legal advice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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
    from .core import report_error

    report_error(exc)
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
            from .core import report_bug

            report_bug(exc)
            raise typer.Exit(70) from None

    return wrapper


from . import check, commands, drafts, exercise, ledger_cmd  # noqa: E402,F401  (registers the commands)

app.add_typer(exercise.exercise_app, name="exercise")

