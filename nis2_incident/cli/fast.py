"""`check`, `status` and `open` without Typer (issue 8): what cron runs every few minutes, what people
run at 03:00, and the write they make most.

Typer is not slow to import, but it builds the whole command tree and, since 0.2x, a pydantic
`TypeAdapter` for every parameter of the command it runs: about 130 ms before the command starts,
more than importing typer, rich, pendulum and pydantic together. `run(argv)` parses argv itself for
these three commands and runs the same bodies as the Typer app (`core.py`), under the same error
boundary (`core.guarded`).

It accepts only what it fully understands, with Click's meaning: the options listed in `SPECS`
spelled in full, before (global) or after (command) the command name as Typer accepts them, each
value as the next argument or after `=`, flags on or off, the last one given winning, repeatable
options collected, arguments anywhere after the command name. Anything else returns None and goes to
the Typer app, unchanged: `--help`, `--version`, a misspelt or unknown option, a missing value, a
flag given a value, `--`, short options other than `-f VALUE` and `-q`, too many arguments, bytes
that are not UTF-8, interactive `open` (no TITLE or no `--aware`), `status --watch`. So every usage
error keeps Click's message and exit code (3 for `check`). tests/test_fastpath.py compares `SPECS`
with the Typer app's own parameters, and both ways in on the same argv.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import SETTINGS


@dataclass(frozen=True)
class Spec:
    values: dict[str, str]  # option -> parameter, for options that take a value
    flags: dict[str, tuple[str, bool]] = field(default_factory=dict)  # flag -> (parameter, value it sets)
    multiple: frozenset[str] = frozenset()  # parameters whose option may be repeated (a list)
    arguments: tuple[str, ...] = ()  # positional parameters, in order (all optional here)


# Before the command name: the Typer app's callback (`application._global`); `--version` is left out.
GLOBAL = Spec(values={"--ledger": "ledger", "--now": "now", "--lock-timeout": "lock_timeout",
                      "--regimes": "regimes"},
              flags={"--debug": ("debug", True)})

_BOOL_PAIRS = {"significant": ("--significant", "--not-significant"), "malicious": ("--malicious", "--not-malicious"),
               "cross_border": ("--cross-border", "--no-cross-border"),
               "personal_data": ("--personal-data", "--no-personal-data"),
               "high_risk": ("--high-risk", "--no-high-risk"), "risk": ("--risk", "--no-risk"),
               "serious": ("--serious", "--not-serious")}

SPECS: dict[str, Spec] = {
    "check": Spec(values={"--within": "within", "--format": "fmt", "-f": "fmt", "--state": "state_path",
                          "--ledger": "ledger", "--now": "now"},
                  flags={"--all": ("all_", True), "--quiet": ("quiet", True), "-q": ("quiet", True),
                         "--dry-run": ("dry_run", True), "--json": ("json_out", True)}),
    "status": Spec(values={"--within": "within", "--ledger": "ledger", "--now": "now"},
                   flags={"--watch": ("watch", True), "--json": ("json_out", True)},
                   arguments=("ident",)),
    "open": Spec(values={"--aware": "aware", "--detected": "detected", "--rationale": "rationale",
                         "--risk-rationale": "risk_rationale", "--serious-rationale": "serious_rationale",
                         "--summary": "summary", "--severity": "severity", "--impact": "impact", "--ioc": "ioc",
                         "--root-cause": "root_cause", "--mitigations": "mitigations", "--ledger": "ledger",
                         "--now": "now", "--lock-timeout": "lock_timeout"},
                 flags={"--undetermined": ("undetermined", True), "--json": ("json_out", True),
                        **{on: (name, True) for name, (on, _) in _BOOL_PAIRS.items()},
                        **{off: (name, False) for name, (_, off) in _BOOL_PAIRS.items()}},
                 multiple=frozenset({"ioc"}),
                 arguments=("title",)),
}

_SECONDS = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,9})?$", re.ASCII)  # a --lock-timeout read the same everywhere


def parse(argv: list[str]) -> tuple[str, dict, dict] | None:
    """(command, global options, command parameters) when argv is for the fast path, else None."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 (surrogate escapes): leave them to Typer
            return None
    globals_: dict = {}
    i = _options(argv, 0, GLOBAL, globals_)
    if i is None or i >= len(argv) or argv[i] not in SPECS:
        return None
    command, spec, params = argv[i], SPECS[argv[i]], {}
    args: list[str] = []
    if _options_and_arguments(argv, i + 1, spec, params, args) is None or len(args) > len(spec.arguments):
        return None
    params.update(zip(spec.arguments, args))
    for key in ("lock_timeout",):
        for table in (globals_, params):
            if key in table:
                if not _SECONDS.match(table[key]):
                    return None  # leave Typer to accept or refuse it
                table[key] = float(table[key])
    return command, globals_, params


def _take(argv: list[str], i: int, spec: Spec, into: dict) -> int | None:
    """Read the option at argv[i] into `into`; the index after it, or None if it is not understood."""
    arg = argv[i]
    if arg in spec.flags:
        name, value = spec.flags[arg]
        into[name] = value
        return i + 1
    name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
    if name not in spec.values:
        return None
    if not eq:
        if i + 1 >= len(argv):
            return None  # Click: "Option '--now' requires an argument."
        value, i = argv[i + 1], i + 1
    param = spec.values[name]
    if param in spec.multiple:
        into.setdefault(param, []).append(value)
    else:
        into[param] = value
    return i + 1


def _options(argv: list[str], i: int, spec: Spec, into: dict) -> int | None:
    """Options from argv[i] up to the first argument (the command name); its index, or None."""
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            return i
        if arg == "--":
            return None
        nxt = _take(argv, i, spec, into)
        if nxt is None:
            return None
        i = nxt
    return i


def _options_and_arguments(argv: list[str], i: int, spec: Spec, into: dict, args: list[str]) -> int | None:
    """The command's options and arguments, interspersed, to the end of argv; len(argv), or None."""
    while i < len(argv):
        arg = argv[i]
        if arg == "--" or arg == "-":
            return None
        if not arg.startswith("-"):
            args.append(arg)
            i += 1
            continue
        nxt = _take(argv, i, spec, into)
        if nxt is None:
            return None
        i = nxt
    return i


def run(argv: list[str]) -> int | None:
    """Run argv's command here and return its exit code, or None to leave it to the Typer app."""
    parsed = parse(argv)
    if parsed is None:
        return None
    command, globals_, params = parsed
    if command == "open" and (params.get("title") is None or not params.get("aware")):
        return None  # interactive `open` (prompts) or its usage error: the Typer app's
    if command == "status" and params.get("watch"):
        return None  # the live dashboard: nothing to gain here
    # what the Typer app's callback does with the global options
    SETTINGS.ledger, SETTINGS.now = globals_.get("ledger"), globals_.get("now")
    SETTINGS.debug, SETTINGS.regimes = globals_.get("debug", False), globals_.get("regimes")
    if globals_.get("lock_timeout") is not None:
        SETTINGS.lock_timeout = globals_["lock_timeout"]
    from . import core

    body = {"check": core.check, "status": core.status, "open": core.open_incident}[command]
    return core.guarded(body, **params)
