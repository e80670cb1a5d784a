"""The command line through Typer's CliRunner (and once through a real process).

Every run names its ledger (tmp_path) and its clock (`--now`, fixed instants); nothing reads the real
clock. Assertions are on words, ids, stage names and times, never on table borders or columns.
The reference incident: aware 28 Mar 2026 10:00 CET (09:00Z), so the early warning falls due 24 h
later across the clock change, at 29 Mar 2026 11:00 CEST, and the notification at 31 Mar 11:00 CEST.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib

import pytest
import tomli_w
from typer.testing import CliRunner

from nis2_incident.cli import app

runner = CliRunner()
INC = "INC-2026-001"
TITLE = "Ransomware on the PACS"
EARLY_DUE_TEXT = "2026-03-29 11:00 +02:00"
EARLY_DUE = "2026-03-29T11:00:00+02:00"
HEAD_RE = re.compile(r"^head: (\d+):[0-9a-f]{64}$", re.M)
NAGIOS_RE = re.compile(
    r"^NIS2-INCIDENT (OK|WARNING|CRITICAL) - .+ \| overdue=(\d+);;;0 due_soon=(\d+);;;0(?: [a-z_]+=\d+;;;0)*$")


def cli(ledger, now, *args, env=None):
    """`nis2-incident ARGS --ledger L --now N` (global options after the command name)."""
    return runner.invoke(app, [*args, "--ledger", str(ledger), "--now", now], env=env, catch_exceptions=False)


def cli_pre(ledger, now, *args, env=None):
    """`nis2-incident --ledger L --now N ARGS` (global options before the command name)."""
    return runner.invoke(app, ["--ledger", str(ledger), "--now", now, *args], env=env, catch_exceptions=False)


def ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def words(text: str) -> str:
    """Whitespace-normalised output, so Rich's wrapping never matters."""
    return " ".join(text.split())


def js(result):
    return json.loads(result.stdout)


def obligation(data: dict, stage: str) -> dict:
    [ob] = [o for o in data["obligations"] if o["stage"] == stage]
    return ob


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def ledger(ledger_file):
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential"))
    return ledger_file


@pytest.fixture
def incident(ledger):
    ok(cli(ledger, "2026-03-28T10:30", "open", TITLE, "--aware", "2026-03-28T10:00"))
    return ledger


# --- init, paths ----------------------------------------------------------------------------

def test_init_creates_the_ledger_and_speaks_on_stderr(ledger_file):
    r = ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "important"))
    assert r.stdout == ""
    assert f"created ledger {ledger_file} for CHU Test (important, Europe/Paris)" in r.stderr
    assert HEAD_RE.search(r.stderr).group(1) == "1"
    assert tomllib.loads(ledger_file.read_text())["profile"]["category"] == "important"


def test_init_json(ledger_file):
    r = ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential",
               "--timezone", "UTC", "--trust-service", "--json"))
    data = js(r)
    assert data["ledger"] == str(ledger_file)
    assert (data["profile"]["name"], data["profile"]["timezone"], data["profile"]["trust_service"]) == \
        ("CHU Test", "UTC", True)
    assert re.fullmatch(r"1:[0-9a-f]{64}", data["head"])


def test_init_twice_is_refused_and_leaves_the_ledger_alone(ledger):
    before = ledger.read_bytes()
    r = cli(ledger, "2026-03-28T10:00", "init", "--name", "Other", "--category", "important")
    assert "already exists" in one_line_error(r, 5)
    assert ledger.read_bytes() == before


def test_paths_with_the_ledger_option(ledger):
    r = ok(runner.invoke(app, ["paths", "--ledger", str(ledger)], catch_exceptions=False))
    lines = r.stdout.splitlines()
    assert f"ledger: {ledger}" in lines
    assert f"lock: {ledger}.lock" in lines
    assert "source: --ledger" in lines
    assert "exists: True" in lines


