"""Issue 12: right in every case an auditor tries. Each rule is checked through the command line
(CliRunner, `--now` always given) and through an exercise file, and where the two could disagree
(what the CLI refuses, an exercise reports as invalid, and the reverse) one test runs both.

The reference incident: aware 28 Mar 2026 10:00 CET (T0), so the NIS 2 early warning falls due at
29 Mar 11:00 CEST (24 h across the clock change) and the notification at 31 Mar 11:00 CEST.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident import timeutil as tu
from nis2_incident.cli import app

runner = CliRunner()
INC = "INC-2026-001"
T0 = datetime.fromisoformat("2026-03-28T10:00:00+01:00")
PARIS = "Europe/Paris"


def cli(ledger: Path, now: str, *args):
    return runner.invoke(app, [*args, "--ledger", str(ledger), "--now", now], catch_exceptions=False)


def ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def iso(hours: float) -> str:
    """T0 + hours, as RFC 3339 in Paris."""
    return tu.rfc3339(T0 + timedelta(hours=hours), PARIS)


def rel(hours: float) -> str:
    minutes = round(hours * 60)
    return f"T+{minutes}m" if minutes else "T0"


def obligation(data: dict, stage: str) -> dict:
    [ob] = [o for o in data["obligations"] if o["stage"] == stage]
    return ob


# --- one scenario, run both ways -------------------------------------------------------------------
#
# A scenario: the profile's regimes, the incident's facts (exercise keys), and actions as
# (hours after T0, kind, options). The last action is the one under test.

FACT_FLAGS = {
    ("personal_data", True): ["--personal-data"],
    ("personal_data", False): ["--no-personal-data"],
    ("high_risk", True): ["--high-risk"],
    ("high_risk", False): ["--no-high-risk"],
    ("breach_risk", False): ["--no-risk", "--risk-rationale", "encrypted at rest, key not exposed"],
    ("breach_risk", True): ["--risk"],
    ("significance", "not_significant"): ["--not-significant", "--rationale", "no service disruption"],
    ("significance", "significant"): ["--significant"],
}
RATIONALES = {"breach_risk": ("breach_risk_rationale", "encrypted at rest, key not exposed"),
              "significance": ("significance_rationale", "no service disruption")}


def fact_flags(facts: dict) -> list[str]:
    return [flag for item in facts.items() for flag in FACT_FLAGS[item]]


def run_cli(tmp_path: Path, regimes: list[str], facts: dict, actions: list) -> tuple:
    """Every action through the CLI, each at its own --now. Returns (result of the last action,
    ledger bytes before it, ledger bytes after it)."""
    ledger = tmp_path / "ledger.toml"
    regime_flags = [f for r in regimes for f in ("--regime", r)]
    ok(cli(ledger, iso(-1), "init", "--name", "CHU Test", "--category", "essential", *regime_flags))
    ok(cli(ledger, iso(0), "open", "Ransomware", "--aware", iso(0), *fact_flags(facts)))
    result = before = None
    for n, (hours, kind, opts) in enumerate(actions):
        if kind == "submit":
            args = ["submit", INC, opts["stage"], "--at", iso(hours)]
            if opts.get("late_reason"):
                args += ["--late-reason", opts["late_reason"]]
            if opts.get("force"):
                args += ["--force"]
        elif kind == "request":
            args = ["request", INC, "--due", iso(opts["due"]), "--at", iso(hours)]
        elif kind == "update":
            args = ["update", INC, *fact_flags(opts)]
        else:
            args = [kind, INC, "--at", iso(hours)]
        before = ledger.read_bytes()
        result = cli(ledger, iso(hours), *args)
        if n < len(actions) - 1:
            ok(result)
    return result, before, ledger.read_bytes()


def exercise_text(regimes: list[str], facts: dict, actions: list, extra: str = "") -> str:
    lines = ['format = 1', f't0 = "{tu.rfc3339(T0, PARIS)}"', "", "[exercise]", 'name = "issue 12"', "",
             "[profile]", 'name = "CHU Test"', 'category = "essential"', f"regimes = {json.dumps(regimes)}", "",
             "[incident]", 'title = "Ransomware"', 'aware_at = "T0"']
    for key, value in facts.items():
        lines.append(f"{key} = {json.dumps(value)}")
        if key in RATIONALES and value in (False, "not_significant"):
            name, why = RATIONALES[key]
            lines.append(f'{name} = "{why}"')
    for hours, kind, opts in actions:
        lines += ["", "[[actions]]", f'do = "{"close" if kind == "close" else kind}"', f'at = "{rel(hours)}"']
        if kind == "submit":
            lines.append(f'stage = "{opts["stage"]}"')
            if opts.get("late_reason"):
                lines.append(f'late_reason = "{opts["late_reason"]}"')
            if opts.get("force"):
                lines.append("force = true")
        elif kind == "request":
            lines.append(f'due = "{rel(opts["due"])}"')
        elif kind == "update":
            for key, value in opts.items():
                lines.append(f"{key} = {json.dumps(value)}")
                if key in RATIONALES and value in (False, "not_significant"):
                    name, why = RATIONALES[key]
                    lines.append(f'{name} = "{why}"')
    return "\n".join(lines) + "\n" + extra


def run_exercise(tmp_path: Path, regimes, facts, actions, extra: str = ""):
    path = tmp_path / "drill.toml"
    path.write_text(exercise_text(regimes, facts, actions, extra), encoding="utf-8")
    return path, runner.invoke(app, ["exercise", "check", str(path)], catch_exceptions=False)


NIS2_GDPR = ["nis2", "gdpr"]
PD = {"personal_data": True}
NOTIFIED = [(2, "submit", {"stage": "nis2.early_warning"}), (30, "submit", {"stage": "nis2.notification"})]

# (id, regimes, facts, actions, exit code of the CLI for the last action: 0 accepted, else refused)
AGREEMENT = [
    # NIS 2 Art. 23(4)(c): the intermediate report is due only on request
    ("intermediate without a request", ["nis2"], {}, [(40, "submit", {"stage": "nis2.intermediate"})], 2),
    ("intermediate after the request", ["nis2"], {},
     [(24, "request", {"due": 100}), (40, "submit", {"stage": "nis2.intermediate"})], 0),
    # NIS 2 Art. 23(4)(d): the final report runs from the submission of the notification
    ("final before the notification", ["nis2"], {},
     [(2, "submit", {"stage": "nis2.early_warning"}), (40, "submit", {"stage": "nis2.final"})], 2),
    ("final after the notification", ["nis2"], {}, [*NOTIFIED, (300, "submit", {"stage": "nis2.final"})], 0),
    # NIS 2 Art. 23(4)(e): a progress report only while the incident is still being handled
    ("progress after handling concluded before the final fell due", ["nis2"], {},
     [*NOTIFIED, (48, "handled", {}), (60, "submit", {"stage": "nis2.progress"})], 2),
    # NIS 2 Art. 23(3): a not-significant incident has no NIS 2 clock
    ("early warning of a not-significant incident", ["nis2"], {"significance": "not_significant"},
     [(2, "submit", {"stage": "nis2.early_warning"})], 2),
    # GDPR Art. 33(1): the CNIL notification is for a personal-data breach...
    ("CNIL notification without personal data", NIS2_GDPR, {}, [(2, "submit", {"stage": "gdpr.notification"})], 2),
    ("CNIL notification with personal data", NIS2_GDPR, PD, [(2, "submit", {"stage": "gdpr.notification"})], 0),
    # ... unless the breach is recorded as unlikely to result in a risk (Art. 33(1), 33(5))
    ("CNIL notification after a no-risk decision", NIS2_GDPR, {**PD, "breach_risk": False},
     [(2, "submit", {"stage": "gdpr.notification"})], 2),
    # GDPR Art. 34(1): data subjects are told of a high risk
    ("data subjects without a high risk", NIS2_GDPR, PD, [(2, "submit", {"stage": "gdpr.data_subjects"})], 2),
    ("data subjects with a high risk", NIS2_GDPR, {**PD, "high_risk": True},
     [(2, "submit", {"stage": "gdpr.data_subjects"})], 0),
    # GDPR Art. 33(1): a late notification gives the reasons for the delay
    ("late CNIL notification without reasons", NIS2_GDPR, PD, [(80, "submit", {"stage": "gdpr.notification"})], 2),
    ("late CNIL notification with reasons", NIS2_GDPR, PD,
     [(80, "submit", {"stage": "gdpr.notification", "late_reason": "the processor told us on day 3"})], 0),
    # a regime that is not enabled, and a bare stage two regimes share (exit 4: unknown stage)
    ("stage of a regime not enabled", ["nis2"], PD, [(2, "submit", {"stage": "gdpr.notification"})], 4),
    ("ambiguous bare stage", NIS2_GDPR, PD, [(2, "submit", {"stage": "notification"})], 4),
    ("unambiguous bare stage", ["nis2"], {}, [(2, "submit", {"stage": "early_warning"})], 0),
    # a filing on a closed incident needs --force (exit 5: refused by the record's state)
    ("filing on a closed incident", ["nis2"], {}, [*NOTIFIED, (50, "close", {}), (300, "submit", {"stage": "nis2.final"})], 5),
    ("filing on a closed incident with force", ["nis2"], {},
     [*NOTIFIED, (50, "close", {}), (300, "submit", {"stage": "nis2.final", "force": True})], 0),
    # GDPR Art. 33(1) and 34(1): a high risk contradicts a breach unlikely to result in a risk
    ("update to a high risk over a no-risk decision", NIS2_GDPR, {**PD, "breach_risk": False},
     [(5, "update", {"high_risk": True})], 2),
    ("update to a no-risk decision over a high risk", NIS2_GDPR, {**PD, "high_risk": True},
     [(5, "update", {"breach_risk": False})], 2),
    ("update to no personal data over a high risk", NIS2_GDPR, {**PD, "high_risk": True},
     [(5, "update", {"personal_data": False})], 2),
    ("update to a high risk and a likely risk", NIS2_GDPR, {**PD, "breach_risk": False},
     [(5, "update", {"high_risk": True, "breach_risk": True})], 0),
]


@pytest.mark.parametrize("case", AGREEMENT, ids=[c[0] for c in AGREEMENT])
def test_the_cli_refuses_exactly_what_an_exercise_reports_invalid(tmp_path, case):
    """SPEC §7-§8, issue 12 (1, 2): one rule in the service; the CLI refuses (one line, its exit code,
    ledger byte-for-byte unchanged) exactly what an exercise reports as invalid (exit 3, with the
    file, the line and the action), and accepts exactly what an exercise replays."""
    name, regimes, facts, actions, code = case
    (tmp_path / "cli").mkdir()
    result, before, after = run_cli(tmp_path / "cli", regimes, facts, actions)
    path, replay = run_exercise(tmp_path, regimes, facts, actions)
    last = len(actions) - 1
    if code:
        one_line_error(result, code)
        assert after == before, "a refused command changed the ledger"
        assert replay.exit_code == 3, replay.stdout + replay.stderr
        [error] = [line for line in replay.stderr.splitlines() if line.startswith("error: ")]
        assert error.startswith(f"error: {path}:") and f"actions[{last}]" in error, error
    else:
        ok(result)
        assert after != before
        assert replay.exit_code in (0, 1), replay.stdout + replay.stderr
        assert "INVALID" not in replay.stdout


def test_a_filing_before_its_clock_says_what_was_wrong_and_what_is_accepted(tmp_path):
    """NIS 2 Art. 23(4)(c) and (d), SPEC §8: the one-line error names the rule and what to do."""
    result, before, after = run_cli(tmp_path, ["nis2"], {}, [(40, "submit", {"stage": "nis2.intermediate"})])
    error = one_line_error(result, 2)
    assert "nis2.intermediate filed at 2026-03-30 03:00 +02:00, before its clock starts" in error
    assert "no request of the authority is recorded" in error and "Art. 23(4)(c)" in error
    assert "accepted: record the request first" in error and after == before

    other = tmp_path / "final"
    other.mkdir()
    result, before, after = run_cli(other, ["nis2"], {}, [(40, "submit", {"stage": "nis2.final"})])
    error = one_line_error(result, 2)
    assert "its clock starts at the submission of nis2.notification, not recorded by then" in error
    assert "Art. 23(4)(d)" in error and "accepted: file nis2.notification first" in error and after == before


def test_an_exercise_reports_the_clock_at_the_actions_time(tmp_path):
    """An exercise names the `at` of the filing (the time that is wrong), with the service's words."""
    actions = [(2, "submit", {"stage": "nis2.early_warning"}), (40, "submit", {"stage": "nis2.final"})]
    path, replay = run_exercise(tmp_path, ["nis2"], {}, actions)
    text = path.read_text()
    line = [i for i, t in enumerate(text.splitlines(), 1) if t == 'at = "T+2400m"'][0]
    [error] = [x for x in replay.stderr.splitlines() if x.startswith("error: ")]
    assert error.startswith(f"error: {path}:{line}: actions[1].at: refused by nis2-incident: nis2.final filed at")
    assert "its clock starts at the submission of nis2.notification" in error


