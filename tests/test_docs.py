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
    assert "status" in commands[0] and "examples/ledger.toml" in commands[0]
    assert "pytest" in commands[1]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert commands[1].strip() in ci, ".ci/run must run the README's test command"


def test_readme_says_not_legal_advice():
    assert "Not legal advice" in README
