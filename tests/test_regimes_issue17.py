"""Every duty a French health-sector entity can owe (issue 17): NIS 1, CER, DORA, CRA, MDR,
materiovigilance, AI Act, EIGS, the GDPR processor, the CSP recipient, rules not in force, and triage.

Each test cites the article it implements; the texts and how far each point is confirmed are in
docs/legal-sources.md. Every expected instant is written out with its Paris offset (CET +01:00, CEST
+02:00; in 2026 the clocks change on 29 Mar and 25 Oct, in 2025 on 30 Mar and 26 Oct). The clock is
always fixed (`now=` or `--now`).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from nis2_incident import deadlines, regimes
from nis2_incident.cli import app
from nis2_incident.errors import InputError

from conftest import WAYS, at, run_both_ways
from test_regimes import cli, ok  # the same CLI helpers

runner = CliRunner()


def iso(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def entity(make_service, regimes_: list[str], **profile):
    return make_service(regimes=regimes_, **profile)


def open_at(svc, aware: str, now: str | None = None, **facts) -> str:
    svc.now = at(now or aware)
    return svc.open_incident("Incident", aware, **facts).value.incident.id


def obs(svc, ident, now: str | None = None):
    if now:
        svc.now = at(now)
    return {ob.stage: ob for ob in svc.one(ident)[1].obligations}


# --- NIS 1: loi n° 2018-133 art. 7 I, décret n° 2018-384 art. 11 ------------------------------------

def test_nis1_declaration_is_due_as_soon_as_aware_for_an_ose(make_service):
    """Décret n° 2018-384 art. 11: OSE declare to ANSSI 'dès qu'ils en ont connaissance' (no hour count)."""
    svc = entity(make_service, ["nis1"], ose=True)
    ob = obs(svc, open_at(svc, "2026-03-28T10:00"))["nis1.declaration"]
    assert (ob.due, ob.due_kind, ob.state, ob.clock_start) == (None, "asap", "pending", at("2026-03-28T10:00"))
    assert ob.recipient == "ANSSI (CERT-FR)" and "art. 7 I" in ob.article and "2018-384" in ob.article
    assert ob.in_force and ob.undetermined == ["service_disruption"]


def test_nis1_does_not_apply_without_a_significant_disruption_or_to_a_non_ose(make_service, tmp_path):
    """Loi n° 2018-133 art. 7 I: only incidents with a significant impact on the essential service's
    continuity, and only for designated OSE."""
    svc = entity(make_service, ["nis1"], ose=True)
    assert obs(svc, open_at(svc, "2026-03-28T10:00", service_disruption=False))["nis1.declaration"].state == \
        "not_applicable"
    other = make_service(path=tmp_path / "other.toml", regimes=["nis1"])
    ob = obs(other, open_at(other, "2026-03-28T10:00", service_disruption=True))["nis1.declaration"]
    assert ob.state == "not_applicable" and "significant impact" in ob.note


def test_nis1_is_in_force_from_26_may_2018():
    """Décret n° 2018-384 in force 26 May 2018; no end date until the French NIS 2 law is promulgated."""
    nis1 = regimes.builtin()["nis1"]
    assert not nis1.in_force_at(at("2018-05-25T23:59"))
    assert nis1.in_force_at(at("2018-05-26T00:00")) and nis1.effective_until is None


# --- CER: Directive (EU) 2022/2557 Art. 15(1) ----------------------------------------------------

def test_cer_initial_24h_and_detailed_one_month_and_not_in_force_in_france(make_service):
    """Dir. 2022/2557 Art. 15(1): initial notification within 24 h of awareness, detailed report one
    month thereafter (from awareness: the earlier reading). Not transposed in France: not in force."""
    svc = entity(make_service, ["cer"], critical_entity=True)
    o = obs(svc, open_at(svc, "2026-01-31T10:00"))
    assert o["cer.initial"].due == iso("2026-02-01T10:00+01:00")
    assert o["cer.detailed"].due == iso("2026-02-28T10:00+01:00")  # 31 Jan + 1 month, end-of-month clamped
    assert not o["cer.initial"].in_force and "not yet in force in France" in o["cer.initial"].in_force_note
    assert o["cer.initial"].state == "pending"  # computed as usual (the lead's decision: track by default)


# --- DORA: Reg. (EU) 2022/2554 Art. 19; Delegated Reg. (EU) 2025/301 Art. 5 -------------------------

def dora(make_service):
    return entity(make_service, ["dora"], financial_entity=True)


