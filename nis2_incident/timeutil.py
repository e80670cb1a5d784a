"""The one module that owns time: parsing WHEN, zones, elapsed hours, calendar months, display.

Every instant inside the program is a timezone-aware `datetime` (UTC or with the offset it was
given). Local wall-clock values exist only at input (parse) and output (display). Nothing else in the
package imports pendulum or zoneinfo.

Speed (issue 8): zones are `zoneinfo` objects, looked up once per name; calendar months are computed
here on wall-clock fields; pendulum (45 ms to import) is imported only to parse a WHEN that is not a
plain `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|±HH:MM]` (tests/test_timeutil.py compares both with
pendulum on many inputs, so the fast paths cannot drift from it).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

from .errors import InputError

UTC = timezone.utc

WHEN_HELP = (
    "accepted: ISO 8601 such as 2026-03-28T10:00 (profile's zone) or 2026-03-28T10:00+01:00, "
    "'now', a relative time such as -2h, 2h ago, 3 hours ago, 2 days ago, 1w ago, +48h, in 3d, or "
    "yesterday 14:00, today 09:30"
)

DURATION_HELP = "accepted: a duration such as 6h, 30m, 1d, 1h30m, 2d12h"

# Every instant the tool accepts lies in these years (issue 14): WHEN parsing, `--now`, exercise times,
# and the instants of `check`'s state. Far enough for any incident and any deadline or alarm drawn from
# it (a final report one month on, an ICS alarm days before); near enough that nothing computed from
# an accepted instant overflows Python's years 1 to 9999 (`--aware 9999-12-31T23:59Z` was exit 70).
MIN_YEAR, MAX_YEAR = 1970, 2200
EARLIEST = datetime(MIN_YEAR, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(MAX_YEAR + 1, 1, 1, tzinfo=timezone.utc)  # excluded
RANGE_HELP = f"accepted: a time between the years {MIN_YEAR} and {MAX_YEAR} (UTC)"


def in_range(instant: datetime) -> bool:
    return EARLIEST <= instant < LATEST


def bounded(instant: datetime, text: str) -> datetime:
    """`instant` if it is within the accepted years, else InputError naming `text`."""
    if not in_range(instant):
        raise InputError(f"time {text!r} is out of range; {RANGE_HELP}")
    return instant


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_RE = re.compile(r"^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m(?:in)?)?(?:([0-9]+)s)?$", re.ASCII)


@lru_cache(maxsize=64)
def _zone(name: str):
    # As pendulum.timezone did: "utc" in any case is UTC; any other name is an IANA key.
    return zoneinfo.ZoneInfo("UTC" if name.lower() == "utc" else name)


def zone(name: str):
    """The tz for an IANA name; InputError for an unknown one."""
    try:
        return _zone(name)
    except Exception as exc:  # ZoneInfoNotFoundError (a KeyError), ValueError for malformed keys, ...
        raise InputError(
            f"unknown time zone {name!r}; accepted: an IANA zone name such as Europe/Paris or UTC"
        ) from exc


def parse_duration(text: str) -> timedelta:
    """`6h`, `30m`, `1d`, `1h30m`, `2d12h` -> timedelta. Zero and empty are refused."""
    raw = text.strip().lower().replace(" ", "")
    m = _DURATION_RE.match(raw) if len(raw) <= 64 else None
    if not raw or not m or not any(m.groups()):
        raise InputError(f"invalid duration {text!r:.60}; {DURATION_HELP}")
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    if d * 86400 + h * 3600 + mi * 60 + s > 36500 * 86400:  # also keeps timedelta from overflowing
        raise InputError(f"duration {text!r} is too long; {DURATION_HELP}")
    if not (d or h or mi or s):
        raise InputError(f"duration {text!r} is zero; {DURATION_HELP}")
    return timedelta(days=d, hours=h, minutes=mi, seconds=s)


def local_to_instant(naive: datetime, tz_name: str) -> datetime:
    """A wall-clock time in a zone -> aware instant; refuses times that do not exist or repeat.

    Written by hand because neither pendulum nor zoneinfo refuses them: both silently pick one
    side of the gap or of the fold, which would move a legal deadline by an hour.
    """
    tz = zone(tz_name)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    off1, off2 = first.utcoffset(), second.utcoffset()
    if off1 == off2:
        return first
    back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != naive:
        raise InputError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz_name} (the clocks jumped forward); "
            f"give an offset, e.g. {naive:%Y-%m-%dT%H:%M}{fmt_offset(off1)} or a time outside the gap"
        )
    a, b = sorted([off1, off2], reverse=True)
    raise InputError(
        f"{naive:%Y-%m-%d %H:%M} happens twice in {tz_name} (the clocks went back); give the offset: "
        f"{naive:%Y-%m-%dT%H:%M}{fmt_offset(a)} (first) or {naive:%Y-%m-%dT%H:%M}{fmt_offset(b)} (second)"
    )


# The patterns of the forms a person types (relative, words, day/month) are compiled when first used
# (`re`'s own cache): a stored or `--now` instant in ISO form is read by `_parse_iso` first, which
# none of them can match, so most commands never compile them (issue 13: about 0.7 ms of every start).
_REL = (r"^(?:(?P<sign>[-+])\s*(?P<a>[0-9][0-9dhmins ]*)|(?P<b>[0-9][0-9dhmins ]*?)\s*ago|"
        r"in\s+(?P<c>[0-9][0-9dhmins ]*))$")


def parse_when(text: str, now: datetime, tz_name: str) -> datetime:
    """Parse a WHEN into an aware instant (UTC), within the accepted years (`bounded`). `now` anchors
    the relative forms."""
    return bounded(_parse_when(text, now, tz_name), (text or "").strip())


def _shown(text: str, limit: int = 60) -> str:
    """`text` quoted for an error message, cut to `limit` characters of its repr (a hostile time of 64
    characters above U+FFFF is 640 of them escaped)."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[:limit - 4] + "...'"