def test_paths_and_commands_honour_the_ledger_environment_variable(incident):
    env = {"NIS2_INCIDENT_LEDGER": str(incident)}
    data = js(ok(runner.invoke(app, ["paths", "--json"], env=env, catch_exceptions=False)))
    assert (data["ledger"], data["source"], data["exists"]) == (str(incident), "$NIS2_INCIDENT_LEDGER", True)
    listed = js(ok(runner.invoke(app, ["list", "--json", "--now", "2026-03-28T12:00"], env=env,
                                 catch_exceptions=False)))
    assert [i["id"] for i in listed] == [INC]


@pytest.mark.parametrize("command", ["paths", "verify"])
def test_every_command_takes_now_after_its_name(incident, command):
    """SPEC §4: every command takes --ledger and --now."""
    ok(cli(incident, "2026-03-28T12:00", command))


# --- recording ------------------------------------------------------------------------------

def test_open_prints_the_id_on_stdout_and_the_head_on_stderr(ledger):
    r = ok(cli(ledger, "2026-03-28T10:30", "open", TITLE, "--aware", "2026-03-28T10:00"))
    assert r.stdout.splitlines()[0].split() == [INC, *TITLE.split()]
    out = words(r.stdout)
    for stage in ("nis2.early_warning", "nis2.notification", "nis2.final"):
        assert stage in out
    assert EARLY_DUE_TEXT in out and "2026-03-31 11:00 +02:00" in out
    assert "head:" not in r.stdout
    assert f"recorded {INC}" in r.stderr
    assert HEAD_RE.search(r.stderr).group(1) == "2"


def test_open_json(ledger):
    r = ok(cli(ledger, "2026-03-28T10:30", "open", TITLE, "--aware", "2026-03-28T10:00", "--malicious",
               "--summary", "PACS encrypted", "--json"))
    data = js(r)
    assert (data["id"], data["title"], data["status"], data["aware_at"]) == \
        (INC, TITLE, "open", "2026-03-28T10:00:00+01:00")
    assert (data["significance"], data["malicious"], data["summary"]) == ("undetermined", True, "PACS encrypted")
    assert obligation(data, "nis2.early_warning")["due"] == EARLY_DUE
    assert obligation(data, "nis2.notification")["due"] == "2026-03-31T11:00:00+02:00"
    assert "head:" in r.stderr


def test_update_not_significant_makes_nis2_not_applicable(incident):
    r = ok(cli(incident, "2026-03-28T11:00", "update", INC, "--not-significant",
               "--rationale", "no service impact", "--json"))
    data = js(r)
    assert (data["significance"], data["significance_rationale"]) == ("not_significant", "no service impact")
    assert {o["state"] for o in data["obligations"]} == {"not_applicable"}
    assert f"updated {INC}" in r.stderr and "head: 3:" in r.stderr
    show = js(ok(cli(incident, "2026-03-28T11:00", "show", INC, "--json")))
    assert [t["type"] for t in show["timeline"]] == ["opened", "amended"]


def test_update_aware_moves_the_deadlines(incident):
    data = js(ok(cli(incident, "2026-03-28T11:00", "update", "1", "--aware", "2026-03-28T08:00", "--json")))
    assert data["aware_at"] == "2026-03-28T08:00:00+01:00"
    assert obligation(data, "nis2.early_warning")["due"] == "2026-03-29T09:00:00+02:00"


def test_submit_on_time(incident):
    r = ok(cli(incident, "2026-03-28T12:00", "submit", INC, "nis2.early_warning", "--at", "2026-03-28T11:00",
               "--reference", "ANSSI-2026-0042", "--channel", "portal", "--json"))
    ob = obligation(js(r), "nis2.early_warning")
    assert (ob["state"], ob["submitted_at"], ob["reference"], ob["channel"]) == \
        ("met", "2026-03-28T11:00:00+01:00", "ANSSI-2026-0042", "portal")
    assert f"recorded nis2.early_warning for {INC}, filed 2026-03-28 11:00 +01:00 (on time)" in r.stderr
    assert not re.search(r"^warning:", r.stderr, re.M)


def test_submit_late_without_reason_warns(incident):
    r = ok(cli(incident, "2026-03-29T12:00", "submit", INC, "early_warning", "--at", "2026-03-29T11:30"))
    assert "(late)" in r.stderr
    assert re.search(r"^warning: filed late \(due 2026-03-29 11:00 \+02:00\)", r.stderr, re.M)
    assert "late" in words(r.stdout)