def test_not_applicable_stage_names_why(tmp_path):
    """GDPR Art. 33(1): no personal data recorded, no CNIL clock; the error says which fact to record."""
    result, _, _ = run_cli(tmp_path, NIS2_GDPR, {}, [(2, "submit", {"stage": "gdpr.notification"})])
    error = one_line_error(result, 2)
    assert "gdpr.notification does not apply to INC-2026-001" in error
    assert "no personal data is recorded as involved" in error and "--personal-data" in error


def test_ambiguous_and_not_enabled_stage_name_the_candidates(tmp_path):
    """Issue 16: `submit 1 notification` with nis2 and gdpr enabled names both candidates (exit 4)."""
    result, _, _ = run_cli(tmp_path, NIS2_GDPR, PD, [(2, "submit", {"stage": "notification"})])
    error = one_line_error(result, 4)
    assert "'notification' is ambiguous: nis2.notification or gdpr.notification" in error
    other = tmp_path / "nis2only"
    other.mkdir()
    result, _, _ = run_cli(other, ["nis2"], {}, [(2, "submit", {"stage": "gdpr.notification"})])
    error = one_line_error(result, 4)
    assert "the gdpr regime is not enabled in the profile" in error and "profile --regime gdpr" in error


def test_closed_incident_needs_force(tmp_path):
    """SPEC §8, issue 16: a filing on a closed incident is refused without --force (exit 5: refused by
    the record's state), recorded with it."""
    actions = [*NOTIFIED, (50, "close", {}), (300, "submit", {"stage": "nis2.final"})]
    result, before, after = run_cli(tmp_path, ["nis2"], {}, actions)
    error = one_line_error(result, 5)
    assert "was closed at" in error and "--force" in error and before == after
    forced = cli(tmp_path / "ledger.toml", iso(300), "submit", INC, "nis2.final", "--at", iso(300), "--force")
    ok(forced)
    assert "recorded with --force" in forced.stderr


