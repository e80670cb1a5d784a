"""Rich views for people: dashboard, list, one incident, the arithmetic. Readable without colour
(NO_COLOR, pipes): every state is also a word, every time carries its offset."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from rich.console import Console, Group
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from .. import timeutil as tu
from .safe import printable
from ..deadlines import Obligation
from ..service import IncidentView

STATE_STYLE = {
    "overdue": "bold white on red",
    "pending": "",
    "met": "green",
    "late": "magenta",
    "not_applicable": "dim",
    "not_in_force": "dim",
}


class SafeConsole(Console):
    """A Console that never sends a control character of user text to the terminal (issue 14): every
    text segment passes through `safe.printable` (newlines kept); Rich's own control segments (the live
    view's cursor moves) and its styles are left as they are."""

    def _render_buffer(self, buffer):
        return super()._render_buffer(
            segment if segment.control else Segment(printable(segment.text, newlines=True), segment.style)
            for segment in buffer)


def out_console() -> Console:
    """The console of every view. User text is data: no markup, no emoji codes, no highlighting, so
    every string (a title `Panne [/b] PACS`, a summary `:fire:`) is drawn exactly as stored."""
    return SafeConsole(highlight=False, markup=False, emoji=False)


# A countdown's amounts stay with their units ("1 d 8 h" never becomes "1" / "d 8 h"), a time with its
# offset, and a stage name whole: the pieces a line may break between.
_PIECE = re.compile(r"\d+ (?:d|h|min|s|D|H|MIN|S)\b|\d{4}-\d\d-\d\d \d\d:\d\d(?: [+-]\d\d:\d\d)?|\S+")


def wrap_pieces(text: str, width: int) -> str:
    """`text` wrapped to `width` between pieces (see `_PIECE`), each line of it on its own; a piece
    longer than the width keeps its own line (the table then folds it, rather than cut a name)."""
    out = []
    for line in text.split("\n"):
        current = ""
        for piece in _PIECE.findall(line):
            if current and len(current) + 1 + len(piece) > width:
                out.append(current)
                current = piece
            else:
                current = f"{current} {piece}" if current else piece
        out.append(current)
    return "\n".join(out)


def two_lines(title: str, width: int) -> str:
    """A title in a table cell: wrapped between words to `width`, at most two lines, the cut marked
    `…` (`show` gives it whole)."""
    import textwrap

    lines = textwrap.wrap(title, width, break_long_words=True, break_on_hyphens=False) or [""]
    if len(lines) <= 2:
        return "\n".join(lines)
    last = textwrap.shorten(" ".join(lines[1:]), width=max(4, width), placeholder=" …")
    if last == "…" or len(last) > width:
        last = lines[1][: max(1, width - 1)] + "…"
    return f"{lines[0]}\n{last}"


def urgency_style(ob: Obligation, now: datetime, within: timedelta) -> str:
    if ob.state == "overdue":
        return "bold red"
    when = ob.due or ob.target
    if ob.state != "pending" or when is None:
        return "yellow" if ob.state == "pending" and ob.due_kind == "asap" else STATE_STYLE.get(ob.state, "")
    left = when - now
    if left <= timedelta(hours=2):
        return "bold red"
    if left <= within:
        return "yellow"
    return ""


def due_cell(ob: Obligation, tz: str, now: datetime, seconds: bool = False) -> tuple[str, str]:
    """(due text, detail text) for one obligation: the detail is a countdown, the time elapsed for a
    without-undue-delay stage, the filing time, or why there is no due time yet."""
    if ob.due is None:
        if ob.due_kind == "asap" and ob.clock_start is not None and ob.filing is None:
            if ob.target is not None:
                left = tu.countdown(ob.target, now, seconds).replace("overdue by", "past target by")
                return (f"ASAP; own target\n{tu.display(ob.target, tz)}",
                        f"{left}\n{tu.elapsed(ob.clock_start, now, seconds)}")
            return "ASAP (no fixed time)", tu.elapsed(ob.clock_start, now, seconds)
        if ob.filing is not None:
            return "—", f"filed {tu.display(ob.filing.at, tz)}"
        return "—", ob.note or ""
    due = tu.display(ob.due, tz)
    if ob.due_kind in ("provisional", "conditional"):
        due += f"\n({ob.due_kind})"
    if ob.filing is not None:
        return due, f"filed {tu.display(ob.filing.at, tz)}"
    if ob.state == "not_applicable":
        return due, ob.note or ""
    return due, tu.countdown(ob.due, now, seconds)