def _parse_when(text: str, now: datetime, tz_name: str) -> datetime:
    raw = (text or "").strip()
    low = raw.lower()
    if not raw:
        raise InputError(f"empty time; {WHEN_HELP}")
    if low == "now":
        return now.astimezone(UTC)
    if len(raw) > 64:
        raise InputError(f"invalid time {_shown(raw)}; {WHEN_HELP}")
    # An ISO form first: it starts with four digits and a dash, which no form below can match (a
    # relative time starts with a sign, `in ` or ends in `ago` with only digits and units before it;
    # a day word with a word; a day/month with one or two digits and `/` or `.`), so the order
    # changes no result; a text it does not take goes through every form as before.
    iso = _parse_iso(raw)
    if iso is None:
        human = _human_form(raw, low, now, tz_name)
        if human is not None:
            return human
        m = re.match(_REL, re.sub(_WORD_UNITS, _unit, low, flags=re.ASCII), re.ASCII)
    else:
        m = None
    if m:
        if m.group("a") is not None:
            amount, sign = m.group("a"), (1 if m.group("sign") == "+" else -1)
        elif m.group("b") is not None:
            amount, sign = m.group("b"), -1
        else:
            amount, sign = m.group("c"), 1
        try:
            delta = parse_duration(amount)
        except InputError:
            raise InputError(f"invalid time {_shown(text)}; {WHEN_HELP}") from None
        try:
            return (now + sign * delta).astimezone(UTC)
        except OverflowError:
            raise InputError(f"time {text!r} is out of range; {WHEN_HELP}") from None
    plain, offset = iso or _parse_with_pendulum(raw, text)
    try:
        if offset is None:
            return local_to_instant(plain, tz_name).astimezone(UTC)
        return plain.replace(tzinfo=timezone(offset)).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00 in a zone east of UTC
        raise InputError(f"time {text!r} is out of range; {WHEN_HELP}") from None


