"""The report laid out (issue 18): one self-contained HTML file, or Markdown, from `report.build`'s data.

The HTML holds everything inline (styles, the charts as SVG, no script, font or image from elsewhere),
so it opens from a USB stick on an air-gapped laptop and prints on A4 with a page break between
sections. Every text from the ledger is user text and therefore hostile: Jinja2 escapes it
(autoescape) in HTML; in Markdown the `md` filter escapes what Markdown or the HTML it becomes would
read as markup.

Deterministic (a report can be committed and diffed): the only time in it is `--now`'s; the charts are
drawn by matplotlib with a fixed hash salt per chart (`svg.hashsalt`: the ids in an SVG are then
derived from its content, not random, and differ from one chart to the next), no date in the SVG
metadata, and text kept as text (`svg.fonttype = none`: no glyphs embedded, the reader's sans-serif
font draws it). matplotlib and Jinja2 are imported here only: no other command pays for them.
"""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from pathlib import Path

from .. import timeutil as tu

TEMPLATES = Path(__file__).resolve().parent / "templates"

LABELS = {
    "fr": {
        "title": "Rapport des incidents cyber", "subtitle": "Note au comité de direction et dossier de preuve",
        "entity": "Entité", "category": "Catégorie", "period": "Période", "as_of": "Établi au",
        "from": "du", "to": "au", "headline": "L'essentiel",
        "incidents_opened": "Incidents (prise de connaissance dans la période)", "significant": "Significatifs",
        "not_significant": "Jugés non significatifs", "undetermined": "Significativité non déterminée",
        "reported": "Déclarés (au moins une déclaration)", "obligations_due": "Échéances dans la période",
        "on_time_rate": "Respectées à temps", "met": "à temps", "late": "en retard", "overdue": "dépassées",
        "pending": "à venir", "open_obligations": "Obligations encore ouvertes", "longest_delay": "Plus long retard",
        "none": "aucun", "by_regime": "Par régime", "by_stage": "Par étape", "regime": "Régime", "stage": "Étape",
        "due": "Échéance", "rate": "Taux", "charts": "Graphiques", "late_filings": "Déclarations en retard",
        "incident": "Incident", "filed_at": "Déclarée le", "delay": "Retard", "reason": "Motif du retard",
        "no_reason": "[motif non consigné]", "still_open": "Obligations encore ouvertes", "state": "État",
        "decisions": "Décisions de ne pas déclarer", "decision": "Décision", "rationale": "Justification",
        "no_rationale": "[justification non consignée]", "aware_at": "Prise de connaissance",
        "exercises": "Exercices", "exercise": "Exercice", "t0": "T0", "status": "Résultat",
        "filings": "Déclarations (depuis T0)", "pass": "réussi", "fail": "échoué", "invalid": "invalide",
        "evidence": "Éléments de preuve", "ledger": "Registre", "head": "Tête de chaîne (au moment du rapport)",
        "events": "Événements", "verify": "Vérification de la chaîne (verify)", "verify_ok": "intègre",
        "verify_bad": "ÉCHEC", "drafts": "Empreintes SHA-256 des projets déclarés", "sha256": "SHA-256",
        "recheck": "Pour revérifier ces chiffres à partir du registre", "nothing": "Rien à signaler.",
        "reference": "Référence", "incidents": "Incidents de la période", "title_col": "Titre",
        "significance": "Significativité", "overdue_state": "dépassée", "pending_state": "à venir",
        "not_in_force": "règle pas en vigueur à la prise de connaissance",
        "no_due": "sans échéance", "article": "Base légale", "recipient": "Destinataire",
        "not_significant_decision": "non significatif (NIS 2)", "no_risk_decision": "sans risque (RGPD art. 33(1))",
        "not_serious_decision": "non grave (CSP)", "yes": "oui", "no": "non",
        "chart_month": "Incidents par mois, selon la significativité", "month": "Mois", "count": "Nombre",
        "chart_times": "Délai entre la prise de connaissance et chaque déclaration, face à l'échéance",
        "chart_times_short": "Délai de chaque déclaration, face à son échéance",
        "hours_from_aware": "Heures depuis la prise de connaissance (échelle logarithmique)",
        "filed_on_time": "déclarée à temps", "filed_late": "déclarée en retard", "deadline": "échéance",
        "chart_rate": "Taux de respect des échéances par étape et par mois", "rate_axis": "À temps (%)",
        "chart_open": "Obligations ouvertes selon leur échéance", "bucket": "Échéance",
        "bucket_overdue": "dépassée", "bucket_24h": "< 24 h", "bucket_7d": "1 à 7 j", "bucket_later": "> 7 j",
        "bucket_no_due": "sans délai chiffré", "no_data": "aucune donnée dans la période",
        "data_table": "Les données du graphique", "print_note": "Pour un PDF : imprimer cette page (A4) et "
        "choisir « Enregistrer au format PDF ».", "generated_by": "Produit par",
        "failures": "échecs", "day": "j", "median": "médiane",
    },
    "en": {
        "title": "Cyber incident report", "subtitle": "Board briefing and evidence pack",
        "entity": "Entity", "category": "Category", "period": "Period", "as_of": "As of",
        "from": "from", "to": "to", "headline": "Headline",
        "incidents_opened": "Incidents (aware in the period)", "significant": "Significant",
        "not_significant": "Judged not significant", "undetermined": "Significance undetermined",
        "reported": "Reported (at least one filing)", "obligations_due": "Obligations due in the period",
        "on_time_rate": "Met on time", "met": "on time", "late": "late", "overdue": "overdue",
        "pending": "not yet due", "open_obligations": "Obligations still open", "longest_delay": "Longest delay",
        "none": "none", "by_regime": "Per regime", "by_stage": "Per stage", "regime": "Regime", "stage": "Stage",
        "due": "Due", "rate": "Rate", "charts": "Charts", "late_filings": "Late filings",
        "incident": "Incident", "filed_at": "Filed", "delay": "Delay", "reason": "Reason for the delay",
        "no_reason": "[no reason recorded]", "still_open": "Obligations still open", "state": "State",
        "decisions": "Decisions not to report", "decision": "Decision", "rationale": "Rationale",
        "no_rationale": "[no rationale recorded]", "aware_at": "Aware at",
        "exercises": "Exercises", "exercise": "Exercise", "t0": "T0", "status": "Result",
        "filings": "Filings (from T0)", "pass": "passed", "fail": "failed", "invalid": "invalid",
        "evidence": "Evidence", "ledger": "Ledger", "head": "Head of the chain (at the report's time)",
        "events": "Events", "verify": "Chain verification (verify)", "verify_ok": "intact",
        "verify_bad": "FAILED", "drafts": "SHA-256 of the drafts filed", "sha256": "SHA-256",
        "recheck": "To re-check these figures from the ledger", "nothing": "Nothing to report.",
        "reference": "Reference", "incidents": "Incidents of the period", "title_col": "Title",
        "significance": "Significance", "overdue_state": "overdue", "pending_state": "pending",
        "not_in_force": "rule not in force at aware-at",
        "no_due": "no due time", "article": "Legal basis", "recipient": "Recipient",
        "not_significant_decision": "not significant (NIS 2)", "no_risk_decision": "no risk (GDPR Art. 33(1))",
        "not_serious_decision": "not serious (CSP)", "yes": "yes", "no": "no",
        "chart_month": "Incidents per month, by significance", "month": "Month", "count": "Count",
        "chart_times": "Time from awareness to each filing, against its deadline",
        "chart_times_short": "Time to each filing, against its deadline",
        "hours_from_aware": "Hours after awareness (log scale)",
        "filed_on_time": "filed on time", "filed_late": "filed late", "deadline": "deadline",
        "chart_rate": "On-time rate per stage, month by month", "rate_axis": "On time (%)",
        "chart_open": "Open obligations by due date", "bucket": "Due",
        "bucket_overdue": "overdue", "bucket_24h": "< 24 h", "bucket_7d": "1 to 7 d", "bucket_later": "> 7 d",
        "bucket_no_due": "without undue delay", "no_data": "no data in the period",
        "data_table": "The chart's data", "print_note": "For a PDF: print this page (A4) and choose “Save as PDF”.",
        "generated_by": "Produced by", "failures": "failures", "day": "d", "median": "median",
    },
}

