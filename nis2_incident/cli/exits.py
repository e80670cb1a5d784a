"""The one exit point and the one writer of stderr (issue 16; jrnl's `main.run()`).

Every way in — the console script (`cli.main`), the Typer app called directly (`app()`), Click's
test runner — runs the command inside `Group.main` (application.py), which hands whatever the command
raised to `finish`. `finish` turns it into at most one `error: …` line on stderr and the documented
exit code:

- a project error (`errors.py`): its message, its exit code;
- a Click usage error (unknown command or option, missing or bad value): one line, exit 2;
- Ctrl-C, or Ctrl-C / Ctrl-D at a prompt: exit 130;
- anything else is a bug: `internal error: …`, exit 70.

`--debug` adds the traceback above that line and never changes the exit code. For `check`, every
failure exits 3 (UNKNOWN) and still gives monitoring its status: the `NIS2-INCIDENT UNKNOWN - …` line
on stdout, one JSON finding of level `unknown` with `--json`, or a syslog record with `--format
syslog` (see `report_unknown`).

This module imports neither Typer nor Rich: it runs at the end of every command, `check` included.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

# What `check` does with its UNKNOWN status once it knows its output format (set by `core.check`);
# None until then (a usage error of `check` is reported from its argv, see `application.Group`).
CHECK_FORMAT: dict = {"format": None}


def say(message: str) -> None:
    """The one writer of stderr: messages, warnings, errors. Plain text, never markup; control
    characters of user text escaped, newlines kept (issue 14: inert on a terminal)."""
    from ..render.safe import printable

    stream = sys.stderr
    try:
        stream.write(printable(message, newlines=True) + "\n")
        stream.flush()
    except (BrokenPipeError, ValueError):  # stderr closed: nothing else to tell
        pass


def _usage_message(exc) -> str:
    """Click's usage error as one line, lower-case first word, without Click's trailing period."""
    message = " ".join(str(exc.format_message()).split())
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    message = message.rstrip(".")
    if message == "missing command":
        message += " (see `nis2-incident --help`)"
    return message


def report_unknown(message: str, fmt: Optional[str]) -> None:
    """`check`'s UNKNOWN status, in its output format, on stdout (or syslog): monitoring always gets one."""
    from .. import alerts
    from ..render.safe import printable

    fmt = fmt or "text"
    message = printable(message)  # one line, inert on a terminal (issue 14)
    try:
        if fmt == "json":
            import json

            sys.stdout.write(json.dumps(alerts.unknown_record(message), ensure_ascii=False) + "\n")
        elif fmt == "syslog":
            from .core import syslog_available, _syslog

            if syslog_available():
                _syslog([(alerts.UNKNOWN, f"{alerts.MSGID_UNKNOWN} {message}")])
            sys.stdout.write(alerts.unknown_line(message) + "\n")
        else:
            sys.stdout.write(alerts.unknown_line(message) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass


def finish(exc: BaseException, command: Optional[str], check_format: Callable[[], Optional[str]] = lambda: None,
           debug: bool = False) -> int:
    """The exit code for what the command raised, after saying what went wrong (at most one line)."""
    code, message, trace = _classify(exc)
    if code is None:  # a clean exit (typer.Exit, --help, --version)
        return 0
    if isinstance(code, int) and message is None:
        return code
    if debug and trace:
        import traceback

        sys.stderr.write("".join(traceback.format_exception(exc)))
    if command == "check" and not isinstance(exc, KeyboardInterrupt) and code != 130:
        fmt = CHECK_FORMAT["format"] or check_format()
        report_unknown(message, fmt)
        code = 3
    say(message if message.startswith(("error:", "internal error:")) else f"error: {message}")
    return code


def click_exceptions():
    """Click's exception classes: Typer vendors Click since 0.2x (`typer._click`), older Typer uses Click."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - Typer before it vendored Click
        from click import exceptions
    return exceptions


def _classify(exc: BaseException) -> tuple[Optional[int], Optional[str], bool]:
    """(exit code, message or None, whether a traceback helps)."""
    from ..errors import Nis2IncidentError

    if isinstance(exc, Nis2IncidentError):
        return exc.exit_code, exc.message, True
    if isinstance(exc, SystemExit):
        code = exc.code
        return (code if isinstance(code, int) else (0 if code is None else 1)), None, False
    if isinstance(exc, KeyboardInterrupt):
        return 130, None, False
    import typer

    click_exc = click_exceptions()
    if isinstance(exc, typer.Exit):
        return exc.exit_code, None, False
    if isinstance(exc, typer.Abort):  # Ctrl-C or Ctrl-D at a prompt: nothing was recorded
        return 130, None, False
    if isinstance(exc, click_exc.NoArgsIsHelpError):
        exc.show()
        return 2, None, False
    if isinstance(exc, click_exc.UsageError):
        return 2, _usage_message(exc), False
    if isinstance(exc, click_exc.ClickException):
        return exc.exit_code, _usage_message(exc), False
    if isinstance(exc, BrokenPipeError):  # `status | head`: the reader left; nothing more to say
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0, None, False
    return 70, f"internal error: {type(exc).__name__}: {exc} (rerun with --debug and report it)", True
