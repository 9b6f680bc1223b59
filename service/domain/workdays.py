"""Working days and office hours on the official Chinese calendar (with 调休).

chinesecalendar knows the published schedules. For a later year it does not know yet, the days off are the
weekends and the statutory holidays, which the law fixes (《全国年节及纪念日放假办法》, as amended in 2024):
元旦 1 January, 春节 除夕 and 正月初一 to 初三, 清明 (the solar term's day), 劳动节 1–2 May, 端午 (五月初五),
中秋 (八月十五) and 国庆 1–3 October; the lunar dates and the solar term come from the lunar-python package.
What only the State Council's yearly schedule fixes stays unknown: the 调休 swaps (weekend days worked, weekdays
given off to bridge) and the weekday a holiday falling on a weekend is made up on (补假). Every answer that
relied on such a year is marked provisional, so deadlines can be recomputed once the year is published.

Instants are clamped into the calendar's range (service/domain/bounds.py): a ticket received in year 1 can
neither make the arithmetic walk two thousand years nor meet Shanghai's local mean time (+08:05:43).
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
import chinese_calendar.constants
from lunar_python import Lunar

from service.config import get_settings
from service.domain.bounds import clamp


def _version() -> tuple[int, int]:
    """What the schedule tables look like now (a release, or a test, may add days): keys the caches below."""
    return len(chinese_calendar.constants.holidays), len(chinese_calendar.constants.workdays)


def _published() -> frozenset[int]:
    """The years whose official schedule the installed chinesecalendar knows."""
    return _published_years(_version())


@lru_cache(maxsize=4)
def _published_years(_: tuple[int, int]) -> frozenset[int]:
    return frozenset(day.year for day in chinese_calendar.constants.holidays)


@lru_cache(maxsize=4096)
def day_info(d: date) -> tuple[bool, bool]:
    """(is a working day, provisional) for a date."""
    if d.year in _published():
        return chinese_calendar.is_workday(d), False
    # the year's schedule is not published (or not in the installed release): weekends and the statutory holidays
    return d.weekday() < 5 and d not in _provisional_holidays(d.year), True


def _provisional_holidays(year: int) -> frozenset[date]:
    """The statutory holidays of a year after the last published one (the law of 2024 applies to those; the
    years before the installed release begins are only reached by clamped instants, counted Monday to Friday)."""
    published = _published()
    return statutory_holidays(year) if not published or year > max(published) else frozenset()


@lru_cache(maxsize=256)
def statutory_holidays(year: int) -> frozenset[date]:
    """The days off the law fixes for every year (《全国年节及纪念日放假办法》, 2024): 13 days, before any 调休 or 补假."""
    def lunar(month: int, day: int) -> date:
        solar = Lunar.fromYmd(year, month, day).getSolar()
        return date(solar.getYear(), solar.getMonth(), solar.getDay())

    new_year = lunar(1, 1)  # 正月初一
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]  # lunar year `year` holds the solar year's 清明
    return frozenset({
        date(year, 1, 1),                                                    # 元旦
        *(new_year + timedelta(days=i) for i in range(-1, 3)),              # 春节: 除夕, 初一 to 初三
        date(qingming.getYear(), qingming.getMonth(), qingming.getDay()),   # 清明
        date(year, 5, 1), date(year, 5, 2),                                 # 劳动节
        lunar(5, 5),                                                        # 端午
        lunar(8, 15),                                                       # 中秋
        date(year, 10, 1), date(year, 10, 2), date(year, 10, 3),            # 国庆
    })


def is_workday(d: date) -> bool:
    return day_info(d)[0]


def next_workday(d: date) -> tuple[date, bool]:
    """The first working day after d, and whether it is provisional."""
    for _ in range(3660):
        d += timedelta(days=1)
        work, provisional = day_info(d)
        if work:
            return d, provisional
    raise ValueError("no working day within ten years")


def _exceptions() -> tuple[list[date], list[date]]:
    """The published days that break the Monday-to-Friday rule: (weekdays off, weekend days worked (调休))."""
    return _exceptions_of(_version())


@lru_cache(maxsize=4)
def _exceptions_of(_: tuple[int, int]) -> tuple[list[date], list[date]]:
    published = _published()
    days = {d for d in (*chinese_calendar.constants.holidays, *chinese_calendar.constants.workdays)
            if d.year in published}
    off = sorted(d for d in days if d.weekday() < 5 and not chinese_calendar.is_workday(d))
    worked = sorted(d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d))
    return off, worked


def workdays_between(first: date, end: date) -> int:
    """How many working days lie in [first, end), counted without walking the days: Mondays to Fridays, less
    the published weekdays off and the statutory holidays on weekdays of unpublished years, plus the published
    weekend days worked."""
    if end <= first:
        return 0
    weeks, rest = divmod((end - first).days, 7)
    count = weeks * 5 + sum((first.weekday() + i) % 7 < 5 for i in range(rest))
    off, worked = _exceptions()
    count -= bisect_left(off, end) - bisect_left(off, first)
    published = _published()
    count -= sum(first <= d < end and d.weekday() < 5
                 for year in range(first.year, end.year + 1) if year not in published
                 for d in _provisional_holidays(year))
    return count + bisect_left(worked, end) - bisect_left(worked, first)


@dataclass(frozen=True)
class Calendar:
    """Office hours on working days in one time zone."""

    tz: ZoneInfo
    periods: tuple[tuple[time, time], ...]  # e.g. ((08:30, 12:00), (13:30, 17:30))

    @classmethod
    def from_settings(cls) -> Calendar:
        s = get_settings()
        return cls(ZoneInfo(s.timezone), parse_office_hours(s.office_hours))

    @property
    def day_seconds(self) -> float:
        return sum(_secs(b) - _secs(a) for a, b in self.periods)

    def _periods_on(self, d: date) -> list[tuple[datetime, datetime]]:
        return [(datetime.combine(d, a, self.tz), datetime.combine(d, b, self.tz)) for a, b in self.periods]

    def end_of_day(self, d: date) -> datetime:
        return datetime.combine(d, self.periods[-1][1], self.tz)

    def add_working_hours(self, start: datetime, hours: float) -> tuple[datetime, bool]:
        """The instant `hours` office hours after start, and whether a provisional day was used."""
        remaining = hours * 3600.0
        local = clamp(start).astimezone(self.tz)
        d, provisional = local.date(), False
        for _ in range(3660):  # ten years of days: far beyond any limit, but never an endless loop
            work, prov = day_info(d)
            provisional |= prov
            if work:
                for a, b in self._periods_on(d):
                    a = max(a, local)
                    if a >= b:
                        continue
                    span = (b - a).total_seconds()
                    if remaining <= span:
                        return a + timedelta(seconds=remaining), provisional
                    remaining -= span
            d += timedelta(days=1)
        raise ValueError("working hours beyond ten years")

    def add_working_days(self, start: datetime, days: int, *, count_from: str = "next_day") -> tuple[datetime, bool]:
        """End of office hours of the `days`-th working day counted from start.

        count_from="same_day": the day of receipt counts when it is a working day and receipt is
        before the end of office hours. days=0 means the same working day (urgent matters).
        """
        local = clamp(start).astimezone(self.tz)
        d, provisional = local.date(), False
        same_day_counts = count_from == "same_day" or days == 0
        if not (same_day_counts and local < self.end_of_day(d)):
            d += timedelta(days=1)
        counted = 0
        for _ in range(3660):
            work, prov = day_info(d)
            provisional |= prov
            if work:
                counted += 1
                if counted >= max(days, 1):
                    return self.end_of_day(d), provisional
            d += timedelta(days=1)
        raise ValueError("working days beyond ten years")

    def working_seconds(self, a: datetime, b: datetime) -> float:
        """Office-hour seconds between two instants (0 when b <= a), in time independent of their distance:
        the first and last days by their periods, the whole days between by counting working days."""
        a, b = clamp(a), clamp(b)
        if b <= a:
            return 0.0
        la, lb = a.astimezone(self.tz), b.astimezone(self.tz)
        if la.date() == lb.date():
            return self._seconds_on(la.date(), la, lb)
        between = workdays_between(la.date() + timedelta(days=1), lb.date())
        return self._seconds_on(la.date(), la, lb) + between * self.day_seconds + self._seconds_on(lb.date(), la, lb)

    def _seconds_on(self, d: date, lo: datetime, hi: datetime) -> float:
        """Office-hour seconds of day d that lie between lo and hi."""
        if not is_workday(d):
            return 0.0
        return sum(max((min(q, hi) - max(p, lo)).total_seconds(), 0.0) for p, q in self._periods_on(d))


def _secs(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def parse_office_hours(spec: str) -> tuple[tuple[time, time], ...]:
    """'08:30-12:00,13:30-17:30' -> ((08:30, 12:00), (13:30, 17:30)); periods must be ordered."""
    periods = []
    for part in spec.split(","):
        a, b = (time.fromisoformat(x.strip()) for x in part.split("-"))
        if b <= a or (periods and a < periods[-1][1]):
            raise ValueError(f"office hours {spec!r}: periods must be increasing and not overlap")
        periods.append((a, b))
    if not periods:
        raise ValueError("office hours: at least one period")
    return tuple(periods)
