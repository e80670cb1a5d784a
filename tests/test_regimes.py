"""The GDPR and public-health-code regimes, profile targets, user regime files and `explain`.

Law: GDPR (Regulation (EU) 2016/679) Art. 33(1), 33(5) and 34(1) (DOMAIN.md §6); Code de la santé
publique art. L.1111-8-2 and D.1111-16-2 (DOMAIN.md §5); the calculator's decisions of DOMAIN.md §8.
Every expected instant is written out with its Paris offset (CET +01:00, CEST +02:00; in 2026 the
clocks change on 29 Mar and 25 Oct). The clock is always fixed: `now=` or `--now`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident import regimes
from nis2_incident.cli import app
from nis2_incident.errors import InputError
from nis2_incident.ledger import Store
from nis2_incident.regimes import RegimeError
from nis2_incident.service import Service

from conftest import at

ALL = ["nis2", "gdpr", "csp"]
runner = CliRunner()
SHIPPED_GDPR = resources.files("nis2_incident.regimes").joinpath("gdpr.toml").read_text(encoding="utf-8")


def iso(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def health(make_service, **profile):
    """A health establishment with every regime enabled."""
    return make_service(regimes=ALL, health_establishment=True, **profile)


def open_at(svc, aware: str, now: str | None = None, **facts) -> str:
    svc.now = at(now or aware)
    return svc.open_incident("Ransomware on the PACS", aware, **facts).value.incident.id


def obs(svc, ident):
    return {ob.stage: ob for ob in svc.one(ident)[1].obligations}


def cli(ledger, now, *args):
    return runner.invoke(app, [*args, "--ledger", str(ledger), "--now", now], catch_exceptions=False)


def ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def gdpr_file(folder: Path, *, hours: int = 48, effective_from: str | None = None, name="gdpr.toml") -> Path:
    """A user copy of the shipped GDPR regime with another notification period."""
    text = SHIPPED_GDPR.replace("hours = 72", f"hours = {hours}")
    if effective_from:
        text = text.replace('language = "fr"\n', f'language = "fr"\neffective_from = "{effective_from}"\n', 1)
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


# --- GDPR Art. 33(1): CNIL notification within 72 h of becoming aware -------------------------------

@pytest.mark.parametrize(("aware", "due"), [
    ("2026-01-05T09:00", "2026-01-08T09:00+01:00"),
    ("2026-03-28T10:00", "2026-03-31T11:00+02:00"),  # across the March change: 71 wall-clock hours
    ("2026-10-24T10:00", "2026-10-27T09:00+01:00"),  # across the October change: 10:00 would be 1 h late
])
def test_gdpr_notification_is_due_72_elapsed_hours_after_awareness(make_service, aware, due):
    """GDPR Art. 33(1): 'where feasible, not later than 72 hours after having become aware' (DOMAIN §6),
    counted as elapsed time on instants (DOMAIN §8.2-8.3)."""
    svc = health(make_service)
    ob = obs(svc, open_at(svc, aware, personal_data=True))["gdpr.notification"]
    assert (ob.due, ob.due_kind, ob.state) == (iso(due), "deadline", "pending")
    assert ob.clock_start == at(aware)
    assert (ob.recipient, ob.article) == ("CNIL", "Regulation (EU) 2016/679, Art. 33(1)")


@pytest.mark.parametrize("personal_data", [None, False])
def test_gdpr_does_not_apply_without_personal_data(make_service, personal_data):
    """GDPR Art. 33(1) and 34(1) concern personal data breaches only (Art. 4(12))."""
    svc = health(make_service)
    o = obs(svc, open_at(svc, "2026-03-28T10:00", personal_data=personal_data))
    for stage in ("gdpr.notification", "gdpr.data_subjects"):
        assert (o[stage].state, o[stage].due) == ("not_applicable", None)
        assert "no personal data" in o[stage].note


def test_documented_no_risk_decision_makes_the_notification_not_applicable(make_service):
    """GDPR Art. 33(1) (no notification when unlikely to result in a risk) and 33(5) (documented)."""
    svc = health(make_service)
    why = "Encrypted laptop; the key was not compromised"
    ob = obs(svc, open_at(svc, "2026-03-28T10:00", personal_data=True, breach_risk=False,
                          breach_risk_rationale=why))["gdpr.notification"]
    assert (ob.state, ob.due) == ("not_applicable", None)
    assert why in ob.note and "unlikely to result in a risk" in ob.note


def test_no_risk_without_a_rationale_is_refused(make_service, ledger_file):
    """GDPR Art. 33(5): the decision not to notify must be documented with its reasons."""
    svc = health(make_service)
    before = ledger_file.read_bytes()
    with pytest.raises(InputError, match="--risk-rationale"):
        open_at(svc, "2026-03-28T10:00", personal_data=True, breach_risk=False)
    assert ledger_file.read_bytes() == before


def test_late_gdpr_filing_without_reasons_is_refused(make_service, ledger_file):
    """GDPR Art. 33(1): a notification after 72 h 'shall be accompanied by reasons for the delay'."""
    svc = health(make_service)
    ident = open_at(svc, "2026-03-28T10:00", now="2026-04-01T09:00", personal_data=True)
    before = ledger_file.read_bytes()
    with pytest.raises(InputError, match=r"Art\. 33\(1\).*--late-reason"):
        svc.submit(ident, "gdpr.notification", at="2026-04-01T09:00")
    assert ledger_file.read_bytes() == before
    assert obs(svc, ident)["gdpr.notification"].state == "overdue"


def test_late_gdpr_filing_without_reasons_exits_2_on_the_command_line(ledger_file):
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Breach", "--aware", "2026-03-28T10:00", "--personal-data"))
    before = ledger_file.read_bytes()
    r = cli(ledger_file, "2026-04-01T09:00", "submit", "1", "gdpr.notification", "--at", "2026-04-01T09:00")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: gdpr.notification is late (due 2026-03-31 11:00 +02:00)")
    assert ledger_file.read_bytes() == before


def test_late_gdpr_filing_with_reasons_is_recorded_as_late(make_service):
    """GDPR Art. 33(1): late, with the reasons for the delay kept in the record."""
    svc = health(make_service)
    ident = open_at(svc, "2026-03-28T10:00", now="2026-04-01T09:00", personal_data=True)
    svc.submit(ident, "gdpr.notification", at="2026-04-01T09:00", late_reason="scope of the breach unknown")
    ob = obs(svc, ident)["gdpr.notification"]
    assert (ob.state, ob.filing.late, ob.filing.late_reason) == ("late", True, "scope of the breach unknown")
    assert ob.filing.due == iso("2026-03-31T11:00+02:00")


def test_gdpr_filing_at_the_72nd_hour_is_met(make_service):
    """GDPR Art. 33(1): 'not later than 72 hours' - the due instant itself is still in time."""
    svc = health(make_service)
    ident = open_at(svc, "2026-03-28T10:00", now="2026-03-31T11:00", personal_data=True)
    svc.submit(ident, "gdpr.notification", at="2026-03-31T11:00")
    ob = obs(svc, ident)["gdpr.notification"]
    assert (ob.state, ob.filing.late, ob.filing.late_reason) == ("met", False, None)


# --- GDPR Art. 34(1): data subjects, without undue delay, only when high risk -----------------------

def test_data_subjects_are_informed_without_undue_delay_when_high_risk(make_service):
    """GDPR Art. 34(1): 'without undue delay' when likely to result in a high risk: no hour count."""
    svc = health(make_service)
    ident = open_at(svc, "2026-03-28T10:00", personal_data=True, high_risk=True)
    svc.now = at("2026-05-28T10:00")  # two months later: still pending, never overdue
    ob = obs(svc, ident)["gdpr.data_subjects"]
    assert (ob.due, ob.due_kind, ob.state, ob.target) == (None, "asap", "pending", None)
    assert (ob.recipient, ob.article) == ("the data subjects (patients)", "Regulation (EU) 2016/679, Art. 34(1)")
    svc.submit(ident, "gdpr.data_subjects", at="2026-05-28T10:00")
    assert obs(svc, ident)["gdpr.data_subjects"].state == "met"


@pytest.mark.parametrize("high_risk", [None, False])
def test_data_subjects_stage_needs_high_risk(make_service, high_risk):
    """GDPR Art. 34(1): only a high risk to the data subjects calls for informing them."""
    svc = health(make_service)
    o = obs(svc, open_at(svc, "2026-03-28T10:00", personal_data=True, high_risk=high_risk))
    assert (o["gdpr.data_subjects"].state, o["gdpr.notification"].state) == ("not_applicable", "pending")
    assert "high risk" in o["gdpr.data_subjects"].note


# --- CSP L.1111-8-2 / D.1111-16-2: health establishments report "sans délai" ------------------------

@pytest.mark.parametrize("serious", [True, None])  # unknown counts as serious (conservative)
def test_csp_report_is_due_without_undue_delay_for_a_health_establishment(make_service, serious):
    """CSP L.1111-8-2: serious incidents reported 'sans délai' through the national portal (DOMAIN §5)."""
    svc = health(make_service)
    ob = obs(svc, open_at(svc, "2026-03-28T10:00", serious=serious))["csp.report"]
    assert (ob.due, ob.due_kind, ob.state, ob.clock_start) == (None, "asap", "pending", at("2026-03-28T10:00"))
    assert "https://signalement.social-sante.gouv.fr" in ob.channel
    # CSP D.1111-16-3 I: to the GIP of L.1111-24 (ANS / CERT Santé), which informs the ARS (issue 17)
    assert "L.1111-8-2" in ob.article and ob.recipient == "ANS / CERT Santé (GIP of CSP L.1111-24), which informs the ARS"
    assert "09 72 43 91 25" in ob.channel  # CERT Santé's out-of-hours line (cyberveille.esante.gouv.fr)


def test_csp_does_not_apply_to_an_entity_that_is_not_a_health_establishment(make_service):
    """CSP L.1111-8-2 binds health establishments (and since décret 2022-715 ESMS) only."""
    svc = make_service(regimes=ALL, health_establishment=False)
    ob = obs(svc, open_at(svc, "2026-03-28T10:00", serious=True))["csp.report"]
    assert ob.state == "not_applicable" and "health establishment" in ob.note


def test_csp_not_serious_with_rationale_is_not_applicable(make_service):
    """CSP D.1111-16-2: only significant or serious incidents are reported; the decision is kept."""
    svc = health(make_service)
    why = "Phishing e-mail blocked; no effect on care or health data"
    ob = obs(svc, open_at(svc, "2026-03-28T10:00", serious=False, serious_rationale=why))["csp.report"]
    assert ob.state == "not_applicable"
    assert "D.1111-16-2" in ob.note and why in ob.note
    with pytest.raises(InputError, match="--serious-rationale"):
        open_at(svc, "2026-03-28T11:00", serious=False)


# --- the entity's own target for a stage without an hour count (DOMAIN §8.9) -------------------------

@pytest.mark.parametrize(("target", "aware", "expected"), [
    ("4h", "2026-03-28T10:00", "2026-03-28T14:00+01:00"),
    ("4h", "2026-03-29T01:30", "2026-03-29T06:30+02:00"),   # elapsed across the March change
    ("24h", "2026-10-24T10:00", "2026-10-25T09:00+01:00"),  # elapsed across the October change
])
def test_own_target_is_set_from_the_clock_start_and_due_stays_none(make_service, target, aware, expected):
    """CSP L.1111-8-2 has no hour count: the profile's target is the entity's, not the law's; counted
    in elapsed time like every hour period (DOMAIN §8.2)."""
    svc = health(make_service, targets={"csp.report": target})
    ob = obs(svc, open_at(svc, aware))["csp.report"]
    assert ob.target == iso(expected)
    assert (ob.due, ob.due_kind, ob.state) == (None, "asap", "pending")


def test_check_treats_the_own_target_like_a_deadline(ledger_file):
    """`check`: 1 shortly before the entity's own target, 2 once it has passed (README, check)."""
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential",
           "--health-establishment", "--regime", "csp", "--target", "csp.report=4h"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Ransomware on the PACS", "--aware", "2026-03-28T10:00"))
    before = cli(ledger_file, "2026-03-28T13:30", "check", "--within", "1h")
    assert before.exit_code == 1, before.stdout
    [line] = [ln for ln in before.stdout.splitlines() if "csp.report" in ln]
    assert line.startswith("OWN TARGET SOON INC-2026-001 csp.report")
    assert "own target 2026-03-28 14:00 +01:00" in line
    after = cli(ledger_file, "2026-03-28T14:01", "check", "--within", "1h")
    assert after.exit_code == 2, after.stdout
    [line] = [ln for ln in after.stdout.splitlines() if "csp.report" in ln]
    assert line.startswith("PAST OWN TARGET INC-2026-001 csp.report") and "own target" in line


