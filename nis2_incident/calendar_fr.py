"""French public holidays, as dates: which days the conservative-choice and DORA weekend texts skip.

Why not the `holidays` package alone: importing it and asking for France loads the calendars of every
country it knows (about 250 modules: `import holidays` 55-65 ms, then `country_holidays("FR")` about
58 ms of CPU, for each `explain`; its `countries` package imports them all, so France's module cannot
be imported alone). The dates are few and fixed by law, so they are computed here; the package is
still the reference: `tests/test_calendar_fr.py` checks that these dates are exactly the package's,
nationally and for the Moselle ("57"), for every year it computes (2008-2100), and the package still
*names* a holiday when a text names one (`name`, in the language the package chooses, as before).

- National (Code du travail, art. L3133-1): 1 January, Easter Monday, 1 May, 8 May, Ascension
  (Easter + 39 days), Whit Monday (Easter + 50 days; a public holiday again since loi n° 2008-351),
  14 July, 15 August, 1 November, 11 November, 25 December.
- Alsace-Moselle (Code du travail, art. L3134-13), subdivision "57" as in the package: also Good
  Friday and 26 December.

Before 2008 (Whit Monday was not a holiday in 2005-2007, and older years have other rules) and after
2100 (the package's last year) the package answers, so the days are the package's in every year.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from dateutil.easter import easter  # Western (Gregorian) Easter, the package's own source (about 3 ms to import)

FIRST_YEAR = 2008  # from loi n° 2008-351 (Whit Monday a public holiday again); earlier: the package
LAST_YEAR = 2100  # the package's last year (it knows no holiday after it); later: the package, as before
SUBDIVISIONS = (None, "57")  # national; Moselle (the package's code for Alsace-Moselle's extra days)


@lru_cache(maxsize=64)
def _days(year: int, subdivision: str | None) -> frozenset[date]:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return frozenset(_package(year, subdivision))
    sunday = easter(year)
    days = {date(year, 1, 1), sunday + timedelta(days=1), date(year, 5, 1), date(year, 5, 8),
            sunday + timedelta(days=39), sunday + timedelta(days=50), date(year, 7, 14), date(year, 8, 15),
            date(year, 11, 1), date(year, 11, 11), date(year, 12, 25)}
    if subdivision == "57":
        days |= {sunday - timedelta(days=2), date(year, 12, 26)}
    elif subdivision is not None:
        return frozenset(_package(year, subdivision))
    return frozenset(days)


def _package(year: int, subdivision: str | None):
    import holidays

    return holidays.country_holidays("FR", subdiv=subdivision, years=year)


def is_holiday(day: date, subdivision: str | None = None) -> bool:
    """Whether `day` is a French public holiday (nationally, or in `subdivision`, e.g. "57")."""
    return day in _days(day.year, subdivision)


def is_working_day(day: date, subdivision: str | None = None) -> bool:
    return day.weekday() < 5 and not is_holiday(day, subdivision)


def name(day: date) -> str | None:
    """The national holiday's name (the `holidays` package's, imported only here), None if not one."""
    if not is_holiday(day):
        return None
    import holidays

    return holidays.country_holidays("FR", years=day.year).get(day)