# --- 2. contradictory GDPR facts (Art. 33(1), 34(1)) -------------------------------------------------

def test_open_refuses_a_high_risk_with_a_no_risk_decision(tmp_path):
    """GDPR Art. 33(1) waives only a breach unlikely to result in a risk; Art. 34(1) is for a high risk."""
    ledger = tmp_path / "ledger.toml"
    ok(cli(ledger, iso(-1), "init", "--name", "CHU", "--category", "essential", "--regime", "nis2", "--regime", "gdpr"))
    before = ledger.read_bytes()
    result = cli(ledger, iso(1), "open", "Leak", "--aware", iso(0), "--personal-data", "--high-risk", "--no-risk",
                 "--risk-rationale", "encrypted")
    error = one_line_error(result, 2)
    assert "--high-risk contradicts --no-risk" in error and "Art. 33(1)" in error and "Art. 34(1)" in error
    assert "--risk" in error and "--no-high-risk" in error  # which fact to change
    assert ledger.read_bytes() == before


def test_an_exercise_refuses_the_same_contradiction_in_its_incident(tmp_path):
    """GDPR Art. 33(1), 34(1): the same facts in `[incident]` make the file invalid, at `incident`."""
    path, replay = run_exercise(tmp_path, NIS2_GDPR, {**PD, "high_risk": True, "breach_risk": False},
                                [(2, "submit", {"stage": "gdpr.data_subjects"})])
    assert replay.exit_code == 3
    [error] = [x for x in replay.stderr.splitlines() if x.startswith("error: ")]
    assert ": incident: refused by nis2-incident: high_risk = true contradicts breach_risk = false" in error


