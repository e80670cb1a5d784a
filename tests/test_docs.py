"""Every command has help text and a row in the README (sqlite-utils' test_docs habit), and every
exit code the code can produce is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from nis2_incident import errors
from nis2_incident.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
COMMANDS = typer.main.get_command(app).commands


def test_the_contract_commands_exist():
    """SPEC §4 names (the ones this release implements) are contract."""
    expected = {"init", "open", "update", "submit", "request", "handled", "close", "list", "status",
                "show", "explain", "check", "verify", "paths", "draft", "export"}
    assert expected <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_help(name):
    assert (COMMANDS[name].help or "").strip(), f"`{name}` has no help text"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_is_in_readme(name):
    assert re.search(rf"^\| `{name}\b", README, re.M), f"`{name}` is missing from the README's command table"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help(name):
    for param in COMMANDS[name].params:
        if getattr(param, "param_type_name", "") == "option":
            assert (param.help or "").strip(), f"`{name} {param.opts[0]}` has no help text"


def _options(command, path=()):
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option":
            yield " ".join(path), param
    for name, sub in getattr(command, "commands", {}).items():
        yield from _options(sub, (*path, name))


OPTIONS = list(_options(typer.main.get_command(app)))


def test_the_options_are_found():
    assert len(OPTIONS) > 150  # every command's and the global ones: the loops below ran


@pytest.mark.parametrize("where, param", OPTIONS, ids=lambda x: x if isinstance(x, str) else x.opts[0])
def test_every_option_of_every_command_has_help_and_a_readme_mention(where, param):
    """sqlite-utils' habit: a new option without help text or documentation fails here."""
    assert (param.help or "").strip(), f"`{where} {param.opts[0]}` has no help text"
    for name in (*param.opts, *getattr(param, "secondary_opts", ())):
        if name.startswith("--") and name != "--help":
            assert re.search(re.escape(name) + r"(?![\w-])", README), f"`{where} {name}` is not in the README"


def test_init_help_shows_the_real_default_regimes():
    from typer.testing import CliRunner

    out = CliRunner().invoke(app, ["init", "--help"], env={"COLUMNS": "200"}).stdout
    assert "nis2 and gdpr, plus csp with --health-establishment" in " ".join(out.split())
    from nis2_incident.service import Service  # the defaults the help names are the ones init uses
    import inspect

    assert '["nis2", "gdpr"] + (["csp"] if fields.get("health_establishment") else [])' in inspect.getsource(Service.init)


def test_shell_completion_is_offered_and_completes_commands(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("NIS2_INCIDENT")}
    show = subprocess.run([sys.executable, "-m", "nis2_incident", "--show-completion", "bash"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert show.returncode == 0 and "_NIS2_INCIDENT_COMPLETE" in show.stdout, show.stderr
    env.update(_NIS2_INCIDENT_COMPLETE="complete_bash", COMP_WORDS="nis2-incident sta", COMP_CWORD="1")
    done = subprocess.run([sys.executable, "-c", "import sys; sys.argv[0] = 'nis2-incident'; "
                           "from nis2_incident.cli import main; main()"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert "status" in done.stdout.split(), (done.stdout, done.stderr)
    env.update(COMP_WORDS="nis2-incident check --for", COMP_CWORD="2")
    done = subprocess.run([sys.executable, "-c", "import sys; sys.argv[0] = 'nis2-incident'; "
                           "from nis2_incident.cli import main; main()"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert "--format" in done.stdout.split(), (done.stdout, done.stderr)


def _error_classes():
    seen, todo = [], [errors.Nis2IncidentError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_exit_code_documented(cls):
    assert re.search(rf"^\| {cls.exit_code} \|", README, re.M), f"exit code {cls.exit_code} not in the README"


def test_readme_quick_start_has_exactly_two_commands():
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2
    assert "status" in commands[0] and "examples/ledger.jsonl" in commands[0]
    assert "pytest" in commands[1]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert commands[1].strip() in ci, ".ci/run must run the README's test command"


def test_readme_says_not_legal_advice():
    assert "Not legal advice" in README


def test_the_readme_and_explain_cite_only_documents_that_ship(tmp_path):
    """No "SPEC §" or "DOMAIN §": those documents do not ship; cite the law's article or a README section."""
    import shutil

    from typer.testing import CliRunner

    root = Path(__file__).resolve().parent.parent
    shipped = [README, *(p.read_text(encoding="utf-8") for p in (root / "nis2_incident" / "regimes").glob("*.toml")),
               *(p.read_text(encoding="utf-8") for p in (root / "examples" / "exercises").glob("*.toml"))]
    ledger = tmp_path / "ledger.toml"
    shutil.copy(root / "examples" / "ledger.toml", ledger)
    for n in range(1, 6):
        r = CliRunner().invoke(app, ["--ledger", str(ledger), "--now", "2026-03-30T20:00", "explain", str(n)],
                               catch_exceptions=False, env={"COLUMNS": "200"})
        assert r.exit_code == 0
        shipped.append(r.stdout)
    cited = set()
    for text in shipped:
        assert not re.search(r"\b(SPEC|DOMAIN|DESIGN)(\.md)? ?§", text), re.search(r".{40}(SPEC|DOMAIN|DESIGN).{20}", text)
        cited |= set(re.findall(r"README: ([A-Z][a-z]+(?: [a-z]+)*)", text))
    assert "Conservative choices" in cited
    for section in cited:
        assert re.search(rf"^#+ .*{re.escape(section)}", README, re.M | re.I), section


def test_build_example_rebuilds_exactly_the_shipped_example_ledgers(tmp_path):
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("build_example", root / "examples" / "build_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from typer.testing import CliRunner

    runner = CliRunner()
    heads = set()
    for name in ("ledger.jsonl", "ledger.toml", "ledger.json"):
        module.build(tmp_path / name)
        module.clean(tmp_path / name)
        assert (tmp_path / name).read_bytes() == (root / "examples" / name).read_bytes(), name
        heads.add(runner.invoke(app, ["--ledger", str(tmp_path / name), "verify"]).stdout.splitlines()[-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.json", "ledger.jsonl", "ledger.toml"]
    assert len(heads) == 1  # one record in three formats: the same head