COLORS = {"significant": "#b3261e", "undetermined": "#e8a33d", "not_significant": "#7d8fa3",
          "met": "#2e7d32", "late": "#b3261e", "deadline": "#222222"}
STAGE_COLORS = ("#1f5fa8", "#b3261e", "#2e7d32", "#8e44ad", "#e8a33d", "#00838f", "#6d4c41", "#c2185b")


def duration(seconds: int | None, lang: str) -> str:
    if seconds is None:
        return "—"
    text = tu.human_duration(timedelta(seconds=seconds))
    return text.replace(" d", " j").replace("less than 1 min", "moins d'1 min") if lang == "fr" else text


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f} %"


# --- the charts ------------------------------------------------------------------------------------

def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 3.2), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def _svg(fig, salt: str, title: str, alt: str) -> str:
    """The figure as an inline <svg> element: deterministic ids, no date, a <title> and an aria-label."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": f"nis2-incident-report-{salt}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue().decode("utf-8")
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, count=1, flags=re.S)
    # matplotlib numbers its ids per figure (`axes_1`, `figure_1`): prefixed, so no two charts of the
    # page share one (an HTML document's ids are unique)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{salt}-\1"', text)
    text = re.sub(r'(href="#|url\(#)([^")]+)', rf'\g<1>{salt}-\2', text)
    head_end = text.index(">") + 1
    opening = text[:head_end].replace("<svg ", f'<svg role="img" aria-label="{html.escape(alt)}" class="chart" ', 1)
    return f"{opening}\n <title>{html.escape(title)}</title>{text[head_end:]}".strip()


def _empty(ax, L) -> None:
    ax.text(0.5, 0.5, L["no_data"], ha="center", va="center", transform=ax.transAxes, color="#555555")


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def chart_months(data: dict, L: dict) -> dict:
    rows = data["charts"]["incidents_per_month"]
    fig, ax = _figure()
    _style(ax)
    months = [r["month"] for r in rows]
    bottom = [0] * len(rows)
    for sig in ("significant", "undetermined", "not_significant"):
        values = [r[sig] for r in rows]
        ax.bar(range(len(months)), values, bottom=bottom, color=COLORS[sig], label=L[sig], width=0.6)
        bottom = [b + v for b, v in zip(bottom, values)]
    if not any(bottom):
        _empty(ax, L)
    ax.set_xticks(range(len(months)), months)
    ax.set_title(L["chart_month"], fontsize=11)
    ax.set_xlabel(L["month"])
    ax.set_ylabel(L["count"])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8, frameon=False)
    alt = "; ".join(f"{r['month']}: {L['significant']} {r['significant']}, {L['undetermined']} {r['undetermined']}, "
                    f"{L['not_significant']} {r['not_significant']}" for r in rows)
    table = {"head": [L["month"], L["significant"], L["undetermined"], L["not_significant"]],
             "rows": [[r["month"], r["significant"], r["undetermined"], r["not_significant"]] for r in rows]}
    return {"id": "chart-months", "title": L["chart_month"], "alt": alt, "table": table,
            "svg": _svg(fig, "months", L["chart_month"], f"{L['chart_month']}. {alt}")}


def chart_times(data: dict, L: dict) -> dict:
    rows = data["charts"]["filing_times"]
    fig, ax = _figure()
    stages = sorted({r["stage"] for r in rows})
    position = {s: i for i, s in enumerate(stages)}
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for state, label in (("met", L["filed_on_time"]), ("late", L["filed_late"])):
        pts = [r for r in rows if r["state"] == state]
        if pts:
            ax.scatter([max(r["hours_from_aware"], 0.01) for r in pts], [position[r["stage"]] for r in pts],
                       color=COLORS[state], label=label, s=28, zorder=3)
    marks = sorted({(r["stage"], r["deadline_hours"]) for r in rows if r["deadline_hours"] is not None})
    if marks:  # one mark per distinct deadline of a stage (most stages have one: 24 h, 72 h)
        ax.scatter([max(h, 0.01) for _, h in marks], [position[s] for s, _ in marks],
                   marker="|", s=260, color=COLORS["deadline"], label=L["deadline"], zorder=2)
    if rows:
        ax.set_xscale("log")
        ax.set_yticks(range(len(stages)), stages)
        ax.set_ylim(-0.6, len(stages) - 0.4)
        ax.legend(fontsize=8, frameon=False, loc="lower right")
    else:
        ax.set_yticks([])
        _empty(ax, L)
    ax.set_title(L["chart_times_short"], fontsize=11)
    ax.set_xlabel(L["hours_from_aware"])
    ax.set_ylabel(L["stage"])
    alt = "; ".join(_time_summary(stage, [r for r in rows if r["stage"] == stage], L) for stage in stages) \
        or L["no_data"]
    table = {"head": [L["incident"], L["stage"], "h", L["deadline"] + " (h)", L["state"]],
             "rows": [[r["incident"], r["stage"], r["hours_from_aware"],
                       "—" if r["deadline_hours"] is None else r["deadline_hours"], L[r["state"]]] for r in rows]}
    return {"id": "chart-times", "title": L["chart_times"], "alt": alt, "table": table,
            "svg": _svg(fig, "times", L["chart_times"], f"{L['chart_times']}. {alt}")}


def _time_summary(stage: str, rows: list[dict], L: dict) -> str:
    """One stage of the filing-time chart in words (the table under the chart holds every filing)."""
    times = sorted(r["hours_from_aware"] for r in rows)
    median = times[len(times) // 2]
    deadlines = sorted({r["deadline_hours"] for r in rows if r["deadline_hours"] is not None})
    late = sum(1 for r in rows if r["state"] == "late")
    text = f"{stage}: {len(rows)} × {times[0]:g}–{times[-1]:g} h ({L['median']} {median:g} h)"
    if deadlines:
        text += f", {L['deadline']} {'/'.join(f'{d:g}' for d in deadlines[:3])}{'…' if len(deadlines) > 3 else ''} h"
    return text + f", {late} {L['late']}"


def chart_rate(data: dict, L: dict) -> dict:
    rows = data["charts"]["on_time_by_month"]
    months = [r["month"] for r in data["charts"]["incidents_per_month"]]
    fig, ax = _figure()
    _style(ax)
    stages = sorted({r["stage"] for r in rows})
    for i, stage in enumerate(stages):
        pts = {r["month"]: r["on_time_rate"] for r in rows if r["stage"] == stage}
        ax.plot(range(len(months)), [float("nan") if pts.get(m) is None else pts[m] * 100 for m in months], marker="o",
                color=STAGE_COLORS[i % len(STAGE_COLORS)], label=stage, linewidth=1.5)
    if not any(r["on_time_rate"] is not None for r in rows):
        _empty(ax, L)
    else:
        ax.legend(fontsize=7, frameon=False, ncols=2)
    ax.set_xticks(range(len(months)), months)
    ax.set_xlim(-0.5, len(months) - 0.5)
    ax.set_ylim(-5, 105)
    ax.set_title(L["chart_rate"], fontsize=11)
    ax.set_xlabel(L["month"])
    ax.set_ylabel(L["rate_axis"])
    alt = "; ".join(f"{r['stage']} {r['month']}: {percent(r['on_time_rate'])} ({r['met']}/"
                    f"{r['met'] + r['late'] + r['overdue']})" for r in rows) or L["no_data"]
    table = {"head": [L["month"], L["stage"], L["met"], L["late"], L["overdue"], L["pending"], L["rate"]],
             "rows": [[r["month"], r["stage"], r["met"], r["late"], r["overdue"], r["pending"],
                       percent(r["on_time_rate"])] for r in rows]}
    return {"id": "chart-rate", "title": L["chart_rate"], "alt": alt, "table": table,
            "svg": _svg(fig, "rate", L["chart_rate"], f"{L['chart_rate']}. {alt}")}


def chart_open(data: dict, L: dict) -> dict:
    rows = data["charts"]["open_by_due"]
    fig, ax = _figure()
    _style(ax)
    labels = [L[f"bucket_{r['bucket']}"] for r in rows]
    colors = [COLORS["late"] if r["bucket"] == "overdue" else "#1f5fa8" for r in rows]
    ax.bar(labels, [r["count"] for r in rows], color=colors, width=0.6)
    if not any(r["count"] for r in rows):
        _empty(ax, L)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(L["chart_open"], fontsize=11)
    ax.set_xlabel(L["bucket"])
    ax.set_ylabel(L["count"])
    alt = "; ".join(f"{label}: {r['count']}" for label, r in zip(labels, rows))
    table = {"head": [L["bucket"], L["count"]], "rows": [[label, r["count"]] for label, r in zip(labels, rows)]}
    return {"id": "chart-open", "title": L["chart_open"], "alt": alt, "table": table,
            "svg": _svg(fig, "open", L["chart_open"], f"{L['chart_open']}. {alt}")}


def charts(data: dict, L: dict) -> list[dict]:
    return [chart_months(data, L), chart_times(data, L), chart_rate(data, L), chart_open(data, L)]


# --- the documents ------------------------------------------------------------------------------------

def _md(value) -> str:
    """User text in a Markdown table cell: markup characters escaped, HTML as entities, one line."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]|#!~])", r"\\\1", text)


def _env(autoescape: bool):
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = _md
    return env


def _context(data: dict) -> dict:
    lang = data["lang"]
    L = LABELS[lang]
    tz = data["timezone"]

    def when(text):
        return tu.display(tu.parse_instant(text), tz) if text else "—"

    return {"d": data, "L": L, "when": when, "dur": lambda s: duration(s, lang), "pct": percent,
            "h": data["headline"]}


def html_document(data: dict) -> str:
    import markupsafe

    ctx = _context(data)
    ctx["charts"] = [{**c, "svg": markupsafe.Markup(c["svg"])} for c in charts(data, ctx["L"])]
    return _env(True).get_template("report.html.j2").render(**ctx)


def markdown_document(data: dict) -> str:
    return _env(False).get_template("report.md.j2").render(**_context(data))