def test_high_risk_without_personal_data_takes_personal_data_as_involved(tmp_path):
    """GDPR Art. 34(1): a high risk to data subjects exists only for a personal-data breach; the
    earlier reading takes personal data as involved (both GDPR stages apply), recorded, with a warning."""
    ledger = tmp_path / "ledger.toml"
    ok(cli(ledger, iso(-1), "init", "--name", "CHU", "--category", "essential", "--regime", "nis2", "--regime", "gdpr"))
    result = ok(cli(ledger, iso(1), "open", "Leak", "--aware", iso(0), "--high-risk", "--json"))
    assert "personal data is taken as involved" in result.stderr
    data = json.loads(result.stdout)
    assert data["personal_data"] is True
    assert obligation(data, "gdpr.notification")["due"] == iso(72)
    assert obligation(data, "gdpr.data_subjects")["state"] == "pending"
    # the same through `update` on an incident opened without it
    ok(cli(ledger, iso(2), "open", "Other", "--aware", iso(0)))
    result = ok(cli(ledger, iso(3), "update", "INC-2026-002", "--high-risk", "--json"))
    assert json.loads(result.stdout)["personal_data"] is True and "taken as involved" in result.stderr
    # and in an exercise
    extra = '\n[[expect]]\nat = "T+1h"\nobligations = { "gdpr.notification" = "pending", "gdpr.data_subjects" = "pending" }\n'
    path, replay = run_exercise(tmp_path, NIS2_GDPR, {"high_risk": True}, [], extra)
    assert replay.exit_code == 0, replay.stdout + replay.stderr


# --- 7. the calendar feed in the repeated autumn hour (RFC 5545 §3.3.5) ------------------------------

def test_ics_instants_in_the_repeated_autumn_hour_decode_to_themselves(tmp_path):
    """RFC 5545 §3.3.5 reads `DTSTART;TZID=Europe/Paris:20261025T023000` as the first 02:30 (+02:00);
    a due instant of 2026-10-25T02:30+01:00 (01:30 UTC) is written in UTC so it decodes to itself.
    NIS 2 Art. 23(4)(a): 24 h after aware-at, on instants."""
    import icalendar

    ledger = tmp_path / "ledger.toml"
    ok(cli(ledger, "2026-10-23T12:00Z", "init", "--name", "CHU", "--category", "essential", "--regime", "nis2"))
    # aware 00:30Z and 01:30Z on 24 Oct: the early warnings fall due at 00:30Z and 01:30Z on 25 Oct,
    # the first and the second 02:30 in Paris; a third, at 10:00Z, is an ordinary local time
    for n, aware in enumerate(("2026-10-24T00:30Z", "2026-10-24T01:30Z", "2026-10-24T10:00Z"), 1):
        ok(cli(ledger, "2026-10-24T11:00Z", "open", f"Incident {n}", "--aware", aware))
    result = ok(cli(ledger, "2026-10-24T11:00Z", "export", "--format", "ics"))
    cal = icalendar.Calendar.from_ical(result.stdout)
    starts = {}
    for ev in cal.walk("VEVENT"):
        if ".nis2.early_warning." in str(ev["uid"]):
            starts[str(ev["uid"]).split(".")[0]] = ev.decoded("dtstart")
    want = {"INC-2026-001": "2026-10-25T00:30:00+00:00", "INC-2026-002": "2026-10-25T01:30:00+00:00",
            "INC-2026-003": "2026-10-25T10:00:00+00:00"}
    assert {k: v.astimezone(tu.UTC) for k, v in starts.items()} == \
        {k: datetime.fromisoformat(v) for k, v in want.items()}
    text = result.stdout.replace("\r\n ", "")
    assert "DTSTART:20261025T013000Z" in text and "DTSTART:20261025T003000Z" in text
    assert "DTSTART;TZID=Europe/Paris:20261025T110000" in text  # unambiguous: local, with TZID


# --- 5. a calendar month landing in the spring gap (DOMAIN §8.3-8.4, the earlier reading) -------------

def _final_explained(tmp_path, aware: str, notified: str, now: str) -> dict:
    ledger = tmp_path / "ledger.toml"
    ok(cli(ledger, aware, "init", "--name", "CHU", "--category", "essential", "--regime", "nis2"))
    ok(cli(ledger, notified, "open", "Ransomware", "--aware", aware))
    ok(cli(ledger, notified, "submit", "1", "nis2.early_warning", "--at", notified))
    ok(cli(ledger, notified, "submit", "1", "nis2.notification", "--at", notified))
    return json.loads(ok(cli(ledger, now, "explain", "1", "nis2.final", "--json")).stdout)["obligations"][0]


def test_final_report_landing_in_the_spring_gap_is_the_moment_of_the_change(tmp_path):
    """NIS 2 Art. 23(4)(d): one calendar month from the notification's submission, 28 Feb 2027 02:30
    CET -> 28 Mar 2027 02:30, which does not exist in Paris: 03:00+02:00 (the earlier reading), and
    `explain` says so."""
    final = _final_explained(tmp_path, "2027-02-27T20:00+01:00", "2027-02-28T02:30+01:00", "2027-03-01T12:00+01:00")
    assert final["due"] == "2027-03-28T03:00:00+02:00"
    steps = " ".join(final["steps"])
    assert "2027-03-28 02:30 does not exist in Europe/Paris" in steps
    assert "the earlier reading is used, the first instant after the change, 2027-03-28 03:00 +02:00" in steps
    assert any("spring clock-change gap" in c for c in final["conservative_choices"])
    text = ok(cli(tmp_path / "ledger.toml", "2027-03-01T12:00+01:00", "explain", "1", "nis2.final")).stdout
    assert "does not exist in Europe/Paris" in " ".join(text.split())