@pytest.mark.parametrize(("classified", "due"), [
    (None, "2026-06-03T10:00+02:00"),                 # not classified yet: 24 h from awareness
    ("2026-06-02T11:00", "2026-06-02T15:00+02:00"),   # classified after 1 h: 4 h later
    ("2026-06-03T08:00", "2026-06-03T10:00+02:00"),   # classified after 22 h: the 24 h cap comes first
    ("2026-06-03T12:00", "2026-06-03T10:00+02:00"),   # classified after 26 h: the cap has passed
])
def test_dora_initial_is_4h_from_classification_at_most_24h_from_awareness(make_service, classified, due):
    """Del. Reg. 2025/301 Art. 5(1)(a): 'within four hours from the classification ... and no later than
    24 hours from the moment the financial entity has become aware'."""
    svc = dora(make_service)
    facts = {"classified_major_at": classified} if classified else {}
    ident = open_at(svc, "2026-06-02T10:00", now="2026-06-03T12:00", **facts)
    assert obs(svc, ident)["dora.initial"].due == iso(due)


def test_dora_intermediate_72h_after_the_initial_and_final_one_month_after_the_intermediate(make_service):
    """Art. 5(1)(b): 72 h from the submission of the initial notification; 5(1)(c): one month after the
    intermediate report."""
    svc = dora(make_service)
    ident = open_at(svc, "2026-06-02T10:00", now="2026-06-02T11:00", classified_major_at="2026-06-02T11:00")
    assert obs(svc, ident)["dora.intermediate"].due_kind == "provisional"
    svc.now = at("2026-06-02T14:00")
    svc.submit(ident, "dora.initial", at="2026-06-02T14:00")
    svc.now = at("2026-06-05T09:00")
    svc.submit(ident, "dora.intermediate", at="2026-06-05T09:00")
    o = obs(svc, ident)
    assert o["dora.initial"].state == "met"
    assert o["dora.intermediate"].due == iso("2026-06-05T14:00+02:00") and o["dora.intermediate"].state == "met"
    assert o["dora.final"].due == iso("2026-07-05T09:00+02:00") and o["dora.final"].due_kind == "deadline"


def test_dora_a_report_due_on_a_weekend_may_be_sent_by_noon_of_the_next_working_day(make_service):
    """Del. Reg. 2025/301 Art. 5(4): a time limit on a weekend day or bank holiday may be met by noon of
    the next working day; shown as information, the strict time stays the deadline."""
    svc = dora(make_service)
    # aware Fri 5 Jun 2026 10:00: 24 h ends Sat 6 Jun 10:00 -> Mon 8 Jun 12:00
    ident = open_at(svc, "2026-06-05T10:00")
    svc.now = at("2026-06-05T11:00")
    ob = svc.one(ident, explain=True)[1].obligations[0]
    assert ob.due == iso("2026-06-06T10:00+02:00")
    assert any("Mon 2026-06-08 12:00" in str(c) and "Art. 5(4)" in str(c) for c in ob.choices)
    assert deadlines.weekend_deadline(iso("2026-06-06T10:00+02:00"), "Europe/Paris") == iso("2026-06-08T12:00+02:00")


@pytest.mark.parametrize(("local_due", "later"), [
    ("2026-06-05T23:59+02:00", None),                       # Friday: a working day, unchanged
    ("2026-06-06T00:00+02:00", "2026-06-08T12:00+02:00"),   # Saturday 00:00
    ("2026-07-14T09:00+02:00", "2026-07-15T12:00+02:00"),   # Bastille Day (Tuesday)
    ("2026-12-25T10:00+01:00", "2026-12-28T12:00+01:00"),   # Christmas (Friday) -> Monday
    ("2026-10-24T10:00+02:00", "2026-10-26T12:00+01:00"),   # Saturday before the clocks go back
])
def test_dora_weekend_rule_boundaries(local_due, later):
    """Del. Reg. 2025/301 Art. 5(4): weekend days and French bank holidays, noon local time."""
    assert deadlines.weekend_deadline(iso(local_due), "Europe/Paris") == (iso(later) if later else None)


def test_dora_is_not_reported_for_an_incident_classified_not_major(make_service):
    """Reg. 2022/2554 Art. 19(1): only major ICT-related incidents are reported."""
    svc = dora(make_service)
    o = obs(svc, open_at(svc, "2026-06-02T10:00", major=False))
    assert {ob.state for ob in o.values()} == {"not_applicable"}


def test_dora_classification_before_awareness_is_refused_and_the_ledger_untouched(make_service, capsys):
    """Art. 5(1)(a) counts 4 h from the classification of an incident the entity is aware of: a
    classification before aware-at would put the initial notification's deadline before its clock."""
    svc = dora(make_service)
    with pytest.raises(InputError, match="classified-major-at .* is before aware-at"):
        open_at(svc, "2026-06-02T10:00", now="2026-06-02T12:00", classified_major_at="2026-06-02T09:00")
    ident = open_at(svc, "2026-06-02T10:00", now="2026-06-02T12:00")
    before = svc.store.path.read_bytes()
    code, out, err = run_both_ways("main", ["--ledger", str(svc.store.path), "--now", "2026-06-02T12:00", "update",
                                            ident, "--classified-major-at", "2026-06-02T09:59"], capsys)
    assert code == 2 and err.startswith("error: classified-major-at") and err.count("\n") == 1, err
    assert svc.store.path.read_bytes() == before


