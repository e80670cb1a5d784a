"""`check` for cron and monitoring: findings, exit codes (monitoring-plugin convention), formats.

0 nothing due within the window · 1 something due within it (or a without-undue-delay report not
yet filed) · 2 something overdue · 3 the ledger could not be read or verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import timeutil as tu
from .deadlines import Obligation, sort_key
from .service import IncidentView

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS_WORD = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


@dataclass
class Finding:
    kind: str  # overdue | due_soon | target_passed | target_soon | asap
    view: IncidentView
    obligation: Obligation

    @property
    def level(self) -> int:
        return CRITICAL if self.kind in ("overdue", "target_passed") else WARNING


def findings(views: list[IncidentView], now: datetime, within: timedelta) -> list[Finding]:
    out = []
    for v in views:
        for ob in v.obligations:
            if ob.state == "overdue":
                out.append(Finding("overdue", v, ob))
            elif ob.state == "pending" and ob.due_kind == "conditional":
                continue  # the progress report while only conditional: the final report's finding covers it
            elif ob.state == "pending" and ob.due is not None and ob.due - now <= within:
                out.append(Finding("due_soon", v, ob))
            elif ob.state == "pending" and ob.due_kind == "asap":
                # Without undue delay: a finding until filed; the entity's own target, when set, is
                # treated like a deadline (labelled as the entity's, not the law's).
                if ob.target is not None and now > ob.target:
                    out.append(Finding("target_passed", v, ob))
                elif ob.target is not None and ob.target - now <= within:
                    out.append(Finding("target_soon", v, ob))
                else:
                    out.append(Finding("asap", v, ob))
    out.sort(key=lambda f: sort_key(f.obligation))
    return out


def exit_code(found: list[Finding]) -> int:
    return max((f.level for f in found), default=OK)


def text_line(f: Finding, now: datetime) -> str:
    ob, inc, tz = f.obligation, f.view.incident, f.view.profile.timezone
    if ob.due is None:
        when = f"without undue delay, {tu.elapsed(ob.clock_start, now)}" if ob.clock_start else "without undue delay"
        if ob.target is not None:
            when += f"; own target {tu.display(ob.target, tz)} ({tu.countdown(ob.target, now)})"
    else:
        when = f"due {tu.display(ob.due, tz)} ({tu.countdown(ob.due, now)})"
    word = {"overdue": "OVERDUE", "due_soon": "DUE SOON", "asap": "ASAP", "target_passed": "PAST OWN TARGET",
            "target_soon": "OWN TARGET SOON"}[f.kind]
    return f"{word} {inc.id} {ob.stage} {when} — {inc.title}"


def summary_line(found: list[Finding], within: timedelta, open_count: int) -> str:
    code = exit_code(found)
    over = sum(1 for f in found if f.kind == "overdue")
    soon = sum(1 for f in found if f.kind == "due_soon")
    asap = sum(1 for f in found if f.kind in ("asap", "target_passed", "target_soon"))
    window = tu.human_duration(within).replace(" ", "")
    text = f"{over} overdue, {soon} due within {window}, {asap} without undue delay"
    perf = f"overdue={over};;;0 due_soon={soon};;;0 asap={asap};;;0 open={open_count};;;0"
    return f"NIS2-INCIDENT {STATUS_WORD[code]} - {text} | {perf}"


def json_record(f: Finding, now: datetime) -> dict:
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
    }