def test_final_report_landing_on_the_repeated_autumn_hour_is_its_first_occurrence(tmp_path):
    """NIS 2 Art. 23(4)(d): notification filed 25 Sep 2026 02:30 +02:00; one month later is 25 Oct
    02:30, which happens twice in Paris: the first occurrence, +02:00 (the earlier reading), explained."""
    final = _final_explained(tmp_path, "2026-09-24T20:00+02:00", "2026-09-25T02:30+02:00", "2026-09-26T12:00+02:00")
    assert final["due"] == "2026-10-25T02:30:00+02:00"
    assert "2026-10-25 02:30 happens twice in Europe/Paris (the clocks go back that night): the first occurrence " \
           "is used, 2026-10-25 02:30 +02:00" in " ".join(final["steps"])


def test_final_report_in_the_gap_through_an_exercise(tmp_path):
    """The same month, replayed: the exercise expects the due instant 03:00+02:00 (Art. 23(4)(d))."""
    text = f"""format = 1
t0 = "2027-02-27T20:00:00+01:00"

[exercise]
name = "month into the gap"

[profile]
name = "CHU"
category = "essential"
regimes = ["nis2"]

[incident]
title = "Ransomware"
aware_at = "T0"

[[actions]]
do = "submit"
at = "2027-02-28T02:30:00+01:00"
stage = "nis2.early_warning"

[[actions]]
do = "submit"
at = "2027-02-28T02:30:00+01:00"
stage = "nis2.notification"

[[expect]]
at = "T+2d"
due = {{ "nis2.final" = "2027-03-28T03:00:00+02:00" }}
"""
    path = tmp_path / "gap.toml"
    path.write_text(text, encoding="utf-8")
    assert runner.invoke(app, ["exercise", "check", str(path)], catch_exceptions=False).exit_code == 0
    path.write_text(text.replace("03:00:00+02:00", "03:30:00+02:00"), encoding="utf-8")  # the old answer fails
    assert runner.invoke(app, ["exercise", "check", str(path)], catch_exceptions=False).exit_code == 1


# --- 6. the latest arguable date and French public holidays (Reg. 1182/71 Art. 3(4), CPC art. 642) ----

@pytest.mark.parametrize(("notified", "latest", "skipped"), [
    # due Tue 14 Jul 2026 (national day): the next working day is Wed 15 Jul
    ("2026-06-14T10:00+02:00", "2026-07-15 23:59", "Tue 14 Jul"),
    # due Sat 27 Mar 2027, then Sunday, then Easter Monday 29 Mar: Tue 30 Mar
    ("2027-02-27T10:00+01:00", "2027-03-30 23:59", "Mon 29 Mar"),
    # due Fri 25 Dec 2026 (Christmas): Mon 28 Dec
    ("2026-11-25T10:00+01:00", "2026-12-28 23:59", "Fri 25 Dec"),
    # an ordinary Wednesday: the end of that day
    ("2026-06-17T10:00+02:00", "2026-07-17 23:59", None),
])
def test_latest_arguable_date_skips_french_public_holidays(tmp_path, notified, latest, skipped):
    """Reg. 1182/71 Art. 3(4) and CPC art. 642 extend a period ending on a Saturday, a Sunday or a public
    holiday to the next working day; `explain` shows that date as information only."""
    aware = tu.rfc3339(datetime.fromisoformat(notified) - timedelta(hours=2), PARIS)
    final = _final_explained(tmp_path, aware, notified, notified)
    [choice] = [c for c in final["conservative_choices"] if "could be read to allow up to" in c]
    assert f"up to {latest} local time" in choice
    if skipped:
        assert skipped in choice
    else:
        assert "next working day after" not in choice


def test_latest_arguable_date_names_alsace_moselle_when_it_differs(tmp_path):
    """Good Friday is a public holiday in Alsace-Moselle only (holidays: FR subdivision 57): due Fri
    26 Mar 2027, nationally 26 Mar 23:59; in Alsace-Moselle Tue 30 Mar (after Easter Monday)."""
    final = _final_explained(tmp_path, "2027-02-26T08:00+01:00", "2027-02-26T10:00+01:00", "2027-02-26T10:00+01:00")
    [choice] = [c for c in final["conservative_choices"] if "could be read to allow up to" in c]
    assert "up to 2027-03-26 23:59 local time" in choice
    assert "in Alsace-Moselle, with its extra holidays, 2027-03-30 23:59" in choice


# --- 3. `--now` in the past is "as of" (SPEC §4) ---------------------------------------------------------

