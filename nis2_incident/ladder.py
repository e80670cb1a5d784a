"""The reminder ladder of `check` (README: check): the instants at which a finding is worth announcing.

Pure: no I/O, no clock. The profile sets, per period, the steps at which a reminder is due, each a
time before the due instant (`4h`, `1d`), a time into the ladder's period (`+20h` in the `24h` ladder,
as in "20 h, 22 h, 23 h into a 24 h period", is 4 h before the due instant) or a share of the period
elapsed (`80%`), and how often to
repeat while an obligation is overdue or a without-undue-delay report is not filed (`reminder_every`).

An obligation uses the ladder of the longest configured period that fits in its own period (clock
start to due instant): a 24 h early warning the `24h` ladder, a 72 h notification the `72h` one, a final
report one calendar month after the notification the `1month` one, an intermediate report due five
days after the authority's request the `72h` one. A period shorter than every configured one (an own
target of 4 h, an authority asking for a report within 12 h) uses the shortest ladder; steps that
would fall before the clock start are moved to the clock start, and steps falling at the same instant
count once.

Each crossed instant is a `Mark`; its `step` id (`4h-before`, `80%-elapsed`, `overdue`, `overdue+6h`,
`started`, `started+6h`, `target-passed`, `target-passed+6h`) has no spaces, so syslog and SIEM
rules can match on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import timeutil as tu
from .errors import InputError

MONTH = timedelta(days=28)  # `1month` is matched as 28 days, the shortest calendar month
DEFAULT_LADDER: dict[str, list[str]] = {
    "24h": ["4h", "2h", "1h"],
    "72h": ["12h", "4h", "1h"],
    "1month": ["7d", "3d", "1d"],
}
DEFAULT_EVERY = "6h"

_MONTH_RE = re.compile(r"^([0-9]{1,3})(?:months?|mo)$", re.ASCII)
_SHARE_RE = re.compile(r"^([0-9]{1,2}(?:\.[0-9]{1,3})?)%$", re.ASCII)
PERIOD_HELP = "accepted: a duration such as 24h, 72h, 5d, or a number of calendar months such as 1month"
STEP_HELP = ("accepted: a time before the due instant such as 4h or 1d, a time into the period such as +20h, "
             "or a share of the period elapsed such as 80%")
EVERY_HELP = "accepted: a duration such as 6h, or 0 to announce an overdue obligation once only"


def default_ladder() -> dict[str, list[str]]:
    return {period: list(steps) for period, steps in DEFAULT_LADDER.items()}


def _squash(text: str) -> str:
    return str(text).strip().lower().replace(" ", "")


def parse_period(text: str) -> timedelta:
    """`24h`, `72h`, `5d`, `1month` -> the length used to pick a ladder. InputError otherwise."""
    raw = _squash(text)
    m = _MONTH_RE.match(raw)
    if m:
        if int(m.group(1)) == 0:
            raise InputError(f"reminder period {text!r} is zero; {PERIOD_HELP}")
        return MONTH * int(m.group(1))
    try:
        return tu.parse_duration(raw)
    except InputError:
        raise InputError(f"invalid reminder period {text!r:.60}; {PERIOD_HELP}") from None


@dataclass(frozen=True)
class Step:
    """One rung: `before` (a time before the due instant) or `share` (of the period elapsed)."""

    before: timedelta | None = None
    share: float | None = None

    @property
    def id(self) -> str:
        if self.before is not None:
            return f"{compact(self.before)}-before"
        return f"{self.share * 100:g}%-elapsed"

    def at(self, start: datetime | None, due: datetime) -> datetime | None:
        if self.before is not None:
            mark = due - self.before
            return max(mark, start) if start is not None else mark
        if start is None:
            return None  # a share needs a clock start
        return start + (due - start) * self.share


def parse_step(text: str, period: timedelta | None = None) -> Step:
    """A step of the ladder of `period` (needed for `+20h`, a time into the period)."""
    raw = _squash(text)
    m = _SHARE_RE.match(raw)
    if m:
        share = float(m.group(1))
        if not 0 < share < 100:
            raise InputError(f"reminder step {text!r}: a share must be between 0% and 100%; {STEP_HELP}")
        return Step(share=share / 100)
    if raw.startswith("+"):
        try:
            into = tu.parse_duration(raw[1:])
        except InputError:
            raise InputError(f"invalid reminder step {text!r:.60}; {STEP_HELP}") from None
        if period is None or into >= period:
            raise InputError(f"reminder step {text!r}: a time into the period must be shorter than the period")
        return Step(before=period - into)
    try:
        return Step(before=tu.parse_duration(raw))
    except InputError:
        raise InputError(f"invalid reminder step {text!r:.60}; {STEP_HELP}") from None


def parse_every(text: str) -> timedelta | None:
    """`6h` -> 6 h; `0` -> None (overdue announced once, not repeated)."""
    raw = _squash(text)
    if raw in ("0", "0h", "0m", "never"):
        return None
    try:
        return tu.parse_duration(raw)
    except InputError:
        raise InputError(f"invalid reminder interval {text!r:.60}; {EVERY_HELP}") from None


def validate(reminders: dict[str, list[str]]) -> None:
    """Raise InputError for a ladder the profile must not hold."""
    seen: dict[timedelta, str] = {}
    for period, steps in reminders.items():
        length = parse_period(period)
        if length in seen:
            raise InputError(f"reminder periods {seen[length]!r} and {period!r} are the same length; keep one")
        seen[length] = period
        if not isinstance(steps, list):
            raise InputError(f"{period}: a list of steps such as [\"4h\", \"2h\", \"1h\"]")
        for step in steps:
            try:
                parsed = parse_step(step, length)
            except InputError as exc:
                raise InputError(f"{period}: {exc.message}") from None
            if parsed.before is not None and parsed.before > length:
                raise InputError(f"{period}: step {step!r} falls before the clock starts; "
                                 f"accepted: a time before the due instant of at most {period}")


def compact(delta: timedelta) -> str:
    """30 h -> `1d6h`; 90 min -> `1h30m` (the duration syntax WHEN and --within accept)."""
    secs = int(delta.total_seconds())
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    out = "".join(f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if v)
    return out or "0s"


@dataclass(frozen=True)
class Mark:
    at: datetime
    step: str


class Ladders:
    """A profile's ladders, parsed once."""

    def __init__(self, reminders: dict[str, list[str]], every: str = DEFAULT_EVERY):
        parsed = [(length, [parse_step(s, length) for s in steps])
                  for length, steps in ((parse_period(p), steps) for p, steps in reminders.items())]
        self.ladders = sorted(parsed, key=lambda item: item[0])
        self.every = parse_every(every)

    def for_period(self, period: timedelta | None) -> list[Step]:
        """The ladder of the longest configured period that fits in `period`, else the shortest."""
        if not self.ladders:
            return []
        if period is None:
            return self.ladders[0][1]
        fitting = [steps for length, steps in self.ladders if length <= period]
        return fitting[-1] if fitting else self.ladders[0][1]

    def before(self, start: datetime | None, due: datetime) -> list[Mark]:
        """The ladder's marks before `due`, in time order; marks at the same instant count once."""
        period = due - start if start is not None else None
        marks: dict[datetime, str] = {}
        for step in self.for_period(period):
            at = step.at(start, due)
            if at is None or at >= due:
                continue
            marks[at] = step.id  # the last rung at an instant names it (the closest to due)
        return [Mark(at, step) for at, step in sorted(marks.items())]

    def latest_before(self, start: datetime | None, due: datetime, now: datetime) -> Mark | None:
        crossed = [m for m in self.before(start, due) if m.at <= now]
        return crossed[-1] if crossed else None

    def repeat(self, since: datetime, now: datetime, label: str) -> Mark | None:
        """The latest of `since`, `since + every`, `since + 2 every`, ... at or before `now`."""
        if now < since:
            return None
        if self.every is None:
            return Mark(since, label)
        k = int((now - since) // self.every)
        if k == 0:
            return Mark(since, label)
        return Mark(since + self.every * k, f"{label}+{compact(self.every * k)}")
