"""Report drafts: the text of each report, in French or English, from the incident's facts.

One Jinja2 template per stage and language, shipped in `templates/` and named
`<regime>.<stage>.<lang>.md.j2` (Markdown); a folder of the user's (`draft --templates DIR`, else the
profile's `templates_dir`) is searched first, so any template, or one of the shared parts it includes
(`_header.<lang>.md.j2`, `_footer.<lang>.md.j2`), can be overridden file by file. `--format text` uses a
`<regime>.<stage>.<lang>.txt.j2` when there is one, else the Markdown template with its markup removed.

Templates receive plain values (strings already formatted with their offset) and three helpers:
`need(value, key)` gives the value or a visible marker (`[À COMPLÉTER : indicateurs de compromission]`,
`[TO BE COMPLETED: indicators of compromise]`) and counts the missing fact; `missing(key)` always
marks; `yesno(value, key)` says yes/no or marks an unknown. Undefined names are errors, reported with
the template's file and line (DraftTemplateError, exit 2), never silently blank.

Pure: no clock (`now` is an argument), no I/O except reading templates. Jinja2 is imported here, and
this module is imported only by `draft`, so `check` from cron never pays for it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .. import timeutil as tu
from ..deadlines import Obligation
from ..errors import DraftTemplateError, InputError, NotFound
from ..model import FACT_FIELDS, Filing, Incident, State
from ..service import IncidentView

LANGS = ("fr", "en")
FORMATS = ("text", "markdown")
MARKER = {"fr": "[À COMPLÉTER : {}]", "en": "[TO BE COMPLETED: {}]"}

# What each marker and each line of the "changes since" list calls a fact, per language.
LABELS: dict[str, tuple[str, str]] = {
    "title": ("intitulé", "title"),
    "summary": ("description de l'incident", "description of the incident"),
    "detected_at": ("date et heure de détection", "time of detection"),
    "aware_at": ("date et heure de prise de connaissance", "time of awareness"),
    "significance": ("caractère important de l'incident", "significance of the incident"),
    "significance_rationale": ("motif de non-importance", "reason it is not significant"),
    "malicious": ("acte illicite ou malveillant suspecté (oui/non)", "suspected unlawful or malicious act (yes/no)"),
    "cross_border": ("impact transfrontière possible (oui/non)", "possible cross-border impact (yes/no)"),
    "personal_data": ("données à caractère personnel concernées (oui/non)", "personal data involved (yes/no)"),
    "high_risk": ("risque élevé pour les personnes concernées (oui/non)", "high risk to the data subjects (yes/no)"),
    "breach_risk": ("risque pour les droits et libertés des personnes", "risk to people's rights and freedoms"),
    "breach_risk_rationale": ("motif d'absence de risque", "reason there is no risk"),
    "serious": ("caractère grave de l'incident (CSP D.1111-16-2)", "seriousness (CSP D.1111-16-2)"),
    "serious_rationale": ("motif de non-gravité", "reason it is not serious"),
    "severity": ("gravité", "severity"),
    "impact": ("impact", "impact"),
    "iocs": ("indicateurs de compromission", "indicators of compromise"),
    "root_cause": ("type de menace ou cause profonde probable", "type of threat or likely root cause"),
    "mitigations": ("mesures d'atténuation appliquées et en cours", "mitigation measures applied and ongoing"),
    # issue 17
    "service_disruption": ("perturbation importante du service essentiel (oui/non)",
                           "significant disruption of the essential service (yes/no)"),
    "major": ("incident majeur lié aux TIC (oui/non)", "major ICT-related incident (yes/no)"),
    "classified_major_at": ("date et heure de classification comme majeur", "time of classification as major"),
    "vulnerability_exploited": ("vulnérabilité activement exploitée (oui/non)", "actively exploited vulnerability (yes/no)"),
    "severe_incident": ("incident grave affectant la sécurité du produit (oui/non)",
                        "severe incident affecting the product's security (yes/no)"),
    "corrective_measure_at": ("date de mise à disposition d'une mesure corrective", "time a corrective measure became available"),
    "patient_harm": ("dommage pour un patient (aucun, dommage, grave, décès)", "harm to a patient (none, harm, serious, death)"),
    "public_health_threat": ("menace grave pour la santé publique (oui/non)", "serious public health threat (yes/no)"),
    "device_involved": ("dispositif médical en cause (oui/non)", "medical device involved (yes/no)"),
    "ai_system_involved": ("système d'IA à haut risque en cause (oui/non)", "high-risk AI system involved (yes/no)"),
    "widespread_infringement": ("infraction de grande ampleur ou infrastructure critique (oui/non)",
                                "widespread infringement or critical infrastructure (yes/no)"),
    "device_identification": ("identification du dispositif (nom, modèle, lot, IUD)",
                              "identification of the device (name, model, lot, UDI)"),
    "product": ("produit concerné et versions", "product and versions concerned"),
    "member_states": ("États membres concernés", "Member States concerned"),
    "reference_code": ("code de référence de l'incident", "reference code of the incident"),
    "ai_system": ("système d'IA concerné", "AI system concerned"),
    "patient_information": ("information du patient ou de ses proches", "information of the patient or relatives"),
    "corrective_plan": ("plan d'actions correctrices et échéances", "corrective action plan and dates"),
    "costs": ("coûts et pertes directs et indirects", "direct and indirect costs and losses"),
    "handled_at": ("fin du traitement de l'incident", "handling concluded"),
    "closed_at": ("clôture de l'incident", "incident closed"),
    # facts the ledger does not record (yet): always marked for the author to complete
    "dpo": ("nom et coordonnées du délégué à la protection des données (DPO)",
            "name and contact details of the data protection officer (DPO)"),
    "data_subjects": ("catégories et nombre approximatif de personnes concernées",
                      "categories and approximate number of data subjects concerned"),
    "records": ("catégories et nombre approximatif d'enregistrements concernés",
                "categories and approximate number of personal data records concerned"),
    "consequences": ("conséquences probables de la violation", "likely consequences of the breach"),
    "measures": ("mesures prises ou envisagées, y compris pour atténuer les effets négatifs",
                 "measures taken or proposed, including to mitigate possible adverse effects"),
    "late_reason": ("motifs du retard", "reasons for the delay"),
    "advice": ("recommandations aux personnes pour se protéger", "advice to the people concerned to protect themselves"),
    "care_safety": ("conséquences sur la sécurité des soins et le fonctionnement normal",
                    "effect on the safety of care and on normal operation"),
    "spread": ("risque de propagation à d'autres structures", "risk of spreading to other bodies"),
    "status_update": ("point de situation", "status update"),
    "next_steps": ("prochaines étapes et date prévisible de fin de traitement",
                   "next steps and expected end of handling"),
    "contact": ("personne à contacter", "contact person"),
}

# The French wording of the legal content listed in the regime files (`content`), for the checklist
# at the end of a French draft. A content item without a translation is shown as written.
CONTENT_FR: dict[str, str] = {
    # NIS 2 Art. 23(4)
    "whether the incident is suspected of being caused by unlawful or malicious acts":
        "si l'on suspecte que l'incident est causé par des actes illicites ou malveillants",
    "whether the incident could have a cross-border impact":
        "si l'incident pourrait avoir un impact transfrontière",
    "an update of the information given in the early warning":
        "la mise à jour des informations transmises dans l'alerte précoce",
    "an initial assessment of the incident, including its severity and impact":
        "une évaluation initiale de l'incident, y compris de sa gravité et de son impact",
    "the indicators of compromise, where available": "les indicateurs de compromission, lorsqu'ils sont disponibles",
    "relevant status updates": "les mises à jour pertinentes de la situation",
    "a detailed description of the incident, including its severity and impact":
        "une description détaillée de l'incident, y compris de sa gravité et de son impact",
    "the type of threat or root cause that is likely to have triggered the incident":
        "le type de menace ou la cause profonde qui a probablement déclenché l'incident",
    "applied and ongoing mitigation measures": "les mesures d'atténuation appliquées et en cours",
    "the cross-border impact of the incident, where applicable":
        "le cas échéant, l'impact transfrontière de l'incident",
    "the state of the incident and of its handling at that time":
        "l'état de l'incident et de son traitement à cette date",
    # GDPR Art. 33(3), 34(2)
    "nature of the breach, categories and approximate numbers of data subjects and records":
        "la nature de la violation, les catégories et le nombre approximatif de personnes et "
        "d'enregistrements concernés",
    "name and contact details of the DPO": "le nom et les coordonnées du délégué à la protection des données",
    "likely consequences": "les conséquences probables de la violation",
    "measures taken or proposed": "les mesures prises ou envisagées",
    "nature of the breach in clear and plain language": "la nature de la violation, en des termes clairs et simples",
    # CSP L.1111-8-2, D.1111-16-2
    "effect on the safety of care": "les conséquences sur la sécurité des soins",
    "effect on the confidentiality or integrity of health data":
        "les conséquences sur la confidentialité ou l'intégrité des données de santé",
    "effect on normal operation": "les conséquences sur le fonctionnement normal de l'établissement",
    "risk of spreading to other bodies": "le risque de propagation à d'autres structures",
}

_WORDS = {
    "fr": {"yes": "oui", "no": "non", "none": "non renseigné", "essential": "entité essentielle",
           "important": "entité importante", "open": "en cours de traitement", "handled": "traitement terminé",
           "closed": "clos", "significant": "oui", "not_significant": "non",
           "undetermined": "non encore déterminé (traité comme important)",
           "asap": "sans délai injustifié (aucune heure fixée par le texte)", "provisional": "provisoire",
           "own_target": "objectif interne de l'entité (pas une échéance légale)",
           "no_due": "pas encore d'échéance", "not_applicable": "sans objet"},
    "en": {"yes": "yes", "no": "no", "none": "not recorded", "essential": "essential entity",
           "important": "important entity", "open": "being handled", "handled": "handling concluded",
           "closed": "closed", "significant": "yes", "not_significant": "no",
           "undetermined": "not yet determined (treated as significant)",
           "asap": "without undue delay (no hour set by the law)", "provisional": "provisional",
           "own_target": "the entity's own target (not a legal deadline)", "no_due": "no due time yet",
           "not_applicable": "not applicable"},
}


HARM_WORDS = {
    "fr": {"none": "aucun", "harm": "dommage non grave", "serious": "dommage grave (pronostic vital, déficit permanent "
           "probable, dégradation grave)", "death": "décès"},
    "en": {"none": "none", "harm": "harm, not serious", "serious": "serious harm (threat to life, probable permanent "
           "deficit, serious deterioration)", "death": "death"},
}


def builtin_dir() -> Path:
    return Path(__file__).resolve().parent / "templates"


@dataclass
class Draft:
    incident: str
    stage: str
    lang: str
    format: str
    text: str
    template: str  # the file used
    missing: list[str] = field(default_factory=list)  # the missing facts' labels, in the draft's language
    previous: Filing | None = None  # the earlier filing the changes are counted from
    changes: list[dict] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def check_options(lang: str, fmt: str) -> tuple[str, str]:
    lang_, fmt_ = (lang or "").strip().lower(), (fmt or "").strip().lower()
    if fmt_ in ("md",):
        fmt_ = "markdown"
    if lang_ not in LANGS:
        raise InputError(f"--lang {lang!r}; accepted: {', '.join(LANGS)}")
    if fmt_ not in FORMATS:
        raise InputError(f"--format {fmt!r}; accepted: {', '.join(FORMATS)}")
    return lang_, fmt_


def pick_obligation(view: IncidentView, stage: str) -> Obligation:
    """The obligation a draft of `stage` is for: the first one still open (for a stage that repeats,
    e.g. one intermediate report per request), else the last one."""
    same = [o for o in view.obligations if o.stage == stage]
    if not same:
        raise NotFound(f"{view.incident.id} has no obligation {stage}; accepted: "
                       + ", ".join(dict.fromkeys(o.stage for o in view.obligations)))
    return next((o for o in same if o.is_open), same[-1])


def previous_filing(view: IncidentView, ob: Obligation) -> Filing | None:
    """The latest filing of the same regime to the same recipient: a follow-up says what changed since."""
    recipient = {o.stage: o.recipient for o in view.obligations}
    earlier = [f for f in view.incident.filings
               if f.stage.split(".", 1)[0] == ob.regime and recipient.get(f.stage) == ob.recipient]
    return max(earlier, key=lambda f: f.seq) if earlier else None


_DIFF_FIELDS = [*FACT_FIELDS, "handled_at", "closed_at"]


def _value_text(value, lang: str, tz: str) -> str:
    w = _WORDS[lang]
    if value is None or value == [] or value == "":
        return w["none"]
    if isinstance(value, bool):
        return w["yes"] if value else w["no"]
    if isinstance(value, datetime):
        return tu.display(value, tz, True)
    if isinstance(value, list):
        return ", ".join(value)
    if value in ("significant", "not_significant", "undetermined"):
        return w[value]
    return str(value)


def _blank(value):
    return None if value is None or value == "" or value == [] else value


def changes_since(before: Incident, after: Incident, lang: str, tz: str) -> list[dict]:
    """Each fact that differs between the incident as it was filed and as it is now."""
    out = []
    for name in _DIFF_FIELDS:
        old, new = getattr(before, name), getattr(after, name)
        if _blank(old) != _blank(new):
            text = re.sub(r"\s*\((oui/non|yes/no)\)$", "", LABELS[name][0 if lang == "fr" else 1])
            item = {"field": name, "label": text[:1].upper() + text[1:],
                    "before": _value_text(old, lang, tz), "after": _value_text(new, lang, tz)}
            if name == "iocs":
                item["added"] = [i for i in (new or []) if i not in (old or [])]
                item["removed"] = [i for i in (old or []) if i not in (new or [])]
            out.append(item)
    return out


def _due_text(ob: Obligation, lang: str, tz: str) -> str:
    w = _WORDS[lang]
    if ob.state == "not_applicable":
        return w["not_applicable"] + (f" ({ob.note})" if ob.note else "")
    if ob.due is not None:
        text = tu.display(ob.due, tz, True)
        if ob.due_kind in ("provisional", "conditional"):
            text += f" ({w['provisional']})"
        return text
    if ob.due_kind == "asap":
        text = w["asap"]
        if ob.target is not None:
            text += f"; {w['own_target']} : {tu.display(ob.target, tz, True)}" if lang == "fr" else \
                f"; {w['own_target']}: {tu.display(ob.target, tz, True)}"
        return text
    note = ob.note
    if lang == "fr" and note and note.startswith("waits for the "):
        # the engine's note is English: name the awaited clock start in French (issue 17: `fact:` starts)
        what = note.removeprefix("waits for the ").split(" ")[0].replace("-", "_")
        pair = LABELS.get(what)
        note = f"en attente : {pair[0]}" if pair else "en attente du point de départ du délai"
    return w["no_due"] + (f" ({note})" if note else "")


def markdown_to_text(md: str) -> str:
    """The Markdown of the shipped templates as plain text: headings underlined, emphasis and code
    marks removed, lists and paragraphs kept."""
    out: list[str] = []
    for line in md.splitlines():
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m:
            title = _inline(m.group(2))
            level = len(m.group(1))
            if out and out[-1].strip():
                out.append("")
            out.append(title)
            if level <= 2:
                out.append(("=" if level == 1 else "-") * len(title))
            continue
        if re.match(r"^\s*(---|\*\*\*|___)\s*$", line):
            out.append("-" * 40)
            continue
        line = re.sub(r"^>\s?", "", line)
        out.append(_inline(line).rstrip())
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n"


def _inline(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"__(.+?)__", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!])", r"\1", text)
    return text


def _clean(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def _where(exc: BaseException) -> tuple[str | None, int | None]:
    """The template file and line of an error raised while rendering (Jinja2 rewrites the traceback
    so that its frames carry the template's file name and line)."""
    filename = getattr(exc, "filename", None)
    lineno = getattr(exc, "lineno", None)
    if filename and lineno:
        return filename, lineno
    found = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _environment(search: list[Path]):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search], encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_names(stage: str, lang: str, fmt: str) -> list[str]:
    """The stage's own template, else its regime's (one template for every stage of a regime, issue 17:
    `<regime>.<lang>.md.j2`, which branches on `obligation.stage`)."""
    md = f"{stage}.{lang}.md.j2"
    regime_md = f"{stage.split('.', 1)[0]}.{lang}.md.j2"
    return [f"{stage}.{lang}.txt.j2", md, regime_md] if fmt == "text" else [md, regime_md]