@pytest.fixture(params=["toml", "jsonl"])
def history(tmp_path, request):
    """Init 28 Mar 09:00; open 10:30 (aware 10:00); the early warning recorded 29 Mar 09:00 as filed
    at 08:00; the notification recorded 30 Mar 10:00 as filed 30 Mar 09:00; a request recorded
    30 Mar 12:00. As a TOML document and as a log (whose checkpoint a present read keeps)."""
    ledger = tmp_path / f"ledger.{request.param}"
    ok(cli(ledger, "2026-03-28T09:00+01:00", "init", "--name", "CHU", "--category", "essential", "--regime", "nis2"))
    ok(cli(ledger, "2026-03-28T10:30+01:00", "open", "Ransomware", "--aware", "2026-03-28T10:00+01:00"))
    ok(cli(ledger, "2026-03-29T09:00+02:00", "submit", INC, "nis2.early_warning", "--at", "2026-03-29T08:00+02:00"))
    ok(cli(ledger, "2026-03-30T10:00+02:00", "submit", INC, "nis2.notification", "--at", "2026-03-30T09:00+02:00"))
    ok(cli(ledger, "2026-03-30T12:00+02:00", "request", INC, "--due", "2026-04-03T12:00+02:00",
           "--at", "2026-03-30T11:00+02:00"))
    return ledger


def states(data: dict) -> dict:
    return {o["stage"]: o["state"] for o in data["obligations"]}


def test_status_as_of_a_past_now_leaves_out_what_was_recorded_later(history):
    """SPEC §4: `--now` in the past shows the record as it stood then; the output says how much was
    left out. NIS 2 Art. 23(4)(a): the early warning recorded at 09:00 was not filed as of 08:30."""
    result = ok(cli(history, "2026-03-29T08:30+02:00", "status", "--json"))
    [data] = json.loads(result.stdout)  # stdout is still only JSON
    assert states(data)["nis2.early_warning"] == "pending"
    assert states(data)["nis2.intermediate"] == "not_applicable"
    assert "3 event(s) recorded after it left out" in result.stderr
    # after its recording, the filing counts at its own --at (08:00), earlier than its recording
    result = ok(cli(history, "2026-03-29T09:30+02:00", "show", INC, "--json"))
    data = json.loads(result.stdout)
    assert states(data)["nis2.early_warning"] == "met"
    assert obligation(data, "nis2.early_warning")["submitted_at"] == "2026-03-29T08:00:00+02:00"
    assert [f["stage"] for f in data["filings"]] == ["nis2.early_warning"]
    assert "2 event(s) recorded after it left out" in result.stderr
    # between the notification and the request: the notification is met, no request yet
    result = ok(cli(history, "2026-03-30T11:30+02:00", "list", "--json"))
    [data] = json.loads(result.stdout)
    assert states(data)["nis2.notification"] == "met" and states(data)["nis2.intermediate"] == "not_applicable"
    assert "1 event(s) recorded after it left out" in result.stderr
    # at or after the last recording: nothing left out, nothing said
    result = ok(cli(history, "2026-03-30T12:00+02:00", "status", "--json"))
    [data] = json.loads(result.stdout)
    assert states(data)["nis2.intermediate"] == "pending" and "left out" not in result.stderr


@pytest.mark.parametrize("args", [
    ["status"], ["show", INC], ["list"], ["explain", INC], ["check"], ["export", "--format", "json"],
    ["export", "--format", "csv"], ["export", "--format", "ics"], ["draft", INC, "nis2.notification"],
    ["status", "--json"], ["explain", INC, "--json"],
])
def test_every_view_is_as_of_and_says_so(history, args):
    """SPEC §4: every view (status, show, list, explain, check, export, draft) at T is the record at T."""
    result = cli(history, "2026-03-29T08:30+02:00", *args)
    assert result.exit_code in (0, 1, 2), result.stderr  # check exits 1/2 for what is due
    assert "note: as of 2026-03-29 08:30 +02:00: 3 event(s) recorded after it left out" in result.stderr
    out = result.stdout
    if args[0] == "export" and args[2] == "json":
        data = json.loads(out)
        text = json.dumps(data)
        assert "nis2.early_warning" in text and "2026-03-29T08:00:00+02:00" not in text
    if args[0] == "explain":
        assert "filed: 2026-03-29" not in out and '"submitted_at": "2026-03-29' not in out


def test_check_as_of_reports_the_early_warning_still_due(history):
    """Art. 23(4)(a): at 08:30 on 29 Mar (due 11:00), as the record stood, the early warning is due
    within the window; an hour after its recording it is not."""
    before = cli(history, "2026-03-29T08:30+02:00", "check", "--format", "json")
    assert before.exit_code == 1
    assert any(json.loads(line)["stage"] == "nis2.early_warning" for line in before.stdout.splitlines())
    after = cli(history, "2026-03-29T10:00+02:00", "check", "--format", "json")
    assert all(json.loads(line)["stage"] != "nis2.early_warning" for line in after.stdout.splitlines())


def test_a_write_in_the_records_past_is_refused(history):
    """The record is append-only in time: a change recorded with a --now before the last recorded
    event is refused (exit 5), the ledger unchanged; --at says when it happened."""
    before = history.read_bytes()
    result = cli(history, "2026-03-30T11:00+02:00", "handled", INC, "--at", "2026-03-30T10:00+02:00")
    error = one_line_error(result, 5)
    assert "is before the last recorded event of INC-2026-001 (recorded 2026-03-30 12:00 +02:00)" in error
    assert "append-only in time" in error and history.read_bytes() == before
    ok(cli(history, "2026-03-30T12:00+02:00", "handled", INC, "--at", "2026-03-30T10:00+02:00"))


def test_a_now_before_the_ledger_was_created_is_refused(history):
    """SPEC §4 and §8: as of a time before the ledger existed there is no record to show; refused."""
    result = cli(history, "2026-03-28T08:00+01:00", "status")
    assert "is before the ledger was created" in one_line_error(result, 2)