def test_dora_classification_contradicting_not_major_is_refused(make_service):
    svc = dora(make_service)
    with pytest.raises(InputError, match="--classified-major-at contradicts --not-major"):
        open_at(svc, "2026-06-02T10:00", now="2026-06-02T12:00", major=False, classified_major_at="2026-06-02T11:00")


def test_dora_in_force_from_the_rts_date():
    """Del. Reg. 2025/301 in force 12 March 2025 (twentieth day after OJ publication on 20.2.2025)."""
    rule = regimes.builtin()["dora"]
    assert not rule.in_force_at(at("2025-03-11T23:59")) and rule.in_force_at(at("2025-03-12T00:00"))


# --- CRA: Reg. (EU) 2024/2847 Art. 14 -------------------------------------------------------------

def cra(make_service, **profile):
    return entity(make_service, ["cra"], cra_manufacturer=True, **profile)


def test_cra_exploited_vulnerability_24h_72h_and_14_days_after_the_corrective_measure(make_service):
    """Art. 14(2)(a)-(c): early warning 24 h, notification 72 h from awareness; final report 14 days after
    a corrective or mitigating measure is available (no date before)."""
    svc = cra(make_service)
    ident = open_at(svc, "2026-10-23T10:00", vulnerability_exploited=True, severe_incident=False)
    o = obs(svc, ident)
    assert o["cra.vulnerability_early_warning"].due == iso("2026-10-24T10:00+02:00")
    # 72 h across the end of summer time (25 Oct 2026): 10:00 CEST + 72 h = 09:00 CET
    assert o["cra.vulnerability_notification"].due == iso("2026-10-26T09:00+01:00")
    assert o["cra.vulnerability_final"].due is None and o["cra.vulnerability_final"].due_kind == "awaiting"
    assert o["cra.incident_early_warning"].state == "not_applicable"
    svc.now = at("2026-10-30T12:00")
    svc.update_incident(ident, corrective_measure_at="2026-10-30T12:00")
    assert obs(svc, ident)["cra.vulnerability_final"].due == iso("2026-11-13T12:00+01:00")


def test_cra_severe_incident_final_report_one_month_after_the_notification(make_service):
    """Art. 14(4)(c): final report within one month after the incident notification of 14(4)(b)."""
    svc = cra(make_service)
    ident = open_at(svc, "2026-10-01T10:00", severe_incident=True, vulnerability_exploited=False)
    o = obs(svc, ident)
    assert o["cra.incident_early_warning"].due == iso("2026-10-02T10:00+02:00")
    assert o["cra.incident_final"].due == iso("2026-11-04T10:00+01:00")  # provisional: 1 month after 72 h
    svc.now = at("2026-10-03T09:00")
    svc.submit(ident, "cra.incident_notification", at="2026-10-03T09:00")
    assert obs(svc, ident)["cra.incident_final"].due == iso("2026-11-03T09:00+01:00")


def test_cra_final_vulnerability_report_cannot_be_filed_before_a_measure_is_recorded(make_service):
    svc = cra(make_service)
    ident = open_at(svc, "2026-10-01T10:00", vulnerability_exploited=True)
    with pytest.raises(InputError, match="corrective-measure-at not recorded"):
        svc.submit(ident, "cra.vulnerability_final", at="2026-10-01T10:00")


@pytest.mark.parametrize(("aware", "binds"), [("2026-09-10T23:59", False), ("2026-09-11T00:00", True)])
def test_cra_article_14_applies_from_11_september_2026(make_service, aware, binds):
    """Art. 71(2): Article 14 applies from 11 September 2026; before, computed and marked not in force."""
    svc = cra(make_service)
    ob = obs(svc, open_at(svc, aware, vulnerability_exploited=True))["cra.vulnerability_early_warning"]
    assert ob.in_force is binds and ob.state == "pending"


def test_cra_does_not_apply_to_a_medical_device(make_service):
    """Art. 2(2)(a): the CRA does not apply to products covered by Regulation (EU) 2017/745."""
    svc = cra(make_service)
    o = obs(svc, open_at(svc, "2026-10-01T10:00", device_involved=True, vulnerability_exploited=True))
    assert o["cra.vulnerability_early_warning"].state == "not_applicable"
    assert "MDR" in o["cra.vulnerability_early_warning"].note


# --- MDR: Reg. (EU) 2017/745 Art. 87(3)-(5); materiovigilance CSP L.5212-2 -----------------------------

