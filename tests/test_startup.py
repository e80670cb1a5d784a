"""Each option declared once, and a fast start (issue 13 item 7). The console script (`cli.main`)
runs every command (sub-commands included) without Typer (`fast.py`, reading the declarations
of `options.py`) for the argv it fully understands, and everything else in the Typer app, whose Click group builds only the
command that runs and converts values without pydantic (`application.lazy_group`).

Both must mean exactly what the Typer app means when built whole (the way `app()` and Click's test
runner build it): the same parameters, the same output, exit code and ledger. And they must stay
light: `check` and `status --json` import no Typer, Rich, pydantic, pendulum, Jinja2 or icalendar
(what cron pays every few minutes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from conftest import at
from nis2_incident.cli import SETTINGS, app, fast, main
from nis2_incident.cli.application import lazy_group
from nis2_incident.ledger import Store
from nis2_incident.service import Service

runner = CliRunner()
NOW = "2026-03-30T20:00"


def _shape(command) -> list:
    out = []
    for p in command.params:
        out.append((p.name, tuple(p.opts), tuple(getattr(p, "secondary_opts", ())), p.param_type_name,
                    getattr(p, "is_flag", None), getattr(p, "multiple", None), repr(p.default), p.required,
                    getattr(p, "help", None)))
    return out


def test_the_lazy_group_builds_the_same_commands_as_the_whole_app():
    """One declaration, two builds: each command built alone is the command built with all the others."""
    whole = typer.main.get_command(app)
    lazy = lazy_group()
    assert lazy.commands == {}  # nothing built before it is asked for
    names = lazy.list_commands(None)
    assert names == whole.list_commands(None) and len(names) >= 19
    assert _shape(lazy) == _shape(whole)
    for name in names:
        built = lazy.get_command(None, name)
        assert _shape(built) == _shape(whole.commands[name]), name
        assert built.help == whole.commands[name].help, name
        for sub in getattr(whole.commands[name], "commands", {}):
            assert _shape(built.commands[sub]) == _shape(whole.commands[name].commands[sub]), (name, sub)


def _click_options(params) -> tuple[dict, dict, list]:
    """(value options, flags, arguments) as Typer built them."""
    values, flags, arguments = {}, {}, []
    for p in params:
        if p.param_type_name == "argument":
            arguments.append(p.name)
        elif p.is_flag:
            flags.update({o: (p.name, True) for o in p.opts})
            flags.update({o: (p.name, False) for o in p.secondary_opts})  # `--not-significant`
        else:
            values.update({o: p.name for o in p.opts})
    return values, flags, arguments


def test_each_option_is_declared_once():
    """The fast path declares no option: it derives its view from options.py, as the Typer app does."""
    import re

    source = Path(fast.__file__).read_text(encoding="utf-8")
    assert re.findall(r"[\"']--?[a-z][a-z-]*[\"']", source) == []  # no option named in the parser
    group = typer.main.get_group(app)
    values, flags, arguments = _click_options(group.params)
    flags.pop("--version")  # left to Typer (eager, prints and exits)
    assert (fast.GLOBAL.values, fast.GLOBAL.flags, list(fast.GLOBAL.arguments)) == (values, flags, arguments)
    # every command, and the sub-commands of the `ledger` and `exercise` groups
    groups = {"ledger": group.commands["ledger"].commands, "exercise": group.commands["exercise"].commands}
    assert set(fast.SPECS) == (set(group.commands) - set(groups)) | {f"{g} {n}" for g, subs in groups.items()
                                                                     for n in subs} == set(fast.BODIES)
    for name, spec in fast.SPECS.items():
        built = groups[name.split()[0]][name.split()[1]] if " " in name else group.commands[name]
        assert (spec.values, spec.flags, list(spec.arguments)) == _click_options(built.params), name


@pytest.mark.parametrize("argv", [
    ["--help"], ["check", "--help"], ["--version"], ["--version", "check"], ["check", "--bogus"],
    ["check", "--forma", "json"], ["check", "--now"], ["--now"], ["check", "--json=yes"], ["check", "--", "x"],
    ["check", "-qf", "json"], ["check", "-fjson"], ["check", "-f=json"], ["check", "extra"],
    ["check", "--lock-timeout", "1"], ["--lock-timeout", "soon", "check"], ["--lock-timeout", "1e3", "check"],
    ["check", "--debug"], ["status", "1", "2"], ["status", "--watch"], ["open", "t", "--aware"], ["open", "t", "--significant=yes"],
    ["show"], ["explain"], ["list", "x"], ["verify", "--head"], ["show", "1", "2"], ["explain", "1", "nis2.final", "x"], ["-", "check"], ["check", "-"], ["status", "t\udcff"], [],
    ["--install-completion"], ["check", "--no-such"],
    # the commands moved off Typer (issue 13 item 7): usage errors stay Click's
    ["update"], ["update", "1", "--bogus"], ["update", "1", "--significant=no"], ["update", "1", "--summary"],
    ["submit", "1"], ["submit", "1", "nis2.final", "x"], ["submit", "1", "nis2.final", "--force=yes"],
    ["request"], ["request", "1", "--due"], ["handled"], ["handled", "1", "--at"], ["close", "1", "2"],
    ["close", "--help"], ["triage"], ["triage", "1", "--json=1"], ["classify", "--type"], ["classify", "x"],
    ["paths", "x"], ["paths", "--help"], ["report", "--period"], ["report", "x"], ["init", "--name", "x"],
    ["init", "--category", "essential"], ["init", "--name", "x", "--category", "essential", "--ose=yes"],
    ["profile", "--ose=yes"], ["profile", "--name"], ["profile", "x"], ["ledger"], ["ledger", "--help"],
    ["ledger", "migrate", "a"], ["ledger", "migrate", "a", "b", "c"], ["ledger", "bogus"], ["ledger", "pull"],
    ["ledger", "--json", "migrate", "a", "b"], ["ledger", "push", "x", "--rebase=1"], ["ledger", "migrate", "--help"],
    ["exercise"], ["exercise", "--help"], ["exercise", "check"], ["exercise", "check", "a", "--format"],
    ["exercise", "schema", "x"], ["exercise", "new", "a", "b"], ["exercise", "timeline"],
])
def test_what_the_fast_path_does_not_fully_understand_goes_to_typer(argv):
    assert fast.run(argv) is None


def test_the_moved_commands_are_parsed_on_the_fast_path():
    """What `both_ways` compares below really runs without Typer on one side: parsed from the declarations."""
    assert fast.parse(["--ledger", "L", "update", "3", "--summary", "s", "--ioc", "a", "--ioc", "b", "--not-major"]) \
        == ("update", {"ledger": "L"}, {"ident": "3", "summary": "s", "ioc": ["a", "b"], "major": False})
    assert fast.parse(["submit", "1", "nis2.final", "--force", "--lock-timeout", "2"]) == \
        ("submit", {}, {"ident": "1", "stage": "nis2.final", "force": True, "lock_timeout": 2.0})
    assert fast.parse(["init", "--category", "essential", "--name=X", "--no-ose", "--regime", "nis2"]) == \
        ("init", {}, {"category": "essential", "name": "X", "ose": False, "regime": ["nis2"]})
    assert fast.parse(["profile", "--trust-service", "--gdpr-role", "both"]) == \
        ("profile", {}, {"trust_service": True, "gdpr_role": "both"})
    assert fast.parse(["report", "--from", "2026-01-01", "-o", "r.html", "-f", "markdown"]) == \
        ("report", {}, {"start": "2026-01-01", "output": "r.html", "fmt": "markdown"})
    assert fast.parse(["exercise", "check", "a.toml", "--json", "b", "c"]) == \
        ("exercise check", {}, {"files": ["a.toml", "b", "c"], "json_out": True})
    assert fast.parse(["--now", "N", "ledger", "migrate", "a.jsonl", "--json", "b.toml"]) == \
        ("ledger migrate", {"now": "N"}, {"old": "a.jsonl", "new": "b.toml", "json_out": True})
    for argv in (["request", "1", "--due", "+48h"], ["handled", "1"], ["close", "1", "--at", "now"],
                 ["ledger", "pull", "--to", "x.jsonl"], ["ledger", "push", "x.jsonl", "--rebase"],
                 ["exercise", "schema"], ["exercise", "new"], ["exercise", "timeline", "x.toml", "--json"],
                 ["triage", "1", "--json"], ["classify", "--apply"], ["paths"]):
        assert fast.parse(argv) is not None, argv


# --- the same results both ways ---------------------------------------------------------------------


def _ledger(folder: Path, fmt: str = "toml") -> Path:
    path = folder / f"ledger.{fmt}"
    Service(Store(path), at("2026-03-28T09:00")).init(name="CHU Test", category="essential",
                                                      health_establishment=True, targets={"csp.report": "4h"})
    s = Service(Store(path), at("2026-03-28T12:00"))
    s.open_incident("Rançongiciel", "2026-03-28T10:00", personal_data=True)
    s.open_incident("Panne", "2026-03-28T11:00")
    s.submit("2", "csp.report")
    Service(Store(path), at("2026-03-29T12:00")).conclude("2", "closed")
    return path


def _reset_settings() -> None:
    SETTINGS.ledger, SETTINGS.now, SETTINGS.lock_timeout, SETTINGS.debug, SETTINGS.regimes = None, None, 10.0, False, None


def both_ways(tmp_path: Path, argv: list[str], capsys, monkeypatch, env: dict | None = None) -> None:
    """Run argv (`{L}` is the ledger, `{S}` a state file) through `main()` (the lazy group) and through
    the Typer app built whole (Click's test runner), each on its own copy of the same folder: same exit
    code, stdout, stderr, and files afterwards."""
    base = tmp_path / "base"
    if not base.exists():
        base.mkdir()
        _ledger(base)
    results = []
    for way in ("main", "app"):
        folder = tmp_path / way
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(base, folder)
        args = [a.replace("{L}", str(folder / "ledger.toml")).replace("{S}", str(folder / "state.json"))
                .replace("{D}", str(folder)) for a in argv]
        _reset_settings()
        with monkeypatch.context() as m:
            for key, value in (env or {}).items():
                m.setenv(key, value.replace("{L}", str(folder / "ledger.toml")))
            if way == "main":
                capsys.readouterr()
                with pytest.raises(SystemExit) as exited:
                    main(args)
                code = exited.value.code
                out, err = capsys.readouterr()
            else:
                r = runner.invoke(app, args, catch_exceptions=False)
                code, out, err = r.exit_code, r.stdout, r.stderr
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.endswith(".lock")}
        files = {k: v.replace(str(folder).encode(), b"{D}") for k, v in files.items()}
        results.append((code, out.replace(str(folder), "{D}"), err.replace(str(folder), "{D}"), files))
    assert results[0] == results[1], argv


CHECKS = [
    ["--ledger", "{L}", "--now", NOW, "check"],
    ["check", "--ledger", "{L}", "--now", NOW],
    ["--ledger={L}", "--now=" + NOW, "check", "--format=json"],
    ["--ledger", "{L}", "check", "--now", NOW, "-f", "nagios"],
    ["--ledger", "{L}", "--now", NOW, "check", "--json", "--all"],
    ["--ledger", "{L}", "--now", NOW, "check", "-q", "--within", "48h"],
    ["--ledger", "{L}", "--now", NOW, "check", "--quiet", "--dry-run"],
    ["--ledger", "{L}", "--now", NOW, "check", "--state", "{S}", "--format", "json", "--format", "text"],
    ["--ledger", "{L}", "--now", "2026-03-28T10:30+01:00", "--lock-timeout", "0.5", "check"],
    ["--ledger", "{D}/elsewhere.toml", "--now", NOW, "check", "--ledger", "{L}"],
    ["--ledger", "{L}", "--now", NOW, "check", "--format", "bogus"],
    ["--ledger", "{L}", "--now", NOW, "check", "--json", "--format", "nagios"],
    ["--ledger", "{L}", "--now", "next tuesday", "check"],
    ["--ledger", "{D}/missing.toml", "--now", NOW, "check"],
    ["--ledger", "{L}", "--now", NOW, "check", "--within", "soon"],
    ["--debug", "--ledger", "{L}", "--now", NOW, "check", "--format", "json"],
    ["--ledger", "{L}", "--regimes", "{D}/no-such-folder", "--now", NOW, "check"],
]
STATUSES = [
    ["--ledger", "{L}", "--now", NOW, "status"],
    ["status", "--json", "--ledger", "{L}", "--now", NOW],
    ["--ledger", "{L}", "--now", NOW, "status", "2", "--json"],
    ["--ledger", "{L}", "--now", NOW, "status", "INC-2026-001", "--within", "2h"],
    ["--ledger", "{L}", "--now", NOW, "status", "99"],
    ["--ledger", "{L}", "--now", NOW, "status", "--within", "bad"],
    ["--ledger", "{L}", "--now", NOW, "status", "--json", "--within", "bad"],
    ["--ledger", "{D}/missing.toml", "status", "--json"],
]
OPENS = [
    ["--ledger", "{L}", "--now", NOW, "open", "Nouveau", "--aware", "1h ago"],
    ["open", "--aware=2026-03-30T18:00", "Nouveau", "--json", "--ledger", "{L}", "--now", NOW, "--lock-timeout", "3"],
    ["--ledger", "{L}", "--now", NOW, "open", "Tout", "--aware", "2h ago", "--detected", "3h ago", "--significant",
     "--not-malicious", "--malicious", "--cross-border", "--personal-data", "--high-risk", "--no-risk",
     "--risk-rationale", "chiffré", "--serious", "--summary", "ligne\nsuite", "--severity", "haute", "--impact",
     "urgences", "--ioc", "1.2.3.4", "--ioc", "evil.example", "--root-cause", "phishing", "--mitigations", "isolé"],
    ["--ledger", "{L}", "--now", NOW, "open", "Sans", "--aware", "1h ago", "--not-significant"],
    ["--ledger", "{L}", "--now", NOW, "open", "Deux", "--aware", "1h ago", "--undetermined", "--significant"],
    ["--ledger", "{L}", "--now", NOW, "open", "Futur", "--aware", "in 2h"],
    ["--ledger", "{L}", "--now", NOW, "open", "Ni", "--aware", "1h ago", "--not-serious"],
    ["--ledger", "{D}/missing.toml", "--now", NOW, "open", "x", "--aware", "1h ago"],
    ["--ledger", "{L}", "--now", NOW, "open", "Pompe", "--aware", "1h ago", "--device", "--patient-harm", "serious",
     "--no-public-health-threat", "--service-disruption", "--not-major", "--no-ai-system"],
]


VIEWS = [
    ["--ledger", "{L}", "--now", NOW, "show", "1"],
    ["show", "2", "--json", "--ledger", "{L}", "--now", NOW],
    ["--ledger", "{L}", "--now", NOW, "show", "INC-2026-099"],
    ["--ledger", "{L}", "--now", NOW, "explain", "1"],
    ["--ledger", "{L}", "--now", NOW, "explain", "1", "nis2.final", "--json"],
    ["--ledger", "{L}", "--now", NOW, "explain", "1", "nis2.bogus"],
    ["--ledger", "{D}/missing.toml", "--now", NOW, "show", "1"],
    ["--debug", "--ledger", "{L}", "--now", NOW, "explain", "2", "csp.report"],
]
USAGE = [
    ["--ledger", "{L}", "--now", NOW, "check", "--bogus"],
    ["--ledger", "{L}", "--now", NOW, "check", "--json", "--forma", "json"],
    ["--ledger", "{L}", "--now", NOW, "lst"],
    ["--ledger", "{L}", "--lock-timeout", "soon", "check"],
    ["--ledger", "{L}", "--now", NOW, "show"],
    ["--ledger", "{L}", "--now", NOW, "classify", "--staff", "many"],
    ["--ledger", "{L}", "--now", NOW, "list", "--json"],
    ["--ledger", "{L}", "--now", NOW, "show", "1"],
    ["--ledger", "{L}", "--now", NOW, "explain", "1", "nis2.final"],
    ["--ledger", "{L}", "--now", NOW, "verify"],
    ["--ledger", "{L}", "--now", NOW, "draft", "1", "nis2.notification", "--lang", "en", "--format", "markdown"],
    ["--ledger", "{L}", "--now", NOW, "draft", "1", "early_warning", "--json"],
    ["--ledger", "{L}", "--now", NOW, "draft", "1", "nis2.bogus"],
    # (CSV and iCalendar end lines with CR LF, which Click's test runner turns into LF on stdout: compared as files)
    ["--ledger", "{L}", "--now", NOW, "export", "--format", "csv", "-o", "{D}/out.csv"],
    ["--ledger", "{L}", "--now", NOW, "export", "--format", "ics", "--alarm", "3h", "--alarm", "15m", "--output={D}/out.ics"],
    ["--ledger", "{L}", "--now", NOW, "export", "--json"],
    ["--ledger", "{L}", "--now", NOW, "export", "--format", "xml"],
    ["export", "--schema"],
]


L = ["--ledger", "{L}", "--now", NOW]
DRILLS = Path(__file__).resolve().parent.parent / "examples" / "exercises"
CLASSIFY = ["classify", "--type", "healthcare_provider", "--staff", "320", "--turnover", "48M", "--balance", "40M"]
# The commands moved off Typer (issue 13 item 7): what they print and write, errors included, and the
# usage errors that go to the Typer app (Click's message and exit code on both sides).
WRITES = [
    [*L, "update", "1", "--summary", "chiffré", "--json"],
    ["update", "1", "--significant", "--ioc", "a", "--ioc", "b", *L, "--lock-timeout", "2"],
    [*L, "update", "1", "--title", "Nouveau", "--not-major", "--patient-harm", "harm", "--aware", "2026-03-28T09:30"],
    [*L, "update", "1"],
    [*L, "update", "1", "--summary", "chiffré", "--undetermined", "--significant"],
    [*L, "update", "99", "--summary", "x"],
    [*L, "update", "1", "--patient-harm", "maybe"],
    [*L, "submit", "1", "nis2.early_warning", "--channel", "portal", "--reference", "R-1"],
    [*L, "submit", "1", "gdpr.notification", "--at", "2026-03-30T19:00", "--late-reason", "weekend", "--json"],
    [*L, "submit", "1", "nis2.bogus"],
    [*L, "submit", "2", "csp.report"],
    [*L, "submit", "2", "csp.report", "--force"],
    [*L, "submit", "1", "nis2.notification", "--draft", "{D}/no-such-draft.txt"],
    [*L, "request", "1", "--due", "+48h"],
    [*L, "request", "1", "--due", "2026-04-02T18:00", "--at", "1h ago", "--stage", "nis2.intermediate", "--json"],
    [*L, "request", "1"],
    [*L, "handled", "1", "--at", "2026-03-29T10:00"],
    [*L, "handled", "1", "--at", "2020-01-01T00:00"],
    [*L, "close", "1", "--json"],
    [*L, "close", "2"],
    [*L, "triage", "1", "--json"],
    [*L, "triage", "1"],
    [*L, "triage", "99"],
    CLASSIFY,
    [*CLASSIFY, "--public", "--json"],
    [*L, *CLASSIFY, "--apply", "--designated"],
    ["classify", "--type", "healthcare_provider", "--staff", "many", "--turnover", "1M", "--balance", "1M"],
    ["classify", "--staff", "10"],
    ["--ledger", "{L}", "paths"],
    ["paths", "--json", "--ledger", "{D}/elsewhere.jsonl"],
    ["--ledger", " ", "paths"],
    [*L, "report", "--period", "2026-Q1", "--format", "json"],
    [*L, "report", "--period", "2026-03", "--format", "markdown", "-o", "{D}/report.md", "--lang", "en"],
    [*L, "report", "--format", "pdf"],
    [*L, "report", "--lang", "de"],
    [*L, "report", "--json", "--format", "markdown"],
    ["--ledger", "{D}/new.jsonl", "--now", NOW, "init", "--name", "Clinique", "--category", "important", "--json",
     "--no-ose", "--gdpr-role", "processor"],
    ["--ledger", "{D}/new.toml", "--now", NOW, "init", "--category", "essential", "--name", "CHU",
     "--health-establishment", "--trust-service", "--regime", "nis2", "--regime", "csp", "--target", "csp.report=4h",
     "--reminder", "24h=4h,1h", "--reminder-every", "0", "--timezone", "Europe/Paris", "--not-in-force", "ignore",
     "--within", "12h", "--financial-entity"],
    ["--ledger", "{D}/new.jsonl", "--now", NOW, "init", "--name", "CHU", "--category", "essential"],
    [*L, "init", "--name", "CHU", "--category", "essential"],
    ["--ledger", "{D}/new.jsonl", "init", "--name", "CHU", "--category", "bogus"],
    ["--ledger", "{D}/new.jsonl", "init", "--name", "CHU", "--category", "essential", "--gdpr-role", "owner"],
    ["--ledger", "{D}/new.jsonl", "init", "--name", "CHU", "--category", "essential", "--roles", "nis2"],
    [*L, "profile"],
    [*L, "profile", "--json"],
    [*L, "profile", "--dpo", "Jeanne, dpo@example.org", "--no-trust-service", "--ose", "--alarm", "1h",
     "--target", "csp.report=", "--reminder", "72h=none", "--not-in-force", "track"],
    [*L, "profile", "--category", "bogus"],
    [*L, "profile", "--templates-dir", "{D}/no-such-folder"],
    [*L, "profile", "--target", "csp.report"],
    ["ledger", "migrate", "{L}", "{D}/moved.jsonl"],
    ["--now", NOW, "ledger", "migrate", "{L}", "{D}/moved.json", "--json"],
    ["ledger", "migrate", "{L}", "{L}"],
    ["ledger", "migrate", "{D}/missing.toml", "{D}/moved.jsonl"],
    ["ledger", "pull", "--to", "{D}/copy.jsonl", "--ledger", "{L}"],
    [*L, "ledger", "push", "{D}/copy.jsonl"],
    ["exercise", "check", str(DRILLS), "--junit", "{D}/junit.xml"],
    ["--ledger", "{L}", "--now", NOW, "exercise", "check", *map(str, sorted(DRILLS.glob("*.toml"))[:2]), "--json"],
    ["exercise", "check", str(DRILLS), "--format", "github"],
    ["exercise", "check", "{D}/no-such-drill.toml"],
    ["exercise", "check", str(DRILLS), "--format", "html"],
    ["exercise", "schema"],
    ["exercise", "new"],
    ["exercise", "new", "{D}/drills/drill.toml"],
    ["exercise", "new", "{L}"],
    ["exercise", "timeline", str(sorted(DRILLS.glob("*.toml"))[0]), "--json"],
    ["exercise", "timeline", str(sorted(DRILLS.glob("*.toml"))[0])],
]
# (`--help` is left out: Click's test runner wraps its text otherwise than a real run, on either side;
# the help comes from the same declarations both ways: test_the_lazy_group_builds_the_same_commands_as_the_whole_app.)
MOVED_USAGE = [
    [*L, "update", "1", "--bogus"],
    [*L, "update"],
    [*L, "update", "1", "--significant=no"],
    [*L, "submit", "1"],
    [*L, "submit", "1", "nis2.final", "--force=yes"],
    [*L, "request", "1", "--due"],
    [*L, "handled"],
    [*L, "close", "1", "2"],
    [*L, "triage", "1", "--lock-timeout", "soon"],
    [*L, "classify", "--staff"],
    [*L, "paths", "x"],
    [*L, "report", "--period"],
    ["--ledger", "{D}/new.jsonl", "init", "--name", "CHU"],
    ["--ledger", "{D}/new.jsonl", "init", "--category", "essential", "--name", "CHU", "--ose=1"],
    [*L, "profile", "--gdpr"],
    ["ledger", "migrate", "{L}"],
    ["ledger", "pull", "--ledger", "{L}"],
    ["ledger", "push", "{D}/copy.jsonl", "--rebase=yes"],
    ["ledger", "bogus"],
    ["exercise", "check"],
    ["exercise", "check", str(DRILLS), "--format"],
    ["exercise", "new", "a", "b"],
    ["exercise", "schema", "--json"],
]


@pytest.mark.parametrize("argv", CHECKS + STATUSES + OPENS + VIEWS + USAGE + WRITES + MOVED_USAGE,
                         ids=lambda a: " ".join(a)[:80])
def test_main_and_the_whole_app_give_the_same_result(tmp_path, argv, capsys, monkeypatch):
    both_ways(tmp_path, argv, capsys, monkeypatch)


@pytest.mark.parametrize("argv", WRITES, ids=lambda a: " ".join(a)[:80])
def test_the_moved_commands_run_without_typer_from_main(argv):
    """The other half of the comparison above: `main()` runs each of them on the fast path."""
    assert fast.parse(argv) is not None


def test_the_ledger_from_the_environment_both_ways(tmp_path, capsys, monkeypatch):
    both_ways(tmp_path, ["--now", NOW, "check", "--format", "json"], capsys, monkeypatch,
              env={"NIS2_INCIDENT_LEDGER": "{L}"})
    both_ways(tmp_path, ["status", "--json"], capsys, monkeypatch,
              env={"NIS2_INCIDENT_LEDGER": "{L}", "NIS2_INCIDENT_NOW": "2026-03-30T20:00:00+02:00"})


# --- light ------------------------------------------------------------------------------------------

PROBE = """
import sys
from nis2_incident.cli import main
try:
    main()
finally:
    heavy = sorted(m for m in ("typer", "rich", "pydantic", "pendulum", "jinja2", "icalendar", "tomllib",
                               "tomli_w", "rfc8785", "platformdirs", "psycopg") if m in sys.modules)
    sys.stderr.write("loaded: " + " ".join(heavy) + "\\n")
"""


def _loaded(args: list[str]) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIS2_INCIDENT")}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=60)
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("loaded:")]
    assert line, proc.stderr
    return set(line[-1].split()[1:])


def test_check_and_status_import_nothing_heavy_once_the_checkpoint_is_there(tmp_path):
    """Import time is speed at 03:00 (DESIGN §4): on a log whose checkpoint is in place, `check` and
    `status --json` import neither Typer nor Rich, pydantic, pendulum, the TOML writer or rfc8785;
    `open` no Typer and no pydantic. (The shipped regimes are taken from `regimes/shipped.json` where
    each file's SHA-256 matches, without tomllib; the checkpoint's folder is found without
    platformdirs on Linux: `checkpoint.user_cache_path`.)"""
    ledger = _ledger(tmp_path, "jsonl")
    light = set() if sys.platform == "linux" else {"platformdirs"}
    base = ["--ledger", str(ledger), "--now", "2026-03-30T20:00:00+02:00"]
    assert "typer" not in _loaded([*base, "status", "--json"])
    assert _loaded([*base, "check"]) <= light
    assert _loaded([*base, "check", "--format", "json"]) <= light
    assert _loaded([*base, "status", "--json"]) <= light
    assert _loaded(["--lock-timeout", "2", *base, "check", "--format", "json", "--within", "48h"]) <= light
    assert _loaded(["--ledger", str(ledger), "--now", NOW, "status", "1", "--json"]) <= light  # offset-less --now
    assert _loaded([*base, "show", "1", "--json"]) <= light
    assert _loaded([*base, "check", "--help"]) <= {"typer"} | light
    assert _loaded([*base, "check", "--bogus"]) <= {"typer"} | light
    assert not _loaded([*base, "open", "x", "--aware", "1h ago", "--json"]) & {"jinja2", "icalendar", "pydantic"}
    assert "rich" in _loaded([*base, "status"])  # drawn for people: Rich, as before
    # every command, writes and sub-commands included (issue 13 item 7)
    for args in (["submit", "1", "nis2.notification"], ["update", "1", "--summary", "s", "--json"],
                 ["close", "1", "--json"], ["triage", "1", "--json"], ["paths"], ["profile", "--json"],
                 ["classify", "--type", "other", "--staff", "1", "--turnover", "1", "--balance", "1", "--json"],
                 ["ledger", "migrate", str(ledger), str(tmp_path / "migrated.json")], ["exercise", "schema"]):
        assert "typer" not in _loaded([*base, *args]), args
    assert "typer" in _loaded(["--ledger", str(ledger), "ledger", "--help"])  # help: the Typer app's
    # `init` and `profile` validate with profile_schema, the declaration pydantic's Profile is built from
    assert "pydantic" not in _loaded(["--ledger", str(tmp_path / "new.jsonl"), "init", "--name", "X", "--category",
                                      "essential", "--json"])
    assert "pydantic" not in _loaded([*base, "profile", "--name", "CHU Y", "--json"])


def test_check_and_status_on_postgresql_import_the_driver_but_neither_typer_nor_rich(tmp_path, pg_url):
    """Team mode (issue 15): psycopg only for a PostgreSQL ledger (never for a file: the probe above
    lists it), and `check` and `status --json` still on the fast path."""
    ledger = _ledger(tmp_path, "jsonl")
    subprocess.run([sys.executable, "-m", "nis2_incident", "ledger", "migrate", str(ledger), pg_url], check=True,
                   capture_output=True, timeout=60)
    base = ["--ledger", pg_url, "--now", "2026-03-30T20:00:00+02:00"]
    for args in (["check"], ["status", "--json"]):
        loaded = _loaded([*base, *args])
        assert "psycopg" in loaded and not {"typer", "rich"} & loaded, args


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_check_and_status_on_a_document_import_neither_typer_nor_rich(tmp_path, fmt):
    """A document is read whole (no checkpoint): its parser and the profile's validation, but still
    not the Typer app or Rich for `check` and `status --json`."""
    ledger = _ledger(tmp_path, fmt)
    base = ["--ledger", str(ledger), "--now", "2026-03-30T20:00:00+02:00"]
    for args in (["check"], ["status", "--json"]):
        assert not {"typer", "rich"} & _loaded([*base, *args]), args


def test_usage_errors_are_one_line_with_their_exit_codes(tmp_path):
    ledger = _ledger(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIS2_INCIDENT")}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", str(ledger), *args],
                              capture_output=True, text=True, env=env, timeout=60)

    bad = run("check", "--bogus")
    assert bad.returncode == 3 and bad.stderr == "error: no such option: --bogus\n"  # check: UNKNOWN
    assert bad.stdout == "NIS2-INCIDENT UNKNOWN - no such option: --bogus\n"
    bad = run("status", "--bogus")
    assert bad.returncode == 2 and bad.stderr == "error: no such option: --bogus\n" and bad.stdout == ""
    bad = run("lst")
    assert bad.returncode == 2 and bad.stderr == "error: no such command 'lst' (did you mean 'list'?)\n"
    ok = run("--now", NOW, "check", "--format", "json")
    assert ok.returncode == 2 and ok.stdout.count("\n") >= 1 and ok.stderr == ""