# --- facts learned later keep the original clock start (DOMAIN §8.1) --------------------------------

def test_update_adding_personal_data_counts_from_the_original_aware_at(make_service):
    """GDPR Art. 33(1): 72 h 'after having become aware' - not after the record was amended."""
    svc = health(make_service)
    ident = open_at(svc, "2026-03-28T10:00", now="2026-03-28T10:30")
    assert obs(svc, ident)["gdpr.notification"].state == "not_applicable"
    svc.now = at("2026-03-30T08:00")
    svc.update_incident(ident, personal_data=True)
    ob = obs(svc, ident)["gdpr.notification"]
    assert (ob.due, ob.clock_start, ob.state) == (iso("2026-03-31T11:00+02:00"), at("2026-03-28T10:00"), "pending")


# --- user regime files: override, effective dates, errors (README "Rules are data") ----------------

def test_a_user_regime_file_overrides_the_shipped_period(make_service, ledger_file, tmp_path):
    folder = gdpr_file(tmp_path / "rules", hours=48)
    ident = open_at(health(make_service), "2026-03-28T10:00", personal_data=True)
    shipped = obs(Service(Store(ledger_file), at("2026-03-28T11:00")), ident)["gdpr.notification"]
    user = obs(Service(Store(ledger_file), at("2026-03-28T11:00"), regimes_dir=str(folder)), ident)
    assert shipped.due == iso("2026-03-31T11:00+02:00")
    assert user["gdpr.notification"].due == iso("2026-03-30T11:00+02:00")
    assert user["nis2.early_warning"].due == iso("2026-03-29T11:00+02:00")  # other regimes stay shipped
    r = ok(runner.invoke(app, ["--regimes", str(folder), "explain", "1", "gdpr.notification", "--json",
                               "--ledger", str(ledger_file), "--now", "2026-03-28T11:00"]))
    assert json.loads(r.stdout)["obligations"][0]["due"] == "2026-03-30T11:00:00+02:00"