def test_as_of_through_the_checkpoint(history, tmp_path):
    """SPEC §4, §6: a log's checkpoint (issue 13) is not used when `now` is before the last recording:
    the same answer before and after a present read wrote the checkpoint."""
    from nis2_incident import checkpoint

    log_ledger = tmp_path / "migrated.jsonl"
    assert runner.invoke(app, ["ledger", "migrate", str(history), str(log_ledger)]).exit_code == 0
    past = ok(cli(log_ledger, "2026-03-29T08:30+02:00", "status", "--json"))
    assert states(json.loads(past.stdout)[0])["nis2.early_warning"] == "pending"
    ok(cli(log_ledger, "2026-04-01T08:30+02:00", "status", "--json"))  # the present: writes the checkpoint
    assert checkpoint.location(log_ledger).exists()
    again = ok(cli(log_ledger, "2026-03-29T08:30+02:00", "status", "--json"))
    assert again.stdout == past.stdout and "3 event(s) recorded after it left out" in again.stderr


# --- 4. moving aware-at after a filing (NIS 2 Art. 23(4)(a), GDPR Art. 33(1)) ----------------------------

def _moved(tmp_path, regimes, facts, stage, filed_h, new_aware_h, late_reason=None):
    ledger = tmp_path / "ledger.toml"
    regime_flags = [f for r in regimes for f in ("--regime", r)]
    ok(cli(ledger, iso(-1), "init", "--name", "CHU", "--category", "essential", *regime_flags))
    ok(cli(ledger, iso(0), "open", "Ransomware", "--aware", iso(0), *fact_flags(facts)))
    args = ["--late-reason", late_reason] if late_reason else []
    ok(cli(ledger, iso(filed_h), "submit", INC, stage, "--at", iso(filed_h), *args))
    amended = ok(cli(ledger, iso(filed_h + 5), "update", INC, "--aware", iso(new_aware_h)))
    return ledger, amended


def test_an_earlier_aware_at_makes_a_filing_late_and_the_record_keeps_the_first_judgement(tmp_path):
    """NIS 2 Art. 23(4)(a): the early warning filed 23 h after the first aware-at; aware-at amended
    2 h earlier, the due time is 22 h after it, before the filing: it is late now, and the record
    still says it was on time against the aware-at recorded then."""
    ledger, amended = _moved(tmp_path, ["nis2"], {}, "nis2.early_warning", 23, -2)
    warning = " ".join(amended.stderr.split())
    assert "nis2.early_warning filed 2026-03-29 10:00 +02:00 is now late (due 2026-03-29 09:00 +02:00" in warning
    assert "it was met before the amendment" in warning and "judged at filing: on time (due then 2026-03-29 11:00" in warning
    data = json.loads(ok(cli(ledger, iso(30), "show", INC, "--json")).stdout)
    assert obligation(data, "nis2.early_warning")["state"] == "late"
    [filing] = data["filings"]
    assert (filing["late"], filing["late_now"], filing["due"]) == (False, True, "2026-03-29T11:00:00+02:00")
    wide = runner.invoke(app, ["show", INC, "--ledger", str(ledger), "--now", iso(30)], env={"COLUMNS": "400"},
                         catch_exceptions=False)
    shown = " ".join(ok(wide).stdout.split())
    assert "yes at filing, against the aware-at recorded then; now late (due 2026-03-29 09:00 +02:00)" in shown
    [ob] = json.loads(ok(cli(ledger, iso(30), "explain", INC, "nis2.early_warning", "--json")).stdout)["obligations"]
    assert ob["state"] == "late"
    assert ob["judged_at_filing"] == {"due": "2026-03-29T11:00:00+02:00", "late": False}
    explained = " ".join(ok(cli(ledger, iso(30), "explain", INC, "nis2.early_warning")).stdout.split())
    assert "on time at filing, against the aware-at recorded then; now late against the facts as they stand" \
        in explained


def test_a_later_aware_at_makes_a_late_filing_on_time(tmp_path):
    """NIS 2 Art. 23(4)(a), the other direction: filed 25 h after the first aware-at (late); aware-at
    amended 2 h later, the due time moves after the filing: met now, late as judged at filing."""
    ledger, amended = _moved(tmp_path, ["nis2"], {}, "nis2.early_warning", 25, 2)
    assert "nis2.early_warning filed 2026-03-29 12:00 +02:00 is now met" in " ".join(amended.stderr.split())
    data = json.loads(ok(cli(ledger, iso(31), "show", INC, "--json")).stdout)
    assert obligation(data, "nis2.early_warning")["state"] == "met"
    [filing] = data["filings"]
    assert (filing["late"], filing["late_now"]) == (True, False)


def test_a_filing_made_late_by_an_amendment_needs_its_reasons_where_the_law_asks(tmp_path):
    """GDPR Art. 33(1): a notification after 72 h gives the reasons for the delay. The amendment says
    so; `submit --late-reason` then records them for that filing (not a new filing)."""
    ledger, amended = _moved(tmp_path, NIS2_GDPR, PD, "gdpr.notification", 70, -5)
    warning = " ".join(amended.stderr.split())
    assert "gdpr.notification filed" in warning and "is now late" in warning
    assert f"requires the reasons for the delay: record them with `submit {INC} gdpr.notification --late-reason TEXT`" \
        in warning
    before = json.loads(ok(cli(ledger, iso(80), "show", INC, "--json")).stdout)
    assert obligation(before, "gdpr.notification")["late_reason"] is None
    result = ok(cli(ledger, iso(80), "submit", INC, "gdpr.notification", "--late-reason", "aware-at corrected"))
    assert "recorded the reasons for the delay of gdpr.notification" in result.stderr
    data = json.loads(ok(cli(ledger, iso(80), "show", INC, "--json")).stdout)
    assert [f["stage"] for f in data["filings"]] == ["gdpr.notification"]  # one filing, with its reasons
    assert data["filings"][0]["late_reason"] == "aware-at corrected"
    ob = obligation(data, "gdpr.notification")
    assert (ob["state"], ob["late_reason"], ob["submitted_at"]) == ("late", "aware-at corrected", iso(70))
    assert "ok" in ok(runner.invoke(app, ["verify", "--ledger", str(ledger)], catch_exceptions=False)).stdout