# What a tired human types (issue 16): `3 hours ago`, `2 days ago`, `1w ago`, `in 2 weeks`; read as
# the short forms (`3h ago`, `2d ago`, `7d ago`). Months are not a fixed length: refused, as before.
_WORD_UNITS = r"([0-9]+)\s*(weeks?|w|days?|hours?|hrs?|minutes?|mins?|seconds?|secs?)(?![a-z])"  # re.ASCII


def _unit(m: re.Match) -> str:
    n, word = int(m.group(1)), m.group(2)
    if word[0] == "w":
        return f"{n * 7}d"
    return f"{n}{ {'d': 'd', 'h': 'h', 'm': 'm', 's': 's'}[word[0]] }"


_DAY_WORD = r"^(yesterday|today|hier|aujourd'hui)\s+(?:at\s+|à\s+)?([0-9]{1,2})[:h]([0-9]{2})$"
_SLASH = r"^([0-9]{1,2})[/.]([0-9]{1,2})[/.]([0-9]{4})(?:[ T]+([0-9]{1,2})[:h]([0-9]{2}))?$"


def _human_form(raw: str, low: str, now: datetime, tz_name: str) -> datetime | None:
    """`yesterday 14:00` / `today 09:30` (also `hier 14h00`) in the profile's zone; `28/03/2026 10:00`
    refused with the ISO form to type (day and month orders differ between countries). None otherwise."""
    m = re.match(_DAY_WORD, low)
    if m:
        word, hour, minute = m.group(1), int(m.group(2)), int(m.group(3))
        if hour > 23 or minute > 59:
            raise InputError(f"invalid time {_shown(raw)}; {WHEN_HELP}")
        day = to_local(now, tz_name).date() - timedelta(days=1 if word in ("yesterday", "hier") else 0)
        return local_to_instant(datetime(day.year, day.month, day.day, hour, minute), tz_name).astimezone(UTC)
    m = re.match(_SLASH, low)
    if m:
        a, b, year = int(m.group(1)), int(m.group(2)), m.group(3)
        clock = f"T{int(m.group(4)):02d}:{m.group(5)}" if m.group(4) else "T00:00"
        forms = [f"{year}-{mo:02d}-{d:02d}{clock}" for d, mo in ((a, b), (b, a)) if 1 <= mo <= 12 and 1 <= d <= 31]
        if not forms:
            raise InputError(f"invalid time {_shown(raw)}; {WHEN_HELP}")
        if len(forms) == 2 and forms[0] != forms[1]:
            hint = f"{forms[0]} (day first) or {forms[1]} (month first)"
        else:
            hint = forms[0]
        raise InputError(f"{raw!r}: a day/month order is not guessed, to avoid a wrong date; accepted: ISO "
                         f"8601 (year-month-day), here {hint}")
    return None


_ISO_RE = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))?$", re.ASCII)


def _parse_iso(raw: str) -> tuple[datetime, timedelta | None] | None:
    """The common forms (`2026-03-28T10:00`, `2026-03-28 10:00:00+01:00`, `...Z`) without pendulum:
    (wall-clock time, offset or None). None for anything else, or anything out of range, which then
    goes to pendulum as before."""
    m = _ISO_RE.match(raw)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = m.groups()
    try:
        plain = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                         int((frac or "").ljust(6, "0")))
        if zulu:
            return plain, timedelta(0)
        if sign is None:
            return plain, None
        offset = (1 if sign == "+" else -1) * timedelta(hours=int(off_h), minutes=int(off_m))
        timezone(offset)  # refuses offsets of 24 h and more
        return plain, offset
    except (ValueError, OverflowError):
        return None