@pytest.mark.parametrize(("aware", "due"), [
    ("2026-05-31T23:59", "2026-06-03T23:59+02:00"),  # before the new version: shipped 72 h
    ("2026-06-01T00:00", "2026-06-03T00:00+02:00"),  # on its effective date: 48 h
    ("2026-07-01T12:00", "2026-07-03T12:00+02:00"),
])
def test_a_later_version_applies_from_its_effective_date_by_aware_at(make_service, tmp_path, aware, due):
    """DOMAIN §8.10: each regime switchable by date; the rule in force at aware-at applies."""
    folder = gdpr_file(tmp_path / "rules", hours=48, effective_from="2026-06-01T00:00:00+02:00")
    svc = health(make_service)
    ident = open_at(svc, aware, now="2026-07-01T12:00", personal_data=True)
    svc = Service(Store(svc.store.path), at("2026-07-01T12:00"), regimes_dir=str(folder))
    assert obs(svc, ident)["gdpr.notification"].due == iso(due)


@pytest.mark.parametrize(("change", "words"), [
    pytest.param(lambda t: t.replace('id = "gdpr"', 'id = "gdpr"\ncolour = "blue"'), ["colour"], id="unknown-key"),
    # the key is stages[0].start (the `notification` stage), not the file's top level
    pytest.param(lambda t: t.replace('start = "aware"\nhours = 72', 'start = "tomorrow"\nhours = 72'),
                 ["start", "tomorrow", "notification"], id="bad-start"),
    pytest.param(lambda t: t.replace('language = "fr"\n', 'language = "fr"\neffective_from = "2027-01-01"\n'),
                 ["effective_from", "offset"], id="effective-from-without-offset"),
    pytest.param(lambda t: t.replace("late_reason_required = true", "late_reason_required = true\nhourz = 48"),
                 ["stages.0.hourz"], id="unknown-stage-key"),
    pytest.param(lambda t: t.replace("hours = 72", "hours = 72\nmonths = 1"), ["stages.0", "hours or months"],
                 id="hours-and-months"),
    pytest.param(lambda t: t.replace('id = "data_subjects"', 'id = "notification"'), ["stage ids", "unique"],
                 id="duplicate-stage-id"),
    pytest.param(lambda t: t.replace("hours = 72", "hours = = 72"), ["invalid TOML", "line"], id="invalid-toml"),
])
def test_an_invalid_regime_file_names_the_file_and_the_key(tmp_path, change, words):
    """README: 'An invalid file is refused (exit 2) naming the file, the key and why.'"""
    bad = tmp_path / "rules" / "gdpr.toml"
    bad.parent.mkdir()
    bad.write_text(change(SHIPPED_GDPR), encoding="utf-8")
    with pytest.raises(RegimeError) as err:
        regimes.load(bad.parent)
    assert isinstance(err.value, InputError) and err.value.exit_code == 2
    assert str(bad) in err.value.message
    for word in words:
        assert word in err.value.message, err.value.message