def test_request_sets_the_intermediate_report(incident):
    r = ok(cli(incident, "2026-03-30T10:00", "request", INC, "--due", "2026-04-02T18:00",
               "--at", "2026-03-30T09:00", "--json"))
    ob = obligation(js(r), "nis2.intermediate")
    assert (ob["due"], ob["state"], ob["instance"]) == ("2026-04-02T18:00:00+02:00", "pending", 1)
    assert f"recorded the authority's request for {INC}" in r.stderr


def test_handled_then_close(incident):
    r = ok(cli(incident, "2026-03-30T10:00", "handled", INC, "--at", "2026-03-30T09:00", "--json"))
    assert (js(r)["status"], js(r)["handled_at"]) == ("handled", "2026-03-30T09:00:00+02:00")
    assert f"recorded {INC} as handled" in r.stderr
    r = ok(cli(incident, "2026-03-30T10:00", "close", INC, "--json"))
    assert (js(r)["status"], js(r)["closed_at"]) == ("closed", "2026-03-30T10:00:00+02:00")
    assert re.search(r"^warning: closed with obligations still open: nis2\.early_warning", r.stderr, re.M)
    again = cli(incident, "2026-03-30T11:00", "close", INC)
    assert "closed" in one_line_error(again, 5)


# --- viewing --------------------------------------------------------------------------------

@pytest.fixture
def two(incident):
    ok(cli(incident, "2026-03-28T11:30", "open", "Phishing at the lab", "--aware", "2026-03-28T11:00"))
    return incident


def test_list(two):
    out = words(ok(cli(two, "2026-03-28T12:00", "list")).stdout)
    for word in (INC, TITLE, "INC-2026-002", "Phishing at the lab", "open", "nis2.early_warning", EARLY_DUE_TEXT):
        assert word in out
    data = js(ok(cli(two, "2026-03-28T12:00", "list", "--json")))
    assert [(i["id"], i["next_stage"], i["next_due"]) for i in data] == [
        (INC, "nis2.early_warning", EARLY_DUE), ("INC-2026-002", "nis2.early_warning", "2026-03-29T12:00:00+02:00")]


def test_list_empty(ledger):
    assert "No incidents recorded" in words(ok(cli(ledger, "2026-03-28T12:00", "list")).stdout)
    assert js(ok(cli(ledger, "2026-03-28T12:00", "list", "--json"))) == []


def test_status_dashboard(two):
    out = words(ok(cli(two, "2026-03-28T12:00", "status")).stdout)
    assert "CHU Test" in out and "2026-03-28 12:00 +01:00" in out
    for word in (INC, "INC-2026-002", "nis2.notification", EARLY_DUE_TEXT, "in 23 h", "in 22 h"):
        assert word in out
    assert out.index(EARLY_DUE_TEXT) < out.index("2026-03-31 11:00 +02:00")  # most urgent first


def test_status_of_one_incident(two):
    out = words(ok(cli(two, "2026-03-28T12:00", "status", "INC-2026-002")).stdout)
    assert "INC-2026-002" in out and INC not in out
    data = js(ok(cli(two, "2026-03-28T12:00", "status", "2", "--json")))
    assert [i["id"] for i in data] == ["INC-2026-002"]
    assert "INC-2026-099" in one_line_error(cli(two, "2026-03-28T12:00", "status", "INC-2026-099"), 4)


def test_show(incident):
    ok(cli(incident, "2026-03-28T12:00", "submit", INC, "nis2.early_warning", "--at", "2026-03-28T11:00",
           "--reference", "ANSSI-2026-0042"))
    out = words(ok(cli(incident, "2026-03-28T12:00", "show", INC)).stdout)
    for word in (INC, TITLE, "2026-03-28 10:00 +01:00", "undetermined", "nis2.early_warning", "met",
                 "ANSSI-2026-0042", "2026-03-31 11:00 +02:00", "opened"):
        assert word in out
    data = js(ok(cli(incident, "2026-03-28T12:00", "show", "1", "--json")))
    assert [(f["stage"], f["reference"], f["late"]) for f in data["filings"]] == \
        [("nis2.early_warning", "ANSSI-2026-0042", False)]
    assert [t["type"] for t in data["timeline"]] == ["opened", "filed"]