def _parse_with_pendulum(raw: str, text: str) -> tuple[datetime, timedelta | None]:
    import pendulum

    try:
        parsed = pendulum.parse(raw, exact=True, tz=None)
    except Exception:  # pendulum raises ParserError, ValueError or OverflowError
        raise InputError(f"invalid time {_shown(text)}; {WHEN_HELP}") from None
    if not isinstance(parsed, datetime):
        missing = "no date" if isinstance(parsed, time) else "no time of day" if isinstance(parsed, date) else None
        if missing is None:  # e.g. an ISO duration such as P1D
            raise InputError(f"invalid time {_shown(text)}; {WHEN_HELP}")
        raise InputError(f"{text!r} has {missing}; {WHEN_HELP}")
    # back to a plain datetime: pendulum's subclass must not leak into the model
    plain = datetime(
        parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute, parsed.second,
        parsed.microsecond,
    )
    try:
        return plain, (None if parsed.tzinfo is None else parsed.utcoffset())
    except ValueError:  # an offset of 24 h or more (`+24:00`): was an internal error (exit 70)
        raise InputError(f"invalid time {_shown(text)}; {WHEN_HELP}") from None


# The last instants parsed (text -> UTC instant): a fold parses an event's `recorded_at` and then,
# most often, the same text again as its `at` (or the next event's), 43 % of the 181,282 instants
# of the benchmark's 10,000 incidents. Small and cleared when full, so it never weighs; only
# successes are kept, and only `str` keys, so every refusal is made again (tests/test_timeutil.py
# compares with the uncached parse on generated texts).
_RECENT: dict[str, datetime] = {}
_RECENT_MAX = 256


def parse_instant(text: str) -> datetime:
    """Parse a stored RFC 3339 instant (offset required)."""
    if type(text) is not str:
        return _parse_instant(text)  # refused there, whatever it is
    instant = _RECENT.get(text)
    if instant is None:
        instant = _parse_instant(text)
        if len(_RECENT) >= _RECENT_MAX:
            _RECENT.clear()
        _RECENT[text] = instant
    return instant


def _parse_instant(text: str) -> datetime:
    """`parse_instant` without the memo of recent texts."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"not an RFC 3339 time with offset: {text!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"time without offset: {text!r}")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00, past the last instant Python can hold
        raise ValueError(f"out of range: {text!r}") from None


def add_hours(instant: datetime, hours: int) -> datetime:
    """Elapsed hours on the instant (UTC): 24 h across a clock change is 24 real hours."""
    return (instant.astimezone(UTC) + timedelta(hours=hours)).astimezone(UTC)


def add_months(instant: datetime, months: int, tz_name: str) -> datetime:
    """Calendar months in the profile's zone, end-of-month clamped (31 Jan + 1 month = 28/29 Feb),
    same wall-clock time, with the earlier reading wherever that wall-clock time is not one instant:

    - in a spring gap (28 Feb 2027 02:30 + 1 month = 28 Mar 2027 02:30, which does not exist in
      Paris: the clocks jump from 02:00 to 03:00) it is the first instant after the gap, the moment
      of the change (03:00+02:00), not the wall-clock time read with the old offset (03:30+02:00);
    - on a repeated autumn time (31 Oct 2027 02:30 happens at +02:00, then at +01:00) it is the
      first occurrence (`fold=0`, +02:00), the earlier one.

    `month_wall` says which case applies (for `explain`)."""
    tz = zone(tz_name)
    wall = _month_wall(instant, months, tz)
    if _wall_kind(wall, tz) == "gap":
        return _gap_end(wall, tz)
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def days_in_month(year: int, month: int) -> int:
    """`calendar.monthrange(year, month)[1]` without importing `calendar` (and `locale`, about 1.5 ms of
    every start; tests/test_timeutil.py compares both on every month of years 1 to 9999)."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _month_wall(instant: datetime, months: int, tz) -> datetime:
    local = instant.astimezone(tz)
    total = local.month - 1 + months
    year, month = local.year + total // 12, total % 12 + 1
    day = min(local.day, days_in_month(year, month))
    return datetime(year, month, day, local.hour, local.minute, local.second, local.microsecond)


def _wall_kind(wall: datetime, tz) -> str | None:
    """"gap" when the naive wall-clock time does not exist in the zone, "fold" when it happens twice."""
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return "fold" if back == wall else "gap"