_MDR_KNOWN = {"public_health_threat": False, "patient_harm": "harm"}


@pytest.mark.parametrize(("facts", "due", "article"), [
    ({}, "2026-03-13T10:00+01:00", "87(3)"),                                   # 15 days
    ({"patient_harm": "death"}, "2026-03-08T10:00+01:00", "87(5)"),            # 10 days
    ({"patient_harm": "serious"}, "2026-03-08T10:00+01:00", "87(5)"),
    ({"public_health_threat": True, "patient_harm": "death"}, "2026-02-28T10:00+01:00", "87(4)"),  # 2 days
])
def test_mdr_serious_incident_periods(make_service, facts, due, article):
    """MDR Art. 87(3): 15 days; 87(4): serious public health threat, 2 days; 87(5): death or
    unanticipated serious deterioration, 10 days; counted as exact elapsed time from awareness."""
    svc = entity(make_service, ["mdr"], mdr_manufacturer=True)
    ob = obs(svc, open_at(svc, "2026-02-26T10:00", device_involved=True, **{**_MDR_KNOWN, **facts}))["mdr.report"]
    assert ob.due == iso(due) and article in ob.article


@pytest.mark.parametrize(("facts", "due", "article"), [
    ({}, "2026-02-28T10:00+01:00", "87(4)"),                          # nothing recorded: the 2 days
    ({"public_health_threat": False}, "2026-03-08T10:00+01:00", "87(5)"),  # harm not recorded: 10 days
    ({"patient_harm": "none"}, "2026-02-28T10:00+01:00", "87(4)"),   # the threat not recorded: 2 days
])
def test_mdr_a_fact_not_recorded_gives_the_shorter_period(make_service, facts, due, article):
    """MDR Art. 87(4)-(5) give shorter periods on facts that may not be known at once: until the fact that
    would exclude the shorter period is recorded, it counts (the earlier deadline; README: Conservative
    choices), and `explain` says which fact it rests on."""
    svc = entity(make_service, ["mdr"], mdr_manufacturer=True)
    ob = obs(svc, open_at(svc, "2026-02-26T10:00", device_involved=True, **facts))["mdr.report"]
    assert ob.due == iso(due) and article in ob.article
    assert any("not recorded" in str(c) for c in ob.choices)


def test_mdr_15_days_across_the_spring_clock_change(make_service):
    """MDR Art. 87(3) over 29 Mar 2026: 360 h elapsed ends an hour later on the wall clock."""
    svc = entity(make_service, ["mdr"], mdr_manufacturer=True)
    ob = obs(svc, open_at(svc, "2026-03-20T10:00", device_involved=True, **_MDR_KNOWN))["mdr.report"]
    assert ob.due == iso("2026-04-04T11:00+02:00")


def test_materiovigilance_sans_delai_for_a_health_establishment(make_service):
    """CSP L.5212-2, R.5212-14: a device incident that led or could lead to death or serious
    deterioration, reported 'sans délai' to the ANSM through the local correspondent (R.5212-17)."""
    svc = entity(make_service, ["materiovigilance"], health_establishment=True)
    ob = obs(svc, open_at(svc, "2026-03-28T10:00", device_involved=True, patient_harm="serious"))[
        "materiovigilance.report"]
    assert (ob.due_kind, ob.state) == ("asap", "pending") and "correspondant local" in ob.recipient
    none = obs(svc, open_at(svc, "2026-03-28T10:00", device_involved=True, patient_harm="none"))
    assert none["materiovigilance.report"].state == "not_applicable"


# --- AI Act: Reg. (EU) 2024/1689 Art. 73(2)-(4) ---------------------------------------------------------

@pytest.mark.parametrize(("facts", "hours", "article"), [
    ({}, 360, "73(2)"), ({"patient_harm": "death"}, 240, "73(4)"), ({"widespread_infringement": True}, 48, "73(3)"),
])
def test_ai_act_serious_incident_periods(make_service, facts, hours, article):
    """AI Act Art. 73(2): 15 days; 73(3): widespread infringement / critical infrastructure, 2 days;
    73(4): death, 10 days (not swapped)."""
    svc = entity(make_service, ["ai_act"], ai_provider=True)
    known = {"widespread_infringement": False, "patient_harm": "none"}
    ident = open_at(svc, "2028-01-10T10:00", ai_system_involved=True, **{**known, **facts})
    ob = obs(svc, ident)["ai_act.report"]
    assert ob.due - at("2028-01-10T10:00") == __import__("datetime").timedelta(hours=hours)
    assert article in ob.article and ob.in_force