def test_a_regimes_folder_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(RegimeError, match=f"regimes folder {tmp_path / 'nowhere'}: not a folder"):
        regimes.load(tmp_path / "nowhere")


def test_the_cli_refuses_an_invalid_regimes_folder_with_exit_2(ledger_file, tmp_path):
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential"))
    bad = tmp_path / "rules" / "csp.toml"
    bad.parent.mkdir()
    bad.write_text('id = "csp"\nname = "x"\n', encoding="utf-8")
    r = runner.invoke(app, ["--regimes", str(bad.parent), "status", "--ledger", str(ledger_file),
                            "--now", "2026-03-28T10:00"], catch_exceptions=False)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: regime file {bad}") and "law" in r.stderr


# --- explain: which facts made each regime apply (README "which facts decided it") ----------------

def test_explain_json_shows_the_facts_that_decided_each_regime(ledger_file):
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential",
           "--health-establishment"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Breach", "--aware", "2026-03-28T10:00", "--personal-data"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Outage", "--aware", "2026-03-28T10:00", "--not-significant",
           "--rationale", "a printer queue"))
    first = {o["stage"]: o["steps"] for o in json.loads(ok(cli(ledger_file, "2026-03-28T11:00", "explain",
                                                               "1", "--json")).stdout)["obligations"]}
    assert first["gdpr.notification"][0] == "GDPR applies: incident personal_data = yes (applies when yes)"
    assert first["nis2.early_warning"][0] == \
        "NIS 2 applies: incident significance = undetermined (applies when significant or undetermined)"
    assert first["csp.report"][0] == \
        "Public-health code applies: profile health_establishment = yes (applies when yes)"
    assert first["gdpr.data_subjects"][1] == "incident high_risk = unknown (applies when yes)"
    second = {o["stage"]: o for o in json.loads(ok(cli(ledger_file, "2026-03-28T11:00", "explain",
                                                       "2", "--json")).stdout)["obligations"]}
    assert second["gdpr.notification"]["steps"][0] == \
        "GDPR does not apply: incident personal_data = unknown (applies when yes)"
    assert second["nis2.final"]["steps"][0] == \
        "NIS 2 does not apply: incident significance = not_significant (applies when significant or undetermined)"
    assert second["nis2.final"]["note"].endswith(": a printer queue")


