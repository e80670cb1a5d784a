"""Every command (`ledger` and `exercise` sub-commands included) without Typer (issues 8 and 13 item 7):
what cron runs every few minutes, what people run at 03:00, and the on-call writes.

Importing Typer and building its command costs about 100-120 ms of CPU (benchmarks/README.md, row 7),
as much as the whole baseline. `run(argv)` parses argv itself for the commands of
`options.COMMANDS`, with the options declared once there (from which the Typer app builds the same
commands), and runs the same bodies (`BODIES`: `core.py`, `outputs.py`, `writes.py`, `drills.py`) through the same
exit point (`exits.finish`).

It accepts only what it fully understands, with Click's meaning: the declared options spelled in full,
before (global) or after (command) the command name as Typer accepts them, each value as the next
argument or after `=`, flags on, the last one given winning, arguments anywhere after the command
name. Anything else returns None and goes to the Typer app, unchanged: `--help`, `--version`, a
misspelt or unknown option, a missing value, a flag given a value, `--`, short options other than
`-f VALUE`, `-o VALUE` and `-q`, too many arguments, a required option left out (`init --name`), bytes
that are not UTF-8, `status --watch`, a group without its sub-command. So every usage error keeps Click's
message (exit 3 for `check`). tests/test_startup.py runs both ways in on the same
argv and compares everything they print and write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import SETTINGS, options


@dataclass(frozen=True)
class Spec:
    values: dict[str, str]  # option -> parameter, for options that take a value
    flags: dict[str, tuple[str, bool]] = field(default_factory=dict)  # flag -> (parameter, value it sets)
    multiple: frozenset[str] = frozenset()  # parameters whose option may be repeated (a list)
    arguments: tuple[str, ...] = ()  # positional parameters, in order
    required: int = 0  # how many of them must be given
    needed: frozenset[str] = frozenset()  # parameters of options that must be given (`init --name`)
    variadic: bool = False  # the one argument takes every value given (`exercise check FILE...`)


def spec_of(opts) -> Spec:
    """The parser's view of options declared in `options.py`: derived, never written a second time."""
    values = {d: o.param for o in opts if not o.flag and not o.off and not o.argument for d in o.decls}
    flags = {d: (o.param, True) for o in opts if o.flag or o.off for d in o.decls}
    flags.update({d: (o.param, False) for o in opts if o.off for d in o.off})
    return Spec(values=values, flags=flags, multiple=frozenset(o.param for o in opts if o.multiple),
                arguments=tuple(o.param for o in opts if o.argument),
                required=sum(1 for o in opts if o.argument and o.required),
                needed=frozenset(o.param for o in opts if o.required and not o.argument),
                variadic=any(o.argument and o.multiple for o in opts))


GLOBAL = spec_of(options.GLOBAL)
SPECS: dict[str, Spec] = {name: spec_of(opts) for name, opts in options.COMMANDS.items()}
GROUPS = frozenset(name.partition(" ")[0] for name in SPECS if " " in name)  # `ledger`, `exercise`

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
    if i is None or i >= len(argv):
        return None
    if argv[i] in GROUPS:  # `ledger migrate`: a group takes no option of its own (`--help` is Typer's)
        if i + 1 >= len(argv) or f"{argv[i]} {argv[i + 1]}" not in SPECS:
            return None
        argv, i = [*argv[:i], f"{argv[i]} {argv[i + 1]}", *argv[i + 2:]], i
    if argv[i] not in SPECS:
        return None
    command, spec, params = argv[i], SPECS[argv[i]], {}
    args: list[str] = []
    if _options_and_arguments(argv, i + 1, spec, params, args) is None or not spec.needed <= params.keys():
        return None  # Click's usage error (missing option, ...), from the Typer app
    if spec.variadic:  # (the only argument of its command)
        if not args and spec.required:
            return None  # Click: "Missing argument 'FILE...'"
        params[spec.arguments[0]] = args
    elif len(args) > len(spec.arguments) or len(args) < spec.required:
        return None  # Click's usage error (missing or extra argument), from the Typer app
    else:
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
            return None  # Click: "Option ... requires an argument."
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


# Each command's body: (module of this package, function), run with the parameters of its declaration.
# The Typer commands (check.py, commands.py, drafts.py) run the same functions.
BODIES = {"check": ("core", "check"), "status": ("core", "status"), "show": ("core", "show"),
          "explain": ("core", "explain"), "list": ("core", "list_incidents"), "verify": ("core", "verify"),
          "open": ("core", "open_command"), "draft": ("outputs", "draft"), "export": ("outputs", "export"),
          "update": ("writes", "update"), "submit": ("writes", "submit"), "request": ("writes", "request"),
          "handled": ("writes", "handled"), "close": ("writes", "close"), "triage": ("writes", "triage"),
          "classify": ("writes", "classify"), "paths": ("writes", "paths"), "report": ("writes", "report"),
          "init": ("writes", "init"), "profile": ("writes", "profile"),
          "ledger migrate": ("writes", "migrate"), "ledger pull": ("writes", "pull"),
          "ledger push": ("writes", "push"), "exercise check": ("drills", "check"),
          "exercise schema": ("drills", "schema"), "exercise new": ("drills", "new"),
          "exercise timeline": ("drills", "timeline")}


def body(command: str):
    """The function that does `command` (imported now: only the module of the command that runs)."""
    import importlib

    module, name = BODIES[command]
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def run(argv: list[str]) -> int | None:
    """Run argv's command here and return its exit code, or None to leave it to the Typer app. Whatever
    the command raises leaves through the one exit point, as from the Typer app."""
    parsed = parse(argv)
    if parsed is None:
        return None
    command, globals_, params = parsed
    if command == "status" and params.get("watch"):
        return None  # the live dashboard: nothing to gain here
    from . import apply_globals, exits

    exits.CHECK_FORMAT["format"] = None
    try:
        apply_globals(globals_)  # what the Typer app's callback does with them
        run_body = body(command)
        return run_body(**{**{o.param: o.default for o in options.COMMANDS[command]}, **params}) or 0
    except BaseException as exc:  # noqa: B036 - the one exit point, as Group.main
        fmt = "json" if params.get("json_out") else (params.get("fmt") or "text").strip().lower()
        # (the group's name for a sub-command, as the Typer app's `Group.main` names it)
        return exits.finish(exc, command.partition(" ")[0], lambda: fmt, debug=SETTINGS.debug)