def _gap_end(wall: datetime, tz) -> datetime:
    """The instant the clocks jumped over the wall-clock time `wall` (the first instant after the gap)."""
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)  # read with the later offset: before the jump
    high = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)  # read with the earlier offset: after it
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):  # the smallest instant whose local time is past `wall`
        mid = low + (high - low) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0) if high.microsecond else high


def local_is_ambiguous(instant: datetime, tz_name: str) -> bool:
    """The instant's wall-clock time in the zone happens twice (the autumn hour) or, for a wall time
    that is in a gap, not at all: written with TZID it would not name one instant (RFC 5545 §3.3.5
    reads a repeated time as its first occurrence)."""
    tz = zone(tz_name)
    return _wall_kind(instant.astimezone(tz).replace(tzinfo=None), tz) is not None


def month_wall(instant: datetime, months: int, tz_name: str) -> tuple[datetime, str | None]:
    """The wall-clock time `add_months` starts from (naive, in the zone) and whether it falls in a
    gap (`"gap"`), on a repeated time (`"fold"`) or neither (None)."""
    tz = zone(tz_name)
    wall = _month_wall(instant, months, tz)
    return wall, _wall_kind(wall, tz)


def now_utc() -> datetime:
    """The real clock. Only the CLI calls this; everything else takes `now` as an argument."""
    return datetime.now(UTC)


def to_local(instant: datetime, tz_name: str) -> datetime:
    return instant.astimezone(zone(tz_name))


def rfc3339(instant: datetime | None, tz_name: str = "UTC") -> str | None:
    """RFC 3339 with the offset of the given zone, seconds precision."""
    if instant is None:
        return None
    local = instant.astimezone(zone(tz_name))
    return (local.replace(microsecond=0) if local.microsecond else local).isoformat()


def fmt_offset(off: timedelta | None) -> str:
    """`+02:00`; with seconds when the offset has them (local mean time: `-00:44:30` in Monrovia
    until 1972), so two different offsets never print the same."""
    total = int((off or timedelta()).total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    text = f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}"
    return text + f":{total % 60:02d}" if total % 60 else text


def display(instant: datetime | None, tz_name: str, with_zone_name: bool = False) -> str:
    """`2026-03-29 11:00 +02:00` (optionally `... +02:00 CEST`): always with the offset."""
    if instant is None:
        return "—"
    local = to_local(instant, tz_name)
    text = f"{local:%Y-%m-%d %H:%M} {fmt_offset(local.utcoffset())}"
    if with_zone_name:
        text += f" {local.tzname()}"
    return text


def human_duration(delta: timedelta, seconds: bool = False) -> str:
    """`3 h 12 min`, `2 d 4 h`, `40 min`, `less than 1 min`. Truncates toward zero. With `seconds`
    (the live countdown of `status --watch`), under a day: `3:12:05`, `0:40:00` (h:mm:ss)."""
    secs = int(abs(delta).total_seconds())
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if seconds:
        return f"{hours}:{minutes:02d}:{rem % 60:02d}"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return "less than 1 min"


def countdown(due: datetime | None, now: datetime, seconds: bool = False) -> str:
    """`in 3 h 12 min` / `overdue by 40 min` / `due now` (with `seconds`: `in 3 h 12 min 05 s`)."""
    if due is None:
        return ""
    delta = due - now
    if abs(delta) < (timedelta(seconds=1) if seconds else timedelta(minutes=1)):
        return "due now"
    if delta > timedelta(0):
        return f"in {human_duration(delta, seconds)}"
    return f"overdue by {human_duration(delta, seconds)}"


def elapsed(since: datetime, now: datetime, seconds: bool = False) -> str:
    """`3 h 12 min ago` for without-undue-delay stages."""
    delta = now - since
    if delta < timedelta(0):
        return f"starts in {human_duration(delta, seconds)}"
    return f"{human_duration(delta, seconds)} elapsed"


def crosses_clock_change(start: datetime, end: datetime, tz_name: str) -> bool:
    return to_local(start, tz_name).utcoffset() != to_local(end, tz_name).utcoffset()