def obligation_marks(ob: Obligation) -> str:
    """What the dashboard adds under a stage's name (issue 17): a rule not in force at aware-at, and
    undecided facts the obligation rests on (`triage ID` asks them)."""
    marks = ""
    if not ob.in_force:
        marks += "\nnot yet in force\nin France" if "not yet" in (ob.in_force_note or "not yet") else "\nnot in force"
    if ob.undetermined and ob.state != "not_applicable":
        marks += "\nundetermined:" + "".join(f"\n{fact}" for fact in ob.undetermined)
    return marks


def _table(title: str | None = None) -> Table:
    from rich import box

    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)


def dashboard_rows(views: list[IncidentView], now: datetime | None = None) -> list:
    """The dashboard's (view, obligation) rows, most urgent first (`deadlines.sort_key`, the one order
    of urgency). The progress report is left out while it is only conditional: the final report's row,
    due at the same instant, stands for both until then (its note says so in `show`)."""
    from ..deadlines import sort_key

    rows = [(v, ob) for v in views for ob in v.obligations if ob.is_open and ob.due_kind != "conditional"]
    rows.sort(key=lambda r: sort_key(r[1], now))
    return rows


def deadlines_table(views: list[IncidentView], now: datetime, within: timedelta, title: str | None = None,
                    include_closed_states: bool = False, show_incident: bool = True, seconds: bool = False,
                    limit: int | None = None) -> Table:
    """Open obligations (the dashboard; the first `limit` rows) or every obligation of one incident
    (`show`), 80 columns wide."""
    table = _table(title)
    table.add_column("Due (local time)", no_wrap=True, min_width=23)
    if show_incident:  # fixed widths, the rest of the line for the incident (see below)
        table.add_column("Countdown" if not include_closed_states else "State", min_width=15, max_width=15,
                         no_wrap=False)
        table.add_column("Obligation", no_wrap=False, overflow="fold", min_width=18, max_width=18)
    else:
        table.add_column("Countdown" if not include_closed_states else "State", min_width=30, no_wrap=False)
        table.add_column("Obligation", no_wrap=True, min_width=18)
    room = 0
    if show_incident:
        # the rest of the line; titles wrap within it, to at most two lines (Rich, left to share the
        # width, wrapped them one character wider than it drew them)
        room = max(12, min(60, out_console().width - 65))
        table.add_column("Incident", no_wrap=False, overflow="fold", min_width=room, max_width=room)
    if include_closed_states:
        rows = [(v, ob) for v in views for ob in v.obligations]
    else:
        rows = dashboard_rows(views, now)[:limit]
    for v, ob in rows:
        due, detail = due_cell(ob, v.profile.timezone, now, seconds)
        style = urgency_style(ob, now, within)
        label = ob.stage + (f" #{ob.instance}" if ob.instance > 1 else "") + obligation_marks(ob)
        if include_closed_states:  # one incident: say the state, then the detail
            detail = ob.state.replace("_", " ") + (f"\n{detail}" if detail else "")
        elif ob.state == "overdue":
            detail = detail.upper()
        cells = [Text(due, style=style), Text(wrap_pieces(detail, 15 if show_incident else 30), style=style),
                 Text(label)]
        if show_incident:
            cells.append(Text(f"{v.incident.id}\n{two_lines(v.incident.title, room)}"))
        table.add_row(*cells)
    return table


