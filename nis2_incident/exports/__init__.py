"""`export`: the whole record as JSON (versioned, with a published JSON Schema), one CSV row per
obligation, and an iCalendar feed of the open deadlines with alarms.

Pure: every function takes what it shows (views, events, `now`); nothing reads the clock or a file
but the shipped schema. `icalendar` is imported inside `ics`, so `check` never loads it.

iCalendar feed: one VEVENT at the due instant of each open obligation (pending or overdue), and one at
the entity's own target of a without-undue-delay stage (labelled as the entity's, not the law's); the
progress report while only conditional is left out, as on the dashboard (the final report's event, at
the same instant, stands for it). Each event carries one VALARM per alarm duration before it. The UID
is `<incident>.<stage>[.<instance>][.target].<ledger id>@nis2-incident`, where the ledger id is the start
of the hash of the ledger's first event: the same obligation keeps its UID across exports (a re-import
updates it, SEQUENCE is the ledger's head seq), and two ledgers never share one.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from importlib import resources

from .. import __version__
from .. import timeutil as tu
from ..deadlines import Obligation
from ..service import IncidentView

FORMAT = "nis2-incident-export"
FORMAT_VERSION = 1
FORMATS = ("json", "csv", "ics", "toml", "jsonl")
SCHEMA_FILE = "export.schema.json"

CSV_COLUMNS = (
    "incident", "incident_title", "incident_status", "aware_at", "regime", "stage", "instance", "title",
    "title_fr", "recipient", "recipient_channel", "article", "state", "due_kind", "due", "target",
    "clock_start", "submitted_at", "late", "reference", "channel", "late_reason", "draft_sha256", "note",
)


def schema() -> dict:
    """The published JSON Schema of the JSON export (shipped beside this module)."""
    return json.loads(resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def record(incidents, events, event_count: int, profile: dict, now: datetime, tz: str,
           ledger_path: str, schema_version: int, head: str) -> dict:
    """The whole record: the profile, every incident as `show --json` prints it, and the chained events
    themselves, so the export can be verified against the ledger's head. `incidents` (each as
    `render.jsonout.detail` makes it, or its `Dumped` text) and `events` are iterables, written one
    item at a time (`render.jsonout.chunks`)."""
    from ..render.jsonout import Lazy

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        # with `profile` and `events`, this makes the export a JSON ledger document that any nis2-incident
        # reads (`--ledger export.json verify`): the other keys are kept as other tools' keys
        "schema_version": schema_version,
        "generator": f"nis2-incident {__version__}",
        "generated_at": tu.rfc3339(now, tz),
        "timezone": tz,
        "ledger": {"path": ledger_path, "schema_version": schema_version, "head": head, "events": event_count},
        "profile": profile,
        "incidents": Lazy(incidents),
        "events": Lazy(events),
    }


def csv_header() -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(CSV_COLUMNS)
    return buf.getvalue()


def csv_rows(v: IncidentView) -> str:
    """The CSV rows of one incident: one per obligation (see `csv_chunks`)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    inc, tz = v.incident, v.profile.timezone
    for ob in v.obligations:
        f = ob.filing
        row = {
            "incident": inc.id, "incident_title": inc.title, "incident_status": inc.status,
            "aware_at": tu.rfc3339(inc.aware_at, tz), "regime": ob.regime, "stage": ob.stage,
            "instance": ob.instance or "", "title": ob.title, "title_fr": ob.title_fr,
            "recipient": ob.recipient, "recipient_channel": ob.channel, "article": ob.article,
            "state": ob.state, "due_kind": ob.due_kind, "due": tu.rfc3339(ob.due, tz) or "",
            "target": tu.rfc3339(ob.target, tz) or "", "clock_start": tu.rfc3339(ob.clock_start, tz) or "",
            "submitted_at": tu.rfc3339(f.at, tz) if f else "",
            "late": ("true" if f.late else "false") if f else "",
            "reference": (f.reference or "") if f else "", "channel": (f.channel or "") if f else "",
            "late_reason": (f.late_reason or "") if f else "",
            "draft_sha256": (f.draft_sha256 or "") if f else "", "note": ob.note or "",
        }
        writer.writerow([row[c] for c in CSV_COLUMNS])
    return buf.getvalue()


def csv_counted(v: IncidentView) -> str:
    """`csv_rows` after a first line giving their number (how `export` keeps a settled incident's rows,
    `Service.texts`: the count is not found again by parsing them)."""
    return f"{len(v.obligations)}\n{csv_rows(v)}"


def csv_chunks(views, tally: dict | None = None):
    """One row per obligation (every state), for spreadsheets. UTF-8, comma-separated, CRLF (RFC 4180);
    written an incident at a time. `tally["rows"]` counts the obligations written."""
    yield csv_header()
    for v in views:
        yield csv_rows(v)
        if tally is not None:
            tally["rows"] = tally.get("rows", 0) + len(v.obligations)


