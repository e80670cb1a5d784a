"""`report` (issue 18): the figures of a period, checked against a hand-built ledger.

The ledger (NIS 2 and GDPR, Paris) as of 5 Oct 2026 12:00 CEST, reported for 2026-Q3 (1 Jul 00:00
CEST to 1 Oct 00:00 CEST, half-open):

- INC-1 "Old outage", aware 10 Jun 08:00 (Q2), significant, nothing filed: its early warning (11 Jun)
  and notification (13 Jun) fall in Q2; its progress report falls due one month after the
  notification's due time (13 Jul 08:00, Art. 23(4)(e): the incident is ongoing), in Q3, overdue;
- INC-2, aware 1 Jul 10:00, significant, personal data with a risk: early warning filed 1 Jul 20:00
  (due +24 h: on time), GDPR notification 3 Jul 09:00 (due +72 h: on time), NIS 2 notification 4 Jul
  18:00 (due +72 h = 4 Jul 10:00: 8 h late, with a reason), handled 10 Jul, final report 20 Jul (due
  one month after the notification was filed, 4 Aug 18:00: on time);
- INC-3, aware 15 Aug 09:00, not significant (with a rationale) and a breach unlikely to result in a
  risk (GDPR Art. 33(1), with a rationale): nothing applies;
- INC-4, aware 20 Sep 12:00, significant, nothing filed: early warning (21 Sep) and notification
  (23 Sep) overdue; its final report falls due 23 Oct, in Q4.

The expected figures below are derived from that description (the law's hours and months), not read
from the program; `test_by_stage_matches_the_csv_export` recounts them from `export --format csv`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import WAYS, at, run_both_ways
from nis2_incident import report
from nis2_incident.ledger import Store
from nis2_incident.service import Service

NOW = "2026-10-05T12:00"
HOSTILE_TITLE = "Rançongiciel <script>alert(1)</script>"
HOSTILE_REASON = "Portail <b>indisponible</b> | <img src=x onerror=alert(2)>"


def svc(path: Path, now: str) -> Service:
    return Service(Store(path), at(now))


def build(path: Path) -> Path:
    svc(path, "2026-06-01T09:00").init(name="CH <Test> & Cie", category="essential", regimes=["nis2", "gdpr"])
    svc(path, "2026-06-10T09:00").open_incident("Old outage", "2026-06-10T08:00", significance="significant")
    svc(path, "2026-07-01T10:30").open_incident(HOSTILE_TITLE, "2026-07-01T10:00", significance="significant",
                                                personal_data=True, breach_risk=True)
    svc(path, "2026-07-01T20:00").submit("2", "nis2.early_warning", reference="EW-1", draft_sha256="a" * 64)
    svc(path, "2026-07-03T09:00").submit("2", "gdpr.notification", reference="CNIL-1")
    svc(path, "2026-07-04T18:00").submit("2", "nis2.notification", late_reason=HOSTILE_REASON)
    svc(path, "2026-07-10T10:00").conclude("2", "handled")
    svc(path, "2026-07-20T10:00").submit("2", "nis2.final", draft_sha256="b" * 64)
    svc(path, "2026-08-15T10:00").open_incident("Phishing", "2026-08-15T09:00", significance="not_significant",
                                                significance_rationale="No service impact | *none*",
                                                personal_data=True, breach_risk=False,
                                                breach_risk_rationale="Encrypted laptop")
    svc(path, "2026-09-20T12:30").open_incident("DDoS", "2026-09-20T12:00", significance="significant")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> bytes:
    return build(tmp_path_factory.mktemp("report") / "ledger.jsonl").read_bytes()


@pytest.fixture
def ledger(tmp_path, built) -> Path:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(built)
    return path


@pytest.fixture
def data(ledger) -> dict:
    return svc(ledger, NOW).report("2026-Q3")


def hours(a: str, b: str) -> float:
    return round((at(b) - at(a)).total_seconds() / 3600, 2)


# --- the period -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,start,end", [
    ("2026-Q3", "2026-07-01T00:00+02:00", "2026-10-01T00:00+02:00"),
    ("2026-Q1", "2026-01-01T00:00+01:00", "2026-04-01T00:00+02:00"),  # across the March change
    ("2026-q4", "2026-10-01T00:00+02:00", "2027-01-01T00:00+01:00"),
    ("2026-11", "2026-11-01T00:00+01:00", "2026-12-01T00:00+01:00"),
    ("2026-12", "2026-12-01T00:00+01:00", "2027-01-01T00:00+01:00"),
    ("2026", "2026-01-01T00:00+01:00", "2027-01-01T00:00+01:00"),
])
def test_periods_are_local_calendar_spans(text, start, end):
    begin, finish, label = report.period(text, None, None, at(NOW), "Europe/Paris")
    assert (begin, finish) == (datetime.fromisoformat(start), datetime.fromisoformat(end))


def test_from_and_to_dates_cover_whole_days_and_to_defaults_to_now():
    now = at(NOW)
    begin, finish, _ = report.period(None, "2026-07-01", "2026-09-30", now, "Europe/Paris")
    assert (begin, finish) == (at("2026-07-01T00:00"), at("2026-10-01T00:00"))
    begin, finish, _ = report.period(None, "2026-09-01T08:00", None, now, "Europe/Paris")
    assert (begin, finish) == (at("2026-09-01T08:00"), now)


def test_no_period_is_the_quarter_of_now():
    begin, finish, label = report.period(None, None, None, at("2026-11-15T12:00"), "Europe/Paris")
    assert (label, begin, finish) == ("2026-Q4", at("2026-10-01T00:00"), at("2027-01-01T00:00"))


# --- the figures ------------------------------------------------------------------------------------

def test_headline(data):
    h = data["headline"]
    assert (h["incidents_opened"], h["significant"], h["not_significant"], h["undetermined"]) == (3, 2, 1, 0)
    assert h["reported"] == 1  # INC-2 only
    # due in Q3: INC-1 progress; INC-2 early warning, GDPR notification, NIS 2 notification, final;
    # INC-4 early warning and notification
    assert h["obligations_due"] == 7
    assert (h["met"], h["late"], h["overdue"], h["pending"]) == (3, 1, 3, 0)
    assert h["on_time_rate"] == round(3 / 7, 4)
    # the longest: INC-1's progress report, overdue since 13 Jul 08:00
    longest = h["longest_delay"]
    assert (longest["incident"], longest["stage"], longest["state"]) == ("INC-2026-001", "nis2.progress", "overdue")
    assert longest["delay_seconds"] == int((at(NOW) - at("2026-07-13T08:00")).total_seconds())


def test_per_regime_and_per_stage(data):
    regimes = {r["regime"]: (r["due"], r["met"], r["late"], r["overdue"], r["on_time_rate"]) for r in data["by_regime"]}
    assert regimes == {"gdpr": (1, 1, 0, 0, 1.0), "nis2": (6, 2, 1, 3, round(2 / 6, 4))}
    stages = {r["stage"]: (r["due"], r["met"], r["late"], r["overdue"]) for r in data["by_stage"]}
    assert stages == {"gdpr.notification": (1, 1, 0, 0), "nis2.early_warning": (2, 1, 0, 1),
                      "nis2.notification": (2, 0, 1, 1), "nis2.final": (1, 1, 0, 0), "nis2.progress": (1, 0, 0, 1)}


def test_late_filings_open_obligations_and_decisions(data):
    [late] = data["late_filings"]
    assert (late["incident"], late["stage"], late["late_reason"]) == ("INC-2026-002", "nis2.notification", HOSTILE_REASON)
    assert late["delay_seconds"] == 8 * 3600
    opened = [(o["incident"], o["stage"], o["state"]) for o in data["open_obligations"]]
    # overdue first, by due time; then pending by due time; an obligation without a due time last
    assert opened == [("INC-2026-001", "nis2.early_warning", "overdue"), ("INC-2026-001", "nis2.notification", "overdue"),
                      ("INC-2026-001", "nis2.progress", "overdue"), ("INC-2026-004", "nis2.early_warning", "overdue"),
                      ("INC-2026-004", "nis2.notification", "overdue"), ("INC-2026-004", "nis2.final", "pending"),
                      ("INC-2026-001", "nis2.final", "pending")]
    assert [(d["incident"], d["decision"], d["rationale"]) for d in data["decisions"]] == [
        ("INC-2026-003", "not_significant", "No service impact | *none*"),
        ("INC-2026-003", "no_risk", "Encrypted laptop")]


def test_chart_figures(data):
    charts = data["charts"]
    assert [(m["month"], m["significant"], m["not_significant"], m["undetermined"])
            for m in charts["incidents_per_month"]] == [("2026-07", 1, 0, 0), ("2026-08", 0, 1, 0), ("2026-09", 1, 0, 0)]
    aware = "2026-07-01T10:00"
    times = {(f["incident"], f["stage"]): (f["hours_from_aware"], f["deadline_hours"], f["state"])
             for f in charts["filing_times"]}
    assert times == {
        ("INC-2026-002", "nis2.early_warning"): (hours(aware, "2026-07-01T20:00"), 24.0, "met"),
        ("INC-2026-002", "gdpr.notification"): (hours(aware, "2026-07-03T09:00"), 72.0, "met"),
        ("INC-2026-002", "nis2.notification"): (hours(aware, "2026-07-04T18:00"), 72.0, "late"),
        ("INC-2026-002", "nis2.final"): (hours(aware, "2026-07-20T10:00"), hours(aware, "2026-08-04T18:00"), "met"),
    }
    rate = {(r["month"], r["stage"]): (r["met"], r["late"], r["overdue"]) for r in charts["on_time_by_month"]}
    assert rate[("2026-07", "nis2.notification")] == (0, 1, 0)
    assert rate[("2026-09", "nis2.notification")] == (0, 0, 1)
    assert rate[("2026-07", "nis2.progress")] == (0, 0, 1)
    assert sum(sum(v) for v in rate.values()) == 7
    # at 5 Oct 12:00: five overdue; INC-4's final (23 Oct) later than 7 days; INC-1's final awaits its notification
    assert {b["bucket"]: b["count"] for b in charts["open_by_due"]} == {
        "overdue": 5, "24h": 0, "7d": 0, "later": 1, "no_due": 1}


def test_evidence(data, ledger):
    ev = data["evidence"]
    lines = ledger.read_bytes().decode().splitlines()
    last = json.loads(lines[-1])
    assert ev["head"] == f"{last['seq']}:{last['hash']}" and ev["events"] == last["seq"] == len(lines) - 1
    assert ev["verify"] == {"ok": True, "events": last["seq"], "head": ev["head"], "error": None}
    assert [(d["incident"], d["stage"], d["sha256"]) for d in ev["drafts"]] == [
        ("INC-2026-002", "nis2.early_warning", "a" * 64), ("INC-2026-002", "nis2.final", "b" * 64)]
    assert ev["recheck"][0].endswith(f"verify --head {ev['head']}")
    assert "--now 2026-10-05T12:00:00+02:00 report --period 2026-Q3 --format json" in ev["recheck"][1]


def test_by_stage_matches_the_csv_export(ledger, capsys):
    """The same per-stage figures, recounted from the CSV export's rows with the period's rule."""
    code, out, err = run_both_ways("main", ["--ledger", str(ledger), "--now", NOW, "export", "--format", "csv"], capsys)
    assert code == 0, err
    start, end = at("2026-07-01T00:00"), at("2026-10-01T00:00")
    tally: dict = {}
    for row in csv.DictReader(io.StringIO(out)):
        if row["state"] == "not_applicable" or row["due_kind"] == "conditional":
            continue
        ref = row["due"] or row["target"] or row["clock_start"]
        if not start <= datetime.fromisoformat(ref) < end:
            continue
        t = tally.setdefault(row["stage"], {"met": 0, "late": 0, "overdue": 0, "pending": 0})
        t[row["state"]] += 1
    data = svc(ledger, NOW).report("2026-Q3")
    assert {r["stage"]: {k: r[k] for k in ("met", "late", "overdue", "pending")} for r in data["by_stage"]} == tally


def test_as_of_an_earlier_now_leaves_later_events_out(ledger):
    """As of 4 Jul 12:00 the NIS 2 notification (filed at 18:00) is not yet in the record: overdue."""
    data = svc(ledger, "2026-07-04T12:00").report("2026-Q3")
    assert data["late_filings"] == []
    stages = {r["stage"]: (r["met"], r["overdue"], r["pending"]) for r in data["by_stage"]}
    assert stages["nis2.notification"] == (0, 1, 0)
    assert data["evidence"]["events"] < data["evidence"]["verify"]["events"]


def test_build_is_pure_the_same_views_give_the_same_figures(ledger):
    service = svc(ledger, NOW)
    state = service.state()
    views = list(service.each_view(state))
    start, end, label = report.period("2026-Q3", None, None, at(NOW), "Europe/Paris")
    one = report.build(views, state.profile, start, end, label, at(NOW), {"head": "x"})
    two = report.build(views, state.profile, start, end, label, at(NOW), {"head": "x"})
    assert one == two and one["headline"]["obligations_due"] == 7


# --- through the command line ----------------------------------------------------------------------

@pytest.mark.parametrize("way", WAYS)
def test_json_through_the_cli(way, ledger, capsys):
    code, out, err = run_both_ways(way, ["--ledger", str(ledger), "--now", NOW, "report", "--period", "2026-Q3",
                                         "--format", "json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["headline"]["obligations_due"] == 7 and data["period"]["from"] == "2026-07-01T00:00:00+02:00"
    assert "2026-Q3: 3 incident(s), 7 obligation(s) due, 7 still open" in err
    code, out2, err = run_both_ways(way, ["--ledger", str(ledger), "--now", NOW, "report", "--from", "2026-07-01",
                                          "--to", "2026-09-30", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out2)["headline"] == data["headline"]


@pytest.mark.parametrize("argv,needle", [
    (["--period", "2026-Q5"], "--period '2026-Q5'; accepted: a year (2026), a month (2026-11) or a quarter"),
    (["--period", "2026-13"], "no month 13"),
    (["--period", "2026-Q3", "--from", "2026-07-01"], "--period goes alone"),
    (["--to", "2026-07-01"], "--to needs --from"),
    (["--from", "2026-09-01", "--to", "2026-08-01"], "is not after --from"),
    (["--from", "2026-02-30"], "--from '2026-02-30' is not a date"),
    (["--from", "soon"], "--from: invalid time 'soon'"),
    (["--format", "docx"], "--format 'docx'; accepted: html, markdown, json"),
    (["--format", "pdf"], "print the HTML to PDF"),
    (["--lang", "de"], "--lang 'de'; accepted: fr, en"),
    (["--exercises", "/nonexistent/drills"], "--exercises /nonexistent/drills: no such folder"),
])
def test_bad_input_is_one_line_exit_2_ledger_untouched(ledger, capsys, argv, needle):
    before = ledger.read_bytes()
    code, out, err = run_both_ways("main", ["--ledger", str(ledger), "--now", NOW, "report", *argv], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1, err
    assert ledger.read_bytes() == before


# --- the HTML and Markdown -------------------------------------------------------------------------

def html_of(ledger: Path, *extra: str, capsys) -> str:
    code, out, err = run_both_ways("main", ["--ledger", str(ledger), "--now", NOW, "report", "--period", "2026-Q3",
                                            *extra], capsys)
    assert code == 0, err
    return out


def test_html_is_byte_identical_for_the_same_ledger_and_now(ledger, tmp_path, capsys):
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    for target in (first, second):
        code, out, err = run_both_ways("main", ["--ledger", str(ledger), "--now", NOW, "report", "--period", "2026-Q3",
                                                "--output", str(target)], capsys)
        assert code == 0 and f"wrote {target}" in err
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    # the only time in it is --now's: no other instant of December 2026 (today) or of the run
    assert "2026-10-05 12:00 +02:00" in text
    ids = re.findall(r'\sid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "an id is used twice"
    for ref in set(re.findall(r'(?:href="#|url\(#)([^")]+)', text)):
        assert ref in ids


def test_html_is_self_contained_and_escapes_user_text(ledger, capsys):
    text = html_of(ledger, capsys=capsys)
    assert "<script" not in text.lower() and "<link" not in text.lower() and "<img" not in text.lower()
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text) and "@import" not in text and "url(http" not in text
    assert "Rançongiciel &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Portail &lt;b&gt;indisponible&lt;/b&gt; | &lt;img src=x onerror=alert(2)&gt;" in text
    assert "CH &lt;Test&gt; &amp; Cie" in text
    assert text.count("<svg ") == 4 and text.count('role="img"') == 4 and text.count("<title>") == 5


def test_html_is_french_by_default_and_english_with_lang_en(ledger, capsys):
    fr = html_of(ledger, capsys=capsys)
    en = html_of(ledger, "--lang", "en", capsys=capsys)
    assert '<html lang="fr">' in fr and "Déclarations en retard" in fr and "Incidents par mois" in fr
    assert '<html lang="en">' in en and "Late filings" in en and "Incidents per month" in en
    assert "Déclarations en retard" not in en


def test_html_chart_data_tables_hold_the_figures(ledger, capsys):
    text = html_of(ledger, capsys=capsys)
    months = text[text.index('id="chart-months"'):text.index('id="chart-times"')]
    cells = re.findall(r"<tr><td>(2026-0[789])</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>", months)
    assert cells == [("2026-07", "1", "0", "0"), ("2026-08", "0", "0", "1"), ("2026-09", "1", "0", "0")]


def test_markdown_escapes_user_text(ledger, capsys):
    text = html_of(ledger, "--format", "markdown", "--lang", "en", capsys=capsys)
    assert text.startswith("# Cyber incident report — CH &lt;Test&gt; &amp; Cie")
    assert "No service impact \\| \\*none\\*" in text
    assert "Rançongiciel &lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script" not in text
    assert "| INC-2026-002 | nis2.early_warning | 2026-07-01 20:00 +02:00 | `" + "a" * 64 + "` |" in text
    assert "| nis2 | 6 | 2 | 1 | 3 | 0 | 33 % |" in text


# --- exercises -------------------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "exercises"


def test_exercises_of_the_period_with_the_time_from_t0_to_each_filing(ledger, tmp_path, capsys):
    drills = tmp_path / "drills"
    drills.mkdir()
    # in Q3 and passing: the CNIL notification filed at T+3d14h, late with its reasons (expected so)
    (drills / "cnil.toml").write_text((EXAMPLES / "late-cnil-notification-with-reason.toml").read_text())
    late = """format = 1