# --- init defaults (README: nis2 and gdpr, plus csp for a health establishment) --------------------

@pytest.mark.parametrize(("extra", "expected"), [
    ([], ["nis2", "gdpr"]),
    (["--health-establishment"], ["nis2", "gdpr", "csp"]),
    (["--regime", "nis2"], ["nis2"]),
])
def test_init_enables_the_regimes_the_profile_can_decide(ledger_file, extra, expected):
    r = ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU Test", "--category", "essential",
               *extra, "--json"))
    assert json.loads(r.stdout)["profile"]["regimes"] == expected


# --- the shipped rules cite their law and their sources -------------------------------------------

LAW = {"nis2": "Directive (EU) 2022/2555", "gdpr": "Regulation (EU) 2016/679", "csp": "Code de la santé publique",
       # issue 17
       "nis1": "Loi n° 2018-133", "cer": "Directive (EU) 2022/2557", "dora": "Regulation (EU) 2022/2554",
       "cra": "Regulation (EU) 2024/2847", "mdr": "Regulation (EU) 2017/745", "ai_act": "Regulation (EU) 2024/1689",
       "eigs": "Code de la santé publique", "materiovigilance": "Code de la santé publique",
       "gdpr_processor": "Regulation (EU) 2016/679"}


def test_every_shipped_stage_cites_an_article_of_its_law():
    shipped = regimes.builtin()
    assert sorted(shipped) == sorted(LAW)
    for rid, versions in shipped.versions.items():
        for regime in versions:
            assert regime.law.startswith(LAW[rid])
            for stage in regime.stages:
                cited = [stage.article, *(v.article for v in stage.variants)]
                cited += [stage.ongoing.article] if stage.ongoing else []
                cited += [stage.waiver.article] if stage.waiver else []
                cited += [stage.or_earlier.article] if stage.or_earlier else []
                for article in cited:
                    assert article.startswith(LAW[rid]), f"{rid}.{stage.id}: {article}"
                    assert re.search(r"\b[Aa]rt\. [LDR]?\.?\d", article), f"{rid}.{stage.id}: {article}"