@pytest.mark.parametrize(("facts", "hours", "article"), [
    ({}, 48, "73(3)"), ({"widespread_infringement": False}, 240, "73(4)"),
])
def test_ai_act_a_fact_not_recorded_gives_the_shorter_period(make_service, facts, hours, article):
    """AI Act Art. 73(3)-(4): a widespread infringement or a death not yet excluded counts (the earlier
    deadline; README: Conservative choices)."""
    svc = entity(make_service, ["ai_act"], ai_provider=True)
    ob = obs(svc, open_at(svc, "2028-01-10T10:00", ai_system_involved=True, **facts))["ai_act.report"]
    assert ob.due - at("2028-01-10T10:00") == __import__("datetime").timedelta(hours=hours)
    assert article in ob.article and any("not recorded" in str(c) for c in ob.choices)


@pytest.mark.parametrize(("aware", "binds"), [("2027-12-01T23:59", False), ("2027-12-02T00:00", True)])
def test_ai_act_applies_from_2_december_2027(make_service, aware, binds):
    """Art. 73 follows Art. 6, moved to 2 December 2027 (Annex III) by Regulation (EU) 2026/1744."""
    svc = entity(make_service, ["ai_act"], ai_provider=True)
    assert obs(svc, open_at(svc, aware, ai_system_involved=True))["ai_act.report"].in_force is binds


# --- EIGS: CSP L.1413-14, R.1413-69 ---------------------------------------------------------------------

def test_eigs_first_part_sans_delai_second_part_three_months(make_service):
    """CSP R.1413-69 II: first part 'sans délai'; III: second part 'au plus tard dans les trois mois'
    (from the finding: the earlier reading); 30 Nov + 3 months = 28 Feb (end-of-month clamped)."""
    svc = entity(make_service, ["eigs"], health_establishment=True)
    o = obs(svc, open_at(svc, "2026-11-30T22:00", patient_harm="death"))
    assert o["eigs.first_part"].due_kind == "asap" and o["eigs.first_part"].recipient == "DG ARS"
    assert o["eigs.second_part"].due == iso("2027-02-28T22:00+01:00")
    assert "R.1413-69 III" in o["eigs.second_part"].article


def test_eigs_does_not_apply_without_serious_harm_and_is_in_force_from_july_2017(make_service):
    """CSP R.1413-67: death, threat to life, probable permanent deficit; L.1413-14 since 1 July 2017."""
    svc = entity(make_service, ["eigs"], health_establishment=True)
    assert obs(svc, open_at(svc, "2026-03-28T10:00", patient_harm="harm"))["eigs.first_part"].state == \
        "not_applicable"
    rule = regimes.builtin()["eigs"]
    assert not rule.in_force_at(at("2017-06-30T23:59")) and rule.in_force_at(at("2017-07-01T00:00"))


# --- GDPR processor: Reg. (EU) 2016/679 Art. 33(2) -------------------------------------------------------

def test_a_processor_notifies_its_controller_without_undue_delay(ledger_file):
    """GDPR Art. 33(2): the processor notifies the controller without undue delay; a processor-only
    entity owes no CNIL notification (init enables gdpr_processor instead of gdpr)."""
    r = ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "HDS Host", "--category", "important",
               "--gdpr-role", "processor", "--json"))
    assert json.loads(r.stdout)["profile"]["regimes"] == ["nis2", "gdpr_processor"]
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Breach", "--aware", "2026-03-28T10:00", "--personal-data"))
    o = {x["stage"]: x for x in json.loads(ok(cli(ledger_file, "2026-03-28T11:00", "show", "1", "--json")).stdout)[
        "obligations"]}
    assert o["gdpr_processor.controller"]["state"] == "pending" and o["gdpr_processor.controller"]["due_kind"] == "asap"
    assert "gdpr.notification" not in o


# --- Not yet in force (the lead's decision): NIS 2 in France ----------------------------------------------

def test_nis2_is_computed_as_usual_and_marked_not_in_force(ledger_file):
    """Dir. 2022/2555 Art. 23(4)(a): the early warning keeps its 24 h and its state (check still warns),
    with `in_force: false` and the reason, in JSON, status, show and explain."""
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU", "--category", "essential"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Ransomware", "--aware", "2026-03-28T10:00"))
    shown = json.loads(ok(cli(ledger_file, "2026-03-28T11:00", "show", "1", "--json")).stdout)
    ew = next(o for o in shown["obligations"] if o["stage"] == "nis2.early_warning")
    assert (ew["state"], ew["in_force"], ew["due"]) == ("pending", False, "2026-03-29T11:00:00+02:00")
    assert ew["undetermined_facts"] == ["significance"]
    gdpr = next(o for o in shown["obligations"] if o["stage"] == "gdpr.notification")
    assert gdpr["in_force"] is True
    for command in ("status", "show"):
        assert "not yet in force" in ok(cli(ledger_file, "2026-03-28T11:00", command, *(["1"] if command == "show" else []))).stdout
    assert "in force: no: not yet in force in France" in ok(cli(ledger_file, "2026-03-28T11:00", "explain", "1")).stdout
    status = ok(cli(ledger_file, "2026-03-28T11:00", "status")).stdout
    assert "undetermined:" in status and "significance" in status  # the column wraps the two words
    r = cli(ledger_file, "2026-03-29T08:00", "check", "--quiet")
    assert r.exit_code == 1 and "nis2.early_warning" in r.stdout


