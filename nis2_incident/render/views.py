"""Rich views for people: dashboard, list, one incident, the arithmetic. Readable without colour
(NO_COLOR, pipes): every state is also a word, every time carries its offset."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .. import timeutil as tu
from ..deadlines import Obligation
from ..service import IncidentView

STATE_STYLE = {
    "overdue": "bold white on red",
    "pending": "",
    "met": "green",
    "late": "magenta",
    "not_applicable": "dim",
}


def out_console() -> Console:
    return Console(highlight=False)


def err_console() -> Console:
    return Console(stderr=True, highlight=False)


def urgency_style(ob: Obligation, now: datetime, within: timedelta) -> str:
    if ob.state == "overdue":
        return "bold red"
    if ob.state != "pending" or ob.due is None:
        return STATE_STYLE.get(ob.state, "")
    left = ob.due - now
    if left <= timedelta(hours=2):
        return "bold red"
    if left <= within:
        return "yellow"
    return ""


def due_cell(ob: Obligation, tz: str, now: datetime) -> tuple[str, str]:
    """(due text, countdown text) for one obligation."""
    if ob.due is None:
        if ob.due_kind == "asap" and ob.clock_start is not None:
            return "ASAP (no fixed time)", tu.elapsed(ob.clock_start, now)
        if ob.due_kind == "awaiting":
            return "—", ob.note or "waiting"
        return "—", ""
    due = tu.display(ob.due, tz)
    if ob.due_kind in ("provisional", "conditional"):
        due += f" ({ob.due_kind})"
    if ob.filing is not None:
        return due, f"filed {tu.display(ob.filing.at, tz)}"
    if ob.state == "not_applicable":
        return due, ""
    return due, tu.countdown(ob.due, now)


def deadlines_table(views: list[IncidentView], now: datetime, within: timedelta, title: str | None = None,
                    include_closed_states: bool = False, show_incident: bool = True) -> Table:
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    table.add_column("Due (local)", no_wrap=True)
    table.add_column("Countdown")
    if show_incident:
        table.add_column("Incident", no_wrap=True)
    table.add_column("Obligation")
    table.add_column("State", no_wrap=True)
    rows = []
    for v in views:
        for ob in v.obligations:
            if include_closed_states or ob.is_open:
                rows.append((v, ob))
    from ..deadlines import sort_key

    if not include_closed_states:
        rows.sort(key=lambda r: sort_key(r[1]))
    for v, ob in rows:
        tz = v.profile.timezone
        due, count = due_cell(ob, tz, now)
        style = urgency_style(ob, now, within)
        label = ob.stage + (f" #{ob.instance}" if ob.instance else "")
        cells = [Text(due, style=style), Text(count, style=style)]
        if show_incident:
            cells.append(Text(f"{v.incident.id}\n{v.incident.title}" if len(v.incident.title) < 40
                              else f"{v.incident.id}\n{v.incident.title[:37]}…"))
        cells.append(Text(label))
        cells.append(Text(ob.state.replace("_", " "), style=STATE_STYLE.get(ob.state, "")))
        table.add_row(*cells)
    return table


def status(views: list[IncidentView], now: datetime, within: timedelta, profile_name: str, tz: str) -> Group:
    header = Text(f"{profile_name} — as of {tu.display(now, tz, True)}", style="bold")
    open_views = [v for v in views if any(o.is_open for o in v.obligations)]
    if not open_views:
        return Group(header, Text("No open obligations."))
    n = sum(len([o for o in v.obligations if o.is_open]) for v in open_views)
    over = sum(1 for v in open_views for o in v.obligations if o.state == "overdue")
    summary = Text(f"{n} open obligation(s), {over} overdue, across {len(open_views)} incident(s)",
                   style="bold red" if over else "")
    return Group(header, summary, deadlines_table(open_views, now, within))


def incident_list(views: list[IncidentView], now: datetime) -> Table | Text:
    if not views:
        return Text("No incidents recorded. Record one with `nis2-incident open TITLE --aware WHEN`.")
    table = Table(pad_edge=False)
    for col in ("ID", "Title", "Status", "Aware (local)", "Next deadline", "Countdown"):
        table.add_column(col, no_wrap=col in ("ID", "Status"))
    for v in views:
        tz = v.profile.timezone
        nxt = v.next_obligation
        if nxt is None:
            nd, cd = "—", "nothing open"
        else:
            due, cd = due_cell(nxt, tz, now)
            nd = f"{nxt.stage}\n{due}"
        style = "bold red" if nxt is not None and nxt.state == "overdue" else ""
        table.add_row(v.incident.id, v.incident.title, v.incident.status, tu.display(v.incident.aware_at, tz),
                      nd, Text(cd, style=style))
    return table


def _yes_no(value) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def incident_detail(v: IncidentView, now: datetime, within: timedelta) -> Group:
    inc, tz = v.incident, v.profile.timezone
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    rows = [
        ("Incident", f"{inc.id} — {inc.title}"),
        ("Status", inc.status),
        ("Aware at (clock start)", tu.display(inc.aware_at, tz, True)),
        ("Detected at", tu.display(inc.detected_at, tz, True) if inc.detected_at else "not recorded"),
        ("Significance", inc.significance.replace("_", " ")
         + (f" — {inc.significance_rationale}" if inc.significance_rationale else "")),
        ("Suspected malicious", _yes_no(inc.malicious)),
        ("Cross-border impact", _yes_no(inc.cross_border)),
        ("Personal data", _yes_no(inc.personal_data)),
        ("High risk to data subjects", _yes_no(inc.high_risk)),
    ]
    for label, value in (("Summary", inc.summary), ("Severity", inc.severity), ("Impact", inc.impact),
                         ("Indicators of compromise", ", ".join(inc.iocs) if inc.iocs else None),
                         ("Root cause", inc.root_cause), ("Mitigations", inc.mitigations),
                         ("Handled at", tu.display(inc.handled_at, tz, True) if inc.handled_at else None),
                         ("Closed at", tu.display(inc.closed_at, tz, True) if inc.closed_at else None)):
        if value:
            rows.append((label, value))
    for label, value in rows:
        facts.add_row(label, value)

    obs = deadlines_table([v], now, within, title="Obligations", include_closed_states=True, show_incident=False)
    notes = [Text(f"{o.stage}: {o.note}", style="dim") for o in v.obligations if o.note]

    timeline = Table(title="Timeline (recorded events)", title_justify="left", pad_edge=False)
    for col in ("Seq", "Recorded at", "Effective at", "Event"):
        timeline.add_column(col, no_wrap=col != "Event")
    for t in inc.timeline:
        timeline.add_row(str(t.seq), tu.display(t.recorded_at, tz), tu.display(t.at, tz) if t.at else "", t.text)
    filings = Table(title="Filings", title_justify="left", pad_edge=False)
    for col in ("Stage", "Filed at", "Reference", "Channel", "Due then", "On time"):
        filings.add_column(col)
    for f in inc.filings:
        on_time = "late" + (f" — {f.late_reason}" if f.late_reason else " (no reason recorded)") if f.late else "yes"
        filings.add_row(f.stage, tu.display(f.at, tz), f.reference or "—", f.channel or "—",
                        tu.display(f.due, tz) if f.due else "—", on_time)
    parts = [facts, Text(""), obs, *notes]
    if inc.filings:
        parts += [Text(""), filings]
    parts += [Text(""), timeline]
    return Group(*parts)


def explanation(v: IncidentView, stage: str | None) -> Group:
    tz = v.profile.timezone
    parts = [Text(f"{v.incident.id} — {v.incident.title} (times in {tz})", style="bold")]
    for ob in v.obligations:
        if stage and ob.stage != stage:
            continue
        parts.append(Text(""))
        head = f"{ob.stage}{' #' + str(ob.instance) if ob.instance else ''} — {ob.title} / {ob.title_fr} → {ob.recipient}"
        parts.append(Text(head, style="bold"))
        parts.append(Text(f"  state: {ob.state.replace('_', ' ')}; due: "
                          f"{tu.display(ob.due, tz, True) if ob.due else ob.due_kind}"))
        parts.append(Text(f"  legal basis: {ob.article}"))
        for s in ob.steps:
            parts.append(Text(f"  • {s}"))
        if ob.note:
            parts.append(Text(f"  note: {ob.note}"))
        if ob.filing:
            f = ob.filing
            parts.append(Text(f"  filed: {tu.display(f.at, tz, True)}"
                              + (f", due then {tu.display(f.due, tz)}" if f.due else "")
                              + (" — late" if f.late else " — on time")))
        for c in ob.choices:
            parts.append(Text(f"  conservative choice: {c}", style="italic"))
    return Group(*parts)