def status(views: list[IncidentView], now: datetime, within: timedelta, profile_name: str, tz: str,
           seconds: bool = False, limit: int | None = None) -> Group:
    """The dashboard; with `seconds` (the live `status --watch`), the clock and countdowns to the second;
    with `limit`, only the most urgent rows, and a line saying how many more there are."""
    as_of = tu.display(now, tz, True)
    if seconds:
        local = tu.to_local(now, tz)
        as_of = f"{local:%Y-%m-%d %H:%M:%S} {tu.fmt_offset(local.utcoffset())} {local.tzname()}"
    header = Text(f"{profile_name} — as of {as_of}", style="bold")
    open_views = [v for v in views if v.open_obligations]
    if not open_views:
        return Group(header, Text("No open obligations."))
    n = sum(len(v.open_obligations) for v in open_views)
    over = sum(1 for v in open_views for o in v.obligations if o.state == "overdue")
    summary = Text(f"{n} open obligation(s), {over} overdue, across {len(open_views)} incident(s)",
                   style="bold red" if over else "")
    table = deadlines_table(open_views, now, within, seconds=seconds, limit=limit)
    more = n - table.row_count
    if limit is None or more <= 0:
        return Group(header, summary, table)
    return Group(header, summary, table,
                 Text(f"… and {more} more, less urgent (a taller terminal or `status` shows all)", style="bold"))


def incident_list(views, now: datetime) -> Table | Text:
    """`views`: any iterable (each view is dropped once its row is made). The next deadline, its due
    time and countdown share a column, which never wraps; the title has the rest, on two lines at most."""
    from ..deadlines import sort_key

    table = _table()
    table.add_column("ID", no_wrap=True)
    room = max(12, min(60, out_console().width - 56))
    table.add_column("Title", no_wrap=False, overflow="fold", min_width=room, max_width=room)
    table.add_column("Status", no_wrap=True)
    table.add_column("Next deadline", no_wrap=True, min_width=24)
    for v in views:
        tz = v.profile.timezone
        nxt = min(v.open_obligations, key=lambda o: sort_key(o, now), default=None)
        if nxt is None:
            cell = Text("nothing open")
        else:
            due, cd = due_cell(nxt, tz, now)
            style = "bold red" if nxt.state == "overdue" else ""
            cell = Text(f"{nxt.stage}\n{due}\n")
            cell.append(wrap_pieces(cd, 24), style=style)
        table.add_row(v.incident.id, two_lines(v.incident.title, room), v.incident.status, cell)
    if not table.row_count:
        return Text("No incidents recorded. Record one with `nis2-incident open TITLE --aware WHEN`.")
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
    # issue 17: the facts of the other regimes, shown once recorded (`triage ID` asks the rest)
    for label, value in (("Essential service disrupted", inc.service_disruption), ("Major (DORA)", inc.major),
                         ("Classified major at", inc.classified_major_at),
                         ("Exploited vulnerability", inc.vulnerability_exploited),
                         ("Severe product incident", inc.severe_incident),
                         ("Corrective measure at", inc.corrective_measure_at), ("Patient harm", inc.patient_harm),
                         ("Public health threat", inc.public_health_threat), ("Medical device", inc.device_involved),
                         ("High-risk AI system", inc.ai_system_involved),
                         ("Widespread infringement", inc.widespread_infringement)):
        if value is not None:
            rows.append((label, tu.display(value, tz, True) if isinstance(value, datetime)
                         else _yes_no(value) if isinstance(value, bool) else str(value)))
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

    # 80 columns: the two instants of an event share a column, as the filing and its due time do, so the
    # text (an event, a reference) has the room to stay whole
    timeline = _table("Timeline (recorded events)")
    timeline.add_column("Seq", no_wrap=True)
    timeline.add_column("Recorded at\n(effective at)", no_wrap=True)
    timeline.add_column("Event", overflow="fold")
    for t in inc.timeline:
        when = tu.display(t.recorded_at, tz)
        if t.at and t.at != t.recorded_at:
            when += f"\n({tu.display(t.at, tz)})"
        timeline.add_row(str(t.seq), when, Text(t.text))
    filings = _table("Filings")
    filings.add_column("Stage", no_wrap=True)
    filings.add_column("Filed at\n(due then)", no_wrap=True)
    filings.add_column("On time", overflow="fold")
    filings.add_column("Reference / channel", overflow="fold")
    now_state = {o.filing.seq: o for o in v.obligations if o.filing is not None and o.state in ("met", "late")}
    for f in inc.filings:
        on_time = "late" + (f" — {f.late_reason}" if f.late_reason else " (no reason recorded)") if f.late else "yes"
        ob = now_state.get(f.seq)
        if ob is not None and (ob.state == "late") != f.late:  # issue 12: the facts were amended since
            on_time = (f"{'yes' if not f.late else 'late'} at filing, against the aware-at recorded then; now "
                       f"{'late' if ob.state == 'late' else 'on time'} (due {tu.display(ob.due, tz)})"
                       + (f" — {f.late_reason}" if f.late_reason else
                          " (no reason recorded)" if ob.state == "late" else ""))
        filed = tu.display(f.at, tz) + (f"\n({tu.display(f.due, tz)})" if f.due else "")
        filings.add_row(f.stage, filed, Text(on_time),
                        Text(" / ".join(x for x in (f.reference, f.channel) if x) or "—"))
    parts = [facts, Text(""), obs]
    if inc.filings:
        parts += [Text(""), filings]
        for f in inc.filings:  # the proof of what was sent (`submit --draft FILE`): compare with sha256sum
            if f.draft_sha256:
                parts.append(Text(f"Draft SHA-256 of {f.stage} filed {tu.display(f.at, tz)}:\n  {f.draft_sha256}"))
    parts += [Text(""), timeline]
    return Group(*parts)