def test_not_in_force_ignore_leaves_such_obligations_out_of_check(ledger_file):
    """`profile --not-in-force ignore`: state not_in_force, excluded from check; GDPR still warned."""
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU", "--category", "essential",
           "--not-in-force", "ignore"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Ransomware", "--aware", "2026-03-28T10:00"))
    shown = json.loads(ok(cli(ledger_file, "2026-03-28T11:00", "show", "1", "--json")).stdout)
    states = {o["stage"]: o["state"] for o in shown["obligations"] if o["regime"] == "nis2"}
    assert states["nis2.early_warning"] == states["nis2.notification"] == states["nis2.final"] == "not_in_force"
    r = cli(ledger_file, "2026-03-30T08:00", "check")
    assert r.exit_code == 0 and "nis2" not in r.stdout
    ok(cli(ledger_file, "2026-03-28T11:00", "profile", "--not-in-force", "track"))
    assert cli(ledger_file, "2026-03-30T08:00", "check").exit_code == 2  # overdue again


def test_a_what_if_folder_puts_the_decree_in_force_from_its_date(make_service, tmp_path):
    """DOMAIN §8.10: a later version applies from its effective date by aware-at; a what-if file with
    `in_force = true` stands for the expected French decree."""
    from importlib import resources

    text = resources.files("nis2_incident.regimes").joinpath("nis2.toml").read_text(encoding="utf-8")
    text = text.replace("in_force = false", 'in_force = true\neffective_from = "2027-01-01T00:00:00+01:00"')
    folder = tmp_path / "whatif"
    folder.mkdir()
    (folder / "nis2.toml").write_text(text, encoding="utf-8")
    loaded = regimes.load(folder)
    assert not loaded.at("nis2", at("2026-12-31T23:59")).in_force_at(at("2026-12-31T23:59"))
    assert loaded.at("nis2", at("2027-01-01T00:00")).in_force_at(at("2027-01-01T00:00"))


def test_a_regime_file_with_a_bad_effective_until_is_refused(tmp_path):
    from importlib import resources

    text = resources.files("nis2_incident.regimes").joinpath("nis1.toml").read_text(encoding="utf-8")
    bad = tmp_path / "rules"
    bad.mkdir()
    (bad / "nis1.toml").write_text(text.replace('language = "fr"', 'language = "fr"\neffective_until = "2027"'),
                                   encoding="utf-8")
    with pytest.raises(regimes.RegimeError, match="effective_until must be an RFC 3339 time"):
        regimes.load(bad)


def test_effective_until_ends_a_rule():
    """A rule that stops applying (NIS 1 when the French NIS 2 law enters into force) binds before its
    `effective_until` and not from it."""
    from dataclasses import replace

    nis1 = replace(regimes.builtin()["nis1"], effective_until="2027-06-01T00:00:00+02:00")
    assert nis1.in_force_at(at("2027-05-31T23:59")) and not nis1.in_force_at(at("2027-06-01T00:00"))
    assert "no longer in force" in nis1.not_in_force_reason(at("2027-06-01T00:00"))


# --- Roles (profile) ---------------------------------------------------------------------------------

def test_roles_are_set_by_init_and_profile_and_enable_their_regimes(ledger_file):
    r = ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "Mutuelle", "--category", "important",
               "--financial-entity", "--json"))
    profile = json.loads(r.stdout)["profile"]
    assert profile["financial_entity"] is True and profile["regimes"] == ["nis2", "gdpr", "dora"]
    r = ok(cli(ledger_file, "2026-03-28T09:10", "profile", "--cra-manufacturer", "--json"))
    assert json.loads(r.stdout)["cra_manufacturer"] is True and json.loads(r.stdout)["regimes"][-1] == "cra"
    assert "enabled the regime(s) of the role: cra" in r.stderr
    bad = cli(ledger_file, "2026-03-28T09:10", "profile", "--gdpr-role", "owner")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --gdpr-role 'owner'; accepted: controller")


def test_a_profile_stored_before_the_roles_reads_with_their_defaults():
    """Old ledgers: a profile without the new keys folds to the defaults; its events are unchanged."""
    from nis2_incident.model import fold

    ev = {"seq": 1, "type": "profile_set", "recorded_at": "2026-01-01T00:00:00+01:00", "hash": "x",
          "data": {"name": "CHU", "category": "essential"}}
    profile = fold([ev]).profile
    assert (profile.ose, profile.financial_entity, profile.gdpr_role, profile.not_in_force) == \
        (False, False, "controller", "track")