def test_explain_one_stage_across_the_clock_change(incident):
    out = words(ok(cli(incident, "2026-03-28T10:30", "explain", INC, "nis2.early_warning")).stdout)
    assert "2026-03-28 10:00 +01:00 CET" in out
    assert "2026-03-29 11:00 +02:00 CEST" in out
    assert "24 h ends at 11:00" in out
    assert "same wall-clock time 10:00" in out
    assert "nis2.notification" not in out
    data = js(ok(cli(incident, "2026-03-28T10:30", "explain", INC, "early_warning", "--json")))
    [ob] = data["obligations"]
    assert (ob["stage"], ob["due"]) == ("nis2.early_warning", EARLY_DUE)
    assert any("11:00" in s and "10:00" in s for s in ob["steps"])


def test_explain_every_stage(incident):
    out = words(ok(cli(incident, "2026-03-28T10:30", "explain", INC)).stdout)
    for stage in ("nis2.early_warning", "nis2.notification", "nis2.intermediate", "nis2.final", "nis2.progress"):
        assert stage in out
    assert "Art. 23(4)(a)" in out and "conservative choice" in out
    data = js(ok(cli(incident, "2026-03-28T10:30", "explain", INC, "--json")))
    # init enables nis2 and gdpr by default (csp only for a health establishment); without personal data
    # the GDPR stages are listed as not applicable, and explain says which fact decided it.
    assert [o["stage"] for o in data["obligations"]] == [
        "nis2.early_warning", "nis2.notification", "nis2.intermediate", "nis2.final", "nis2.progress",
        "gdpr.notification", "gdpr.data_subjects"]
    gdpr = data["obligations"][5]
    assert gdpr["state"] == "not_applicable"
    assert gdpr["steps"][0] == "GDPR does not apply: incident personal_data = unknown (applies when yes)"


def test_explain_unknown_stage_lists_the_accepted_ones(incident):
    msg = one_line_error(cli(incident, "2026-03-28T10:30", "explain", INC, "nis2.bogus"), 4)
    assert "nis2.bogus" in msg and "nis2.early_warning" in msg and "nis2.final" in msg


# --- global options and the clock -------------------------------------------------------------

def test_global_options_before_the_command_name(incident):
    before = ok(cli_pre(incident, "2026-03-28T12:00", "status", "--json"))
    after = ok(cli(incident, "2026-03-28T12:00", "status", "--json"))
    assert js(before) == js(after)
    assert [i["id"] for i in js(before)] == [INC]
    out = words(ok(cli_pre(incident, "2026-03-28T12:00", "status")).stdout)
    assert INC in out and "in 22 h" in out


def test_now_environment_variable_is_honoured(incident):
    env = {"NIS2_INCIDENT_NOW": "2026-03-29T12:00"}
    r = runner.invoke(app, ["check", "--ledger", str(incident)], env=env, catch_exceptions=False)
    assert r.exit_code == 2
    assert f"OVERDUE {INC} nis2.early_warning" in r.stdout
    r = runner.invoke(app, ["check", "--ledger", str(incident)], env={"NIS2_INCIDENT_NOW": "2026-03-28T12:00"},
                      catch_exceptions=False)
    assert r.exit_code == 0


