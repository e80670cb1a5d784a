"""`check` for cron and monitoring: findings, the reminder ladder, what is new, and the output formats.

Pure: no I/O, no clock (the state file is `alert_state`, the syslog call and stdout are `cli/check`).

Exit codes follow the monitoring-plugin convention: 0 nothing due within the window and no reminder
step crossed · 1 something due within the window, or past a step of its reminder ladder, or a
without-undue-delay report not yet filed · 2 something overdue (or past the entity's own target) ·
3 the ledger could not be read or verified. The exit code and the summary always describe the current
state; the reminder ladder only decides which findings are *new*, i.e. worth announcing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import timeutil as tu
from .render.safe import printable
from .deadlines import Obligation, sort_key
from .ladder import Ladders, Mark

if TYPE_CHECKING:  # only for annotations: keeps this module's imports light
    from .service import IncidentView

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS_WORD = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
KINDS = ("overdue", "due_soon", "asap", "target_passed", "target_soon")
WORD = {"overdue": "OVERDUE", "due_soon": "DUE SOON", "asap": "ASAP", "target_passed": "PAST OWN TARGET",
        "target_soon": "OWN TARGET SOON"}
# Stable message ids (syslog, JSON `msgid`): one per kind, for SIEM and log-filter rules.
MSGID = {"overdue": "NIS2INC-OVERDUE", "due_soon": "NIS2INC-DUE-SOON", "asap": "NIS2INC-ASAP",
         "target_passed": "NIS2INC-TARGET-PASSED", "target_soon": "NIS2INC-TARGET-SOON"}
MSGID_UNKNOWN = "NIS2INC-UNKNOWN"
# An announcement recorded by a run whose clock was this far ahead of the current one (a preview with
# `--now` in the future) is disregarded, so a look ahead never silences the real reminders.
FUTURE_SLACK = timedelta(minutes=5)


@dataclass
class Finding:
    kind: str  # overdue | due_soon | asap | target_passed | target_soon
    view: "IncidentView"
    obligation: Obligation
    mark: Mark | None = None  # the latest crossed step of its ladder (None: only within the window)
    anchor: datetime | None = None  # what the marks count to: the due instant, the own target, or the clock start

    @property
    def level(self) -> int:
        return CRITICAL if self.kind in ("overdue", "target_passed") else WARNING

    @property
    def key(self) -> str:
        """The obligation's name in the state file: `INC-2026-001 nis2.early_warning` (`#2` for a
        second intermediate report)."""
        ob = self.obligation
        return f"{self.view.incident.id} {ob.stage}" + (f"#{ob.instance}" if ob.instance else "")

    @property
    def msgid(self) -> str:
        return MSGID[self.kind]


def _ladders(profile, cache: dict) -> Ladders:
    key = id(profile)
    if key not in cache:
        cache[key] = Ladders(profile.reminders, profile.reminder_every)
    return cache[key]


def classify(ob: Obligation, view: "IncidentView", now: datetime, within: timedelta, ladders: Ladders) -> Finding | None:
    """The finding an open obligation makes at `now`, with its latest crossed mark; None if none."""
    if ob.state == "overdue" and ob.due is not None:
        return Finding("overdue", view, ob, ladders.repeat(ob.due, now, "overdue"), ob.due)
    if ob.state != "pending" or ob.due_kind == "conditional":
        # A progress report while only conditional: the final report's finding covers it.
        return None
    if ob.due is not None:
        mark = ladders.latest_before(ob.clock_start, ob.due, now)
        if mark is not None or ob.due - now <= within:
            return Finding("due_soon", view, ob, mark, ob.due)
        return None
    if ob.due_kind != "asap" or ob.clock_start is None:
        return None  # awaiting its clock start (e.g. the final report of an ongoing incident)
    # Without undue delay: a finding from the clock start until filed. The entity's own target, when
    # set, is treated like a deadline (labelled as the entity's, not the law's).
    if ob.target is not None:
        if now > ob.target:
            return Finding("target_passed", view, ob, ladders.repeat(ob.target, now, "target-passed"), ob.target)
        mark = ladders.latest_before(ob.clock_start, ob.target, now)
        if mark is not None or ob.target - now <= within:
            return Finding("target_soon", view, ob, mark, ob.target)
    return Finding("asap", view, ob, ladders.repeat(ob.clock_start, now, "started"), ob.clock_start)


def findings(views: list["IncidentView"], now: datetime, within: timedelta) -> list[Finding]:
    """Every current finding, most urgent first (the same whatever was announced before)."""
    out, cache = [], {}
    for v in views:
        ladders = _ladders(v.profile, cache)
        for ob in v.obligations:
            found = classify(ob, v, now, within, ladders)
            if found is not None:
                out.append(found)
    out.sort(key=lambda f: sort_key(f.obligation, now))
    return out


def exit_code(found: list[Finding]) -> int:
    return max((f.level for f in found), default=OK)


# --- what is new -----------------------------------------------------------------------------

def is_new(f: Finding, entry: dict | None, now: datetime) -> bool:
    """Has `f`'s latest crossed mark not been announced yet, per the state file's `entry`?"""
    if f.mark is None:
        return False  # only within the window: the ladder decides what is announced
    if not isinstance(entry, dict):
        return True
    try:
        if entry["anchor"] != tu.rfc3339(f.anchor):
            return True  # the deadline moved: say so
        if tu.parse_instant(entry["now"]) > now + FUTURE_SLACK:
            return True  # recorded by a run whose clock was ahead of this one (a preview)
        step_at = tu.parse_instant(entry["step_at"])
        if step_at > now + FUTURE_SLACK:
            return True  # a step no run can have crossed yet (a crafted or damaged entry): never silences
        return f.mark.at > step_at  # a later step was crossed
    except (KeyError, TypeError, ValueError):
        return True  # an entry we cannot read counts as never announced


def entry(f: Finding, now: datetime) -> dict:
    return {"anchor": tu.rfc3339(f.anchor), "step": f.mark.step, "step_at": tu.rfc3339(f.mark.at),
            "now": tu.rfc3339(now)}


def select_new(found: list[Finding], announced: dict, now: datetime) -> tuple[list[Finding], dict]:
    """(findings to announce now, the state to keep). The state keeps one entry per current finding
    with a crossed mark; entries of obligations that are no longer findings are dropped."""
    new, keep = [], {}
    for f in found:
        if f.mark is None:
            continue
        old = announced.get(f.key)
        if is_new(f, old, now):
            new.append(f)
            keep[f.key] = entry(f, now)
        else:
            keep[f.key] = old
    return new, keep


# --- formats ---------------------------------------------------------------------------------

def _why_soon(f: Finding, now: datetime, within: timedelta | None) -> str:
    """What makes a finding due soon: the window (`--within`, else the profile's `check_within`), or
    a crossed reminder step (issue 16: named on the line, not only in the summary)."""
    if within is None or f.kind not in ("due_soon", "target_soon"):
        return ""
    if f.anchor is not None and f.anchor - now <= within:
        return f"; within the {tu.human_duration(within)} window"
    return f"; reminder step {f.mark.step}" if f.mark is not None else ""


def text_line(f: Finding, now: datetime, within: timedelta | None = None) -> str:
    ob, inc, tz = f.obligation, f.view.incident, f.view.profile.timezone
    why = _why_soon(f, now, within)
    if ob.due is None:
        when = f"without undue delay, {tu.elapsed(ob.clock_start, now)}" if ob.clock_start else "without undue delay"
        if ob.target is not None:
            when += f"; own target {tu.display(ob.target, tz)} ({tu.countdown(ob.target, now)}{why})"
    else:
        when = f"due {tu.display(ob.due, tz)} ({tu.countdown(ob.due, now)}{why})"
    return f"{WORD[f.kind]} {inc.id} {ob.stage} {when} — {printable(inc.title)}"  # one line, inert (issue 14)


def counts(found: list[Finding]) -> dict[str, int]:
    return {
        "overdue": sum(1 for f in found if f.kind == "overdue"),
        "due_soon": sum(1 for f in found if f.kind == "due_soon"),
        "asap": sum(1 for f in found if f.kind in ("asap", "target_passed", "target_soon")),
    }


def perfdata(found: list[Finding], open_count: int) -> str:
    """Nagios perfdata: `label=value[UOM];[warn];[crit];[min];[max]`, space-separated."""
    c = counts(found)
    return " ".join(f"{label}={value};;;0" for label, value in (*c.items(), ("open", open_count)))


def summary_line(found: list[Finding], within: timedelta, open_count: int) -> str:
    """`NIS2-INCIDENT WARNING - 0 overdue, 1 due soon, 0 without undue delay (window 6h) | perfdata`."""
    c = counts(found)
    window = tu.human_duration(within).replace(" ", "")
    text = f"{c['overdue']} overdue, {c['due_soon']} due soon, {c['asap']} without undue delay (window {window})"
    return f"NIS2-INCIDENT {STATUS_WORD[exit_code(found)]} - {text} | {perfdata(found, open_count)}"


def unknown_line(message: str) -> str:
    return f"NIS2-INCIDENT UNKNOWN - {message}"


def unknown_record(message: str) -> dict:
    """`check --json` when the ledger (or the command line) cannot be used: one finding of level
    unknown, so a SIEM reading stdout alone sees it (the keys of `json_record`, null where unknown)."""
    return {"level": "unknown", "kind": "unknown", "incident": None, "title": None, "regime": None,
            "stage": None, "state": None, "due": None, "seconds_left": None, "target": None,
            "clock_start": None, "now": None, "instance": None, "step": None, "step_at": None, "new": True,
            "msgid": MSGID_UNKNOWN, "message": message}


def json_record(f: Finding, now: datetime, new: bool = True) -> dict:
    ob, inc, tz = f.obligation, f.view.incident, f.view.profile.timezone
    return {
        "level": STATUS_WORD[f.level].lower(),
        "kind": f.kind,
        "incident": inc.id,
        "title": inc.title,
        "regime": ob.regime,
        "stage": ob.stage,
        "state": ob.state,
        "due": tu.rfc3339(ob.due, tz),
        "seconds_left": int((ob.due - now).total_seconds()) if ob.due else None,
        "target": tu.rfc3339(ob.target, tz),
        "clock_start": tu.rfc3339(ob.clock_start, tz),
        "now": tu.rfc3339(now, tz),
        # additions (issue 5): the reminder step and whether this run announces it for the first time
        "instance": ob.instance or None,
        "step": f.mark.step if f.mark else None,
        "step_at": tu.rfc3339(f.mark.at, tz) if f.mark else None,
        "new": new,
        "msgid": f.msgid,
    }


def syslog_message(f: Finding, now: datetime, within: timedelta | None = None) -> str:
    """`NIS2INC-OVERDUE step=overdue+6h OVERDUE INC-2026-001 nis2.early_warning due ... — title`."""
    return f"{f.msgid} step={f.mark.step if f.mark else '-'} {text_line(f, now, within)}"