# --- triage ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("way", WAYS)
def test_triage_json_says_applies_does_not_apply_undetermined_with_questions(ledger_file, capsys, way):
    """DOMAIN §9: for each regime the roles allow, the verdict, the facts that decided, and the question
    that settles an undetermined one (NIS 2 Art. 23(3); CSP D.1111-16-2; patient harm)."""
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU", "--category", "essential",
           "--health-establishment", "--regime", "nis2", "--regime", "gdpr", "--regime", "csp", "--regime", "eigs"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Ransomware", "--aware", "2026-03-28T10:00",
           "--no-personal-data", "--serious"))
    code, out, err = run_both_ways(way, ["triage", "1", "--json", "--ledger", str(ledger_file), "--now",
                                         "2026-03-28T11:00"], capsys)
    assert code == 0, err
    v = {x["regime"]: x for x in json.loads(out)["regimes"]}
    assert v["csp"]["verdict"] == "applies" and "serious = yes" in v["csp"]["decided"]
    assert v["gdpr"]["verdict"] == "does_not_apply" and "personal_data = no" in v["gdpr"]["decided"]
    assert v["nis2"]["verdict"] == "undetermined" and v["nis2"]["in_force"] is False
    assert v["nis2"]["questions"][0]["fact"] == "significance" and "Art. 23(3)" in v["nis2"]["questions"][0]["article"]
    assert v["eigs"]["verdict"] == "undetermined" and v["eigs"]["questions"][0]["fact"] == "patient_harm"
    assert v["materiovigilance"]["enabled"] is False  # allowed by the role, not enabled
    assert "dora" not in v  # no role allows it


