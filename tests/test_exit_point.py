"""One exit point (issue 16 item 1): every command, through every way in (`main()`, the Typer app run
by Click's test runner), leaves through `exits.finish`: at most one `error: …` line on stderr, the
documented exit code, a traceback only with `--debug`, which never changes the exit code; for `check`
every failure is exit 3 with the UNKNOWN status on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import at, run_both_ways as run
from nis2_incident.cli import core
from nis2_incident.ledger import Store
from nis2_incident.service import Service

NOW = "2026-03-30T20:00"


@pytest.fixture
def ledger(tmp_path) -> Path:
    path = tmp_path / "ledger.toml"
    Service(Store(path), at("2026-03-28T09:00")).init(name="CHU Test", category="essential",
                                                      health_establishment=True)
    Service(Store(path), at("2026-03-28T12:00")).open_incident("Rançongiciel", "2026-03-28T10:00")
    return path



WAYS = ["main", "app"]


@pytest.mark.parametrize("way", WAYS)
def test_a_misspelt_command_is_one_line_naming_the_command_meant(way, ledger, capsys):
    code, out, err = run(way, ["--ledger", str(ledger), "lst"], capsys)
    assert (code, out, err) == (2, "", "error: no such command 'lst' (did you mean 'list'?)\n")
    code, out, err = run(way, ["--ledger", str(ledger), "zzz"], capsys)
    assert (code, err) == (2, "error: no such command 'zzz' (see `nis2-incident --help`)\n")


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("argv, expected", [
    (["show"], (2, "error: missing argument 'ID'\n")),
    (["show", "99"], (4, None)),
    (["status", "--within", "bad"], (2, None)),
    (["--lock-timeout", "soon", "status"], (2, "error: invalid value for '--lock-timeout': 'soon' is not a valid number\n")),
    (["classify", "--staff", "many", "--type", "other", "--turnover", "1M", "--balance", "1M"], (2, None)),
    (["open", "x", "--aware", "next blue moon"], (2, None)),
    (["init", "--name", "X", "--category", "essential"], (5, None)),
])
def test_every_error_is_one_line_and_its_exit_code(way, argv, expected, ledger, capsys):
    code, out, err = run(way, ["--ledger", str(ledger), "--now", NOW, *argv], capsys)
    assert code == expected[0], err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    if expected[1] is not None:
        assert err == expected[1]
    assert "Traceback" not in err


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("argv, code", [(["show", "99"], 4), (["status", "--within", "bad"], 2),
                                        (["init", "--name", "X", "--category", "essential"], 5)])
def test_debug_adds_the_traceback_and_keeps_the_exit_code(way, argv, code, ledger, capsys):
    got, out, err = run(way, ["--debug", "--ledger", str(ledger), "--now", NOW, *argv], capsys)
    assert got == code
    assert "Traceback (most recent call last)" in err and err.splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("debug", [[], ["--debug"]])
@pytest.mark.parametrize("argv", [["check", "--within", "bad"], ["check", "--bogus"], ["check", "--format", "xml"],
                                  ["--lock-timeout", "soon", "check"], ["check", "--ledger", "{missing}"]])
def test_every_failure_of_check_is_unknown_with_its_status_line(way, debug, argv, ledger, capsys):
    """Nagios always gets a status line, exit 3 (today `--debug check --within bad` exited 2)."""
    argv = [a.replace("{missing}", str(ledger.with_name("none.toml"))) for a in argv]
    code, out, err = run(way, [*debug, "--ledger", str(ledger), "--now", NOW, *argv], capsys)
    assert code == 3
    assert out.startswith("NIS2-INCIDENT UNKNOWN - ") and out.count("\n") == 1
    assert err.splitlines()[-1] == "error: " + out.split(" - ", 1)[1].strip()
    assert ("Traceback" in err) == bool(debug and "--bogus" not in argv and "soon" not in argv)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("argv", [["check", "--json"], ["check", "--format", "json"], ["check", "--json", "--bogus"],
                                  ["check", "--format=json", "--within", "bad"]])
def test_check_json_on_an_unreadable_ledger_prints_one_unknown_finding(way, argv, ledger, capsys):
    ledger.write_bytes(ledger.read_bytes()[:40])  # unreadable
    code, out, err = run(way, ["--ledger", str(ledger), "--now", NOW, *argv], capsys)
    assert code == 3
    [line] = out.splitlines()
    record = json.loads(line)
    assert (record["level"], record["kind"], record["msgid"]) == ("unknown", "unknown", "NIS2INC-UNKNOWN")
    assert err == f"error: {record['message']}\n"


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_a_bug_is_exit_70_with_one_line(way, debug, ledger, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom [bold]x[/bold] :fire:")

    monkeypatch.setattr(core, "status", broken)
    code, out, err = run(way, [*debug, "--ledger", str(ledger), "--now", NOW, "status"], capsys)
    assert code == 70
    assert err.splitlines()[-1] == ("internal error: RuntimeError: boom [bold]x[/bold] :fire: "
                                    "(rerun with --debug and report it)")
    assert ("Traceback" in err) == bool(debug)
    if not debug:
        assert err.count("\n") == 1


def test_syslog_without_a_socket_prints_the_findings_and_records_nothing(ledger, capsys, monkeypatch):
    monkeypatch.setattr(core, "SYSLOG_SOCKETS", (str(ledger.with_name("no-such-socket")),))
    import syslog

    sent = []
    monkeypatch.setattr(syslog, "syslog", lambda *a: sent.append(a))
    code, out, err = run("main", ["--ledger", str(ledger), "--now", "2026-03-29T09:00", "check", "--format",
                                  "syslog"], capsys)
    assert code == 1 and sent == []
    assert err.startswith("warning: no local syslog socket")
    assert "DUE SOON INC-2026-001 nis2.early_warning" in out and out.splitlines()[-1].startswith("NIS2-INCIDENT")
    assert not ledger.with_name(ledger.name + ".check-state.json").exists()  # not recorded as announced
    again = run("main", ["--ledger", str(ledger), "--now", "2026-03-29T09:00", "check"], capsys)
    assert "DUE SOON INC-2026-001" in again[1]  # still new to the next run


def test_stderr_has_one_writer():
    """No module of the command line writes stderr by itself: `exits.say` does (the watch's live screen
    and a --debug traceback aside)."""
    import re

    root = Path(core.__file__).parent
    offenders = []
    for path in sorted(root.glob("*.py")):
        if path.name == "exits.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"sys\.stderr\.write|err_console|file=sys\.stderr|typer\.echo\([^)]*err=True", line) \
                    and "traceback" not in line:
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []
