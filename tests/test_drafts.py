"""`draft ID STAGE` and `submit --draft FILE` (issue 4).

The reference incident: a health establishment (nis2, gdpr, csp), aware 28 Mar 2026 10:00 CET, so the
early warning falls due 24 h later across the clock change at 29 Mar 11:00 CEST. Facts recorded:
summary, malicious, personal data, high risk, severity, one IOC; left out on purpose: cross-border
impact, impact, root cause, mitigations. The authority asked for an intermediate report. Every run names
its ledger and its clock (`--now`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib

import pytest
from typer.testing import CliRunner

from nis2_incident.cli import app
from nis2_incident.drafts import CONTENT_FR, MARKER
from nis2_incident.regimes import builtin

runner = CliRunner()
INC = "INC-2026-001"
NOW = "2026-03-30T12:00"  # CEST
SUMMARY = "PACS encrypted by ransomware"
DPO = "Dr Claire Martin, dpo@ch-exemple.fr"
STAGES = ("nis2.early_warning", "nis2.notification", "nis2.intermediate", "nis2.final", "nis2.progress",
          "gdpr.notification", "gdpr.data_subjects", "csp.report")
MISSING_RE = {"fr": re.compile(r"\[À COMPLÉTER : ([^\]]+)\]"), "en": re.compile(r"\[TO BE COMPLETED: ([^\]]+)\]")}


def cli(ledger, now, *args):
    return runner.invoke(app, [*args, "--ledger", str(ledger), "--now", now], catch_exceptions=False)


def ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def draft(ledger, stage, *options, now=NOW):
    return ok(cli(ledger, now, "draft", "1", stage, *options))


@pytest.fixture(scope="module")
def reference_ledger(tmp_path_factory) -> bytes:
    """Built once through the CLI; each test gets its own copy."""
    L = tmp_path_factory.mktemp("reference") / "ledger.toml"
    ok(cli(L, "2026-03-28T09:00", "init", "--name", "CH Exemple", "--category", "essential",
           "--health-establishment", "--target", "csp.report=4h"))
    ok(cli(L, "2026-03-28T09:05", "profile", "--dpo", DPO))
    ok(cli(L, "2026-03-28T10:30", "open", "Ransomware on the PACS", "--aware", "2026-03-28T10:00",
           "--detected", "2026-03-28T09:40", "--malicious", "--personal-data", "--high-risk",
           "--summary", SUMMARY, "--severity", "high: imaging down", "--ioc", "203.0.113.7"))
    ok(cli(L, "2026-03-30T10:00", "request", "1", "--due", "2026-04-02T18:00", "--at", "2026-03-30T09:00"))
    return L.read_bytes()


@pytest.fixture
def ledger(ledger_file, reference_ledger):
    ledger_file.write_bytes(reference_ledger)
    return ledger_file


# What each stage must show (given facts) and mark (a missing fact the law asks of it), per language.
EXPECT = {
    "nis2.early_warning": {"due": "2026-03-29 11:00 +02:00", "given": [SUMMARY],
                           "fr": ("Alerte précoce", "impact transfrontière possible (oui/non)", "oui"),
                           "en": ("Early warning", "possible cross-border impact (yes/no)", "yes")},
    "nis2.notification": {"due": "2026-03-31 11:00 +02:00", "given": ["high: imaging down", "203.0.113.7"],
                          "fr": ("Notification d'incident", "impact", "oui"),
                          "en": ("Incident notification", "impact", "yes")},
    "nis2.intermediate": {"due": "2026-04-02 18:00 +02:00", "given": [SUMMARY, "2026-03-30 09:00 +02:00"],
                          "fr": ("Rapport intermédiaire", "mesures d'atténuation appliquées et en cours", ""),
                          "en": ("Intermediate report", "mitigation measures applied and ongoing", "")},
    "nis2.final": {"due": "2026-04-30 11:00 +02:00", "given": [SUMMARY, "high: imaging down"],
                   "fr": ("Rapport final", "type de menace ou cause profonde probable", ""),
                   "en": ("Final report", "type of threat or likely root cause", "")},
    "nis2.progress": {"due": "2026-04-30 11:00 +02:00", "given": [SUMMARY],
                      "fr": ("Rapport d'avancement", "prochaines étapes et date prévisible de fin de traitement", ""),
                      "en": ("Progress report", "next steps and expected end of handling", "")},
    "gdpr.notification": {"due": "2026-03-31 11:00 +02:00", "given": [SUMMARY, DPO],
                          "fr": ("Notification de violation de données", "catégories et nombre approximatif "
                                 "d'enregistrements concernés", "oui"),
                          "en": ("Notification of a personal data breach", "categories and approximate number "
                                 "of personal data records concerned", "yes")},
    "gdpr.data_subjects": {"due": None, "given": [SUMMARY, DPO],
                           "fr": ("Madame, Monsieur", "recommandations aux personnes pour se protéger", ""),
                           "en": ("Dear patient", "advice to the people concerned to protect themselves", "")},
    "csp.report": {"due": "2026-03-28 14:00 +01:00", "given": [SUMMARY, "203.0.113.7"],
                   "fr": ("Signalement d'incident grave", "risque de propagation à d'autres structures", "oui"),
                   "en": ("Report of a serious information-system", "risk of spreading to other bodies", "yes")},
}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_and_language_renders_the_facts_and_marks_the_missing(ledger, stage, lang):
    r = draft(ledger, stage, "--lang", lang)
    text, exp = r.stdout, EXPECT[stage]
    heading, missing_label, yes = exp[lang]
    # what every draft names: the incident, the entity, the recipient, the awareness time with its offset
    for needle in (INC, "CH Exemple", "2026-03-28 10:00 +01:00", heading, *exp["given"]):
        assert needle in text, (stage, lang, needle)
    # CSP D.1111-16-3 I: the ANS (GIP of L.1111-24) receives it and informs the ARS; each in its language
    csp = ("ANS / CERT Santé (GIP de l'art. L.1111-24 du CSP), qui informe l'ARS" if lang == "fr"
           else "ANS / CERT Santé (GIP of CSP L.1111-24), which informs the ARS")
    recipient = {"nis2": "ANSSI / CERT-FR", "gdpr": "CNIL", "csp": csp}[stage.split(".")[0]]
    if stage != "gdpr.data_subjects":
        assert recipient in text
    else:
        assert ("les personnes concernées (patients)" if lang == "fr" else "the data subjects (patients)") in text
    if exp["due"]:
        assert exp["due"] in text
    if yes:  # the suspected malicious act, recorded as true
        assert re.search(rf"(malveillant|malicious)[^\n]*: {yes}\b", text, re.I), text
    # the missing fact this stage needs, marked visibly in the draft's language
    assert MARKER[lang].format(missing_label) in text
    # stderr counts exactly the distinct marks in the text
    marks = set(MISSING_RE[lang].findall(text))
    assert f"{len(marks)} missing fact(s)" in r.stderr
    assert missing_label in r.stderr
    other = "en" if lang == "fr" else "fr"
    assert not MISSING_RE[other].search(text)


def test_the_markers_are_the_ones_documented(ledger_file):
    """`[À COMPLÉTER : indicateurs de compromission]` / `[TO BE COMPLETED: indicators of compromise]`."""
    ok(cli(ledger_file, "2026-03-28T09:00", "init", "--name", "CHU", "--category", "essential"))
    ok(cli(ledger_file, "2026-03-28T10:30", "open", "Outage", "--aware", "2026-03-28T10:00"))
    fr = draft(ledger_file, "nis2.notification", now="2026-03-28T12:00")
    en = draft(ledger_file, "nis2.notification", "--lang", "en", now="2026-03-28T12:00")
    assert "[À COMPLÉTER : indicateurs de compromission]" in fr.stdout
    assert "[TO BE COMPLETED: indicators of compromise]" in en.stdout
    # nothing recorded but the title: summary, malicious, cross-border, severity, impact, IOCs
    assert "6 missing fact(s)" in fr.stderr and "6 missing fact(s)" in en.stderr


def test_french_and_english_differ(ledger):
    fr = draft(ledger, "nis2.final").stdout
    en = draft(ledger, "nis2.final", "--lang", "en").stdout
    assert fr != en
    assert "Rapport final" in fr and "Final report" not in fr
    assert "Final report" in en and "Rapport final" not in en
    assert "Contenu exigé par le texte" in fr and "Content the law requires" in en


def test_a_draft_with_every_fact_has_no_marker(ledger):
    ok(cli(ledger, NOW, "update", "1", "--no-cross-border"))
    r = draft(ledger, "nis2.early_warning")
    assert "À COMPLÉTER :" not in r.stdout
    assert "no missing fact" in r.stderr
    assert "Impact transfrontière possible : non" in r.stdout


def test_the_checklist_holds_the_content_the_regime_requires(ledger):
    """Every `content` item of every shipped stage is in the draft, in English and in French."""
    regimes = builtin()
    for stage in STAGES:
        rid, sid = stage.split(".")
        content = regimes[rid].stage(sid).content
        assert content, f"{stage} has no content list in its regime file"
        en = draft(ledger, stage, "--lang", "en").stdout
        fr = draft(ledger, stage).stdout
        for item in content:
            assert item in en, (stage, item)
            assert item in CONTENT_FR, f"no French wording for {item!r}"
            assert CONTENT_FR[item] in fr, (stage, item)


def test_markdown_and_text_formats(ledger):
    md = draft(ledger, "nis2.notification", "--format", "markdown").stdout
    text = draft(ledger, "nis2.notification").stdout
    assert md.startswith("# Notification d'incident — INC-2026-001\n")
    assert "**[À COMPLÉTER : impact]**" in md and "- `203.0.113.7`" in md
    assert "**" not in text and "`" not in text and not re.search(r"^#", text, re.M)
    assert text.startswith("Notification d'incident — INC-2026-001\n=====")
    assert "[À COMPLÉTER : impact]" in text


# --- follow-ups -----------------------------------------------------------------------------------

def test_a_follow_up_lists_what_changed_since_the_previous_filing(ledger):
    first = draft(ledger, "nis2.notification")
    assert "Changements depuis" not in first.stdout  # nothing filed to ANSSI yet
    ok(cli(ledger, NOW, "submit", "1", "nis2.early_warning", "--at", "2026-03-28T11:00", "--reference", "ANSSI-1"))
    ok(cli(ledger, NOW, "update", "1", "--impact", "radiology unavailable for 6 h", "--cross-border",
           "--ioc", "203.0.113.7", "--ioc", "evil.example"))
    r = draft(ledger, "nis2.notification")
    text = r.stdout
    assert "Changements depuis la transmission précédente" in text
    assert "Transmission précédente : nis2.early_warning du 2026-03-28 11:00 +01:00 CET (réf. ANSSI-1)" in text
    assert "- Impact : non renseigné → radiology unavailable for 6 h" in text
    assert "- Impact transfrontière possible : non renseigné → oui" in text
    assert "- Indicateurs de compromission : ajoutés : evil.example" in text
    section = text.split("Changements depuis", 1)[1].split("Notification d'incident\n", 1)[0]
    assert "Gravité" not in section and SUMMARY not in section  # unchanged facts are not listed
    assert "follow-up of nis2.early_warning" in r.stderr and "3 fact(s) changed" in r.stderr
    en = draft(ledger, "nis2.notification", "--lang", "en").stdout
    assert "Changes since the previous report" in en and "- Impact: not recorded → radiology unavailable for 6 h" in en
    data = json.loads(draft(ledger, "nis2.notification", "--json").stdout)
    assert data["previous_filing"]["stage"] == "nis2.early_warning"
    assert [c["field"] for c in data["changes"]] == ["cross_border", "impact", "iocs"]


def test_a_follow_up_after_no_change_says_so(ledger):
    ok(cli(ledger, NOW, "submit", "1", "nis2.notification", "--at", "2026-03-30T11:00"))
    text = draft(ledger, "nis2.final", "--lang", "en").stdout
    assert "Previous report: nis2.notification of 2026-03-30 11:00 +02:00 CEST" in text
    assert "None of the recorded facts has changed since that report." in text


def test_the_previous_filing_is_the_one_to_the_same_recipient(ledger):
    """The letter to patients is not a follow-up of the CNIL notification."""
    ok(cli(ledger, NOW, "submit", "1", "gdpr.notification", "--at", "2026-03-30T11:00"))
    ok(cli(ledger, NOW, "update", "1", "--impact", "names and birth dates exposed"))
    letter = json.loads(draft(ledger, "gdpr.data_subjects", "--json").stdout)
    assert letter["previous_filing"] is None and letter["changes"] == []
    cnil = json.loads(draft(ledger, "gdpr.notification", "--json").stdout)
    assert cnil["previous_filing"]["stage"] == "gdpr.notification"
    assert [c["field"] for c in cnil["changes"]] == ["impact"]


# --- templates --------------------------------------------------------------------------------------

def test_an_overridden_template_is_used(ledger, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "nis2.early_warning.fr.md.j2").write_text(
        "# ALERTE MAISON {{ incident.id }}\n\nCause : {{ need(incident.root_cause, 'root_cause') }}\n", encoding="utf-8")
    r = draft(ledger, "nis2.early_warning", "--templates", str(folder))
    assert r.stdout.startswith("ALERTE MAISON INC-2026-001\n")
    assert "[À COMPLÉTER : type de menace ou cause profonde probable]" in r.stdout
    assert "1 missing fact(s)" in r.stderr
    # the other stages and the other language keep the shipped templates
    assert "Alerte précoce" not in r.stdout
    assert "Early warning" in draft(ledger, "nis2.early_warning", "--lang", "en", "--templates", str(folder)).stdout


def test_the_profile_names_the_templates_folder_and_shared_parts_can_be_overridden(ledger, tmp_path):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "_header.en.md.j2").write_text("# OUR LETTERHEAD — {{ entity.name }}\n", encoding="utf-8")
    ok(cli(ledger, NOW, "profile", "--templates-dir", str(folder)))
    assert tomllib.loads(ledger.read_text())["profile"]["templates_dir"] == str(folder.resolve())
    for stage in ("nis2.final", "csp.report"):
        assert draft(ledger, stage, "--lang", "en").stdout.startswith("OUR LETTERHEAD — CH Exemple\n")
    assert not draft(ledger, "nis2.final").stdout.startswith("OUR LETTERHEAD")  # French head untouched


def test_a_text_template_is_preferred_for_the_text_format(ledger, tmp_path):
    (tmp_path / "csp.report.en.txt.j2").write_text("PLAIN {{ incident.id }} **kept as written**\n", encoding="utf-8")
    assert draft(ledger, "csp.report", "--lang", "en", "--templates", str(tmp_path)).stdout == \
        "PLAIN INC-2026-001 **kept as written**\n"
    md = draft(ledger, "csp.report", "--lang", "en", "--format", "markdown", "--templates", str(tmp_path)).stdout
    assert md.startswith("# Report of a serious information-system incident")


@pytest.mark.parametrize("body, line, needle", [
    ("# Title\n\nSome text\n{% if incident.summary %}\nunclosed\n", 5, "Unexpected end of template"),
    ("# Title\n{{ incident.id }\n", 2, "unexpected '}'"),
    ("# Title\n\n{{ incident.no_such_fact }}\n", 3, "no_such_fact"),
    ("# Title\n{{ need(incident.summary) }}\n", 2, "need"),
], ids=["unclosed-block", "bad-expression", "unknown-name", "wrong-call"])
def test_a_broken_template_is_reported_with_file_and_line(ledger, tmp_path, body, line, needle):
    path = tmp_path / "nis2.final.fr.md.j2"
    path.write_text(body, encoding="utf-8")
    before = ledger.read_bytes()
    r = cli(ledger, NOW, "draft", "1", "nis2.final", "--templates", str(tmp_path))
    message = one_line_error(r, 2)
    assert f"template {path}, line {line}:" in message, message
    assert needle in message
    assert r.stdout == ""
    assert ledger.read_bytes() == before


def test_a_broken_included_template_names_the_included_file(ledger, tmp_path):
    (tmp_path / "_footer.fr.md.j2").write_text("ok\nok\n{% for x in %}\n", encoding="utf-8")
    message = one_line_error(cli(ledger, NOW, "draft", "1", "nis2.final", "--templates", str(tmp_path)), 2)
    assert f"template {tmp_path / '_footer.fr.md.j2'}, line 3:" in message


def test_a_stage_without_a_template_says_where_it_looked(ledger, tmp_path):
    """A user regime can add a stage; its draft needs a template of the user's."""
    regimes = tmp_path / "regimes"
    regimes.mkdir()
    (regimes / "csp.toml").write_text(
        'id = "csp"\nname = "CSP"\nlaw = "CSP"\nrecipient = "ARS"\nchannel = "portal"\n'
        '[[stages]]\nid = "alert"\ntitle = "Alert"\ntitle_fr = "Alerte"\narticle = "L.1111-8-2"\nstart = "aware"\n'
        '[applies]\nprofile = { health_establishment = true }\n', encoding="utf-8")
    message = one_line_error(runner.invoke(app, ["--regimes", str(regimes), "draft", "1", "csp.alert", "--ledger",
                                                 str(ledger), "--now", NOW], catch_exceptions=False), 2)
    assert "no draft template for csp.alert in fr" in message and "csp.alert.fr.md.j2" in message


def test_a_missing_templates_folder_is_refused(ledger, tmp_path):
    message = one_line_error(cli(ledger, NOW, "draft", "1", "nis2.final", "--templates", str(tmp_path / "nope")), 2)
    assert "not a folder" in message


# --- options and errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, code, needle", [
    (["draft", "1", "nis2.final", "--lang", "de"], 2, "accepted: fr, en"),
    (["draft", "1", "nis2.final", "--format", "pdf"], 2, "accepted: text, markdown"),
    (["draft", "1", "nis2.bogus"], 4, "unknown stage"),
    (["draft", "9", "nis2.final"], 4, "unknown incident"),
])
def test_bad_draft_input_is_one_line_and_writes_nothing(ledger, args, code, needle):
    before = ledger.read_bytes()
    assert needle in one_line_error(cli(ledger, NOW, *args), code)
    assert ledger.read_bytes() == before


def test_a_draft_of_a_stage_that_does_not_apply_warns(ledger):
    ok(cli(ledger, NOW, "update", "1", "--no-high-risk"))
    r = draft(ledger, "gdpr.data_subjects")
    assert "warning: gdpr.data_subjects is not applicable" in r.stderr
    assert "Madame, Monsieur" in r.stdout


def test_draft_json(ledger):
    data = json.loads(draft(ledger, "nis2.notification", "--lang", "en", "--json").stdout)
    assert (data["incident"], data["stage"], data["lang"], data["format"]) == (INC, "nis2.notification", "en", "text")
    assert data["missing"] == ["possible cross-border impact (yes/no)", "impact"]
    assert data["missing_count"] == 2
    assert data["sha256"] == hashlib.sha256(data["text"].encode()).hexdigest()
    assert data["template"].endswith("nis2.notification.en.md.j2")
    assert data["output"] is None and data["previous_filing"] is None


# --- --output -----------------------------------------------------------------------------------------

def test_output_writes_the_file_atomically(ledger, tmp_path):
    target = tmp_path / "out" / "alerte.txt"
    target.parent.mkdir()
    target.write_text("an older draft\n", encoding="utf-8")
    expected = draft(ledger, "nis2.early_warning").stdout
    r = draft(ledger, "nis2.early_warning", "--output", str(target))
    assert r.stdout == ""
    assert target.read_text(encoding="utf-8") == expected
    assert sorted(p.name for p in target.parent.iterdir()) == ["alerte.txt"]  # no temporary file left
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert f"wrote {target} (sha256 {digest})" in r.stderr


def test_output_that_fails_leaves_the_old_file_intact(ledger, tmp_path, monkeypatch):
    target = tmp_path / "alerte.txt"
    target.write_text("an older draft\n", encoding="utf-8")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    r = cli(ledger, NOW, "draft", "1", "nis2.early_warning", "--output", str(target))
    assert r.exit_code == 7, r.stderr
    assert "No space left on device" in r.stderr and "unchanged" in r.stderr
    assert target.read_text(encoding="utf-8") == "an older draft\n"
    assert not [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]  # the temporary file is removed


def test_output_into_a_missing_folder_is_refused(ledger, tmp_path):
    assert "does not exist" in one_line_error(
        cli(ledger, NOW, "draft", "1", "nis2.final", "--output", str(tmp_path / "no" / "x.txt")), 2)


# --- submit --draft -----------------------------------------------------------------------------------

def test_submit_keeps_the_sha256_of_the_filed_text(ledger, tmp_path):
    target = tmp_path / "alerte.txt"
    draft(ledger, "nis2.early_warning", "--output", str(target))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    r = ok(cli(ledger, NOW, "submit", "1", "nis2.early_warning", "--at", "2026-03-28T11:00",
               "--reference", "ANSSI-1", "--draft", str(target)))
    assert f"draft sha256 {digest}" in r.stderr
    event = tomllib.loads(ledger.read_text())["events"][-1]
    assert (event["type"], event["data"]["draft_sha256"]) == ("filed", digest)
    shown = json.loads(ok(cli(ledger, NOW, "show", "1", "--json")).stdout)
    assert [f["draft_sha256"] for f in shown["filings"]] == [digest]
    assert digest in " ".join(ok(cli(ledger, NOW, "show", "1")).stdout.split())
    ok(cli(ledger, NOW, "verify"))
    # a filing without --draft has none
    ok(cli(ledger, NOW, "submit", "1", "nis2.notification", "--at", "2026-03-30T11:00"))
    shown = json.loads(ok(cli(ledger, NOW, "show", "1", "--json")).stdout)
    assert [f["draft_sha256"] for f in shown["filings"]] == [digest, None]


@pytest.mark.parametrize("name, content", [("missing.txt", None), ("empty.txt", b"  \n")])
def test_submit_with_an_unusable_draft_is_refused_before_writing(ledger, tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    before = ledger.read_bytes()
    message = one_line_error(cli(ledger, NOW, "submit", "1", "nis2.early_warning", "--draft", str(path)), 2)
    assert f"--draft {path}" in message
    assert ledger.read_bytes() == before


def test_draft_writes_nothing_to_the_ledger(ledger):
    before = ledger.read_bytes()
    for stage in ("nis2.early_warning", "gdpr.notification"):
        draft(ledger, stage)
    assert ledger.read_bytes() == before


# --- French drafts contain no English (issue 16) ------------------------------------------------------

ENGLISH = re.compile(r"\b(the|and|of|to|by|with|Regulation|Directive \(EU\)|Art\.|Arts|subjects|letter|e-mail|"
                     r"online|service|regulatory|decree|portal|provider|subparagraph|breach|report|deadline|"
                     r"due|filed|pending|overdue|unknown|none)\b")


@pytest.mark.parametrize("stage", ["nis2.early_warning", "nis2.notification", "nis2.intermediate", "nis2.final",
                                   "nis2.progress", "gdpr.notification", "gdpr.data_subjects", "csp.report"])
def test_a_french_draft_contains_no_english(tmp_path, stage):
    import shutil

    from nis2_incident.ledger import Store
    from nis2_incident.service import Service
    from conftest import at

    ledger = tmp_path / "ledger.toml"
    Service(Store(ledger), at("2026-03-20T09:00")).init(name="CHU Exemple", category="essential",
                                                        health_establishment=True, trust_service=True)
    s = Service(Store(ledger), at("2026-03-28T12:00"))
    s.open_incident("Rançongiciel sur le PACS", "2026-03-28T10:00", personal_data=True, high_risk=True,
                    malicious=True, summary="Chiffrement des serveurs d'imagerie.")
    s.request("1", "2026-04-02T18:00")
    r = CliRunner().invoke(app, ["--ledger", str(ledger), "--now", "2026-03-28T13:00", "draft", "1", stage,
                                 "--lang", "fr"], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    head = [line for line in r.stdout.splitlines() if line.startswith(("- Destinataire", "- Canal", "- Fondement"))]
    assert len(head) == 3 or ("destinataires :" in r.stdout and "fondement :" in r.stdout), r.stdout
    found = sorted({m.group(0) for m in ENGLISH.finditer(r.stdout)} - {"CHU"})
    assert found == [], (found, r.stdout)


def test_every_regime_file_carries_both_languages():
    from nis2_incident.regimes import builtin

    regimes = builtin()
    assert sorted(regimes) == ["ai_act", "cer", "cra", "csp", "dora", "eigs", "gdpr", "gdpr_processor",
                               "materiovigilance", "mdr", "nis1", "nis2"]
    for regime in regimes.values():
        assert regime.law_fr and regime.recipient_fr and regime.channel_fr, regime.id
        for st in regime.stages:
            assert st.title_fr and st.article_fr, (regime.id, st.id)
            assert (st.recipient is None) == (st.recipient_fr is None) and (st.channel is None) == (st.channel_fr is None)
            for rule in (*st.variants, *(r for r in (st.ongoing, st.waiver) if r is not None)):
                assert rule.article_fr, (regime.id, st.id, rule.article)
