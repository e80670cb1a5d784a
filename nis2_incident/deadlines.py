"""(incident, profile, regimes, now) -> obligations. Pure: no I/O, no clock.

Each obligation carries its arithmetic (`steps`) and the conservative choices taken where the law is
unsettled (`choices`), so `explain` shows exactly what was computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import timeutil as tu
from .model import Filing, Incident
from .regimes import Regime, Stage

if TYPE_CHECKING:  # a `Profile`, or the `StoredProfile` of a checkpoint: the same attributes
    from .profile import Profile

# not_in_force: from a rule not in force at aware-at, with the profile's `not_in_force = "ignore"` (issue 17)
STATES = ("pending", "overdue", "met", "late", "not_applicable", "not_in_force")
OPEN_STATES = ("pending", "overdue")


@dataclass
class Obligation:
    regime: str
    stage_id: str
    title: str
    title_fr: str
    recipient: str
    channel: str
    article: str
    state: str
    due: datetime | None = None
    due_kind: str = "deadline"  # deadline | provisional | conditional | asap | awaiting
    clock_start: datetime | None = None
    clock_start_label: str = ""
    filing: Filing | None = None
    note: str | None = None
    instance: int = 0  # for stages that repeat (one per authority request)
    target: datetime | None = None  # the entity's own target for a stage without a legal hour count
    late_reason_required: bool = False
    steps: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    # issue 17: whether the rule binds at aware-at (NIS 2 in France: not yet), and why not
    in_force: bool = True
    in_force_note: str | None = None
    # incident facts not decided yet that this obligation rests on (counted as applying until decided)
    undetermined: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)  # points of its rule not confirmed in the text

    @property
    def stage(self) -> str:
        return f"{self.regime}.{self.stage_id}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def _matches(cond: dict, obj) -> bool:
    # loops, not all()/any() over generators: this runs for every regime of every incident of a read
    for k, v in cond.items():
        if not _accepts(v, getattr(obj, k, None)):
            return False
    return True


def _may_match(cond: dict, obj) -> list[str] | None:
    """A variant's condition read conservatively: None when a recorded fact excludes it, else the facts
    it rests on that are not recorded (an empty list: every fact is recorded and matches). A variant
    gives a shorter period (MDR Art. 87(4)-(5), AI Act Art. 73(3)-(4)): until the fact that would
    exclude it is recorded, the earlier deadline is the one to meet."""
    undetermined = []
    for k, v in cond.items():
        actual = getattr(obj, k, None)
        if actual is None and "unknown" not in (v if type(v) is list else (v,)):
            undetermined.append(k)
        elif not _accepts(v, actual):
            return None
    return undetermined


def _accepts(expected, actual) -> bool:
    for o in (expected if type(expected) is list else (expected,)):
        if (actual is None) if o == "unknown" else (actual == o):
            return True
    return False


def _undetermined(cond: dict, obj) -> list[str]:
    """The facts of a condition that it accepts only because they are not decided yet."""
    out = []
    for k, v in cond.items():
        actual = getattr(obj, k, None)
        options = v if isinstance(v, list) else [v]
        if (actual is None and "unknown" in options) or (actual == "undetermined" and "undetermined" in options):
            out.append(k)
    return out


def _why_not(cond, profile: Profile, inc: Incident) -> str:
    """The condition's `otherwise`, plus the written rationale of each failing incident fact
    (`<fact>_rationale`, e.g. significance_rationale for a not-significant decision)."""
    reasons = [getattr(inc, f"{k}_rationale", None) for k, v in cond.incident.items()
               if not _accepts(v, getattr(inc, k, None))]
    reasons = [r for r in reasons if r]
    return cond.otherwise + (f": {'; '.join(reasons)}" if reasons else "")


def _fact_words(cond: dict, obj, kind: str) -> list[str]:
    """`personal_data = yes (required: yes)` lines for explain."""
    def word(v):
        return {True: "yes", False: "no", None: "unknown"}.get(v, str(v))

    out = []
    for k, v in cond.items():
        options = v if isinstance(v, list) else [v]
        want = " or ".join(word(None if o == "unknown" else o) for o in options)
        out.append(f"{kind} {k} = {word(getattr(obj, k, None))} (applies when {want})")
    return out


def _state(due: datetime | None, filing: Filing | None, now: datetime) -> str:
    if filing is not None:
        # Issue 12: the state follows the facts as they stand (an aware-at amended after the filing
        # moves the due time, and the filing is judged against it); the record keeps what was judged
        # at filing (`filing.due`, `filing.late`), shown beside it by `show` and `explain`.
        if due is not None:
            return "late" if filing.at > due else "met"
        return "late" if filing.late else "met"
    if due is not None and now > due:
        return "overdue"
    return "pending"


def _period_text(hours: int | None, months: int | None) -> str:
    if hours is not None:
        return f"{hours} h elapsed"
    if months is not None:
        return f"{months} calendar month{'s' if months > 1 else ''}"
    return "without undue delay"


def _add(start: datetime, hours: int | None, months: int | None, tz: str, steps: list[str], choices: list[str],
         explain: bool = True):
    """Apply a period to a clock start, recording the arithmetic (its text only with `explain`: views
    other than `explain` need the instant, and formatting it took half of a cold read)."""
    if hours is not None:
        due = tu.add_hours(start, hours)
        if not explain:
            return due
        steps.append(f"{tu.rfc3339(start)} + {hours} h on the instant (UTC) = {tu.rfc3339(due)}")
        line = f"shown in {tz}: {tu.display(due, tz, True)}"
        if tu.crosses_clock_change(start, due, tz):
            same_wall = tu.to_local(start, tz) + timedelta(days=hours // 24)
            line += (
                f" — the clocks changed during the period ({tu.display(start, tz, True)} → "
                f"{tu.display(due, tz, True)}), so {hours} h ends at {tu.to_local(due, tz):%H:%M}, "
                f"not at the same wall-clock time {same_wall:%H:%M}"
            )
        steps.append(line)
        choices.append(
            "Counted as exact elapsed time from the recorded minute; Reg. 1182/71 Art. 3(1) would skip "
            "the starting hour, which gives a later date. The earlier one is used (README: Conservative choices)."
        )
        return due
    if months is not None:
        due = tu.add_months(start, months, tz)
        if not explain:
            return due
        steps.append(
            f"{tu.display(start, tz, True)} + {months} calendar month(s), same wall-clock time, "
            f"end-of-month clamped = {tu.display(due, tz, True)}"
        )
        wall, kind = tu.month_wall(start, months, tz)
        if kind == "gap":
            steps.append(
                f"{wall:%Y-%m-%d %H:%M} does not exist in {tz} (the clocks jump forward over it that night): "
                f"the earlier reading is used, the first instant after the change, {tu.display(due, tz, True)}"
            )
            choices.append(
                f"The wall-clock time {wall:%H:%M} falls in the spring clock-change gap; the moment the clocks "
                f"change ({tu.display(due, tz, True)}) is used, not the same time read with the winter offset "
                "(an hour later): the earlier of the two readings."
            )
        elif kind == "fold":
            steps.append(
                f"{wall:%Y-%m-%d %H:%M} happens twice in {tz} (the clocks go back that night): the first "
                f"occurrence is used, {tu.display(due, tz, True)} (the earlier reading)"
            )
        choices.append(LatestArguable(tu.to_local(due, tz).date()))
        return due
    return None


def next_working_day(day, subdivision: str | None = None):
    """`day`, or the first day after it that is neither a Saturday, a Sunday nor a French public
    holiday (`calendar_fr`: the national list, or a subdivision's, e.g. "57" Moselle)."""
    from . import calendar_fr

    while not calendar_fr.is_working_day(day, subdivision):
        day += timedelta(days=1)
    return day


class LatestArguable:
    """The conservative choice that names the latest arguable date of a calendar-month period: the
    end of the last day, extended past a Saturday, a Sunday or a French public holiday to the next
    working day (Reg. 1182/71 Art. 3(2)(c) and 3(4); CPC art. 641-642). Information only: the
    deadline shown is the conservative one. Its text is made when shown (`explain`), from the dates of
    `calendar_fr`; the holidays package is imported only to name a holiday the text names.

    The national list of public holidays is used: Alsace-Moselle's extra days (Good Friday, 26 Dec)
    and the overseas departments' (abolition of slavery) would only give a later date, which is
    named when it differs for Alsace-Moselle."""

    def __init__(self, day):
        self.day = day  # the local date of the conservative due instant

    def __str__(self) -> str:
        from . import calendar_fr

        national = next_working_day(self.day)
        moselle = next_working_day(self.day, "57")
        skipped = [self.day + timedelta(days=n) for n in range((national - self.day).days)]
        why = [f"{d:%a %d %b} ({calendar_fr.name(d)})" if calendar_fr.is_holiday(d) else f"{d:%a %d %b}"
               for d in skipped]
        text = ("No extension to the end of the day or past a weekend or public holiday is applied (the "
                "conservative date); Reg. 1182/71 Art. 3(2)(c) and 3(4) or CPC art. 641-642 could be read to "
                f"allow up to {national:%Y-%m-%d} 23:59 local time")
        if why:
            text += f", the next working day after {', '.join(why)}"
        text += " (information only; French national public holidays"
        if moselle != national:
            text += f"; in Alsace-Moselle, with its extra holidays, {moselle:%Y-%m-%d} 23:59"
        else:
            text += "; Alsace-Moselle's and the overseas departments' extra holidays are not counted"
        return text + "; README: Conservative choices)."

    def __repr__(self) -> str:
        return f"LatestArguable({self.day!r})"

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __contains__(self, part: str) -> bool:
        return part in str(self)


def _filings_by_stage(inc: Incident) -> dict[str, list[Filing]]:
    """`inc.filings_of` of every stage at once: each stage's filings by (at, seq), first filed first (one
    pass per incident instead of one per stage of every regime)."""
    by_stage: dict[str, list[Filing]] = {}
    for f in inc.filings:
        found = by_stage.get(f.stage)
        if found is None:
            by_stage[f.stage] = [f]
        else:
            found.append(f)
    for found in by_stage.values():
        if len(found) > 1:
            found.sort(key=lambda f: (f.at, f.seq))
    return by_stage


_NONE: list[Filing] = []  # (read only: no stage's filings)


def _regime_obligations(inc: Incident, profile: Profile, regime: Regime, now: datetime,
                        explain: bool = True, by_stage: dict[str, list[Filing]] | None = None) -> list[Obligation]:
    """The obligations of one regime. Without `explain`, no `steps` (their text is shown only by
    `explain`; making it took a third of a cold read at 10,000 incidents): everything else is the same."""
    if by_stage is None:
        by_stage = _filings_by_stage(inc)
    tz = profile.timezone
    out: list[Obligation] = []
    base_due: dict[str, datetime | None] = {}
    provisional: dict[str, bool] = {}
    cond = regime.applies
    applicable = _matches(cond.profile, profile) and _matches(cond.incident, inc)
    reason = _why_not(cond, profile, inc) if not applicable else None
    binds = regime.in_force_at(inc.aware_at)
    binds_note = None if binds else regime.not_in_force_reason(inc.aware_at)
    ignore = not binds and getattr(profile, "not_in_force", "track") == "ignore"
    regime_undetermined = _undetermined(cond.incident, inc)
    applies_line = None
    if explain:
        facts = _fact_words(cond.profile, profile, "profile") + _fact_words(cond.incident, inc, "incident")
        applies_line = (f"{regime.name} {'applies' if applicable else 'does not apply'}"
                        + (f": {'; '.join(facts)}" if facts else ""))

    for stage in regime.stages:
        name = f"{regime.id}.{stage.id}"
        filings = by_stage.get(name, _NONE)

        def make(state: str, **kw) -> Obligation:
            if ignore and state not in ("not_applicable", "met", "late"):
                state = "not_in_force"  # the profile's `not_in_force = "ignore"`: left out of `check`
            ob = Obligation(
                regime=regime.id, stage_id=stage.id, title=stage.title, title_fr=stage.title_fr,
                recipient=stage.recipient or regime.recipient, channel=stage.channel or regime.channel,
                article=kw.pop("article", stage.article), state=state,
                late_reason_required=stage.late_reason_required, in_force=binds, in_force_note=binds_note,
                unconfirmed=[*regime.unconfirmed, *stage.unconfirmed], **kw,
            )
            if state != "not_applicable":
                ob.undetermined = list(dict.fromkeys(
                    regime_undetermined + (_undetermined(stage.when.incident, inc) if stage.when else [])))
            if applies_line is not None:
                ob.steps.insert(0, applies_line)
                if not binds:
                    ob.steps.insert(1, f"{binds_note} (the obligation is computed as if it were, so that the "
                                       "entity can prepare; profile `--not-in-force ignore` leaves it out)")
            return ob

        def not_applicable(note: str, extra: list[str] | None = None) -> Obligation:
            return make("not_applicable", note=note, due_kind="none", filing=filings[0] if filings else None,
                        steps=list(extra or []))

        if not applicable:
            out.append(not_applicable(reason))
            base_due[stage.id] = None
            continue
        if stage.when is not None and not (_matches(stage.when.profile, profile) and _matches(stage.when.incident, inc)):
            words = (_fact_words(stage.when.profile, profile, "profile")
                     + _fact_words(stage.when.incident, inc, "incident")) if explain else None
            out.append(not_applicable(_why_not(stage.when, profile, inc), words))
            base_due[stage.id] = None
            continue
        if stage.waiver is not None and getattr(inc, stage.waiver.fact, None) == stage.waiver.value:
            why = getattr(inc, stage.waiver.rationale, None)
            out.append(not_applicable(f"{stage.waiver.text}" + (f": {why}" if why else ""),
                                      [f"decision recorded: {stage.waiver.fact} = {stage.waiver.value} "
                                       f"({stage.waiver.article})"] if explain else None))
            base_due[stage.id] = None
            continue

        hours, months, article = stage.hours, stage.months, stage.article
        choices: list[str] = []
        if inc.significance == "undetermined" and "significance" in regime.applies.incident:
            choices.append("Significance is undetermined: counted as significant until decided (Directive (EU) 2022/2555 Art. 23(3); README: Conservative choices).")
        for variant in stage.variants:
            undetermined = _may_match(variant.incident, inc) if _matches(variant.profile, profile) else None
            if undetermined is not None:
                hours = variant.hours if variant.hours is not None else hours
                months = variant.months if variant.months is not None else months
                article = variant.article
                if undetermined:  # an undetermined fact counts as applying (as significance does)
                    choices.append(f"{', '.join(undetermined)} not recorded: the shorter period of {article} is "
                                   "counted until it is (README: Conservative choices).")
                break

        kind, _, ref = stage.start.partition(":")
        if kind == "request":
            out.extend(_request_obligations(inc, stage, name, make, tz, now, explain, by_stage))
            base_due[stage.id] = None
            continue
        if kind == "ongoing":
            out.append(_ongoing_obligation(inc, regime, stage, ref, base_due, provisional, make, tz, now, explain,
                                           by_stage))
            continue

        steps: list[str] = ([f"rule: {article}: {_period_text(hours, months)} from "
                             f"{_start_words(stage.start, regime.id)}"] if explain else [])
        due_kind = "deadline" if (hours is not None or months is not None) else "asap"
        start, label, is_provisional = None, "", False
        if kind == "aware":
            start, label = inc.aware_at, "aware-at"
        elif kind == "handled":
            start, label = inc.handled_at, "handled-at"
        elif kind == "fact":
            start, label = getattr(inc, ref, None), ref.replace("_", "-")
        elif kind == "filed":
            ref_filings = by_stage.get(f"{regime.id}.{ref}")
            if ref_filings:
                start, label = ref_filings[0].at, f"submission of {regime.id}.{ref}"
            elif stage.provisional and base_due.get(stage.provisional.partition(":")[2]) is not None:
                pref = stage.provisional.partition(":")[2]
                start, label, is_provisional = base_due[pref], f"due time of {regime.id}.{pref} (not filed yet)", True
                choices.append(
                    f"{regime.id}.{ref} is not filed yet: this date is provisional, counted from its due "
                    "time; it moves when the filing is recorded (Art. 23(4)(d); README: Conservative choices)."
                )
        if start is None:
            note = f"waits for the {label or _start_words(stage.start, regime.id)}"
            ob = make(_state(None, filings[0] if filings else None, now), due=None, due_kind="awaiting",
                      note=note, filing=filings[0] if filings else None, article=article, steps=steps, choices=choices)
            out.append(ob)
            base_due[stage.id] = None
            continue

        if explain:
            steps.append(f"clock start: {label} = {tu.display(start, tz, True)} ({tu.rfc3339(start)})")
        due = _add(start, hours, months, tz, steps, choices, explain)
        if stage.or_earlier is not None and due is not None:
            due = _earlier(inc, stage, regime, due, tz, steps, choices, explain)
        if stage.weekend_rule and due is not None:
            choices.append(_WeekendRule(tu.to_local(due, tz), tz))
        base_due[stage.id] = due
        provisional[stage.id] = is_provisional
        note = None
        target = None
        if due is None:
            if explain:
                steps.append(f"no due instant: {tu.elapsed(start, now)} since the clock started")
            if name in profile.targets:
                target = start + tu.parse_duration(profile.targets[name])
                if explain:
                    steps.append(f"the entity's own target (not the law's): {profile.targets[name]} after the "
                                 f"clock start = {tu.display(target, tz, True)}")
        if is_provisional:
            due_kind = "provisional"

        filing = filings[0] if filings else None
        if stage.ongoing is not None and due is not None:
            handled = inc.handled_at
            ongoing_at_due = (handled is None or handled > due) and (filing is None or filing.at > due)
            if ongoing_at_due and now >= due:
                o = stage.ongoing
                article = o.article
                if explain:
                    steps.append(
                        f"the incident was still being handled at {tu.display(due, tz)}: {regime.id}.{o.instead} "
                        f"was due then, and this report is due {o.months} month(s) after handling concludes "
                        f"({o.article})")
                choices.append(
                    "'Handling concluded' could mean containment or closure; the handled-at you record is "
                    "used (Art. 23(4)(e); README: Conservative choices)."
                )
                if handled is None:
                    due, due_kind = None, "awaiting"
                    note = "due one month after handling concludes (record it with `handled`)"
                else:
                    if explain:
                        steps.append(f"clock start: handled-at = {tu.display(handled, tz, True)}")
                    due = _add(handled, None, o.months, tz, steps, choices, explain)
                    due_kind = "deadline"
            elif ongoing_at_due:
                note = (f"if the incident is still being handled at {tu.display(due, tz)}, a progress report is "
                        f"due then and this report one month after handling concludes")
        if len(filings) > 1 and explain:
            steps.append(f"{len(filings) - 1} further filing(s) recorded after the first")
        out.append(make(_state(due, filing, now), due=due, due_kind=due_kind, clock_start=start,
                        clock_start_label=label, filing=filing, note=note, article=article,
                        steps=steps, choices=choices, target=target))
    return out


def _earlier(inc, stage: Stage, regime: Regime, due: datetime, tz: str, steps: list[str], choices: list[str],
             explain: bool) -> datetime:
    """The stage's second clock (`or_earlier`): the earlier of the two due instants."""
    o = stage.or_earlier
    kind, _, ref = o.start.partition(":")
    start = inc.aware_at if kind == "aware" else getattr(inc, ref, None) if kind == "fact" else None
    if start is None:
        if explain:
            steps.append(f"and {_period_text(o.hours, o.months)} from the {ref.replace('_', '-')} ({o.article}): "
                         "not recorded yet, so the first clock alone gives the due time")
        return due
    other = _add(start, o.hours, o.months, tz, [], [], False)
    if explain:
        steps.append(f"and {_period_text(o.hours, o.months)} from the {ref.replace('_', '-')} "
                     f"{tu.display(start, tz, True)} = {tu.display(other, tz, True)} ({o.article}); the earlier "
                     f"of the two is due: {tu.display(min(due, other), tz, True)}")
    return min(due, other)


class _WeekendRule:
    """DORA RTS 2025/301 Art. 5(4): a due time on a weekend day or a French bank holiday may be met by
    12:00 on the next working day. Information only (the strict time stays the deadline: the rule does
    not apply to every financial entity, Art. 5(5)-(6)); its text is made when shown."""

    def __init__(self, local_due: datetime, tz: str):
        self.local_due, self.tz = local_due, tz

    def __str__(self) -> str:
        from . import calendar_fr

        day = self.local_due.date()
        later = weekend_deadline(self.local_due, self.tz)
        if later is None:
            return (f"The due time falls on a working day ({day:%a %d %b}): the weekend rule of Delegated "
                    "Regulation (EU) 2025/301 Art. 5(4) does not move it.")
        why = calendar_fr.name(day) or ("a Saturday" if day.weekday() == 5 else "a Sunday")
        return (f"The due time falls on {day:%a %d %b} ({why}): under Delegated Regulation (EU) 2025/301 "
                f"Art. 5(4) the report may be submitted by 12:00 on the next working day, {later:%a %Y-%m-%d} "
                "12:00 local time (not for credit institutions, CCPs, trading venues and NIS 2 entities, "
                "Art. 5(5), nor where the ACPR disapplied it, Art. 5(6)); the strict time is kept as the "
                "deadline (information only; README: Conservative choices).")

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __contains__(self, part: str) -> bool:
        return part in str(self)


def weekend_deadline(due: datetime, tz: str) -> datetime | None:
    """The noon-of-the-next-working-day instant (in zone `tz`) of DORA RTS 2025/301 Art. 5(4) for a due
    time on a weekend day or French public holiday there, else None."""
    from . import calendar_fr

    local_due = tu.to_local(due, tz)
    day = local_due.date()
    if calendar_fr.is_working_day(day):
        return None
    nxt = next_working_day(day + timedelta(days=1))
    return tu.local_to_instant(datetime(nxt.year, nxt.month, nxt.day, 12, 0), tz)


def _start_words(start: str, regime_id: str) -> str:
    kind, _, ref = start.partition(":")
    return {
        "aware": "aware-at (the moment of becoming aware)",
        "handled": "handled-at (handling concluded)",
        "request": "the authority's request",
        "filed": f"the submission of {regime_id}.{ref}",
        "ongoing": f"the time {regime_id}.{ref} would fall due",
        "fact": f"the {ref.replace('_', '-')} recorded for the incident",
    }[kind]


def _request_obligations(inc, stage: Stage, name: str, make, tz: str, now: datetime, explain: bool = True,
                         by_stage: dict[str, list[Filing]] | None = None) -> list[Obligation]:
    requests = sorted((r for r in inc.requests if r.stage == name), key=lambda r: (r.at, r.seq))
    if not requests:
        return [make("not_applicable", due_kind="none",
                     note="only if the authority requests it (record the request with `request`)")]
    filings = list(by_stage.get(name, _NONE) if by_stage is not None else inc.filings_of(name))
    out = []
    for i, req in enumerate(requests):
        filing = next((f for f in filings if f.at >= req.at), None)
        if filing is not None:
            filings.remove(filing)
        steps = [
            f"rule: {stage.article}: due at the date the authority set",
            f"requested at {tu.display(req.at, tz, True)}; due {tu.display(req.due, tz, True)}",
        ] if explain else []
        out.append(make(_state(req.due, filing, now), due=req.due, clock_start=req.at,
                        clock_start_label="the authority's request", filing=filing, instance=i + 1, steps=steps))
    return out


def _ongoing_obligation(inc, regime, stage, ref, base_due, provisional, make, tz, now, explain: bool = True,
                        by_stage: dict[str, list[Filing]] | None = None) -> Obligation:
    name = f"{regime.id}.{stage.id}"
    if by_stage is None:
        by_stage = _filings_by_stage(inc)
    filings = by_stage.get(name, _NONE)
    filing = filings[0] if filings else None
    ref_due = base_due.get(ref)
    steps = [f"rule: {stage.article}: due when {regime.id}.{ref} would fall due, if the incident is still being "
             "handled then"] if explain else []
    if ref_due is None:
        return make("not_applicable", due_kind="none", note=f"{regime.id}.{ref} has no due time yet", filing=filing, steps=steps)
    ref_filings = by_stage.get(f"{regime.id}.{ref}")
    if explain:
        steps.append(f"{regime.id}.{ref} would fall due at {tu.display(ref_due, tz, True)}")
    if inc.handled_at is not None and inc.handled_at <= ref_due:
        return make("not_applicable", due_kind="none", filing=filing, steps=steps,
                    note=f"handling concluded at {tu.display(inc.handled_at, tz)}, before {regime.id}.{ref} fell due")
    if ref_filings and ref_filings[0].at <= ref_due:
        return make("not_applicable", due_kind="none", filing=filing, steps=steps,
                    note=f"{regime.id}.{ref} was filed by its due time")
    kind = "provisional" if provisional.get(ref) else "deadline"
    note = None
    if now < ref_due:
        kind = "conditional"
        note = f"due only if the incident is still being handled at {tu.display(ref_due, tz)}"
    return make(_state(ref_due, filing, now), due=ref_due, due_kind=kind, clock_start=ref_due,
                clock_start_label=f"due time of {regime.id}.{ref}", filing=filing, note=note, steps=steps)


def compute(inc: Incident, profile: Profile, regimes: dict[str, Regime], now: datetime,
            explain: bool = True) -> list[Obligation]:
    """Every obligation of every regime the profile enables, in the regimes' stage order. `explain`:
    with the text of its arithmetic (`steps`, most of `choices`), which only `explain` shows; the
    states, instants and notes are the same either way (tests/test_deadlines.py compares)."""
    out: list[Obligation] = []
    by_stage = _filings_by_stage(inc)
    version_at = getattr(regimes, "at", None)
    for rid in profile.regimes:
        regime = version_at(rid, inc.aware_at) if version_at else regimes.get(rid)
        if regime is not None:
            out.extend(_regime_obligations(inc, profile, regime, now, explain, by_stage))
    return out


def sort_key(ob: Obligation, now: datetime | None = None):
    """The one order of urgency (status, status --watch, list's next deadline, check): overdue and past
    the entity's own target first, then by the instant that matters: the due time, or for a
    without-undue-delay report its own target, else its clock start (a past instant: such a report is
    due now, so it comes before any report merely due later); awaiting a clock start, last. Without
    `now`, a passed target ranks by its instant among the reports due now (it is past, so still ahead
    of everything pending)."""
    far = datetime.max.replace(tzinfo=tu.UTC)
    when = ob.due or ob.target or (ob.clock_start if ob.due_kind == "asap" else None) or far
    late = ob.state == "overdue" or (now is not None and ob.due is None and ob.target is not None
                                     and ob.filing is None and ob.state == "pending" and ob.target < now)
    return (0 if late else 1, when, ob.stage, ob.instance or 0)