t0 = "T0_HERE"
[exercise]
name = "Early warning at T+47h"
[profile]
name = "CH Exemple"
category = "essential"
regimes = ["nis2"]
[incident]
title = "Panne"
aware_at = "T0"
significance = "significant"
[[actions]]
do = "submit"
at = "T+1d23h"
stage = "nis2.early_warning"
[end]
at = "T+4d"
"""
    (drills / "june.toml").write_text(late.replace("T0_HERE", "2026-06-13T10:00:00+02:00"))  # Q2: not reported
    (drills / "august.toml").write_text(late.replace("T0_HERE", "2026-08-15T10:00:00+02:00"))  # Q3: fails
    (drills / "later.toml").write_text(late.replace("T0_HERE", "2026-09-30T10:00:00+02:00"))  # after --now
    (drills / "broken.toml").write_text("format = 1\nt0 = 12\n")  # invalid: always listed (its T0 is unknown)
    code, out, err = run_both_ways("main", ["--ledger", str(ledger), "--now", "2026-09-29T12:00", "report", "--period",
                                            "2026-Q3", "--exercises", str(drills), "--json"], capsys)
    assert code == 0, err
    rows = {Path(x["file"]).name: x for x in json.loads(out)["exercises"]}
    assert set(rows) == {"cnil.toml", "august.toml", "broken.toml"}  # june: in Q2; later: T0 after --now
    assert rows["broken.toml"]["status"] == "invalid" and rows["broken.toml"]["error"]
    cnil = rows["cnil.toml"]
    assert (cnil["status"], cnil["t0"]) == ("pass", "2026-07-03T18:30:00+02:00")
    assert [(f["stage"], f["from_t0"], f["from_t0_seconds"], f["late"]) for f in cnil["filings"]] == [
        ("gdpr.notification", "T+3d14h", (3 * 24 + 14) * 3600, True)]
    august = rows["august.toml"]
    assert august["status"] == "fail" and august["failures"] > 0
    assert [(f["stage"], f["from_t0"], f["late"]) for f in august["filings"]] == [("nis2.early_warning", "T+1d23h", True)]
    # the ledger's own figures do not change with the drills
    code, plain, err = run_both_ways("main", ["--ledger", str(ledger), "--now", "2026-09-29T12:00", "report",
                                              "--period", "2026-Q3", "--json"], capsys)
    assert json.loads(plain)["headline"] == json.loads(out)["headline"] and json.loads(plain)["exercises"] is None
    md = html_of(ledger, "--format", "markdown", "--lang", "en", "--exercises", str(drills), capsys=capsys)
    assert "| gdpr.notification: T+3d14h (late) |" in md.replace("Lost backup tapes: a late CNIL notification, with "
                                                                 "its reasons | 2026-07-03 18:30 +02:00 | passed ", "")


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_document_ledger_gives_the_same_figures(ledger, tmp_path, capsys, suffix):
    """The same events as a TOML or JSON document (`ledger migrate`): the same report, but for the path."""
    target = tmp_path / f"copy{suffix}"
    code, _, err = run_both_ways("main", ["--now", NOW, "ledger", "migrate", str(ledger), str(target)], capsys)
    assert code == 0, err
    log, doc = svc(ledger, NOW).report("2026-Q3"), svc(target, NOW).report("2026-Q3")
    for data in (log, doc):
        data["evidence"].pop("ledger")
        data["evidence"].pop("recheck")
    assert doc == log


def test_a_now_before_the_ledger_is_refused(ledger, capsys):
    code, out, err = run_both_ways("main", ["--ledger", str(ledger), "--now", "2026-05-01T00:00", "report"], capsys)
    assert code == 2 and "before the ledger was created" in err and out == ""


def test_html_is_the_same_across_processes_hash_seeds_and_time_zones(ledger, tmp_path):
    """Two separate processes, each with its own hash seed and process time zone: the same bytes."""
    import os
    import subprocess
    import sys

    outputs = []
    for seed, zone in (("1", "Asia/Tokyo"), ("2", "America/Los_Angeles")):
        target = tmp_path / f"report-{seed}.html"
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": zone}
        done = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", str(ledger), "--now", NOW, "report",
                               "--period", "2026-Q3", "--output", str(target)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] and b"<svg " in outputs[0]


@pytest.mark.parametrize("fmt", ["json", "html", "markdown"])
def test_obligations_of_a_rule_not_in_force_and_ignored_are_left_out(ledger, capsys, fmt):
    """`profile --not-in-force ignore` gives NIS 2's obligations (not in force in France in 2026) the
    state not_in_force: the report leaves them out like those that do not apply (it crashed, exit 70)."""
    code, _, err = run_both_ways("main", ["--ledger", str(ledger), "--now", NOW, "profile", "--not-in-force",
                                          "ignore"], capsys)
    assert code == 0, err
    code, out, err = run_both_ways("main", ["--ledger", str(ledger), "--now", NOW, "report", "--period", "2026-Q3",
                                            "--format", fmt], capsys)
    assert code == 0, err
    if fmt == "json":
        data = json.loads(out)
        # left: what was filed (INC-2: early warning, GDPR notification and final on time, NIS 2
        # notification late), not the unfiled NIS 2 stages of INC-1 and INC-4 (overdue when tracked)
        h = data["headline"]
        assert (h["obligations_due"], h["met"], h["late"], h["overdue"], h["pending"]) == (4, 3, 1, 0, 0)
        assert all(not o["stage"].startswith("nis2.") for o in data["open_obligations"])


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_a_chain_that_does_not_verify_is_shown_failed_without_none(ledger, capsys, fmt):
    """A torn last line: the report is made from what verifies, and the evidence block says verify
    failed and why, with no "None" where the count and the head of a verified chain would be."""
    with ledger.open("ab") as f:
        f.write(b'{"seq":')
    code, out, err = run_both_ways("main", ["--ledger", str(ledger), "--now", NOW, "report", "--period", "2026-Q3",
                                            "--format", fmt, "--lang", "en"], capsys)
    assert code == 0, err
    assert "FAILED" in out and "is cut short" in out
    assert "None" not in out


def test_obligations_of_a_rule_not_in_force_are_marked_as_such(data, ledger, capsys):
    """NIS 2 is not in force in France in 2026 (nis2.toml `in_force = false`): `status`, `show` and
    `explain` mark its obligations; the board's report must too, not list them as plainly overdue or late."""
    open_ = {(o["incident"], o["stage"]): o["in_force"] for o in data["open_obligations"]}
    assert open_[("INC-2026-004", "nis2.early_warning")] is False
    late = {(o["incident"], o["stage"]): o["in_force"] for o in data["late_filings"]}
    assert late == {("INC-2026-002", "nis2.notification"): False}
    for fmt, label in (("markdown", "rule not in force at aware-at"), ("html", "rule not in force at aware-at")):
        code, out, err = run_both_ways("main", ["--ledger", str(ledger), "--now", NOW, "report", "--period", "2026-Q3",
                                                "--format", fmt, "--lang", "en"], capsys)
        assert code == 0, err
        assert out.count(label) == len(data["open_obligations"]) - sum(open_.values()) + 1, fmt
