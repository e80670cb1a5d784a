"""`export --format json|csv|ics` (issue 4).

The reference ledger: a health establishment with an own target `csp.report=4h`. INC-1 aware 28 Mar
2026 10:00 CET (09:00Z) with personal data: early warning filed on time, everything else open; the early
warning's due instant (29 Mar 11:00 CEST) lies across the clock change. INC-2 not significant: its NIS 2
obligations do not apply. Exports are taken as of 30 Mar 2026 12:00 CEST.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import icalendar
import jsonschema
import pytest
from typer.testing import CliRunner

from nis2_incident.cli import app
from nis2_incident.exports import CSV_COLUMNS

runner = CliRunner()
NOW = "2026-03-30T12:00"
UTC = timezone.utc


def cli(ledger, now, *args):
    return runner.invoke(app, [*args, "--ledger", str(ledger), "--now", now], catch_exceptions=False)


def ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture(scope="module")
def reference_ledger(tmp_path_factory) -> bytes:
    L = tmp_path_factory.mktemp("reference") / "ledger.toml"
    ok(cli(L, "2026-03-28T09:00", "init", "--name", "CH Exemple", "--category", "essential",
           "--health-establishment", "--target", "csp.report=4h"))
    ok(cli(L, "2026-03-28T10:30", "open", "Ransomware on the PACS", "--aware", "2026-03-28T10:00",
           "--personal-data", "--malicious", "--ioc", "203.0.113.7"))
    ok(cli(L, "2026-03-28T12:00", "submit", "1", "nis2.early_warning", "--at", "2026-03-28T11:00",
           "--reference", "ANSSI-1"))
    ok(cli(L, "2026-03-28T12:30", "open", "Phishing", "--aware", "2026-03-28T12:00", "--not-significant",
           "--rationale", "no service impact", "--not-serious", "--serious-rationale", "no effect on care"))
    return L.read_bytes()


@pytest.fixture
def ledger(ledger_file, reference_ledger):
    ledger_file.write_bytes(reference_ledger)
    return ledger_file


def export(ledger, *args, now=NOW):
    return ok(cli(ledger, now, "export", *args))


def calendar(ledger, *args, now=NOW) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(export(ledger, "--format", "ics", *args, now=now).stdout)


# --- JSON ---------------------------------------------------------------------------------------------

def test_json_export_validates_against_its_published_schema(ledger):
    data = json.loads(export(ledger).stdout)
    schema = json.loads(export(ledger, "--schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)
    assert (data["format"], data["format_version"]) == ("nis2-incident-export", 1)
    assert data["generated_at"] == "2026-03-30T12:00:00+02:00"
    assert [i["id"] for i in data["incidents"]] == ["INC-2026-001", "INC-2026-002"]
    # the export carries the chained events: the same head as `verify`
    head = json.loads(ok(runner.invoke(app, ["verify", "--json", "--ledger", str(ledger)])).stdout)["head"]
    assert data["ledger"]["head"] == head == f"{data['events'][-1]['seq']}:{data['events'][-1]['hash']}"
    assert data["ledger"]["events"] == len(data["events"]) == 4
    assert data["profile"]["name"] == "CH Exemple"


def test_the_schema_refuses_an_export_without_a_required_key(ledger):
    """The schema check can fail: a record without an obligation's `due` is invalid."""
    data = json.loads(export(ledger).stdout)
    schema = json.loads(export(ledger, "--schema").stdout)
    del data["incidents"][0]["obligations"][0]["due"]
    with pytest.raises(jsonschema.ValidationError, match="'due' is a required property"):
        jsonschema.validate(data, schema)


def test_json_incidents_are_the_show_objects(ledger):
    data = json.loads(export(ledger).stdout)
    shown = json.loads(ok(cli(ledger, NOW, "show", "1", "--json")).stdout)
    assert data["incidents"][0] == shown


def test_json_flag_is_the_json_format_and_conflicts_with_another(ledger):
    assert json.loads(export(ledger, "--json").stdout)["format_version"] == 1
    r = cli(ledger, NOW, "export", "--format", "csv", "--json")
    assert r.exit_code == 2 and "--json goes with --format json" in r.stderr