def test_triage_on_a_terminal_asks_and_records_the_answers_as_an_amendment(ledger_file, monkeypatch):
    """Issue 17 item 4: on a terminal the questions are asked, and the answers recorded as facts (an
    `amended` event, so the record shows who decided what and when)."""
    from nis2_incident.cli import prompts

    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU", "--category", "essential",
           "--health-establishment"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Ransomware", "--aware", "2026-03-28T10:00"))
    monkeypatch.setattr(prompts, "stdin_is_tty", lambda: True)
    # significance: yes; personal data: no; high risk: left undetermined; serious: no + rationale; the
    # questions of regimes the role allows but not enabled (eigs: patient harm; materiovigilance: device)
    r = runner.invoke(app, ["triage", "1", "--ledger", str(ledger_file), "--now", "2026-03-28T11:00"],
                      input="y\nn\n?\nn\nonly the printers\nnone\n?\n", catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    assert "recorded the triage answers for INC-2026-001" in r.stderr
    shown = json.loads(ok(cli(ledger_file, "2026-03-28T11:05", "show", "1", "--json")).stdout)
    assert shown["significance"] == "significant" and shown["personal_data"] is False
    assert shown["patient_harm"] == "none" and shown["device_involved"] is None
    assert shown["timeline"][-1]["type"] == "amended"
    csp = next(o for o in shown["obligations"] if o["stage"] == "csp.report")
    assert csp["state"] == "not_applicable" and "only the printers" in csp["note"]


def test_the_readme_lists_every_unconfirmed_point_and_every_regime():
    """Issue 17: a point that cannot be confirmed is marked in the file, shown by explain, listed in the README."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for rid, regime in regimes.builtin().items():
        assert f"`{rid}." in readme, rid  # the deadline table has its stages
        for point in [*regime.unconfirmed, *(p for st in regime.stages for p in st.unconfirmed)]:
            assert point in readme, (rid, point)


def test_explain_shows_the_unconfirmed_points(make_service):
    svc = entity(make_service, ["eigs"], health_establishment=True)
    ident = open_at(svc, "2026-03-28T10:00", patient_harm="death")
    ob = {o.stage: o for o in svc.one(ident, explain=True)[1].obligations}["eigs.second_part"]
    assert any("gives no start for the three months" in p for p in ob.unconfirmed)


@pytest.mark.parametrize(("rid", "first_day"), [
    ("nis1", "2018-05-26"),  # décret n° 2018-384 in force 26 May 2018
    ("dora", "2025-03-12"),  # Del. Reg. (EU) 2025/301: twentieth day after publication (20.2.2025)
    ("cra", "2026-09-11"),   # Reg. (EU) 2024/2847 Art. 71(2): Article 14 from 11 September 2026
    ("mdr", "2021-05-26"),   # Reg. (EU) 2017/745 Art. 123(2) as amended by Reg. (EU) 2020/561
    ("ai_act", "2027-12-02"),  # Reg. (EU) 2024/1689 Art. 6 / 113 as amended by Reg. (EU) 2026/1744
    ("eigs", "2017-07-01"),  # CSP L.1413-14 since 1 July 2017
    ("gdpr_processor", "2018-05-25"),  # GDPR Art. 99(2)
])
def test_each_dated_regime_binds_from_00_00_paris_time_of_its_first_day(rid, first_day):
    """The effective date of each shipped regime, at its boundary instant (the minute before and at 00:00)."""
    from datetime import date, timedelta

    rule = regimes.builtin()[rid]
    before = (date.fromisoformat(first_day) - timedelta(days=1)).isoformat()
    assert not rule.in_force_at(at(f"{before}T23:59")), rid
    assert rule.in_force_at(at(f"{first_day}T00:00")), rid
    assert "not yet in force in France: applies from" in rule.not_in_force_reason(at(f"{before}T23:59"))


@pytest.mark.parametrize("rid", ["nis2", "cer"])
def test_directives_not_transposed_in_france_are_not_in_force_whatever_the_date(rid):
    """Dir. 2022/2555 and Dir. 2022/2557 bind French entities only through the French law (not adopted)."""
    rule = regimes.builtin()[rid]
    assert not rule.in_force and not rule.in_force_at(at("2030-01-01T00:00"))
    assert rule.not_in_force_reason(at("2030-01-01T00:00")).startswith("not yet in force in France")


def test_triage_on_a_real_terminal_records_the_answers(ledger_file):
    """Through a pseudo-terminal (as interactive `open` is tested): the questions are asked, the answers
    recorded as one amendment, and the verdicts printed again."""
    from test_watch import Terminal

    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "Mutuelle", "--category", "important",
           "--financial-entity", "--regime", "dora"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Outage", "--aware", "2026-03-28T10:00"))
    term = Terminal("triage", "1", "--ledger", str(ledger_file), "--now", "2026-03-28T11:00")
    try:
        term.expect("major?")
        term.expect(": ")
        term.send("y\n")
        code = term.close()
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    assert code == 0, term.text
    assert "recorded the triage answers for INC-2026-001 (major)" in term.text
    assert "dora (DORA): applies" in term.text
    shown = json.loads(ok(cli(ledger_file, "2026-03-28T11:05", "show", "1", "--json")).stdout)
    assert shown["major"] is True and shown["timeline"][-1]["type"] == "amended"


def test_triage_without_a_terminal_asks_nothing_and_writes_nothing(ledger_file):
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "Mutuelle", "--category", "important",
           "--financial-entity"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Outage", "--aware", "2026-03-28T10:00"))
    before = ledger_file.read_bytes()
    r = runner.invoke(app, ["triage", "1", "--ledger", str(ledger_file), "--now", "2026-03-28T11:00"],
                      input="y\n", catch_exceptions=False)
    assert r.exit_code == 0 and "dora (DORA): undetermined" in r.stdout and "question (major" in r.stdout
    assert ledger_file.read_bytes() == before
    bad = runner.invoke(app, ["triage", "99", "--ledger", str(ledger_file), "--now", "2026-03-28T11:00"])
    assert bad.exit_code == 4 and bad.stderr.startswith("error: unknown incident '99'")


def test_interrupted_triage_records_nothing(ledger_file, monkeypatch):
    from nis2_incident.cli import prompts

    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "Mutuelle", "--category", "important",
           "--financial-entity"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Outage", "--aware", "2026-03-28T10:00"))
    monkeypatch.setattr(prompts, "stdin_is_tty", lambda: True)
    before = ledger_file.read_bytes()
    r = runner.invoke(app, ["triage", "1", "--ledger", str(ledger_file), "--now", "2026-03-28T11:00"], input="y\n")
    assert r.exit_code == 130 and "nothing was recorded" in r.stderr
    assert ledger_file.read_bytes() == before


def test_show_lists_the_new_facts_once_recorded(ledger_file):
    ok(cli(ledger_file, "2026-06-02T09:00", "init", "--name", "Mutuelle", "--category", "important",
           "--financial-entity"))
    ok(cli(ledger_file, "2026-06-02T12:00", "open", "Outage", "--aware", "2026-06-02T10:00",
           "--classified-major-at", "2026-06-02T11:00", "--patient-harm", "none"))
    out = ok(cli(ledger_file, "2026-06-02T12:00", "show", "1")).stdout
    assert "Classified major at" in out and "2026-06-02 11:00 +02:00" in out and "Major (DORA)" in out
    assert "Patient harm" in out and "High-risk AI system" not in out  # not recorded: not shown
    bad = cli(ledger_file, "2026-06-02T12:00", "update", "1", "--patient-harm", "bad")
    assert bad.exit_code == 2 and "accepted: none, harm, serious, death" in bad.stderr
