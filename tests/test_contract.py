"""The JSON contract (SPEC §4), pinned exactly, in the spirit of todoman's test_porcelain.

Two sets per object: the contract's minimum (keys that must always be present) and the full current
set. A removed or renamed key fails both; an added key fails the full set, so that the addition is
made on purpose and recorded here (and in the CHANGELOG).
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from nis2_incident.cli import app

runner = CliRunner()
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")

INCIDENT_CONTRACT = {"id", "title", "status", "aware_at", "significance", "obligations"}
OBLIGATION_CONTRACT = {"regime", "stage", "due", "state", "submitted_at", "reference"}

INCIDENT_KEYS = INCIDENT_CONTRACT | {
    "significance_rationale", "detected_at", "handled_at", "closed_at", "summary", "malicious", "cross_border",
    "personal_data", "high_risk", "severity", "impact", "iocs", "root_cause", "mitigations", "next_due",
    "next_stage",
    # issue 17: the facts of the other regimes
    "service_disruption", "major", "classified_major_at", "vulnerability_exploited", "severe_incident",
    "corrective_measure_at", "patient_harm", "public_health_threat", "device_involved", "ai_system_involved",
    "widespread_infringement",
}
OBLIGATION_KEYS = OBLIGATION_CONTRACT | {"target", "recipient_channel",
    "title", "title_fr", "recipient", "article", "due_kind", "clock_start", "clock_start_label", "channel",
    "late_reason", "note", "instance",
    # issue 17: whether the rule binds at aware-at, the undecided facts it rests on, unconfirmed points
    "in_force", "in_force_note", "undetermined_facts", "unconfirmed",
}
SHOW_EXTRA = {"filings", "requests", "timeline"}
FILING_KEYS = {"seq", "stage", "at", "reference", "channel", "late_reason", "due", "late", "draft_sha256", "late_now"}
REQUEST_KEYS = {"seq", "stage", "at", "due"}
TIMELINE_KEYS = {"seq", "type", "recorded_at", "at", "text"}
EXPLAIN_KEYS = {"id", "timezone", "obligations"}
EXPLAIN_OBLIGATION_KEYS = OBLIGATION_KEYS | {"steps", "conservative_choices", "judged_at_filing"}
CHECK_KEYS = {"level", "kind", "incident", "title", "regime", "stage", "state", "due", "seconds_left", "target",
              "clock_start", "now",
              # issue 5: the reminder step announced, whether this run announces it first, a stable message id
              "instance", "step", "step_at", "new", "msgid"}
VERIFY_KEYS = {"ok", "events", "incidents", "head", "head_check"}
PATHS_KEYS = {"ledger", "lock", "source", "exists", "default"}
INIT_KEYS = {"ledger", "profile", "head"}

STATES = {"pending", "overdue", "met", "late", "not_applicable"}  # the example ledger shows each of these
ALL_STATES = STATES | {"not_in_force"}  # issue 17: with the profile's `not_in_force = "ignore"`
STATUSES = {"open", "handled", "closed"}
SIGNIFICANCES = {"significant", "not_significant", "undetermined"}

INCIDENT_INSTANTS = ("aware_at", "detected_at", "handled_at", "closed_at", "next_due")
OBLIGATION_INSTANTS = ("due", "submitted_at", "clock_start")
NOW = "2026-04-01T12:00"


def cli(ledger, now, *args):
    result = runner.invoke(app, [*args, "--ledger", str(ledger), "--now", now], catch_exceptions=False)
    assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.stderr}"
    return result


def cli_json(ledger, now, *args):
    return json.loads(cli(ledger, now, *args, "--json").stdout)


def check_incident(data: dict, extra: set = frozenset()) -> None:
    """Every incident object: exact keys, contract subset, value formats."""
    assert INCIDENT_CONTRACT <= set(data)
    assert set(data) == INCIDENT_KEYS | extra
    assert re.fullmatch(r"INC-\d{4}-\d{3}", data["id"])
    assert isinstance(data["title"], str) and data["title"]
    assert data["status"] in STATUSES
    assert data["significance"] in SIGNIFICANCES
    assert RFC3339.match(data["aware_at"])
    for key in INCIDENT_INSTANTS:
        assert data[key] is None or RFC3339.match(data[key]), (key, data[key])
    for key in ("malicious", "cross_border", "personal_data", "high_risk"):
        assert data[key] in (True, False, None)
    assert isinstance(data["iocs"], list)
    assert isinstance(data["obligations"], list) and data["obligations"]
    for ob in data["obligations"]:
        check_obligation(ob)


def check_obligation(ob: dict, keys: set = OBLIGATION_KEYS) -> None:
    assert OBLIGATION_CONTRACT <= set(ob)
    assert set(ob) == keys
    assert ob["regime"] == ob["stage"].split(".")[0]
    assert re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", ob["stage"])
    assert ob["state"] in ALL_STATES
    for key in OBLIGATION_INSTANTS:
        assert ob[key] is None or RFC3339.match(ob[key]), (ob["stage"], key, ob[key])
    if ob["state"] in ("met", "late"):
        assert ob["submitted_at"] is not None
    if ob["state"] in ("pending", "overdue"):
        assert (ob["submitted_at"], ob["reference"]) == (None, None)
    if ob["state"] == "overdue":
        assert ob["due"] is not None


def by_stage(data: dict) -> dict:
    return {o["stage"] + (f"#{o['instance']}" if o["instance"] else ""): o for o in data["obligations"]}


@pytest.fixture
def scenario(ledger_file):
    """Four incidents covering every status and every state, as of NOW (1 Apr 2026 12:00 CEST).

    INC-1 significant: early warning met, notification late, intermediate requested (pending), final pending.
    INC-2 not significant: every nis2 obligation not applicable.
    INC-3 handled, early warning overdue.   INC-4 closed.
    """
    L = ledger_file
    cli(L, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential", "--regime", "nis2")
    opened = cli_json(L, "2026-03-28T10:30", "open", "Ransomware on the PACS", "--aware", "2026-03-28T10:00",
                      "--detected", "2026-03-28T09:40", "--significant", "--malicious", "--personal-data",
                      "--summary", "PACS encrypted", "--ioc", "203.0.113.7", "--severity", "high")
    cli(L, "2026-03-28T12:00", "submit", "1", "nis2.early_warning", "--at", "2026-03-28T11:00",
        "--reference", "ANSSI-2026-0042", "--channel", "portal")
    cli(L, "2026-03-30T10:00", "request", "1", "--due", "2026-04-02T18:00", "--at", "2026-03-30T09:00")
    cli(L, "2026-03-31T13:00", "submit", "1", "nis2.notification", "--at", "2026-03-31T12:00",
        "--reference", "ANSSI-2026-0043", "--late-reason", "servers down")
    cli(L, "2026-03-28T11:30", "open", "Phishing at the lab", "--aware", "2026-03-28T11:00",
        "--not-significant", "--rationale", "no service impact")
    cli(L, "2026-03-28T12:30", "open", "Lost laptop", "--aware", "2026-03-28T12:00")
    cli(L, "2026-03-29T12:30", "handled", "3", "--at", "2026-03-29T12:00")
    cli(L, "2026-03-28T13:30", "open", "DDoS on the portal", "--aware", "2026-03-28T13:00")
    cli(L, "2026-03-28T14:00", "close", "4")
    return L, opened


# --- key sets -------------------------------------------------------------------------------------

def test_open_json_keys(scenario):
    _, opened = scenario
    check_incident(opened)
    assert (opened["id"], opened["status"], opened["significance"]) == ("INC-2026-001", "open", "significant")


def test_show_json_keys(scenario):
    L, _ = scenario
    for ident in ("INC-2026-001", "INC-2026-002", "INC-2026-003", "INC-2026-004"):
        data = cli_json(L, NOW, "show", ident)
        check_incident(data, SHOW_EXTRA)
        for f in data["filings"]:
            assert set(f) == FILING_KEYS
            assert RFC3339.match(f["at"]) and (f["due"] is None or RFC3339.match(f["due"]))
            assert isinstance(f["late"], bool) and isinstance(f["seq"], int)
        for r in data["requests"]:
            assert set(r) == REQUEST_KEYS
            assert RFC3339.match(r["at"]) and RFC3339.match(r["due"])
        assert data["timeline"]
        for t in data["timeline"]:
            assert set(t) == TIMELINE_KEYS
            assert RFC3339.match(t["recorded_at"]) and (t["at"] is None or RFC3339.match(t["at"]))


def test_show_json_filings_requests_timeline_values(scenario):
    L, _ = scenario
    data = cli_json(L, NOW, "show", "INC-2026-001")
    assert [(f["stage"], f["at"], f["reference"], f["channel"], f["late_reason"], f["due"], f["late"])
            for f in data["filings"]] == [
        ("nis2.early_warning", "2026-03-28T11:00:00+01:00", "ANSSI-2026-0042", "portal", None,
         "2026-03-29T11:00:00+02:00", False),
        ("nis2.notification", "2026-03-31T12:00:00+02:00", "ANSSI-2026-0043", None, "servers down",
         "2026-03-31T11:00:00+02:00", True),
    ]
    assert [(r["stage"], r["at"], r["due"]) for r in data["requests"]] == [
        ("nis2.intermediate", "2026-03-30T09:00:00+02:00", "2026-04-02T18:00:00+02:00")]
    assert [t["type"] for t in data["timeline"]] == ["opened", "filed", "requested", "filed"]
    assert [t["seq"] for t in data["timeline"]] == sorted(t["seq"] for t in data["timeline"])


@pytest.mark.parametrize("command", ["list", "status"])
def test_list_and_status_json_elements(scenario, command):
    L, _ = scenario
    data = cli_json(L, NOW, command)
    assert isinstance(data, list) and data
    for element in data:
        check_incident(element)


def test_list_json_holds_every_incident_and_status(scenario):
    L, _ = scenario
    data = cli_json(L, NOW, "list")
    assert [(i["id"], i["status"]) for i in data] == [
        ("INC-2026-001", "open"), ("INC-2026-002", "open"), ("INC-2026-003", "handled"),
        ("INC-2026-004", "closed")]
    assert {o["state"] for i in data for o in i["obligations"]} == STATES


@pytest.mark.parametrize("args", [
    ["update", "1", "--impact", "radiology down"],
    ["submit", "3", "nis2.early_warning", "--reference", "ANSSI-2026-0050"],
    ["request", "1", "--due", "2026-04-05T18:00"],
    ["handled", "1"],
    ["close", "1"],
], ids=lambda a: a[0])
def test_write_commands_print_the_same_incident_object(scenario, args):
    L, _ = scenario
    check_incident(cli_json(L, NOW, *args))


# --- values -----------------------------------------------------------------------------------------

def test_obligation_values_of_the_reference_incident(scenario):
    L, _ = scenario
    obs = by_stage(cli_json(L, NOW, "show", "INC-2026-001"))
    assert set(obs) == {"nis2.early_warning", "nis2.notification", "nis2.intermediate#1", "nis2.final",
                        "nis2.progress"}
    got = {k: (o["state"], o["due"], o["submitted_at"], o["reference"]) for k, o in obs.items()}
    assert got["nis2.early_warning"] == ("met", "2026-03-29T11:00:00+02:00", "2026-03-28T11:00:00+01:00",
                                         "ANSSI-2026-0042")
    assert got["nis2.notification"] == ("late", "2026-03-31T11:00:00+02:00", "2026-03-31T12:00:00+02:00",
                                        "ANSSI-2026-0043")
    assert got["nis2.intermediate#1"] == ("pending", "2026-04-02T18:00:00+02:00", None, None)
    # the final report counts from the actual submission of the notification
    assert got["nis2.final"] == ("pending", "2026-04-30T12:00:00+02:00", None, None)
    assert obs["nis2.early_warning"]["regime"] == "nis2"


def test_not_significant_obligations_are_not_applicable_without_due(scenario):
    L, _ = scenario
    data = cli_json(L, NOW, "show", "INC-2026-002")
    assert (data["significance"], data["significance_rationale"]) == ("not_significant", "no service impact")
    assert [(o["state"], o["due"]) for o in data["obligations"]] == [("not_applicable", None)] * 5


def test_due_is_null_for_obligations_without_a_due_instant(scenario):
    L, _ = scenario
    data = cli_json(L, NOW, "show", "INC-2026-003")
    obs = by_stage(data)
    assert (obs["nis2.intermediate"]["state"], obs["nis2.intermediate"]["due"]) == ("not_applicable", None)
    assert (obs["nis2.early_warning"]["state"], obs["nis2.early_warning"]["due"]) == \
        ("overdue", "2026-03-29T13:00:00+02:00")  # 12:00 CET + 24 h
    assert (data["status"], data["handled_at"]) == ("handled", "2026-03-29T12:00:00+02:00")


def test_final_report_awaiting_handling_has_a_null_due(ledger_file):
    """Still being handled when the final report would fall due: progress due then, final has no due yet."""
    cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential")
    cli(ledger_file, "2026-03-28T10:30", "open", "Ransomware", "--aware", "2026-03-28T10:00")
    obs = by_stage(cli_json(ledger_file, "2026-05-02T12:00", "show", "1"))
    assert (obs["nis2.final"]["state"], obs["nis2.final"]["due"]) == ("pending", None)
    assert (obs["nis2.progress"]["state"], obs["nis2.progress"]["due"]) == ("overdue", "2026-04-30T11:00:00+02:00")
    check_obligation(obs["nis2.final"])


def test_instants_carry_the_profile_offset_even_in_utc(ledger_file):
    cli(ledger_file, "2026-03-28T09:00", "init", "--name", "U", "--category", "important", "--timezone", "UTC")
    data = cli_json(ledger_file, "2026-03-28T10:30", "open", "X", "--aware", "2026-03-28T10:00")
    assert data["aware_at"] == "2026-03-28T10:00:00+00:00"
    assert by_stage(data)["nis2.early_warning"]["due"] == "2026-03-29T10:00:00+00:00"
    check_incident(data)


def test_next_due_and_next_stage(scenario):
    L, _ = scenario
    data = {i["id"]: i for i in cli_json(L, NOW, "list")}
    assert (data["INC-2026-001"]["next_stage"], data["INC-2026-001"]["next_due"]) == \
        ("nis2.intermediate", "2026-04-02T18:00:00+02:00")
    assert (data["INC-2026-002"]["next_stage"], data["INC-2026-002"]["next_due"]) == (None, None)


# --- the other JSON outputs ----------------------------------------------------------------------------

def test_explain_json_keys(scenario):
    L, _ = scenario
    data = cli_json(L, NOW, "explain", "INC-2026-001")
    assert set(data) == EXPLAIN_KEYS
    assert (data["id"], data["timezone"]) == ("INC-2026-001", "Europe/Paris")
    for ob in data["obligations"]:
        check_obligation(ob, EXPLAIN_OBLIGATION_KEYS)
        assert all(isinstance(s, str) for s in ob["steps"] + ob["conservative_choices"])


def test_check_json_keys(scenario):
    L, _ = scenario
    result = runner.invoke(app, ["check", "--json", "--ledger", str(L), "--now", NOW], catch_exceptions=False)
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records
    for rec in records:
        assert set(rec) == CHECK_KEYS
        assert rec["level"] in ("warning", "critical") and rec["kind"] in ("overdue", "due_soon", "asap")
        assert RFC3339.match(rec["now"]) and (rec["due"] is None or RFC3339.match(rec["due"]))
    assert ("critical", "overdue", "INC-2026-003", "nis2.early_warning") in \
        {(r["level"], r["kind"], r["incident"], r["stage"]) for r in records}


def test_verify_paths_init_json_keys(ledger_file, tmp_path):
    data = cli_json(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential")
    assert set(data) == INIT_KEYS
    result = runner.invoke(app, ["--ledger", str(ledger_file), "verify", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)) == VERIFY_KEYS
    result = runner.invoke(app, ["--ledger", str(ledger_file), "paths", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)) == PATHS_KEYS


def test_without_undue_delay_obligations_have_a_null_due_and_their_own_target(ledger_file):
    """GDPR Art. 34(1) and CSP L.1111-8-2 stages have no legal due instant: `due` is null; the entity's
    own target, when the profile sets one, is `target` (never `due`)."""
    L = ledger_file
    cli(L, "2026-03-28T09:00", "init", "--name", "CHU", "--category", "essential", "--health-establishment",
        "--target", "csp.report=4h")
    data = cli_json(L, "2026-03-28T10:30", "open", "Leak", "--aware", "2026-03-28T10:00", "--personal-data",
                    "--high-risk")
    obs = {o["stage"]: o for o in data["obligations"]}
    assert [o["stage"] for o in data["obligations"]] == [
        "nis2.early_warning", "nis2.notification", "nis2.intermediate", "nis2.final", "nis2.progress",
        "gdpr.notification", "gdpr.data_subjects", "csp.report"]
    for ob in data["obligations"]:
        check_obligation(ob)
    assert obs["gdpr.notification"]["due"] == "2026-03-31T11:00:00+02:00"
    assert obs["gdpr.data_subjects"]["due"] is None and obs["gdpr.data_subjects"]["due_kind"] == "asap"
    assert obs["gdpr.data_subjects"]["target"] is None
    assert obs["csp.report"]["due"] is None and obs["csp.report"]["target"] == "2026-03-28T14:00:00+01:00"