# --- CSV ----------------------------------------------------------------------------------------------

def test_csv_has_one_row_per_obligation(ledger):
    raw = export(ledger, "--format", "csv").stdout_bytes
    assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == raw.count(b"\n")  # RFC 4180 line ends
    text = raw.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(csv.reader(io.StringIO(text)).__next__()) == CSV_COLUMNS
    shown = [json.loads(ok(cli(ledger, NOW, "show", i, "--json")).stdout) for i in ("1", "2")]
    assert [(r["incident"], r["stage"]) for r in rows] == \
        [(s["id"], o["stage"]) for s in shown for o in s["obligations"]]
    by = {(r["incident"], r["stage"]): r for r in rows}
    ew = by[("INC-2026-001", "nis2.early_warning")]
    assert (ew["state"], ew["due"], ew["submitted_at"], ew["reference"], ew["late"]) == \
        ("met", "2026-03-29T11:00:00+02:00", "2026-03-28T11:00:00+01:00", "ANSSI-1", "false")
    assert by[("INC-2026-001", "csp.report")]["target"] == "2026-03-28T14:00:00+01:00"
    assert by[("INC-2026-001", "csp.report")]["due"] == ""
    assert by[("INC-2026-002", "nis2.early_warning")]["state"] == "not_applicable"
    assert "no service impact" in by[("INC-2026-002", "nis2.early_warning")]["note"]
    assert by[("INC-2026-001", "nis2.early_warning")]["incident_title"] == "Ransomware on the PACS"


# --- iCalendar ----------------------------------------------------------------------------------------

EXPECTED_EVENTS = {
    # (uid prefix) -> due instant in UTC; the early warning is filed, INC-2 is not significant and not serious
    "INC-2026-001.nis2.notification": "2026-03-31T09:00:00+00:00",     # 72 h after 09:00Z
    "INC-2026-001.nis2.final": "2026-04-30T09:00:00+00:00",            # provisional: notification due + 1 month
    "INC-2026-001.gdpr.notification": "2026-03-31T09:00:00+00:00",
    "INC-2026-001.csp.report.target": "2026-03-28T13:00:00+00:00",     # own target: aware + 4 h
    "INC-2026-002.gdpr.notification": None,                             # (no personal data: absent)
}


def events_by_uid(cal) -> dict:
    return {str(ev["uid"]): ev for ev in cal.walk("VEVENT")}


def test_ics_has_one_event_at_each_due_instant_of_each_open_obligation(ledger):
    cal = calendar(ledger)
    events = events_by_uid(cal)
    got = {uid.rsplit(".", 1)[0]: ev.decoded("dtstart").astimezone(UTC) for uid, ev in events.items()}
    expected = {k: datetime.fromisoformat(v) for k, v in EXPECTED_EVENTS.items() if v}
    assert got == expected
    # the instants are written in the profile's zone, with its VTIMEZONE
    notif = next(ev for uid, ev in events.items() if uid.startswith("INC-2026-001.nis2.notification"))
    assert notif["dtstart"].params["TZID"] == "Europe/Paris"
    assert notif["dtstart"].to_ical() == b"20260331T110000"
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert "nis2.notification due — INC-2026-001 Ransomware on the PACS" == str(notif["summary"])
    assert "Recipient: ANSSI / CERT-FR" in str(notif["description"])
    target = next(ev for uid, ev in events.items() if ".csp.report.target." in uid)
    assert "own target" in str(target["summary"]) and "not a legal deadline" in str(target["description"])


def test_ics_alarms_default_to_two_hours_and_thirty_minutes(ledger):
    for ev in calendar(ledger).walk("VEVENT"):
        alarms = ev.walk("VALARM")
        assert [a.decoded("trigger") for a in alarms] == [timedelta(hours=-2), timedelta(minutes=-30)]
        assert all(str(a["action"]) == "DISPLAY" and str(a["description"]) for a in alarms)


