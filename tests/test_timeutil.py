"""timeutil: parsing WHEN, elapsed hours, calendar months, display and countdowns.

Expected values are written out by hand from DOMAIN.md §8 (clock changes in Europe/Paris, 2026:
summer time from 29 Mar 01:00 UTC, back on 25 Oct 01:00 UTC) and SPEC §3; none is computed by the
code under test. Every instant is fixed; the process zone is America/Los_Angeles (conftest).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nis2_incident import timeutil as tu
from nis2_incident.errors import InputError

UTC = timezone.utc
PARIS = "Europe/Paris"
# The anchor for relative forms: Mon 1 Jun 2026 12:00 UTC (14:00 CEST).
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def off(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


# --- parse_when: accepted -------------------------------------------------------------------

ACCEPTED = [
    # ISO without offset = the profile's zone (Paris: CET +01:00 in winter, CEST +02:00 in summer)
    ("2026-03-28T10:00", utc(2026, 3, 28, 9, 0)),
    ("2026-03-28 10:00", utc(2026, 3, 28, 9, 0)),
    ("2026-07-14T10:00", utc(2026, 7, 14, 8, 0)),
    ("2026-03-28T10:00:30", utc(2026, 3, 28, 9, 0, 30)),
    # the hour after the spring gap and the hours around the autumn fold are unambiguous
    ("2026-03-29T03:00", utc(2026, 3, 29, 1, 0)),
    ("2026-10-25T03:30", utc(2026, 10, 25, 2, 30)),
    # ISO with an offset or Z: the offset wins over the profile's zone
    ("2026-03-28T10:00+01:00", utc(2026, 3, 28, 9, 0)),
    ("2026-03-28T10:00-05:00", utc(2026, 3, 28, 15, 0)),
    ("2026-03-28T09:00Z", utc(2026, 3, 28, 9, 0)),
    # the repeated hour of 25 Oct 2026 is accepted once the offset says which one
    ("2026-10-25T02:30+02:00", utc(2026, 10, 25, 0, 30)),
    ("2026-10-25T02:30+01:00", utc(2026, 10, 25, 1, 30)),
    # relative forms, anchored on NOW
    ("now", NOW),
    ("  NOW ", NOW),
    ("-2h", utc(2026, 6, 1, 10, 0)),
    ("2h ago", utc(2026, 6, 1, 10, 0)),
    ("30m ago", utc(2026, 6, 1, 11, 30)),
    ("1d2h ago", utc(2026, 5, 31, 10, 0)),
    ("2h30m ago", utc(2026, 6, 1, 9, 30)),
    ("+48h", utc(2026, 6, 3, 12, 0)),
    ("in 3d", utc(2026, 6, 4, 12, 0)),
    ("in 36500d", utc(2126, 5, 8, 12, 0)),  # the longest relative span accepted
    # what a tired human types at 03:00 (issue 16)
    ("3 hours ago", utc(2026, 6, 1, 9, 0)),
    ("2 days ago", utc(2026, 5, 30, 12, 0)),
    ("1w ago", utc(2026, 5, 25, 12, 0)),
    ("1 week ago", utc(2026, 5, 25, 12, 0)),
    ("3 h 30 min ago", utc(2026, 6, 1, 8, 30)),
    ("in 2 weeks", utc(2026, 6, 15, 12, 0)),
    ("yesterday 14:00", utc(2026, 5, 31, 12, 0)),  # 14:00 CEST
    ("today 09:30", utc(2026, 6, 1, 7, 30)),
    ("hier 14h00", utc(2026, 5, 31, 12, 0)),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_parse_when_accepts(text, expected):
    got = tu.parse_when(text, NOW, PARIS)
    assert got == expected
    assert got.utcoffset() == timedelta(0)  # always returned as a UTC instant


def test_parse_when_relative_counts_elapsed_time_across_the_march_change():
    # 28 Mar 2026 10:00 CET + 24 h = 29 Mar 11:00 CEST (DOMAIN §8.3), not 10:00
    anchor = datetime(2026, 3, 28, 10, 0, tzinfo=off(1))
    assert tu.parse_when("+24h", anchor, PARIS) == datetime(2026, 3, 29, 11, 0, tzinfo=off(2))
    assert tu.parse_when("in 1d", anchor, PARIS) == datetime(2026, 3, 29, 11, 0, tzinfo=off(2))


def test_parse_when_ignores_the_process_time_zone():
    # conftest sets TZ=America/Los_Angeles: an offset-less time still means the profile's zone
    assert time.tzname[0] == "PST"
    assert tu.parse_when("2026-01-15T08:00", NOW, PARIS) == utc(2026, 1, 15, 7, 0)
    assert tu.parse_when("2026-01-15T08:00", NOW, "UTC") == utc(2026, 1, 15, 8, 0)


# --- parse_when: rejected -------------------------------------------------------------------

REJECTED = [
    ("garbage", "invalid time 'garbage'"),
    ("2026-03-28", "has no time of day"),  # date only: the hour matters for a 24 h deadline
    ("10:00", "has no date"),
    ("", "empty time"),
    ("   ", "empty time"),
    ("2h later", "invalid time"),
    ("2h", "invalid time"),  # a bare duration has no direction
    ("+2h ago", "invalid time"),
    ("P1D", "invalid time"),  # an ISO duration is not a time
    ("2026-13-01T10:00", "invalid time"),
    ("2026-02-30T10:00", "invalid time"),
    ("2026-03-28T25:00", "invalid time"),
    ("2026-03-28T10:00" + " " * 60 + "x", "invalid time"),  # too long
    ("x" * 1000, "invalid time"),
    ("in " + "9" * 100 + "h", "invalid time"),  # too long, and would overflow
    ("+999999999h", "invalid time"),  # beyond the 36500-day cap
    ("9999999999m ago", "invalid time"),
    ("in 36500d1s", "invalid time"),
    ("0001-01-01T00:00", "out of range"),  # before year 1 once moved to UTC
    ("9999-12-31T23:59-05:00", "out of range"),
    ("28/03/2026 10:00", "here 2026-03-28T10:00"),  # day/month order is refused with the ISO form
    ("03/04/2026 10:00", "here 2026-04-03T10:00 (day first) or 2026-03-04T10:00 (month first)"),
    ("1 month ago", "invalid time"),  # months have no fixed length
    ("yesterday 25:00", "invalid time"),
]


@pytest.mark.parametrize(("text", "fragment"), REJECTED)
def test_parse_when_rejects(text, fragment):
    with pytest.raises(InputError) as info:
        tu.parse_when(text, NOW, PARIS)
    assert fragment in info.value.message
    assert "accepted:" in info.value.message  # every refusal says what would be accepted


def test_parse_when_refuses_a_local_time_that_does_not_exist():
    # 29 Mar 2026: 02:00 CET -> 03:00 CEST, so 02:30 never happened in Paris (DOMAIN §8.3)
    with pytest.raises(InputError) as info:
        tu.parse_when("2026-03-29T02:30", NOW, PARIS)
    msg = info.value.message
    assert "does not exist in Europe/Paris" in msg
    assert "2026-03-29T02:30+01:00" in msg  # shows the input with an offset to give instead


def test_parse_when_refuses_an_ambiguous_local_time_naming_both_offsets():
    # 25 Oct 2026: 03:00 CEST -> 02:00 CET, so 02:30 happens twice (DOMAIN §8.3)
    with pytest.raises(InputError) as info:
        tu.parse_when("2026-10-25T02:30", NOW, PARIS)
    msg = info.value.message
    assert "happens twice" in msg
    assert "2026-10-25T02:30+02:00 (first)" in msg
    assert "2026-10-25T02:30+01:00 (second)" in msg


def test_parse_when_unknown_zone_is_an_input_error():
    with pytest.raises(InputError, match="unknown time zone 'Mars/Olympus'"):
        tu.parse_when("2026-03-28T10:00", NOW, "Mars/Olympus")


# --- parse_duration ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("6h", timedelta(hours=6)),
    ("30m", timedelta(minutes=30)),
    ("45min", timedelta(minutes=45)),
    ("1d", timedelta(days=1)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("2d12h", timedelta(days=2, hours=12)),
    ("1H 30M", timedelta(hours=1, minutes=30)),
    ("90s", timedelta(seconds=90)),
    ("36500d", timedelta(days=36500)),
])
def test_parse_duration_accepts(text, expected):
    assert tu.parse_duration(text) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "invalid duration"),
    ("h", "invalid duration"),
    ("6", "invalid duration"),
    ("6x", "invalid duration"),
    ("-6h", "invalid duration"),
    ("30m1h", "invalid duration"),  # units in order, largest first
    ("0h", "is zero"),
    ("0d0h0m", "is zero"),
    ("36501d", "too long"),
    ("876001h", "too long"),  # 36500 d = 876000 h
    ("99999999999999999999h", "too long"),  # would overflow timedelta
    ("1" * 5000 + "h", "invalid duration"),  # beyond int()'s digit limit
])
def test_parse_duration_rejects(text, fragment):
    with pytest.raises(InputError) as info:
        tu.parse_duration(text)
    assert fragment in info.value.message


# --- add_hours: elapsed time on the instant (DOMAIN §8.2, §8.3) ----------------------------------

@pytest.mark.parametrize(("start", "hours", "expected"), [
    # aware 28 Mar 2026 10:00 CET -> +24 h = 29 Mar 11:00 CEST (not 10:00)
    (datetime(2026, 3, 28, 10, 0, tzinfo=off(1)), 24, datetime(2026, 3, 29, 11, 0, tzinfo=off(2))),
    (datetime(2026, 3, 28, 10, 0, tzinfo=off(1)), 72, datetime(2026, 3, 31, 11, 0, tzinfo=off(2))),
    # aware 24 Oct 2026 10:00 CEST -> +24 h = 25 Oct 09:00 CET (not 10:00, which would be 1 h late)
    (datetime(2026, 10, 24, 10, 0, tzinfo=off(2)), 24, datetime(2026, 10, 25, 9, 0, tzinfo=off(1))),
    (datetime(2026, 10, 24, 10, 0, tzinfo=off(2)), 72, datetime(2026, 10, 27, 9, 0, tzinfo=off(1))),
    # a start given in the Paris zone itself (zoneinfo) behaves the same
    (datetime(2026, 3, 28, 10, 0, tzinfo=ZoneInfo(PARIS)), 24, utc(2026, 3, 29, 9, 0)),
    (datetime(2026, 1, 10, 23, 30, tzinfo=UTC), 0, utc(2026, 1, 10, 23, 30)),
])
def test_add_hours_is_elapsed_time(start, hours, expected):
    got = tu.add_hours(start, hours)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


def test_add_hours_wall_clock_shows_the_change():
    due = tu.add_hours(datetime(2026, 3, 28, 10, 0, tzinfo=off(1)), 24)
    assert tu.display(due, PARIS, with_zone_name=True) == "2026-03-29 11:00 +02:00 CEST"
    due = tu.add_hours(datetime(2026, 10, 24, 10, 0, tzinfo=off(2)), 24)
    assert tu.display(due, PARIS, with_zone_name=True) == "2026-10-25 09:00 +01:00 CET"


# --- add_months: calendar months, end-of-month clamped (DOMAIN §8.4) ----------------------------

@pytest.mark.parametrize(("start", "months", "expected"), [
    # 31 Jan 2027 -> 28 Feb 2027 (not 3 Mar); 2028 is a leap year -> 29 Feb
    ("2027-01-31T10:00+01:00", 1, "2027-02-28T10:00:00+01:00"),
    ("2028-01-31T10:00+01:00", 1, "2028-02-29T10:00:00+01:00"),
    ("2026-03-31T10:00+02:00", 1, "2026-04-30T10:00:00+02:00"),
    ("2026-01-15T10:00+01:00", 1, "2026-02-15T10:00:00+01:00"),
    ("2027-12-31T23:30+01:00", 2, "2028-02-29T23:30:00+01:00"),
    # across a clock change the wall-clock time is kept, so the elapsed time is 1 h shorter / longer
    ("2026-03-15T10:00+01:00", 1, "2026-04-15T10:00:00+02:00"),
    ("2026-10-15T10:00+02:00", 1, "2026-11-15T10:00:00+01:00"),
    # a start just after midnight UTC is counted on its Paris date (31 Jan), not its UTC date (30 Jan)
    ("2027-01-31T00:30+01:00", 1, "2027-02-28T00:30:00+01:00"),
    # issue 12, DOMAIN §8.3-8.4 (earlier reading): a result inside the spring gap (28 Mar 2027 02:30
    # does not exist) is the moment of the change, 03:00+02:00, not 03:30+02:00
    ("2027-02-28T02:30+01:00", 1, "2027-03-28T03:00:00+02:00"),
    ("2027-02-28T02:00+01:00", 1, "2027-03-28T03:00:00+02:00"),
    ("2027-02-28T02:59:59+01:00", 1, "2027-03-28T03:00:00+02:00"),
    ("2026-02-28T02:30+01:00", 1, "2026-03-28T02:30:00+01:00"),  # the day before the gap: as is
    ("2026-01-29T02:15+01:00", 2, "2026-03-29T03:00:00+02:00"),  # 29 Mar 2026 02:15 is in the gap too
    ("2027-02-28T03:00+01:00", 1, "2027-03-28T03:00:00+02:00"),  # just past the gap: exists
    ("2027-02-28T01:59+01:00", 1, "2027-03-28T01:59:00+01:00"),  # just before it
    # a result on the repeated hour takes its first occurrence (+02:00), the earlier instant
    ("2026-09-25T02:30+02:00", 1, "2026-10-25T02:30:00+02:00"),
    ("2027-08-31T02:30+02:00", 2, "2027-10-31T02:30:00+02:00"),  # end of month and fold together
    ("2026-10-25T02:30+01:00", 1, "2026-11-25T02:30:00+01:00"),  # from the second 02:30
    # month ends: 31 Aug + 1 month = 30 Sep; 29 Feb 2028 + 12 months = 28 Feb 2029
    ("2026-08-31T23:59+02:00", 1, "2026-09-30T23:59:00+02:00"),
    ("2028-02-29T12:00+01:00", 12, "2029-02-28T12:00:00+01:00"),
])
def test_add_months(start, months, expected):
    got = tu.add_months(datetime.fromisoformat(start), months, PARIS)
    assert got == datetime.fromisoformat(expected)
    assert tu.rfc3339(got, PARIS) == expected


# --- display, countdown ----------------------------------------------------------------------

@pytest.mark.parametrize(("instant", "tz", "with_name", "expected"), [
    (utc(2026, 3, 29, 9, 0), PARIS, False, "2026-03-29 11:00 +02:00"),
    (utc(2026, 3, 29, 9, 0), PARIS, True, "2026-03-29 11:00 +02:00 CEST"),
    (utc(2026, 1, 5, 8, 0), PARIS, False, "2026-01-05 09:00 +01:00"),
    # the two 02:30 of 25 Oct 2026 differ only by their offset
    (utc(2026, 10, 25, 0, 30), PARIS, False, "2026-10-25 02:30 +02:00"),
    (utc(2026, 10, 25, 1, 30), PARIS, False, "2026-10-25 02:30 +01:00"),
    (utc(2026, 1, 1, 0, 0), "UTC", False, "2026-01-01 00:00 +00:00"),
    (utc(2026, 1, 1, 0, 0), "America/New_York", True, "2025-12-31 19:00 -05:00 EST"),
    (None, PARIS, False, "—"),
])
def test_display_always_shows_the_offset(instant, tz, with_name, expected):
    assert tu.display(instant, tz, with_name) == expected


def test_rfc3339_in_the_profile_zone():
    assert tu.rfc3339(utc(2026, 3, 29, 9, 0, 0, 500000), PARIS) == "2026-03-29T11:00:00+02:00"
    assert tu.rfc3339(None) is None


@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(hours=3, minutes=12), "in 3 h 12 min"),
    (timedelta(hours=3, minutes=12, seconds=59), "in 3 h 12 min"),  # truncated, never rounded up
    (timedelta(hours=5), "in 5 h"),
    (timedelta(days=2, hours=4), "in 2 d 4 h"),
    (timedelta(days=2), "in 2 d"),
    (timedelta(minutes=1), "in 1 min"),
    (timedelta(minutes=-40), "overdue by 40 min"),
    (timedelta(days=-1, hours=-2), "overdue by 1 d 2 h"),
    (timedelta(minutes=-1), "overdue by 1 min"),
    (timedelta(seconds=30), "due now"),
    (timedelta(seconds=-59), "due now"),
    (timedelta(0), "due now"),
])
def test_countdown(delta, expected):
    due = utc(2026, 6, 1, 12, 0)
    assert tu.countdown(due, due - delta) == expected


def test_countdown_without_due_and_human_duration_edges():
    assert tu.countdown(None, NOW) == ""
    assert tu.human_duration(timedelta(seconds=59)) == "less than 1 min"
    assert tu.human_duration(timedelta(hours=-3, minutes=-12)) == "3 h 12 min"
    assert tu.elapsed(utc(2026, 6, 1, 8, 48), NOW) == "3 h 12 min elapsed"


def test_crosses_clock_change():
    assert tu.crosses_clock_change(utc(2026, 3, 28, 9), utc(2026, 3, 29, 9), PARIS)
    assert not tu.crosses_clock_change(utc(2026, 3, 29, 9), utc(2026, 3, 30, 9), PARIS)
    assert not tu.crosses_clock_change(utc(2026, 3, 28, 9), utc(2026, 3, 29, 9), "UTC")


# --- properties ------------------------------------------------------------------------------

ZONES = st.sampled_from([UTC, ZoneInfo(PARIS), ZoneInfo("America/New_York"), off(5), off(-9)])


@settings(max_examples=300, deadline=None)
@given(
    x=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                   timezones=ZONES, allow_imaginary=False),
    hours=st.integers(min_value=0, max_value=2000),
)
def test_add_hours_adds_exactly_that_many_real_hours(x, hours):
    got = tu.add_hours(x, hours)
    assert got - x == timedelta(hours=hours)
    # also on UTC wall clocks, where Python's aware subtraction cannot hide an offset change
    assert got.astimezone(UTC).replace(tzinfo=None) - x.astimezone(UTC).replace(tzinfo=None) == timedelta(hours=hours)


@settings(max_examples=500, deadline=None)  # speed is the benchmark's to measure, not a test's
@given(text=st.text(max_size=80) | st.from_regex(
    r"\A(in |[+-])?[0-9]{1,25}(d|h|m|s|min)([0-9]{1,12}[hms])?( ago)?\Z"
) | st.from_regex(r"\A[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{1,2}:[0-9]{2}([+-][0-9]{2}:[0-9]{2}|Z)?\Z"))
def test_parse_when_raises_only_input_error(text):
    try:
        got = tu.parse_when(text, NOW, PARIS)
    except InputError as exc:
        assert exc.message
    else:
        assert got.utcoffset() == timedelta(0)


# --- without pendulum on the hot paths (issue 8): the same answers as pendulum gave -------------------

PENDULUM_ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia", "Europe/Dublin",
                  "Antarctica/Troll", "America/Sao_Paulo", "Pacific/Chatham", "UTC"]


def _add_months_with_pendulum(instant: datetime, months: int, tz_name: str) -> datetime:
    """`timeutil.add_months` as written with pendulum before issue 8, kept as the reference, with the
    earlier reading in a spring gap (issue 12)."""
    import pendulum

    tz = pendulum.timezone(tz_name)
    local = pendulum.instance(instant.astimezone(UTC)).in_timezone(tz)
    moved = local.naive().add(months=months)  # on the wall-clock fields (not shifted out of a gap)
    wall = datetime(moved.year, moved.month, moved.day, moved.hour, moved.minute, moved.second, moved.microsecond)
    first = wall.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)
    # in a gap (issue 12): the moment of the change, found minute by minute (pendulum's forward shift
    # gave the wall-clock time read with the old offset, an hour later)
    t = wall.replace(tzinfo=tz, fold=1).astimezone(UTC).replace(second=0, microsecond=0)
    while t.astimezone(tz).replace(tzinfo=None) < wall:
        t += timedelta(minutes=1)
    return t


@settings(max_examples=400, deadline=None)
@given(instant=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
       months=st.sampled_from([1, 1, 2, 12, 13, -1]), zone=st.sampled_from(PENDULUM_ZONES))
def test_add_months_gives_what_pendulum_gave(instant, months, zone):
    assert tu.add_months(instant, months, zone) == _add_months_with_pendulum(instant, months, zone)


def test_add_months_gives_what_pendulum_gave_at_every_clock_change_and_month_end():
    """Wall-clock results that fall in a gap, on a repeated hour, on 29-31 of short months."""
    for zone in PENDULUM_ZONES:
        tz = ZoneInfo(zone)
        for year in (2011, 2024, 2026):
            for month in range(1, 13):
                for day in (1, 25, 26, 27, 28, 29, 30, 31):
                    for hour in (0, 1, 2, 3, 23):
                        try:
                            wall = datetime(year, month, day, hour, 30)
                        except ValueError:
                            continue
                        instant = wall.replace(tzinfo=tz).astimezone(UTC)
                        for months in (1, -1):
                            assert tu.add_months(instant, months, zone) == \
                                _add_months_with_pendulum(instant, months, zone), (zone, wall, months)


ISO = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, off: f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}{s}{frac}{off}",
    st.integers(1, 9999), st.integers(0, 13), st.integers(0, 32), st.sampled_from(["T", " "]),
    st.integers(0, 25), st.integers(0, 61), st.sampled_from(["", ":00", ":59", ":60", ":07"]),
    st.sampled_from(["", ".5", ".123456", ".0001"]),
    st.sampled_from(["", "Z", "+01:00", "-09:30", "+23:59", "+24:00", "-00:00", "+14:00"]))


@settings(max_examples=600, deadline=None)
@given(text=ISO)
def test_the_plain_iso_forms_are_read_as_pendulum_read_them(text):
    fast = tu._parse_iso(text)
    if fast is None:
        return  # left to pendulum, as before
    assert tu._parse_with_pendulum(text, text) == fast


@pytest.mark.parametrize("text", ["2026-03-28T10:00+24:00", "2026-03-28T10:00-23:60"])
def test_bug_an_offset_of_24_hours_was_an_internal_error(text):
    """pendulum parses `+24:00`, but no datetime offset reaches 24 h: a ValueError escaped (exit 70)."""
    with pytest.raises(InputError, match="invalid time"):
        tu.parse_when(text, NOW, PARIS)


def test_zones_are_looked_up_once():
    assert tu.zone("Europe/Paris") is tu.zone("Europe/Paris")
    assert tu.zone("utc").utcoffset(None) == timedelta(0)  # as pendulum.timezone: any case of UTC


# --- issue 14: one range for every accepted instant; offsets with seconds ----------------------------

@pytest.mark.parametrize(("text", "ok"), [
    ("1970-01-01T00:00Z", True), ("1969-12-31T23:59:59Z", False), ("2200-12-31T23:59:59Z", True),
    ("2201-01-01T00:00Z", False), ("1970-01-01T00:30+01:00", False), ("2200-12-31T20:00-05:00", False),
    ("9999-12-31T23:59Z", False), ("0001-01-01T00:00Z", False), ("in 36500d", True)])
def test_parse_when_accepts_the_years_1970_to_2200_only(text, ok):
    now = datetime(2026, 3, 28, 9, 0, tzinfo=timezone.utc)
    if ok:
        assert tu.in_range(tu.parse_when(text, now, "Europe/Paris"))
    else:
        with pytest.raises(InputError, match=r"out of range; accepted: a time between the years 1970 and 2200"):
            tu.parse_when(text, now, "Europe/Paris")


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)))
@settings(max_examples=200, deadline=None)
def test_every_instant_parse_when_returns_is_in_range(instant):
    text = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        parsed = tu.parse_when(text, datetime(2026, 1, 1, tzinfo=timezone.utc), "UTC")
    except InputError:
        assert not tu.in_range(instant.replace(microsecond=0))
    else:
        assert tu.in_range(parsed) and parsed == instant.replace(microsecond=0)


@pytest.mark.parametrize(("seconds", "shown"), [
    (3600, "+01:00"), (-2670, "-00:44:30"), (561, "+00:09:21"), (0, "+00:00"), (-(5 * 3600 + 30 * 60), "-05:30")])
def test_fmt_offset_shows_seconds_only_when_the_offset_has_them(seconds, shown):
    assert tu.fmt_offset(timedelta(seconds=seconds)) == shown


# --- parse_instant's memo of recent texts (issue 13, item 6: the fold parses the same text again) ---

_DIGITS = st.text("0123456789", min_size=1, max_size=4)
_INSTANT_TEXTS = st.one_of(
    # the form the tool writes, across offsets, DST edges (Paris, 29 Mar / 25 Oct), leap days, fractions
    st.builds(lambda d, off, frac: tu.rfc3339(d).replace("+00:00", "") + frac + off,
              st.datetimes(datetime(1969, 12, 30), datetime(2201, 1, 2), timezones=st.just(timezone.utc)),
              st.sampled_from(["+00:00", "Z", "+01:00", "+02:00", "-05:00", "+14:00", "-23:59", "+24:00", "",
                               "+1:00", "+01", "+0100", "+01:00:30", " +01:00"]),
              st.sampled_from(["", ".5", ".123456", ".1234567", ".", ","])),
    st.sampled_from(["2028-02-29T12:00:00+01:00", "2027-02-29T12:00:00+01:00", "2026-03-29T02:30:00+01:00",
                     "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "9999-12-31T23:59:59-05:00",
                     "0001-01-01T00:00:00+01:00", "2026-03-28T10:45:00+01:00", "2026-03-28 10:45+01:00",
                     "2026-03-28", "2026-03-28T10:45", "", " ", "now", "2026-13-01T00:00:00Z"]),
    st.builds(lambda y, mo, d, h, mi: f"{y}-{mo}-{d}T{h}:{mi}:00+01:00", _DIGITS, _DIGITS, _DIGITS, _DIGITS,
              _DIGITS),
    st.text(max_size=30),  # garbage
    st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=3), max_size=2)),  # not even text
)


def _outcome(parse, value):
    try:
        instant = parse(value)
    except ValueError as exc:
        return ("refused", str(exc))
    return ("instant", instant, instant.tzinfo, instant.utcoffset())


@settings(max_examples=1500, deadline=None)
@given(st.lists(_INSTANT_TEXTS, min_size=1, max_size=8))
def test_parse_instant_with_its_memo_is_the_plain_parse(values):
    """Whatever was parsed before (the memo holds recent successes), `parse_instant` gives what the
    uncached parse gives: the same UTC instant, or the same refusal."""
    for value in values + values[::-1]:
        assert _outcome(tu.parse_instant, value) == _outcome(tu._parse_instant, value)


def test_parse_instant_memo_stays_small_and_keeps_refusing():
    for n in range(3 * tu._RECENT_MAX):
        tu.parse_instant(tu.rfc3339(datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=n)))
        assert len(tu._RECENT) <= tu._RECENT_MAX
    assert tu.parse_instant("2026-03-28T10:45:00+01:00") == datetime(2026, 3, 28, 9, 45, tzinfo=timezone.utc)
    assert tu.parse_instant("2026-03-28T10:45:00+01:00") is tu.parse_instant("2026-03-28T10:45:00+01:00")
    for bad in ("2026-03-28T10:45:00", "9999-12-31T23:59:59-05:00", None, ["x"]):
        for _ in range(2):
            with pytest.raises(ValueError):
                tu.parse_instant(bad)


# --- issue 13: a start without `calendar`, and the ISO form read first ------------------------------

def test_days_in_month_is_calendar_monthrange_for_every_month_of_years_1_to_9999():
    import calendar

    assert [tu.days_in_month(y, m) for y in range(1, 10000) for m in range(1, 13)] == \
        [calendar.monthrange(y, m)[1] for y in range(1, 10000) for m in range(1, 13)]
    assert "calendar" not in tu.__dict__  # what the start-up no longer imports


def _parse_when_in_the_old_order(text, now, tz_name):
    """`_parse_when` as it was before the ISO form was tried first (human forms, then relative, then
    ISO, then pendulum), to compare with."""
    import re

    raw = (text or "").strip()
    low = raw.lower()
    if not raw or low == "now" or len(raw) > 64:
        return tu._parse_when(text, now, tz_name)  # these come first in both orders
    human = tu._human_form(raw, low, now, tz_name)
    if human is not None:
        return human
    if re.match(tu._REL, re.sub(tu._WORD_UNITS, tu._unit, low, flags=re.ASCII), re.ASCII):
        return tu._parse_when(text, now, tz_name)  # a relative time: not an ISO form in either order
    plain, offset = tu._parse_iso(raw) or tu._parse_with_pendulum(raw, text)
    try:
        if offset is None:
            return tu.local_to_instant(plain, tz_name).astimezone(UTC)
        return plain.replace(tzinfo=timezone(offset)).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00 in a zone east of UTC
        raise InputError(f"time {text!r} is out of range; {tu.WHEN_HELP}") from None


def _when_outcome(parse, text):
    try:
        return ("instant", parse(text, datetime(2026, 3, 28, 9, 0, tzinfo=UTC), "Europe/Paris"))
    except InputError as exc:
        return ("refused", exc.message)
    except OverflowError:
        return ("overflow",)


@settings(max_examples=600, deadline=None)
@given(text=ISO | st.from_regex(r"\A[0-9]{1,4}[-/. ][0-9]{1,2}[-/. T][0-9]{1,4}( ?ago| [0-9]{1,2}[:h][0-9]{2})?\Z")
       | st.sampled_from(["2026-03-28T10:00", "2h ago", "+48h", "in 3 days", "yesterday 14:00", "28/03/2026 10:00",
                          "2026-03-28", "2026-03-28T25:00", "2026-13-01T10:00+01:00", " 2026-03-28 10:00Z ",
                          "0001-01-01T00:00"]))
def test_reading_the_iso_form_first_changes_no_result(text):
    """No other form can match what `_parse_iso` takes, so trying it first gives every text the same
    instant or the same refusal as the old order."""
    assert _when_outcome(tu._parse_when, text) == _when_outcome(_parse_when_in_the_old_order, text)


def test_an_iso_form_matches_none_of_the_typed_forms():
    import re

    for text in ("2026-03-28T10:00", "2026-03-28 10:00:00.5+01:00", "0001-01-01T00:00Z", "9999-12-31T23:59-09:30"):
        low = text.lower()
        assert tu._parse_iso(text) is not None
        assert not re.match(tu._DAY_WORD, low) and not re.match(tu._SLASH, low)
        assert not re.match(tu._REL, re.sub(tu._WORD_UNITS, tu._unit, low, flags=re.ASCII), re.ASCII)