def _french(ob, regime, stage) -> tuple[str, str, str, str]:
    """(legal basis, recipient, channel, law) of a French draft, from the regime file's French fields
    (`article_fr`, `recipient_fr`, `channel_fr`, `law_fr`; a variant's or the ongoing rule's own
    `article_fr` when it is the one that applied); the English text where a file gives none."""
    article, recipient, channel = ob.article, ob.recipient, ob.channel
    law = regime.law if regime is not None else ""
    if regime is None or stage is None:
        return article, recipient, channel, law
    rules = [stage, *stage.variants, *(r for r in (stage.ongoing, stage.waiver) if r is not None)]
    article = next((r.article_fr for r in rules if r.article == ob.article and r.article_fr), article)
    if stage.recipient is not None:
        recipient = stage.recipient_fr or recipient
    else:
        recipient = regime.recipient_fr or recipient
    if stage.channel is not None:
        channel = stage.channel_fr or channel
    else:
        channel = regime.channel_fr or channel
    return article, recipient, channel, regime.law_fr or law


def render(view: IncidentView, stage: str, events: list[dict], regimes: dict, now: datetime, lang: str = "fr",
           fmt: str = "text", templates_dir: str | Path | None = None, head: str = "") -> Draft:
    """The draft of `stage` for this incident. `events` are the incident's own (or the ledger's: only
    the incident's are used), for the facts as they were at the previous filing; `regimes` give each
    stage's legal content."""
    import jinja2

    lang, fmt = check_options(lang, fmt)
    inc, profile, tz = view.incident, view.profile, view.profile.timezone
    ob = pick_obligation(view, stage)
    search: list[Path] = []
    if templates_dir:
        folder = Path(templates_dir).expanduser()
        if not folder.is_dir():
            raise InputError(f"templates folder {folder}: not a folder; accepted: a folder of .j2 draft templates "
                             "(--templates DIR or the profile's templates_dir)")
        search.append(folder)
    search.append(builtin_dir())
    env = _environment(search)
    w = _WORDS[lang]
    missing: list[str] = []

    def label(key: str) -> str:
        pair = LABELS.get(key)
        return pair[0 if lang == "fr" else 1] if pair else key.replace("_", " ")

    def mark(key: str) -> str:
        text = label(key)
        if text not in missing:
            missing.append(text)
        marker = MARKER[lang].format(text)
        return f"**{marker}**" if fmt == "markdown" else marker

    def need(value, key: str):
        if value is None or value == "" or value == [] or isinstance(value, jinja2.Undefined):
            return mark(key)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def yesno(value, key: str) -> str:
        if value is None:
            return mark(key)
        return w["yes"] if value else w["no"]

    regime = regimes.get(ob.regime)
    stage_def = regime.stage(ob.stage_id) if regime is not None else None
    article, recipient, channel, law = ob.article, ob.recipient, ob.channel, regime.law if regime else ""
    if lang == "fr":
        article, recipient, channel, law = _french(ob, regime, stage_def)
    content = list(stage_def.content) if stage_def is not None else []
    if lang == "fr":
        content = (list(stage_def.content_fr) if stage_def is not None and stage_def.content_fr
                   else [CONTENT_FR.get(c, c) for c in content])

    prev = previous_filing(view, ob)
    changes: list[dict] = []
    previous_ctx = None
    if prev is not None:
        # the incident's own events up to that filing, folded on the profile (the facts compared do not
        # depend on it, nor on other incidents' events)
        then = State(profile=profile)
        for e in events:
            if e["seq"] <= prev.seq and e.get("incident") == inc.id:
                then.apply(e)
        then = then.incidents.get(inc.id)
        if then is not None:
            changes = changes_since(then, inc, lang, tz)
        previous_ctx = {"stage": prev.stage, "at": tu.display(prev.at, tz, True), "reference": prev.reference,
                        "channel": prev.channel, "seq": prev.seq, "changes": changes}

    def when(value):
        return tu.display(value, tz, True) if value is not None else None

    request = None
    if ob.instance:
        req = sorted((r for r in inc.requests if r.stage == ob.stage), key=lambda r: (r.at, r.seq))[ob.instance - 1]
        request = {"at": when(req.at), "due": when(req.due), "instance": ob.instance}

    context = {
        "lang": lang,
        "format": fmt,
        "generated_at": tu.display(now, tz, True),
        "today": tu.to_local(now, tz).strftime("%d/%m/%Y" if lang == "fr" else "%Y-%m-%d"),
        "ledger_head": head,
        "entity": {"name": profile.name, "category": profile.category, "category_text": w[profile.category],
                   "dpo": profile.dpo or None, "trust_service": profile.trust_service,
                   "health_establishment": profile.health_establishment},
        "incident": {
            "id": inc.id, "title": inc.title, "summary": inc.summary, "status": inc.status,
            "status_text": w[inc.status], "aware_at": when(inc.aware_at), "detected_at": when(inc.detected_at),
            "handled_at": when(inc.handled_at), "closed_at": when(inc.closed_at),
            "significance": inc.significance, "significance_text": w[inc.significance],
            "significance_rationale": inc.significance_rationale, "malicious": inc.malicious,
            "cross_border": inc.cross_border, "personal_data": inc.personal_data, "high_risk": inc.high_risk,
            "breach_risk": inc.breach_risk, "serious": inc.serious, "severity": inc.severity,
            "impact": inc.impact, "iocs": list(inc.iocs), "root_cause": inc.root_cause,
            "mitigations": inc.mitigations,
            # issue 17
            "service_disruption": inc.service_disruption, "major": inc.major,
            "classified_major_at": when(inc.classified_major_at),
            "vulnerability_exploited": inc.vulnerability_exploited, "severe_incident": inc.severe_incident,
            "corrective_measure_at": when(inc.corrective_measure_at), "patient_harm": inc.patient_harm,
            "patient_harm_text": HARM_WORDS[lang].get(inc.patient_harm) if inc.patient_harm else None,
            "public_health_threat": inc.public_health_threat, "device_involved": inc.device_involved,
            "ai_system_involved": inc.ai_system_involved, "widespread_infringement": inc.widespread_infringement,
            "filings": [{"stage": f.stage, "at": when(f.at), "reference": f.reference} for f in inc.filings],
        },
        "obligation": {
            "stage": ob.stage, "regime": ob.regime, "title": ob.title_fr if lang == "fr" else ob.title,
            "title_en": ob.title, "title_fr": ob.title_fr, "article": article, "recipient": recipient,
            "channel": channel, "state": ob.state, "due": when(ob.due), "due_kind": ob.due_kind,
            "due_text": _due_text(ob, lang, tz), "target": when(ob.target), "clock_start": when(ob.clock_start),
            "overdue": ob.due is not None and now > ob.due and ob.filing is None,
            "instance": ob.instance or None, "note": ob.note,
        },
        "regime": {"id": ob.regime, "name": regime.name if regime else ob.regime,
                   "law": law},
        "request": request,
        "legal_content": content,
        "previous": previous_ctx,
        "need": need,
        "missing": mark,
        "yesno": yesno,
        "label": label,
    }

    names = template_names(stage, lang, fmt)
    try:
        template = env.select_template(names)
    except jinja2.TemplateSyntaxError as exc:
        raise DraftTemplateError(f"template {exc.filename}, line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplatesNotFound:
        raise DraftTemplateError(
            f"no draft template for {stage} in {lang}: looked for {' or '.join(names)} in "
            f"{', '.join(str(p) for p in search)}; accepted: add {stage}.{lang}.md.j2 to a templates folder "
            "(--templates DIR or the profile's templates_dir)") from None
    except UnicodeDecodeError as exc:
        raise DraftTemplateError(f"template for {stage}: not UTF-8 text ({exc.reason}); accepted: UTF-8") from None
    try:
        raw = template.render(context)
    except jinja2.TemplateSyntaxError as exc:  # in an included file
        raise DraftTemplateError(f"template {exc.filename}, line {exc.lineno}: {exc.message}") from None
    except Exception as exc:  # UndefinedError, TemplateNotFound of an include, a TypeError in an expression
        filename, lineno = _where(exc)
        where = f"template {filename}, line {lineno}" if filename else f"template {template.filename}"
        message = getattr(exc, "message", None) or str(exc)
        if isinstance(exc, jinja2.TemplateNotFound):
            message = f"included template {exc.name!r} not found"
        raise DraftTemplateError(f"{where}: {message}") from None
    used = template.filename or names[-1]
    text = markdown_to_text(raw) if fmt == "text" and used.endswith(".md.j2") else _clean(raw)
    return Draft(incident=inc.id, stage=ob.stage, lang=lang, format=fmt, text=text, template=used,
                 missing=missing, previous=prev, changes=changes)