def test_ics_alarms_from_the_option_and_from_the_profile(ledger):
    cal = calendar(ledger, "--alarm", "4h", "--alarm", "15m")
    assert {tuple(a.decoded("trigger") for a in ev.walk("VALARM")) for ev in cal.walk("VEVENT")} == \
        {(timedelta(hours=-4), timedelta(minutes=-15))}
    ok(cli(ledger, NOW, "profile", "--alarm", "1h"))
    cal = calendar(ledger)
    assert {tuple(a.decoded("trigger") for a in ev.walk("VALARM")) for ev in cal.walk("VEVENT")} == \
        {(timedelta(hours=-1),)}


def test_ics_uids_are_stable_and_a_moved_deadline_keeps_its_uid(ledger):
    first = events_by_uid(calendar(ledger))
    again = events_by_uid(calendar(ledger, now="2026-03-30T18:00"))
    assert set(first) == set(again) and len(first) == 4
    assert all(uid.endswith("@nis2-incident") for uid in first)
    # filing the notification moves the final report (one month after the actual submission): same UID,
    # new instant, higher SEQUENCE, and the notification leaves the feed
    ok(cli(ledger, NOW, "submit", "1", "nis2.notification", "--at", "2026-03-30T11:00"))
    after = events_by_uid(calendar(ledger))
    final = next(uid for uid in first if uid.startswith("INC-2026-001.nis2.final."))
    assert final in after
    assert after[final].decoded("dtstart").astimezone(UTC) == datetime(2026, 4, 30, 9, 0, tzinfo=UTC)
    assert after[final]["sequence"] > first[final]["sequence"]
    assert not any(uid.startswith("INC-2026-001.nis2.notification.") for uid in after)


def test_ics_uids_differ_between_ledgers(ledger, tmp_path):
    other = tmp_path / "other.toml"
    ok(cli(other, "2026-03-28T09:00", "init", "--name", "CH Autre", "--category", "essential"))
    ok(cli(other, "2026-03-28T10:30", "open", "Ransomware", "--aware", "2026-03-28T10:00"))
    mine = {uid.rsplit(".", 1)[0]: uid for uid in events_by_uid(calendar(ledger))}
    theirs = {uid.rsplit(".", 1)[0]: uid for uid in events_by_uid(calendar(other))}
    common = set(mine) & set(theirs)
    assert "INC-2026-001.nis2.notification" in common
    assert all(mine[k] != theirs[k] for k in common)


def test_ics_in_utc_for_a_utc_profile(ledger_file):
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "U", "--category", "essential", "--timezone", "UTC"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "X", "--aware", "2026-03-28T10:00"))
    text = export(ledger_file, "--format", "ics", now="2026-03-28T11:00").stdout
    assert "DTSTART:20260329T100000Z" in text  # early warning, 24 h later
    assert "VTIMEZONE" not in text


def test_ics_is_the_same_for_the_same_record_and_clock(ledger):
    assert export(ledger, "--format", "ics").stdout == export(ledger, "--format", "ics").stdout


# --- output and errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "csv", "ics"])
def test_output_writes_the_export_atomically(ledger, tmp_path, fmt):
    target = tmp_path / f"record.{fmt}"
    target.write_text("old", encoding="utf-8")
    expected = export(ledger, "--format", fmt).stdout
    r = export(ledger, "--format", fmt, "--output", str(target))
    assert r.stdout == "" and f"wrote {target}" in r.stderr
    assert target.read_text(encoding="utf-8") == expected
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("args, needle", [
    (["--format", "xml"], "accepted: json, csv, ics"),
    (["--format", "csv", "--alarm", "2h"], "--alarm is for --format ics"),
    (["--format", "ics", "--alarm", "soon"], "invalid duration"),
])
def test_bad_export_options(ledger, args, needle):
    r = cli(ledger, NOW, "export", *args)
    assert r.exit_code == 2 and needle in r.stderr and r.stdout == ""


def test_check_does_not_import_jinja2_or_icalendar(ledger):
    """Heavy imports stay inside draft and export, so cron's `check` stays fast."""
    code = ("import runpy, sys\n"
            f"sys.argv = ['nis2-incident', '--ledger', {str(ledger)!r}, '--now', {NOW!r}, 'check']\n"
            "try:\n    runpy.run_module('nis2_incident', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('jinja2', 'icalendar', 'nis2_incident.drafts', 'nis2_incident.exports')"
            " if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