AMENDED = """
[[actions]]
do = "update"
at = "T+{at}h"
aware_at = "T{new:+d}h"
"""


@pytest.mark.parametrize(("filed", "new", "state"), [(23, -2, "late"), (25, 2, "met")])
def test_an_amended_aware_at_through_an_exercise(tmp_path, filed, new, state):
    """NIS 2 Art. 23(4)(a) in an exercise: the same two directions; the update's note names the filing."""
    actions = [(filed, "submit", {"stage": "nis2.early_warning"})]
    extra = AMENDED.format(at=filed + 5, new=new) + \
        f'\n[[expect]]\nat = "T+{filed + 6}h"\nobligations = {{ "nis2.early_warning" = "{state}" }}\n'
    path, replay = run_exercise(tmp_path, ["nis2"], {}, actions, extra)
    assert replay.exit_code == 0, replay.stdout + replay.stderr
    assert f"nis2.early_warning filed" in replay.stderr and f"is now {state}" in replay.stderr
    wrong = "met" if state == "late" else "late"
    path.write_text(path.read_text().replace(f'= "{state}" }}', f'= "{wrong}" }}'), encoding="utf-8")
    assert runner.invoke(app, ["exercise", "check", str(path)], catch_exceptions=False).exit_code == 1


def test_late_reasons_after_an_amendment_through_an_exercise(tmp_path):
    """GDPR Art. 33(1) in an exercise: after the update makes the CNIL notification late, a `submit`
    with `late_reason` records the reasons; the end then accepts the stated `late`."""
    actions = [(70, "submit", {"stage": "gdpr.notification"})]
    extra = AMENDED.format(at=75, new=-5) + \
        '\n[[actions]]\ndo = "submit"\nat = "T+76h"\nstage = "gdpr.notification"\nlate_reason = "aware-at corrected"\n' \
        '\n[[expect]]\nat = "T+77h"\nobligations = { "gdpr.notification" = "late" }\n'
    path, replay = run_exercise(tmp_path, ["gdpr"], PD, actions, extra)
    assert replay.exit_code == 0, replay.stdout + replay.stderr
    assert 'record them with a `submit` action of gdpr.notification with late_reason = "..."' in replay.stderr
    timeline = runner.invoke(app, ["exercise", "timeline", str(path)], catch_exceptions=False).stdout
    assert "reasons for the delay of the filing at T+2d22h (2026-03-31 09:00 +02:00) recorded" in " ".join(timeline.split())


REVIEW_REGIME = '''
id = "review"
name = "Post-incident review"
law = "an entity's own rule, for the test"
recipient = "the board"
channel = "internal"
language = "en"

[applies]
otherwise = "never"

[[stages]]
id = "report"
title = "Post-incident review"
title_fr = "Retour d'expérience"
article = "internal rule 1"
start = "handled"
hours = 240
content = ["what happened"]
'''


@pytest.mark.parametrize(("handled", "code"), [(None, 2), (10, 0)])
def test_a_stage_whose_clock_starts_at_handled_at_both_ways(tmp_path, handled, code):
    """SPEC §8: a regime file's `start = "handled"` stage cannot be filed before handling concluded;
    the CLI and an exercise agree (a regime folder of the entity's own)."""
    regimes = tmp_path / "regimes"
    regimes.mkdir()
    (regimes / "review.toml").write_text(REVIEW_REGIME, encoding="utf-8")
    ledger = tmp_path / "ledger.toml"
    ok(cli(ledger, iso(-1), "init", "--name", "CHU", "--category", "essential", "--regime", "nis2",
           "--regime", "review", "--regimes-dir", str(regimes)))
    ok(cli(ledger, iso(0), "open", "Ransomware", "--aware", iso(0)))
    actions = [(handled, "handled", {})] if handled is not None else []
    for hours, _, _ in actions:
        ok(cli(ledger, iso(hours), "handled", INC, "--at", iso(hours)))
    before = ledger.read_bytes()
    result = cli(ledger, iso(20), "submit", INC, "review.report", "--at", iso(20))
    text = exercise_text(["nis2", "review"], {}, [*actions, (20, "submit", {"stage": "review.report"})])
    text = text.replace('regimes = ["nis2", "review"]', 'regimes = ["nis2", "review"]\nregimes_dir = "regimes"')
    path = tmp_path / "drill.toml"
    path.write_text(text, encoding="utf-8")
    replay = runner.invoke(app, ["exercise", "check", str(path)], catch_exceptions=False)
    if code:
        assert "before its clock starts (handling concluded, not recorded by then)" in one_line_error(result, code)
        assert ledger.read_bytes() == before
        assert replay.exit_code == 3 and "actions[0].at: refused by nis2-incident" in replay.stderr
    else:
        ok(result)
        assert replay.exit_code in (0, 1) and "INVALID" not in replay.stdout, replay.stdout + replay.stderr