def test_now_environment_variable_is_read_in_the_profiles_zone(ledger_file):
    """WHEN without offset is in the profile's zone (SPEC §4), from $NIS2_INCIDENT_NOW as from --now."""
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "U", "--category", "important", "--timezone", "UTC"))
    env = {"NIS2_INCIDENT_NOW": "2026-03-28T12:00"}
    r = runner.invoke(app, ["open", "X", "--aware", "2026-03-28T11:30", "--json", "--ledger", str(ledger_file)],
                      env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    assert js(r)["aware_at"] == "2026-03-28T11:30:00+00:00"


# --- check ----------------------------------------------------------------------------------

def summary(result):
    """(status word, overdue, due_soon) from the last line, the Nagios summary with its perfdata."""
    last = result.stdout.splitlines()[-1]
    m = NAGIOS_RE.match(last)
    assert m, last
    return m.group(1), int(m.group(2)), int(m.group(3))


def test_check_ok(incident):
    r = cli(incident, "2026-03-28T12:00", "check")
    assert r.exit_code == 0
    assert summary(r) == ("OK", 0, 0)
    assert r.stdout.splitlines() == [r.stdout.splitlines()[-1]]
    q = cli(incident, "2026-03-28T12:00", "check", "--quiet")
    assert (q.exit_code, q.stdout, q.stderr) == (0, "", "")


def test_check_due_soon(incident):
    # 5 h left, default window 6 h: WARNING, but the first step of the 24 h ladder (4 h before) is not
    # crossed yet, so there is nothing new to announce and --quiet prints nothing (issue 5).
    q = cli(incident, "2026-03-29T06:00", "check", "--quiet")
    assert (q.exit_code, q.stdout) == (1, "")
    r = cli(incident, "2026-03-29T06:00", "check", "--all")
    assert r.exit_code == 1
    assert summary(r) == ("WARNING", 0, 1)
    assert f"DUE SOON {INC} nis2.early_warning due {EARLY_DUE_TEXT} (in 5 h; within the 6 h window)" in r.stdout
    r = cli(incident, "2026-03-29T07:00", "check", "--quiet")  # the 4 h step: announced
    assert r.exit_code == 1 and summary(r) == ("WARNING", 0, 1)
    assert f"DUE SOON {INC} nis2.early_warning due {EARLY_DUE_TEXT} (in 4 h; within the 6 h window)" in r.stdout


def test_check_window(incident):
    assert cli(incident, "2026-03-29T04:00", "check").exit_code == 0  # 7 h left
    r = cli(incident, "2026-03-29T04:00", "check", "--within", "8h")
    assert r.exit_code == 1 and summary(r) == ("WARNING", 0, 1)


def test_check_window_defaults_to_the_profile(ledger_file):
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "X", "--category", "essential", "--within", "2h"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", TITLE, "--aware", "2026-03-28T10:00"))
    assert cli(ledger_file, "2026-03-29T06:00", "check").exit_code == 0  # 5 h left
    assert cli(ledger_file, "2026-03-29T09:30", "check").exit_code == 1  # 1 h 30 left


def test_check_overdue(incident):
    r = cli(incident, "2026-03-29T12:00", "check")
    assert r.exit_code == 2
    assert summary(r) == ("CRITICAL", 1, 0)
    assert f"OVERDUE {INC} nis2.early_warning" in r.stdout and "overdue by 1 h" in r.stdout


def test_check_json_lines(incident):
    r = cli(incident, "2026-03-31T06:00", "check", "--json")  # early warning overdue, notification in 5 h
    assert r.exit_code == 2
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [{k: rec[k] for k in ("level", "kind", "incident", "stage", "due")} for rec in records] == [
        {"level": "critical", "kind": "overdue", "incident": INC, "stage": "nis2.early_warning", "due": EARLY_DUE},
        {"level": "warning", "kind": "due_soon", "incident": INC, "stage": "nis2.notification",
         "due": "2026-03-31T11:00:00+02:00"},
    ]


def test_check_missing_ledger(tmp_path):
    r = cli(tmp_path / "none.toml", "2026-03-28T12:00", "check")
    assert r.exit_code == 3
    assert r.stdout.splitlines()[-1].startswith("NIS2-INCIDENT UNKNOWN - ")
    assert r.stderr.startswith("error: ")
    j = cli(tmp_path / "none.toml", "2026-03-28T12:00", "check", "--json")
    assert j.exit_code == 3
    record = json.loads(j.stdout)  # issue 16: one JSON finding of level unknown, alone on stdout
    assert (record["level"], record["msgid"]) == ("unknown", "NIS2INC-UNKNOWN") and "no ledger" in record["message"]


def test_check_corrupt_ledger(incident):
    incident.write_bytes(incident.read_bytes()[:-40])
    assert cli(incident, "2026-03-28T12:00", "check").exit_code == 3


def tamper(path):
    raw = path.read_bytes()
    assert raw.count(b"on the PACS") == 1
    path.write_bytes(raw.replace(b"on the PACS", b"on the PACZ"))


def test_check_tampered_ledger(incident):
    tamper(incident)
    r = cli(incident, "2026-03-29T12:00", "check")
    assert r.exit_code == 3
    assert "seq 2" in r.stderr


# --- verify ---------------------------------------------------------------------------------

def test_verify_ok(incident):
    r = ok(cli_pre(incident, "2026-03-28T12:00", "verify"))
    assert "ok: 2 events, 1 incidents, chain verified" in r.stdout
    assert HEAD_RE.search(r.stdout).group(1) == "2"
    data = js(ok(cli_pre(incident, "2026-03-28T12:00", "verify", "--json")))
    assert (data["ok"], data["events"], data["incidents"]) == (True, 2, 1)


def test_verify_tampered(incident):
    tamper(incident)
    msg = one_line_error(cli_pre(incident, "2026-03-28T12:00", "verify"), 3)
    assert "seq 2" in msg and "altered" in msg


def test_verify_kept_head_after_the_last_event_was_cut(incident):
    r = ok(cli(incident, "2026-03-28T12:00", "submit", INC, "nis2.early_warning", "--at", "2026-03-28T11:00"))
    kept = re.search(r"^head: (3:[0-9a-f]{64})$", r.stderr, re.M).group(1)
    ok(cli_pre(incident, "2026-03-28T12:00", "verify", "--head", kept))
    data = tomllib.loads(incident.read_text())
    data["events"].pop()
    incident.write_text(tomli_w.dumps(data))
    assert ok(cli_pre(incident, "2026-03-28T12:00", "verify")).stdout.startswith("ok: 2 events")
    for head in (kept, kept.split(":")[1]):
        msg = one_line_error(cli_pre(incident, "2026-03-28T12:00", "verify", "--head", head), 3)
        assert "removed" in msg


# --- stdout is data, stderr is messages ---------------------------------------------------------

JSON_COMMANDS = [
    ["open", "Second", "--aware", "2026-03-28T11:00"],
    ["update", INC, "--significant"],
    ["submit", INC, "nis2.early_warning", "--at", "2026-03-28T11:00"],
    ["request", INC, "--due", "2026-04-02T18:00", "--at", "2026-03-28T11:00"],
    ["handled", INC, "--at", "2026-03-28T11:30"],
    ["close", INC],
    ["list"], ["status"], ["status", INC], ["show", INC], ["explain", INC], ["explain", INC, "nis2.final"],
    ["paths"], ["verify"],
]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_json_output_is_pure_json(incident, args):
    r = ok(cli_pre(incident, "2026-03-28T12:00", *args, "--json"))
    data = js(r)
    assert isinstance(data, (dict, list)) and data


# --- bad input (SPEC §8) --------------------------------------------------------------------------

BAD = [
    (["submit", "INC-2026-099", "nis2.early_warning"], "2026-03-28T12:00", 4, ["INC-2026-099"]),
    (["submit", INC, "nis2.bogus"], "2026-03-28T12:00", 4,
     ["nis2.bogus", "nis2.early_warning", "nis2.notification", "nis2.final"]),
    (["open", "X", "--aware", "2026-03-28T13:00"], "2026-03-28T12:00", 2, ["future"]),
    (["update", INC, "--aware", "2026-03-28T13:00"], "2026-03-28T12:00", 2, ["future"]),
    (["submit", INC, "nis2.early_warning", "--at", "2026-03-28T09:00"], "2026-03-28T12:00", 2,
     ["before", "aware-at"]),
    (["open", "X", "--aware", "2026-03-29T02:30"], "2026-03-30T12:00", 2, ["2026-03-29 02:30", "does not exist"]),
    (["open", "X", "--aware", "2026-10-25T02:30"], "2026-10-26T12:00", 2,
     ["2026-10-25T02:30+02:00", "2026-10-25T02:30+01:00"]),
    (["open", "X", "--aware", "yesterdayish"], "2026-03-28T12:00", 2, ["yesterdayish", "accepted", "2h ago"]),
    (["open", "X", "--aware", "2026-03-28T10:00", "--not-significant"], "2026-03-28T12:00", 2, ["--rationale"]),
    (["open", "X"], "2026-03-28T12:00", 2, ["--aware"]),
    (["request", INC, "--due", "2026-03-28T11:00", "--at", "2026-03-28T11:30"], "2026-03-28T12:00", 2, ["--due"]),
]


@pytest.mark.parametrize("args,now,code,needles", BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_input_is_one_line_and_writes_nothing(incident, args, now, code, needles):
    before = incident.read_bytes()
    msg = one_line_error(cli(incident, now, *args), code)
    for needle in needles:
        assert needle in msg
    if "yesterdayish" in args:
        assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", msg)  # an accepted example
    assert incident.read_bytes() == before


@pytest.mark.parametrize("option,value,needle", [("--timezone", "Mars/Olympus", "Europe/Paris"),
                                                 ("--category", "vital", "essential, important")])
def test_bad_profile_at_init(ledger_file, option, value, needle):
    args = ["init", "--name", "X", "--category", "essential", option, value]
    msg = one_line_error(cli(ledger_file, "2026-03-28T09:00", *args), 2)
    assert value in msg and needle in msg
    assert not ledger_file.exists()


@pytest.mark.parametrize("args,needles", [(["--regime", "nis2", "--regime", "foo"], ["unknown regime(s) foo", "gdpr"]),
                                          (["--regimes-dir", "/nonexistent/rules"], ["not a folder", "accepted"])])
def test_profile_refuses_what_init_refuses(incident, args, needles):
    """Review of session 6 (older than it): `profile --regime foo` recorded a regime no file defines,
    and `profile --regimes-dir` a folder that is not one, after which every read failed. Refused as
    `init` refuses them (exit 2, the ledger untouched, still readable)."""
    before = incident.read_bytes()
    msg = one_line_error(cli(incident, "2026-03-28T12:00", "profile", *args), 2)
    for needle in needles:
        assert needle in msg
    assert incident.read_bytes() == before
    assert cli(incident, "2026-03-28T12:00", "status").exit_code == 0


@pytest.mark.parametrize("damage", ["garbage", "tampered"])
def test_unreadable_ledger_refuses_writes(incident, damage):
    if damage == "garbage":
        incident.write_bytes(b"schema_version = 1\n[profile\nname = 'x'\n")
    else:
        tamper(incident)
    before = incident.read_bytes()
    msg = one_line_error(cli(incident, "2026-03-28T12:00", "open", "X", "--aware", "2026-03-28T11:00"), 3)
    assert str(incident) in msg
    assert incident.read_bytes() == before


def test_missing_ledger(tmp_path):
    path = tmp_path / "none.toml"
    msg = one_line_error(cli(path, "2026-03-28T12:00", "open", "X", "--aware", "2026-03-28T11:00"), 3)
    assert str(path) in msg and "init" in msg
    assert not path.exists()
    one_line_error(cli(path, "2026-03-28T12:00", "status"), 3)


# --- a real process -----------------------------------------------------------------------------

def test_real_process_stdout_is_json_and_stderr_has_messages(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIS2_INCIDENT_")}
    env["NO_COLOR"] = "1"
    path = str(tmp_path / "ledger.json")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", path, *args],
                              capture_output=True, text=True, env=env, timeout=60)

    r = run("--now", "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["profile"]["name"] == "CHU Test"
    assert "created ledger" in r.stderr
    assert json.loads((tmp_path / "ledger.json").read_text())["schema_version"] == 1

    r = run("open", TITLE, "--aware", "2026-03-28T10:00", "--now", "2026-03-28T10:30", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == INC
    assert HEAD_RE.search(r.stderr).group(1) == "2"

    r = run("status", "--now", "2026-03-28T12:00", "--json")
    assert r.returncode == 0, r.stderr
    assert [i["id"] for i in json.loads(r.stdout)] == [INC]
    assert r.stderr == ""

    r = run("show", "INC-2026-099", "--now", "2026-03-28T12:00", "--json")
    assert (r.returncode, r.stdout) == (4, "")
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1

    r = run("check", "--now", "2026-03-29T12:00")
    assert r.returncode == 2
    assert summary(r) == ("CRITICAL", 1, 0)