def _hanging(prefix: str, text: str, style: str = "", width: int | None = None) -> Table:
    """A line of `explain` whose continuation lines keep their indent (under the text, not the margin).
    `width`: the console's (asked once per view by `explanation`: a Console per line cost 80 of them)."""
    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    width = out_console().width if width is None else width
    grid.add_row(Text(prefix, style=style), Text(wrap_pieces(text, max(20, width - len(prefix))), style=style))
    return grid


def explanation(v: IncidentView, stage: str | None) -> Group:
    tz = v.profile.timezone
    width = out_console().width

    def _hanging_line(prefix: str, text: str, style: str = "") -> Table:
        return _hanging(prefix, text, style, width)
    parts = [Text(f"{v.incident.id} — {v.incident.title} (times in {tz})", style="bold")]
    for ob in v.obligations:
        if stage and ob.stage != stage:
            continue
        parts.append(Text(""))
        head = f"{ob.stage}{' #' + str(ob.instance) if ob.instance else ''} — {ob.title} / {ob.title_fr} → {ob.recipient}"
        parts.append(Text(head, style="bold"))
        parts.append(_hanging_line("  state: ", f"{ob.state.replace('_', ' ')}; due: "
                              f"{tu.display(ob.due, tz, True) if ob.due else ob.due_kind}"))
        parts.append(_hanging_line("  legal basis: ", ob.article))
        if not ob.in_force:
            parts.append(_hanging_line("  in force: ", f"no: {ob.in_force_note}"))
        if ob.undetermined and ob.state != "not_applicable":
            parts.append(_hanging_line("  rests on undetermined facts: ", ", ".join(ob.undetermined)
                                  + " (counted as applying until decided; `triage ID` asks them)"))
        for s in ob.steps:
            parts.append(_hanging_line("  • ", s))
        if ob.note:
            parts.append(_hanging_line("  note: ", ob.note))
        if ob.filing:
            f = ob.filing
            line = (f"{tu.display(f.at, tz, True)}" + (f", due then {tu.display(f.due, tz)}" if f.due else "")
                    + (" — late" if f.late else " — on time"))
            if ob.state in ("met", "late") and (ob.state == "late") != f.late:  # issue 12
                line += (" at filing, against the aware-at recorded then; now "
                         + ("late" if ob.state == "late" else "on time")
                         + (f" against the facts as they stand (due {tu.display(ob.due, tz)})" if ob.due else ""))
            if f.late_reason:
                line += f"; reasons for the delay: {f.late_reason}"
            parts.append(_hanging_line("  filed: ", line))
        for c in ob.choices:  # text, or a text computed when shown (`deadlines.LatestArguable`)
            parts.append(_hanging_line("  conservative choice: ", str(c), style="italic"))
        for point in ob.unconfirmed:  # issue 17: not confirmed in the official text (README: Unconfirmed points)
            parts.append(_hanging_line("  unconfirmed: ", point, style="italic"))
    return Group(*parts)