def csv_text(views) -> str:
    return "".join(csv_chunks(views))


def ledger_id(events: list[dict] | str) -> str:
    """A stable id of this ledger: the start of its first event's hash (`events`: the ledger's
    events, or that hash; empty for a ledger without events)."""
    if isinstance(events, str):
        return events[:16] or "empty"
    return events[0]["hash"][:16] if events else "empty"


def calendar_items(views: list[IncidentView]) -> list[tuple[IncidentView, Obligation, str, datetime]]:
    """(view, obligation, kind, instant) for each event of the feed; kind is `due` or `target`."""
    items = []
    for v in views:
        for ob in v.obligations:
            if not ob.is_open or ob.due_kind == "conditional":
                continue
            if ob.due is not None:
                items.append((v, ob, "due", ob.due))
            elif ob.target is not None:
                items.append((v, ob, "target", ob.target))
    return items


def uid(view: IncidentView, ob: Obligation, kind: str, ident: str) -> str:
    parts = [view.incident.id, ob.stage]
    if ob.instance:
        parts.append(str(ob.instance))
    if kind == "target":
        parts.append("target")
    parts.append(ident)
    return ".".join(parts) + "@nis2-incident"


def _utc_zone(tz: str) -> bool:
    return tz.upper() in ("UTC", "ETC/UTC", "ETC/UCT", "UCT", "GMT", "ETC/GMT", "ZULU", "ETC/ZULU")


def ics(views: list[IncidentView], events: list[dict] | str, entity: str, tz: str, alarms: list[timedelta],
        now: datetime, head_seq: int) -> bytes:
    """The feed of the open obligations of `views` (those of settled incidents have none); `events`:
    the ledger's, or its first event's hash (see `ledger_id`)."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", f"-//nis2-incident//nis2-incident {__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{entity} — incident reporting deadlines")
    cal.add("x-wr-timezone", tz)
    ident = ledger_id(events)
    items = calendar_items(views)
    stamp = now.astimezone(tu.UTC).replace(microsecond=0)
    for v, ob, kind, instant in items:
        inc = v.incident
        # RFC 5545 §3.3.5: a TZID local time that happens twice (25 Oct 2026 02:30 in Paris) is read as
        # its first occurrence; such an instant is written in UTC (`...Z`) so it decodes to itself
        in_utc = _utc_zone(tz) or tu.local_is_ambiguous(instant, tz)
        local = instant.astimezone(tu.UTC) if in_utc else tu.to_local(instant, tz)
        ev = icalendar.Event()
        ev.add("uid", uid(v, ob, kind, ident))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", local.replace(microsecond=0))
        ev.add("sequence", head_seq)
        label = f"{ob.stage}{' #' + str(ob.instance) if ob.instance else ''}"
        if kind == "due":
            summary = f"{'OVERDUE: ' if ob.state == 'overdue' else ''}{label} due — {inc.id} {inc.title}"
            when = f"Due: {tu.display(instant, tz, True)}" + (f" ({ob.due_kind})" if ob.due_kind != "deadline" else "")
        else:
            summary = f"{label} own target — {inc.id} {inc.title}"
            when = (f"The entity's own target (not a legal deadline): {tu.display(instant, tz, True)}; "
                    "the law says without undue delay")
        ev.add("summary", summary)
        lines = [
            f"{ob.title_fr} / {ob.title} ({label})",
            when,
            f"Recipient: {ob.recipient} — {ob.channel}",
            f"Legal basis: {ob.article}",
            f"Incident: {inc.id} — {inc.title} (aware at {tu.display(inc.aware_at, tz, True)})",
            f"Draft: nis2-incident draft {inc.id} {ob.stage}",
        ]
        if ob.note:
            lines.append(f"Note: {ob.note}")
        ev.add("description", "\n".join(lines))
        ev.add("categories", [ob.regime.upper()])
        ev.add("status", "CONFIRMED")
        ev.add("transp", "TRANSPARENT")
        for before in alarms:
            alarm = icalendar.Alarm()
            alarm.add("uid", f"{uid(v, ob, kind, ident)}.alarm-{int(before.total_seconds())}")
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", -before)
            alarm.add("description", f"{label} {'due' if kind == 'due' else 'own target'} in "
                                     f"{tu.human_duration(before)} — {inc.id} {inc.title}")
            ev.add_component(alarm)
        cal.add_component(ev)
    if items and not _utc_zone(tz):
        years = [i[3].year for i in items]
        cal.add_missing_timezones(first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1))
    return cal.to_ical()
