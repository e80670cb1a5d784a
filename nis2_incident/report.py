"""The board briefing and the auditor's evidence pack (issue 18): the report's figures.

`period()` reads `--period` / `--from` / `--to`; `build()` computes every figure of the report from
the incidents' views at `now` (a pure function: no I/O, no clock; the evidence read from the ledger
is passed in). The result is plain data (str, int, float, None, lists, dicts) with stable keys and
instants as RFC 3339 strings with the offset of the profile's zone: `--format json` prints it as it
is, and the HTML and Markdown renderings (`render/report.py`) only lay it out.

What "in the period" means (README: Reports), one rule for every figure:

- an incident is in the period when its aware-at (the instant its clocks start) is in it;
- an obligation is in the period when its due instant is in it (for a without-undue-delay stage,
  which has no due instant: its own target, else its clock start); a progress report that is only
  conditional (the final report due at the same instant stands for it) and stages that do not apply
  are left out;
- the period is half-open, [from, to): a quarter ends at midnight of its last day's next day.

An obligation in the period is `met` (filed on time), `late` (filed after it was due), `overdue` (not
filed, past due at `now`) or `pending` (not filed, not yet due). The on-time rate is met / (met + late
+ overdue): what was due and is decided; pending obligations are not counted either way. "Still open"
is every obligation pending or overdue at `now`, whatever its period: what the board must still see
done. The decisions not to report are every not-significant (NIS 2), no-risk (GDPR Art. 33(1)) and
not-serious (CSP) decision of an incident in the period, with its written rationale.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable

from . import timeutil as tu
from .errors import InputError

if TYPE_CHECKING:
    from .service import IncidentView

FORMAT_VERSION = 1
OUTCOMES = ("met", "late", "overdue", "pending")
SIGNIFICANCES = ("significant", "not_significant", "undetermined")
OPEN_BUCKETS = ("overdue", "24h", "7d", "later", "no_due")

_PERIOD_RE = re.compile(r"^([0-9]{4})(?:-(?:([0-9]{2})|[Qq]([1-4])))?$", re.ASCII)
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
PERIOD_HELP = "accepted: a year (2026), a month (2026-11) or a quarter (2026-Q3)"


def _midnight(year: int, month: int, day: int, tz: str) -> datetime:
    return tu.local_to_instant(datetime(year, month, day), tz)


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period(text: str | None, start: str | None, end: str | None, now: datetime, tz: str) -> tuple[datetime, datetime, str]:
    """(from, to, label) of the report's period, [from, to) in the profile's zone. `text`: 2026,
    2026-11 or 2026-Q3; else `start`/`end` as WHEN (a bare date: from its midnight for `--from`, to the
    end of that day for `--to`; `--to` defaults to `now`); with none of them, the quarter of `now`."""
    if text is not None and (start is not None or end is not None):
        raise InputError("--period goes alone, without --from/--to; accepted: --period 2026-Q3, or --from WHEN "
                         "--to WHEN")
    if text is None and start is None and end is None:
        local = tu.to_local(now, tz)
        text = f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    if text is not None:
        m = _PERIOD_RE.fullmatch(text.strip())
        if m is None:
            raise InputError(f"--period {text!r}; {PERIOD_HELP}")
        year = int(m.group(1))
        if not tu.MIN_YEAR <= year <= tu.MAX_YEAR - 1:
            raise InputError(f"--period {text!r}: the year is out of range; {tu.RANGE_HELP}")
        if m.group(2):
            month = int(m.group(2))
            if not 1 <= month <= 12:
                raise InputError(f"--period {text!r}: no month {month}; {PERIOD_HELP}")
            label = f"{year}-{month:02d}"
            first, after = (year, month), _month_after(year, month)
        elif m.group(3):
            q = int(m.group(3))
            label = f"{year}-Q{q}"
            first = (year, 3 * q - 2)
            after = _month_after(year, 3 * q)
        else:
            label, first, after = str(year), (year, 1), (year + 1, 1)
        return _midnight(*first, 1, tz), _midnight(*after, 1, tz), label
    begin = _when(start, now, tz, "--from", end_of_day=False) if start is not None else None
    if begin is None:
        raise InputError("--to needs --from; accepted: --from WHEN --to WHEN, or --period 2026-Q3")
    finish = _when(end, now, tz, "--to", end_of_day=True) if end is not None else now
    if finish <= begin:
        raise InputError(f"--to {tu.display(finish, tz)} is not after --from {tu.display(begin, tz)}; accepted: "
                         "an end after the start")
    return begin, finish, f"{tu.rfc3339(begin, tz)}/{tu.rfc3339(finish, tz)}"


def _when(text: str, now: datetime, tz: str, what: str, end_of_day: bool) -> datetime:
    raw = text.strip()
    try:
        if _DATE_RE.fullmatch(raw):
            day = datetime.strptime(raw, "%Y-%m-%d")
            if end_of_day:
                day += timedelta(days=1)
            return tu.local_to_instant(day, tz)
        return tu.parse_when(raw, now, tz)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date; accepted: a date such as 2026-07-01 or a WHEN") from None
    except InputError as exc:
        raise InputError(f"{what}: {exc.message}; a bare date such as 2026-07-01 is accepted too") from None


# --- the figures -------------------------------------------------------------------------------

def reference_instant(ob) -> datetime | None:
    """The instant that places an obligation in a period: its due time, else (a without-undue-delay
    stage) its own target, else its clock start."""
    return ob.due or ob.target or ob.clock_start


def counted(ob) -> bool:
    """Obligations the report counts: those that apply, less a progress report that is only conditional and
    those of a rule not in force that the profile ignores (state not_in_force, `profile --not-in-force
    ignore`): like `check`, the report leaves them out."""
    return ob.state not in ("not_applicable", "not_in_force") and ob.due_kind != "conditional"


def outcome(ob) -> str:
    """met | late | overdue | pending."""
    return ob.state


def _delay(ob, now: datetime) -> timedelta | None:
    """How late: the filing after its due time, or, not filed, `now` past it."""
    due = ob.due
    if due is None:
        return None
    if ob.state == "late" and ob.filing is not None:
        return ob.filing.at - due
    if ob.state == "overdue":
        return now - due
    return None


def _rate(tally: dict) -> float | None:
    decided = tally["met"] + tally["late"] + tally["overdue"]
    return round(tally["met"] / decided, 4) if decided else None


def _tally() -> dict:
    return {"due": 0, **{k: 0 for k in OUTCOMES}}


def _add(tally: dict, state: str) -> None:
    tally["due"] += 1
    tally[state] += 1


def _months(start: datetime, end: datetime, tz: str) -> list[str]:
    """The months (YYYY-MM, in the zone) the period touches."""
    local = tu.to_local(start, tz)
    last = tu.to_local(end - timedelta(microseconds=1), tz)
    year, month, out = local.year, local.month, []
    while (year, month) <= (last.year, last.month):
        out.append(f"{year}-{month:02d}")
        year, month = _month_after(year, month)
    return out


def _month_of(instant: datetime, tz: str) -> str:
    local = tu.to_local(instant, tz)
    return f"{local.year}-{local.month:02d}"


def _bucket(ob, now: datetime) -> str:
    if ob.state == "overdue":
        return "overdue"
    due = ob.due or ob.target
    if due is None:
        return "no_due"
    if due - now <= timedelta(hours=24):
        return "24h"
    if due - now <= timedelta(days=7):
        return "7d"
    return "later"


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def build(views: Iterable[IncidentView], profile, start: datetime, end: datetime, label: str, now: datetime,
          evidence: dict, exercises: list[dict] | None = None, lang: str = "fr", generator: str = "") -> dict:
    """Every figure of the report, from the incidents' views at `now` (see the module's docstring for
    what each counts). `evidence`: what the ledger says of itself (`ledger`, `head`, `events`,
    `verify`, `recheck`), read by the caller; `exercises`: the drills of the period, already replayed."""
    tz = profile.timezone

    def t(instant):
        return tu.rfc3339(instant, tz)

    def inside(instant) -> bool:
        return instant is not None and start <= instant < end

    months = _months(start, end, tz)
    per_month = {m: {s: 0 for s in SIGNIFICANCES} for m in months}
    month_stage: dict[tuple[str, str], dict] = {}
    incidents, decisions, late, open_, drafts, filing_times = [], [], [], [], [], []
    overall, by_regime, by_stage = _tally(), {}, {}
    stage_titles: dict[str, tuple[str, str]] = {}
    buckets = {b: 0 for b in OPEN_BUCKETS}
    longest = None
    for view in views:
        inc = view.incident
        in_period = inside(inc.aware_at)
        if in_period:
            incidents.append({"id": inc.id, "title": inc.title, "aware_at": t(inc.aware_at),
                              "significance": inc.significance, "status": inc.status,
                              "reported": bool(inc.filings),
                              "filings": len(inc.filings)})
            per_month[_month_of(inc.aware_at, tz)][inc.significance if inc.significance in SIGNIFICANCES
                                                   else "undetermined"] += 1
            for kind, flag, why in (("not_significant", inc.significance == "not_significant",
                                     inc.significance_rationale),
                                    ("no_risk", inc.breach_risk is False, inc.breach_risk_rationale),
                                    ("not_serious", inc.serious is False, inc.serious_rationale)):
                if flag:
                    decisions.append({"incident": inc.id, "title": inc.title, "aware_at": t(inc.aware_at),
                                      "decision": kind, "rationale": why})
        for f in inc.filings:
            if f.draft_sha256 and inside(f.at):
                drafts.append({"incident": inc.id, "stage": f.stage, "filed_at": t(f.at), "sha256": f.draft_sha256,
                               "reference": f.reference})
        for ob in view.obligations:
            if not counted(ob):
                continue
            if ob.is_open:
                buckets[_bucket(ob, now)] += 1
                open_.append({"incident": inc.id, "title": inc.title, "stage": ob.stage, "state": ob.state,
                              "due": t(ob.due), "due_kind": ob.due_kind, "target": t(ob.target),
                              "clock_start": t(ob.clock_start), "article": ob.article,
                              "recipient": ob.recipient, "in_force": ob.in_force})
            ref = reference_instant(ob)
            if not inside(ref):
                continue
            state = outcome(ob)
            stage_titles.setdefault(ob.stage, (ob.title, ob.title_fr))
            _add(overall, state)
            _add(by_regime.setdefault(ob.regime, _tally()), state)
            _add(by_stage.setdefault(ob.stage, _tally()), state)
            _add(month_stage.setdefault((_month_of(ref, tz), ob.stage), _tally()), state)
            delay = _delay(ob, now)
            if delay is not None and (longest is None or delay > longest[0]):
                longest = (delay, inc, ob)
            if ob.filing is not None:
                filing_times.append({
                    "incident": inc.id, "stage": ob.stage, "state": state, "filed_at": t(ob.filing.at),
                    "hours_from_aware": _hours(ob.filing.at - inc.aware_at),
                    "deadline_hours": _hours(ob.due - inc.aware_at) if ob.due is not None else None})
            if state == "late":
                late.append({"incident": inc.id, "title": inc.title, "stage": ob.stage, "due": t(ob.due),
                             "filed_at": t(ob.filing.at), "delay_seconds": int(delay.total_seconds()) if delay else None,
                             "late_reason": ob.filing.late_reason, "reference": ob.filing.reference,
                             "article": ob.article, "in_force": ob.in_force})

    def rows(tallies: dict, key: str) -> list[dict]:
        out = []
        for name in sorted(tallies):
            row = {key: name, **tallies[name], "on_time_rate": _rate(tallies[name])}
            if key == "stage":
                row["regime"] = name.split(".", 1)[0]
                row["title"], row["title_fr"] = stage_titles[name]
            out.append(row)
        return out

    open_.sort(key=lambda o: (o["state"] != "overdue", o["due"] is None,
                              tu.parse_instant(o["due"] or o["target"] or o["clock_start"]), o["incident"], o["stage"]))
    late.sort(key=lambda x: (tu.parse_instant(x["due"]), x["incident"], x["stage"]))
    filing_times.sort(key=lambda x: (x["stage"], x["hours_from_aware"], x["incident"]))
    drafts.sort(key=lambda x: (tu.parse_instant(x["filed_at"]), x["incident"], x["stage"]))
    longest_delay = None
    if longest is not None:
        delay, inc, ob = longest
        longest_delay = {"incident": inc.id, "title": inc.title, "stage": ob.stage, "state": ob.state,
                         "due": t(ob.due), "filed_at": t(ob.filing.at) if ob.filing is not None else None,
                         "delay_seconds": int(delay.total_seconds())}
    stages_seen = sorted({s for _, s in month_stage})
    return {
        "format": "nis2-incident-report",
        "format_version": FORMAT_VERSION,
        "generator": generator,
        "generated_at": t(now),
        "lang": lang,
        "timezone": tz,
        "entity": {"name": profile.name, "category": profile.category},
        "period": {"label": label, "from": t(start), "to": t(end)},
        "headline": {
            "incidents_opened": len(incidents),
            "significant": sum(1 for i in incidents if i["significance"] == "significant"),
            "not_significant": sum(1 for i in incidents if i["significance"] == "not_significant"),
            "undetermined": sum(1 for i in incidents if i["significance"] == "undetermined"),
            "reported": sum(1 for i in incidents if i["reported"]),
            "obligations_due": overall["due"],
            **{k: overall[k] for k in OUTCOMES},
            "on_time_rate": _rate(overall),
            "open_obligations": len(open_),
            "longest_delay": longest_delay,
        },
        "by_regime": rows(by_regime, "regime"),
        "by_stage": rows(by_stage, "stage"),
        "incidents": incidents,
        "late_filings": late,
        "open_obligations": open_,
        "decisions": decisions,
        "charts": {
            "incidents_per_month": [{"month": m, **per_month[m]} for m in months],
            "filing_times": filing_times,
            "on_time_by_month": [{"month": m, "stage": s, **month_stage[(m, s)],
                                  "on_time_rate": _rate(month_stage[(m, s)])}
                                 for s in stages_seen for m in months if (m, s) in month_stage],
            "open_by_due": [{"bucket": b, "count": buckets[b]} for b in OPEN_BUCKETS],
        },
        "exercises": exercises,
        "evidence": {**evidence, "drafts": drafts},
    }


def exercise_rows(results, start: datetime, end: datetime, now: datetime) -> list[dict]:
    """The drills run in the period (their T0 in it, and not after `now`: a scenario set in the future
    has not been run yet), and every file that is invalid: each one's status and, for each filing, the
    time from T0 (an exercise's T0 and actions are its own clock, README: Tabletop exercises)."""
    out = []
    for r in results:
        if r.error is not None:
            out.append({"file": r.path, "name": r.name, "t0": None, "status": "invalid",
                        "error": r.error.message, "filings": [], "failures": 0})
            continue
        if r.t0 is None or not start <= r.t0 < end or r.t0 > now:
            continue
        out.append({"file": r.path, "name": r.name, "t0": tu.rfc3339(r.t0, r.tz), "status": r.status,
                    "error": None, "failures": len(r.failures),
                    "filings": [{"stage": f["stage"], "at": tu.rfc3339(f["at"], r.tz),
                                 "from_t0": _rel(f["at"] - r.t0), "from_t0_seconds": int((f["at"] - r.t0).total_seconds()),
                                 "due": tu.rfc3339(f["due"], r.tz), "late": f["late"]}
                                for f in r.filings]})
    return out


def _rel(delta: timedelta) -> str:
    from .exercise import fmt_rel

    return fmt_rel(delta)


def recheck_commands(ledger: str, now: datetime, tz: str, label: str, start: datetime, end: datetime,
                     file_head: str, by_period: bool) -> list[str]:
    """The commands that re-check the report from the ledger: the chain up to the head it was made
    from, and the same figures as JSON (the same `--now`, the same period)."""
    import shlex

    where = f"nis2-incident --ledger {shlex.quote(ledger)}"
    span = f"--period {label}" if by_period else f"--from {tu.rfc3339(start, tz)} --to {tu.rfc3339(end, tz)}"
    return [f"{where} verify --head {file_head}",
            f"{where} --now {tu.rfc3339(now, tz)} report {span} --format json"]
