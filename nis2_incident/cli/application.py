"""The Typer app: global options, the one way out (`Group.main`), and the registered commands.

Each option is declared once, in `options.py` (`with_options` gives a command the signature Typer
reads). The console script (`cli.main`) runs
`lazy_group()`: the same app, whose Click group builds only the command that runs (building all 22
took about 50 ms) and converts values without pydantic (`_lighten`), so a command starts in about
the time of importing its own stack (benchmarks/). `cli/__init__.py` keeps what needs no Typer.
"""

from __future__ import annotations

import inspect
import sys
from typing import Annotated, Optional

import typer
import typer.main
from typer.core import TyperGroup

from .. import __version__
from . import SETTINGS, apply_globals, exits, options

# The app's settings, shared by `app` and the group `lazy_group` builds for the console script.
_APP = dict(
    name="nis2-incident",
    help="Record incidents, compute NIS 2 / GDPR / health-code reporting deadlines, keep a tamper-evident "
    "ledger. Not legal advice.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Group(TyperGroup):
    """The top-level group: runs every command inside the one exit point (`exits.finish`), whoever
    calls it (`main()`, `app()`, Click's test runner), and, for the console script, builds only the
    command that runs (`source` is then the Typer app whose commands it builds on demand)."""

    source: Optional[typer.Typer] = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _lighten(self)

    def list_commands(self, ctx) -> list[str]:
        if self.source is None:
            return super().list_commands(ctx)
        return [_name(info) for info in self.source.registered_commands] + \
            [info.name for info in self.source.registered_groups]

    def get_command(self, ctx, cmd_name: str):
        command = self.commands.get(cmd_name)
        if command is None and self.source is not None:
            command = _build(self.source, cmd_name)
            if command is not None:
                self.commands[cmd_name] = command
        return command

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            matches = difflib.get_close_matches(name, self.list_commands(ctx))
            hint = (f"did you mean {' or '.join(repr(m) for m in matches)}?" if matches
                    else "see `nis2-incident --help`")
            raise exits.click_exceptions().UsageError(f"no such command {name!r} ({hint})", ctx=ctx)
        RUNNING["command"] = name
        return super().resolve_command(ctx, args)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        _lighten(self)  # again: Typer adds the completion options after building the group
        RUNNING["command"] = None
        exits.CHECK_FORMAT["format"] = None
        try:
            rv = super().main(args=argv, prog_name=prog_name or "nis2-incident", complete_var=complete_var,
                              standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
        except BaseException as exc:  # noqa: B036 - the one exit point: everything ends here
            command = RUNNING["command"] or self._command_in(argv)
            code = exits.finish(exc, command, lambda: self._check_format(argv),
                                debug=SETTINGS.debug or "--debug" in argv)
        if standalone_mode:
            sys.exit(code)
        return code

    def _command_in(self, argv: list[str]) -> Optional[str]:
        """The command name in argv, skipping the global options (as declared) and their values."""
        with_value = {o for p in self.params if not getattr(p, "is_flag", False) for o in p.opts}
        skip = False
        for arg in argv:
            if skip:
                skip = False
            elif arg in with_value:
                skip = True
            elif not arg.startswith("-"):
                return arg
        return None

    def _check_format(self, argv: list[str]) -> Optional[str]:
        """`check`'s output format read from its argv, leniently (after a usage error)."""
        try:
            rest = argv[argv.index("check") + 1:]
            command = self.get_command(None, "check")
            ctx = command.make_context("check", rest, resilient_parsing=True)
            return "json" if ctx.params.get("json_out") else (ctx.params.get("fmt") or "text").strip().lower()
        except Exception:  # noqa: BLE001 - the status line is still printed, as text
            return None


RUNNING: dict = {"command": None}  # the command being run, for the exit point


def _name(info) -> str:
    return info.name or typer.main.get_command_name(info.callback.__name__)


def _build(source: typer.Typer, name: str):
    """The Click command (or group) of one registered command, built alone (issue 13 item 7)."""
    for info in source.registered_commands:
        if _name(info) == name:
            command = typer.main.get_command_from_info(info, pretty_exceptions_short=source.pretty_exceptions_short,
                                                       rich_markup_mode=source.rich_markup_mode)
            _lighten(command)
            return command
    for info in source.registered_groups:
        if info.name == name:
            group = typer.main.get_group_from_info(info, pretty_exceptions_short=source.pretty_exceptions_short,
                                                   rich_markup_mode=source.rich_markup_mode, suggest_commands=True)
            _lighten(group)
            return group
    return None


_SIMPLE = (str, int, float, bool)


def _lighten(command) -> None:
    """Convert this command's values without pydantic: every parameter here is a str, int, float,
    bool or list[str], which Typer (0.2x) would otherwise convert through a pydantic TypeAdapter built
    per parameter (importing pydantic: about 100 ms before the command starts)."""
    for sub in getattr(command, "commands", {}).values():
        _lighten(sub)
    light = _light_class()
    if light is None:
        return
    params = list(command.params)
    if getattr(command, "add_help_option", False) and getattr(command, "_help_option", False) is None:
        from typer._click.decorators import help_option  # as Click's get_help_option makes it

        help_option(["--help"])(command)
        command._help_option = command.params.pop()
    params.append(getattr(command, "_help_option", None))
    for param in params:
        desc = getattr(param, "type_descriptor", None)
        if desc is None or getattr(param, "_runtime_param", None) is not None:
            continue
        if desc.annotation in _SIMPLE or desc.annotation == list[str]:
            param._runtime_param = light(parameter_info=desc.parameter_info, annotation=desc.annotation)


_LIGHT: list = []


def _light_class():
    if not _LIGHT:
        try:
            from dataclasses import dataclass

            from typer._coercion import RuntimeParam
        except ImportError:  # another Typer: keep its own conversion
            _LIGHT.append(None)
            return None

        @dataclass(frozen=True)
        class Light(RuntimeParam):
            def _coerce_value(self, value, param, ctx):
                kind = self.annotation
                if kind == list[str]:
                    return [str(v) for v in value]
                if kind is str:
                    return str(value)
                if kind is bool:
                    if isinstance(value, bool):
                        return value
                    word = str(value).strip().lower()
                    if word in ("1", "true", "t", "yes", "y", "on"):
                        return True
                    if word in ("0", "false", "f", "no", "n", "off"):
                        return False
                    raise exits.click_exceptions().BadParameter(f"{value!r} is not a valid boolean", ctx=ctx,
                                                                param=param)
                try:
                    return kind(value)
                except (TypeError, ValueError):
                    name = {int: "integer", float: "number"}[kind]
                    raise exits.click_exceptions().BadParameter(f"{value!r} is not a valid {name}", ctx=ctx,
                                                                param=param) from None

        _LIGHT.append(Light)
    return _LIGHT[0]


app = typer.Typer(cls=Group, **_APP)


def lazy_group() -> Group:
    """The app as a Click group whose commands are built when run (the console script's way in)."""
    shell = typer.Typer(cls=Group, **_APP)
    shell.registered_callback = app.registered_callback
    group = typer.main.get_command(shell)
    group.source = app
    return group


def typer_annotation(opt: "options.Opt"):
    """The Typer parameter of one option declared in `options.py` (the one declaration of it)."""
    kind = opt.type if (opt.flag or opt.default is not None or opt.required) else Optional[opt.type]
    if opt.multiple:  # a repeatable option, or an argument taking every value left (`exercise check FILE...`)
        kind = list[opt.type] if opt.required else Optional[list[opt.type]]
    if opt.off:  # a tri-state flag: `--on/--off`, None when neither is given
        return Annotated[Optional[bool], typer.Option("/".join((*opt.decls, *opt.off)), help=opt.help,
                                                      show_default=opt.show_default)]
    if opt.argument and opt.required:  # (show_default: nothing to show, no default; as each was declared)
        info = typer.Argument(metavar=opt.metavar, help=opt.help, **({} if opt.metavar else {"show_default": False}))
    elif opt.argument:
        info = typer.Argument(metavar=opt.metavar, help=opt.help, show_default=False)
    else:
        info = typer.Option(*opt.decls, help=opt.help, show_default=opt.show_default)
    return Annotated[kind, info]


def with_options(opts, *extra: inspect.Parameter):
    """Give a `**params` function the signature Typer reads: the declared options, then `extra`."""
    def decorate(fn):
        params = [inspect.Parameter(o.param, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    default=inspect.Parameter.empty if o.required else o.default,
                                    annotation=typer_annotation(o)) for o in opts] + list(extra)
        fn.__signature__ = inspect.Signature(params)
        fn.__annotations__ = {p.name: p.annotation for p in params}
        return fn
    return decorate


def run_body(command: str, params: dict) -> None:
    """What a Typer command does: the body `fast.py` runs for `command` (`fast.BODIES`), its exit code
    raised as Typer's exit (0: the command's return)."""
    from .fast import body

    code = body(command)(**params)
    if code:
        raise typer.Exit(code)


# Options shared by every command (also accepted before the command name), declared in options.py.
LedgerOpt = typer_annotation(options.LEDGER)
NowOpt = typer_annotation(options.NOW)
JsonOpt = typer_annotation(options.JSON)
LockOpt = typer_annotation(options.LOCK)


def _version(value: bool):
    if value:
        typer.echo(f"nis2-incident {__version__}")
        raise typer.Exit()


_VERSION = inspect.Parameter("version", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False, annotation=Annotated[
    bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")])


@app.callback()
@with_options(options.GLOBAL, _VERSION)
def _global(**params):
    apply_globals(params)



from . import check, commands, drafts, exercise, ledger_cmd  # noqa: E402,F401  (registers the commands)

app.add_typer(exercise.exercise_app, name="exercise")

