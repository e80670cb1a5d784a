"""`init` asks the entity's roles on a terminal (issue 17 item 1: "each a documented flag, asked by `init`
on a terminal and settable by `profile`").

On a real pseudo-terminal (as interactive `open` and `triage` are tested, `test_watch.Terminal`): the
answers give the ledger the same flags give, byte for byte; Ctrl-C or Ctrl-D creates nothing. Off a
terminal (stdin or stdout not one: cron, CI, pipes), with --json, with a role flag given or an existing
ledger, nothing is asked. The in-process cases replace the terminal check (`prompts.on_terminal`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib

import pytest
from typer.testing import CliRunner

from nis2_incident.cli import app, prompts

from test_watch import Terminal

runner = CliRunner()
NOW = "2026-03-28T09:00"
BASE = ["init", "--name", "Éditeur Santé Exemple", "--category", "important"]
QUESTIONS = ["(--ose) [y/N]", "(--critical-entity) [y/N]", "(--financial-entity) [y/N]",
             "(--cra-manufacturer) [y/N]", "(--mdr-manufacturer) [y/N]", "(--ai-provider) [y/N]",
             "(--gdpr-role) [controller]"]
# answers, and the flags that say the same: yes, Enter (no), "n", "oui", Enter, Enter, processor
ANSWERS = ["y", "", "n", "oui", "", "", "processor"]
SAME_FLAGS = ["--ose", "--no-critical-entity", "--no-financial-entity", "--cra-manufacturer",
              "--no-mdr-manufacturer", "--no-ai-provider", "--gdpr-role", "processor"]


def cli(ledger, *args, **kw):
    return runner.invoke(app, [*args, "--ledger", str(ledger), "--now", NOW], catch_exceptions=False, **kw)


def ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def on_a_terminal(*args: str, answers: list[str], end: str | None = None) -> tuple[int, str]:
    """Run `args` on a pseudo-terminal, answering each question in turn; `end` is sent at the next one
    (`"SIGINT"`: the signal Ctrl-C sends, as the pseudo-terminal is not the child's controlling terminal)."""
    term = Terminal(*args)
    try:
        for question, answer in zip(QUESTIONS, answers):
            term.expect(question)
            term.expect(": ")
            term.send(answer + "\n")
        if end is not None:
            term.expect(QUESTIONS[len(answers)])
            term.expect(": ")
            if end == "SIGINT":
                term.proc.send_signal(signal.SIGINT)
            else:
                term.send(end)
        code = term.close()
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    return code, term.text


def test_init_on_a_terminal_asks_each_role_and_records_what_the_flags_record(tmp_path):
    asked, flags = tmp_path / "asked.toml", tmp_path / "flags.toml"
    code, screen = on_a_terminal(*BASE, "--ledger", str(asked), "--now", NOW, answers=ANSWERS)
    assert code == 0, screen
    assert f"created ledger {asked}" in screen
    for question in QUESTIONS:
        assert screen.count(question) == 1, question  # each asked once, its flag named
    ok(cli(flags, *BASE, *SAME_FLAGS))
    assert asked.read_bytes() == flags.read_bytes()
    profile = tomllib.loads(asked.read_text(encoding="utf-8"))["profile"]
    assert (profile["ose"], profile["cra_manufacturer"], profile["gdpr_role"]) == (True, True, "processor")
    assert "critical_entity" not in profile  # "no" is the default, left out of the record as without a flag
    assert profile["regimes"] == ["nis2", "nis1", "cra", "gdpr_processor"]  # the roles enabled their regimes


@pytest.mark.parametrize("key, name", [("\x04", "Ctrl-D"), ("SIGINT", "Ctrl-C")])
def test_init_interrupted_at_a_question_creates_nothing(tmp_path, key, name):
    ledger = tmp_path / "ledger.toml"
    code, screen = on_a_terminal(*BASE, "--ledger", str(ledger), "--now", NOW, answers=ANSWERS[:3], end=key)
    assert code == 130, (name, screen)
    assert "interrupted: no ledger was created" in screen
    assert list(tmp_path.iterdir()) == []  # no ledger, no lock file


def test_no_question_when_stdout_is_not_a_terminal(tmp_path):
    """stdin a terminal but stdout redirected (`init ... > log`): nothing asked, the defaults as before."""
    ledger = tmp_path / "ledger.toml"
    master, slave = os.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "nis2_incident", *BASE, "--ledger", str(ledger), "--now", NOW],
                              stdin=slave, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "NO_COLOR": "1"})
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 0, proc.stderr
    assert "[y/N]" not in proc.stderr and f"created ledger {ledger}" in proc.stderr
    assert tomllib.loads(ledger.read_text(encoding="utf-8"))["profile"]["regimes"] == ["nis2", "gdpr"]


def test_no_question_off_a_terminal(tmp_path):
    """CliRunner's stdin is not a terminal (cron, CI, a pipe): the answers on stdin are never read."""
    ledger = tmp_path / "ledger.toml"
    r = ok(cli(ledger, *BASE, input="y\ny\ny\ny\ny\ny\nboth\n"))
    assert "[y/N]" not in r.stderr
    profile = tomllib.loads(ledger.read_text(encoding="utf-8"))["profile"]
    assert "ose" not in profile and profile["regimes"] == ["nis2", "gdpr"]


@pytest.mark.parametrize("extra", [["--ose"], ["--no-ai-provider"], ["--gdpr-role", "both"], ["--json"]])
def test_no_question_once_a_role_flag_or_json_is_given(tmp_path, monkeypatch, extra):
    """A role flag says the roles are being given (the others keep their defaults, as before); --json is for
    scripts. With no input, a question would meet end of input and exit 130."""
    monkeypatch.setattr(prompts, "on_terminal", lambda: True)
    r = ok(cli(tmp_path / "ledger.toml", *BASE, *extra, input=""))
    assert "[y/N]" not in r.stderr


def test_an_existing_ledger_is_refused_before_any_question(tmp_path, monkeypatch):
    ledger = tmp_path / "ledger.toml"
    ok(cli(ledger, *BASE))
    before = ledger.read_bytes()
    monkeypatch.setattr(prompts, "on_terminal", lambda: True)
    r = cli(ledger, *BASE, input="")
    assert r.exit_code != 0 and "[y/N]" not in r.stderr
    assert r.stderr.startswith("error: ") and "already exists" in r.stderr
    assert ledger.read_bytes() == before


def test_a_bad_answer_is_asked_again_and_the_answers_are_the_flags(tmp_path, monkeypatch):
    monkeypatch.setattr(prompts, "on_terminal", lambda: True)
    asked, flags = tmp_path / "asked.toml", tmp_path / "flags.toml"
    r = ok(cli(asked, *BASE, input="\n".join(["maybe", "n", "y", "", "", "y", "", "all", "both"]) + "\n"))
    assert "answer y (yes) or n (no, the default)" in r.stderr
    assert "answer one of controller, processor, both" in r.stderr
    ok(cli(flags, *BASE, "--critical-entity", "--mdr-manufacturer", "--gdpr-role", "both"))
    assert asked.read_bytes() == flags.read_bytes()


def test_end_of_input_at_a_question_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(prompts, "on_terminal", lambda: True)
    r = cli(tmp_path / "ledger.toml", *BASE, input="y\nn\n")  # then end of input, as Ctrl-D
    assert r.exit_code == 130
    assert "interrupted: no ledger was created" in r.stderr
    assert list(tmp_path.iterdir()) == []
