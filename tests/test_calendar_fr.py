"""The French public holidays of `calendar_fr` (Code du travail art. L3133-1 nationally, L3134-13 in
Alsace-Moselle) are exactly the `holidays` package's, the reference the texts of `explain` used
before (issue 13: the package loads every country's calendar, about 110 ms)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import holidays
import pytest

from nis2_incident import calendar_fr, deadlines


@pytest.mark.parametrize("subdivision", calendar_fr.SUBDIVISIONS)
def test_every_day_is_a_holiday_here_exactly_when_the_package_says_so(subdivision):
    """Nationally and in the Moselle ("57"), 2008-2100 (computed here), 2000-2007 and 2101-2110 (the
    package answers: Whit Monday was not a holiday in 2005-2007): the same set of days, year by year."""
    for year in range(2000, 2111):
        reference = set(holidays.country_holidays("FR", subdiv=subdivision, years=year))
        day, mine = date(year, 1, 1), set()
        while day.year == year:
            if calendar_fr.is_holiday(day, subdivision):
                mine.add(day)
            day += timedelta(days=1)
        assert mine == reference, (year, subdivision, sorted(mine ^ reference))
    assert not calendar_fr.is_holiday(date(2006, 6, 5)) and calendar_fr.is_holiday(date(2008, 5, 12))  # Whit Monday


def test_the_names_are_the_packages():
    assert calendar_fr.name(date(2026, 12, 25)) == holidays.country_holidays("FR", years=2026).get(date(2026, 12, 25))
    assert calendar_fr.name(date(2026, 12, 26)) is None  # a Moselle holiday only: not named as national
    assert calendar_fr.name(date(2026, 12, 24)) is None


def test_next_working_day_skips_weekends_and_holidays_as_before():
    # Fri 25 Dec 2026 (Christmas) -> Mon 28 Dec; in the Moselle Sat 26 is a holiday too: still Mon 28
    assert deadlines.next_working_day(date(2026, 12, 25)) == date(2026, 12, 28)
    # Sat 27 Mar 2027, Sun 28, Easter Monday 29 -> Tue 30; Fri 26 Mar 2027 is Good Friday in the Moselle
    assert deadlines.next_working_day(date(2027, 3, 27)) == date(2027, 3, 30)
    assert deadlines.next_working_day(date(2027, 3, 26)) == date(2027, 3, 26)
    assert deadlines.next_working_day(date(2027, 3, 26), "57") == date(2027, 3, 30)


def test_explaining_a_deadline_that_falls_on_no_holiday_does_not_import_the_package(tmp_path):
    """The texts of `explain` need the package only to name a holiday they name."""
    probe = ("import sys\nfrom nis2_incident import deadlines\n"
             "text = str(deadlines.LatestArguable(__import__('datetime').date(2026, 6, 10)))\n"
             "assert 'allow up to 2026-06-10 23:59' in text, text\n"
             "print('holidays' in sys.modules)\n"
             "str(deadlines.LatestArguable(__import__('datetime').date(2026, 12, 25)))\n"
             "print('holidays' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "True"]