def test_every_shipped_regime_names_its_sources():
    for rid, regime in regimes.builtin().items():
        assert regime.sources, rid
        assert all(re.fullmatch(r"https://\S+", url) for url in regime.sources), regime.sources


def test_own_targets_are_refused_for_stages_with_a_legal_deadline(make_service):
    """A target only makes sense where the law sets no hour count (GDPR Art. 34(1), CSP L.1111-8-2);
    for gdpr.notification (Art. 33(1), 72 h) it would be silently ignored, so it is refused."""
    with pytest.raises(InputError) as err:
        make_service(regimes=["nis2", "gdpr", "csp"], health_establishment=True,
                     targets={"gdpr.notification": "4h"})
    assert "gdpr.notification" in err.value.message and "csp.report" in err.value.message
    svc = make_service(regimes=["nis2", "gdpr", "csp"], health_establishment=True)
    with pytest.raises(InputError):
        svc.set_profile(targets={"nis2.early_warning": "2h"})
    assert svc.set_profile(targets={"gdpr.data_subjects": "12h"}).value.targets == {"gdpr.data_subjects": "12h"}


def test_the_shipped_regime_files_read_without_pydantic_are_what_validating_them_gives():
    """`regimes.builtin()` reads the shipped files with tomllib alone (speed of `check`); each must
    validate, and give the same rules as the pydantic-validated reading (so no default or check of
    the schema is skipped)."""
    import tomllib
    from importlib import resources

    from nis2_incident import regimes as regimes_mod

    files = [e for e in resources.files(regimes_mod.__package__).iterdir() if e.name.endswith(".toml")]
    assert len(files) >= 3
    for entry in files:
        text = entry.read_text(encoding="utf-8")
        assert regimes_mod.from_dump(tomllib.loads(text)) == regimes_mod.parse_regime(text, entry.name), entry.name
