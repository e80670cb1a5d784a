"""Drafts of every stage of the regimes of issue 17, in French and English, with the missing-fact
markers (`[À COMPLÉTER : …]`, `[TO BE COMPLETED: …]`). The clock is fixed (`--now`)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from nis2_incident import regimes
from nis2_incident.cli import app

runner = CliRunner()
NEW = ("nis1", "cer", "dora", "cra", "mdr", "materiovigilance", "ai_act", "eigs", "gdpr_processor")
STAGES = [f"{r.id}.{s.id}" for rid in NEW for r in [regimes.builtin()[rid]] for s in r.stages]
MARK = {"fr": "[À COMPLÉTER : ", "en": "[TO BE COMPLETED: "}
# English words that must not appear in a French draft (the regime files give the French of every text)
ENGLISH = re.compile(r"\b(the|and|of|to|by|with|Regulation|Directive \(EU\)|Art\.|report|deadline|due|"
                     r"filed|pending|overdue|unknown|none|provider|breach)\b")


def cli(ledger, now, *args):
    return runner.invoke(app, [*args, "--ledger", str(ledger), "--now", now], catch_exceptions=False)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    path = tmp_path_factory.mktemp("d17") / "ledger.jsonl"
    assert cli(path, "2027-12-10T09:00", "init", "--name", "CH Exemple", "--category", "essential",
               "--health-establishment", "--ose", "--critical-entity", "--financial-entity", "--cra-manufacturer",
               "--mdr-manufacturer", "--ai-provider", "--gdpr-role", "both", "--regime", "nis2", "--regime", "gdpr",
               "--regime", "csp", *[a for r in NEW for a in ("--regime", r)]).exit_code == 0
    r = cli(path, "2027-12-10T12:00", "open", "Rançongiciel sur la pompe connectée", "--aware", "2027-12-10T10:00",
            "--personal-data", "--classified-major-at", "2027-12-10T11:00", "--exploited-vulnerability",
            "--severe-incident", "--patient-harm", "serious", "--ai-system", "--service-disruption")
    assert r.exit_code == 0, r.stderr
    for stage in ("nis1.follow_up", "cra.intermediate"):
        assert cli(path, "2027-12-10T12:00", "request", "1", "--stage", stage, "--due", "+2d").exit_code == 0
    return path


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("stage", STAGES)
def test_every_new_stage_has_a_draft_in_both_languages_with_markers(ledger, stage, lang):
    r = cli(ledger, "2027-12-10T13:00", "draft", "1", stage, "--lang", lang)
    assert r.exit_code == 0, r.stderr
    regime = regimes.builtin()[stage.split(".")[0]]
    st = regime.stage(stage.split(".")[1])
    assert (st.title_fr if lang == "fr" else st.title) in r.stdout
    assert "CH Exemple" in r.stdout and "2027-12-10 10:00 +01:00" in r.stdout
    assert MARK[lang] in r.stdout  # a fact the ledger does not hold (e.g. the product, the device)
    for item in (st.content_fr if lang == "fr" else st.content):
        assert item in r.stdout, item  # the checklist of what the text requires
    if lang == "fr":
        found = sorted({m.group(0) for m in ENGLISH.finditer(r.stdout)})
        assert found == [], (found, r.stdout)


def test_a_recorded_fact_replaces_its_marker(ledger):
    """The device's harm is recorded (serious): the MDR draft says so instead of marking it."""
    text = cli(ledger, "2027-12-10T13:00", "draft", "1", "mdr.report", "--lang", "en").stdout
    assert "Harm to the patient:** serious harm" in text or "Harm to the patient: serious harm" in text
    assert "[TO BE COMPLETED: harm to a patient" not in text
    assert "[TO BE COMPLETED: identification of the device" in text
