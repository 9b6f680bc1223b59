"""Working days and office hours on the official calendar (2026 schedule, State Council notice)."""
from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from service.pipeline import sla
from service.domain.workdays import Calendar, day_info, parse_office_hours, workdays_between

SH = ZoneInfo("Asia/Shanghai")
CAL = Calendar(SH, parse_office_hours("08:30-12:00,13:30-17:30"))


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def test_adjusted_saturday_counts_and_spring_festival_does_not():
    assert day_info(date(2026, 2, 14)) == (True, False)   # Saturday made a working day (调休)
    assert day_info(date(2026, 2, 17)) == (False, False)  # 春节
    assert day_info(date(2026, 2, 23)) == (False, False)  # a Monday inside the holiday
    assert day_info(date(2026, 2, 28)) == (True, False)   # the second 调休 Saturday


def test_working_days_across_the_spring_festival():
    friday = at(2026, 2, 13)
    assert CAL.add_working_days(friday, 1) == (datetime(2026, 2, 14, 17, 30, tzinfo=SH), False)
    # 2 working days after Friday the 13th: Saturday the 14th, then nothing until Tuesday the 24th.
    assert CAL.add_working_days(friday, 2)[0] == datetime(2026, 2, 24, 17, 30, tzinfo=SH)
    assert CAL.add_working_days(friday, 1, count_from="same_day")[0] == datetime(2026, 2, 13, 17, 30, tzinfo=SH)
    # After office hours the day of receipt does not count, even with same_day.
    assert CAL.add_working_days(at(2026, 2, 13, 18), 1, count_from="same_day")[0].date() == date(2026, 2, 14)
    assert CAL.add_working_days(friday, 0)[0] == datetime(2026, 2, 13, 17, 30, tzinfo=SH)


def test_office_hours_skip_lunch_nights_and_holidays():
    assert CAL.add_working_hours(at(2026, 2, 13, 11, 0), 2)[0] == at(2026, 2, 13, 14, 30)
    assert CAL.add_working_hours(at(2026, 2, 14, 17, 0), 1)[0] == at(2026, 2, 24, 9, 0)
    assert CAL.add_working_hours(at(2026, 3, 1, 3, 0), 0.5)[0] == at(2026, 3, 2, 9, 0)  # Sunday night
    assert CAL.working_seconds(at(2026, 2, 13, 8, 0), at(2026, 2, 13, 20, 0)) == 7.5 * 3600
    assert CAL.working_seconds(at(2026, 2, 14, 17, 0), at(2026, 2, 24, 9, 0)) == 3600


def test_unpublished_year_is_provisional():
    assert day_info(date(2031, 1, 6)) == (True, True)
    assert day_info(date(2031, 1, 5)) == (False, True)  # a Sunday, assumed off
    due, provisional = CAL.add_working_days(at(2026, 12, 28), 5)
    assert provisional and due.year == 2027
    assert CAL.add_working_days(at(2026, 6, 1), 5) == (datetime(2026, 6, 8, 17, 30, tzinfo=SH), False)


instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 11, 30)).map(
    lambda d: d.replace(tzinfo=SH))


@settings(max_examples=150, deadline=None)
@given(start=instants, hours=st.floats(min_value=0.1, max_value=80))
def test_adding_hours_then_measuring_gives_them_back(start, hours):
    end, _ = CAL.add_working_hours(start, hours)
    assert end >= start
    assert abs(CAL.working_seconds(start, end) - hours * 3600) < 1e-3


@settings(max_examples=150, deadline=None)
@given(start=instants, days=st.integers(min_value=1, max_value=30))
def test_deadline_ends_a_working_day_and_grows_with_the_limit(start, days):
    due, _ = CAL.add_working_days(start, days)
    assert day_info(due.date())[0] and (due.hour, due.minute) == (17, 30)
    later, _ = CAL.add_working_days(start, days + 1)
    assert later > due
    # exactly `days` working days lie after the day of receipt, up to and including the due date
    d, counted = start.date() + timedelta(days=1), 0
    while d <= due.date():
        counted += day_info(d)[0]
        d += timedelta(days=1)
    assert counted == days


def _walked_seconds(a: datetime, b: datetime) -> float:
    """Office seconds between a and b, day by day (the plain definition the calendar must agree with)."""
    total, d = 0.0, a.astimezone(SH).date()
    while d <= b.astimezone(SH).date():
        if day_info(d)[0]:
            for p, q in CAL._periods_on(d):
                total += max((min(q, b) - max(p, a)).total_seconds(), 0.0)
        d += timedelta(days=1)
    return total


days = st.dates(min_value=date(2003, 1, 1), max_value=date(2028, 12, 31))


@settings(max_examples=200, deadline=None)
@given(first=days, span=st.integers(min_value=0, max_value=800))
def test_working_days_are_counted_without_walking_them(first, span):
    end = first + timedelta(days=span)
    walked = sum(day_info(first + timedelta(days=i))[0] for i in range(span))
    assert workdays_between(first, end) == walked


@settings(max_examples=100, deadline=None)
@given(a=instants, span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=900)))
def test_office_seconds_between_far_instants_match_the_day_by_day_count(a, span):
    assert abs(CAL.working_seconds(a, a + span) - _walked_seconds(a, a + span)) < 1e-6


def test_instants_before_the_calendar_are_clamped_not_walked():
    """Year 1 (once accepted as a received_at) costs what today does, and never meets local mean time."""
    started = time.monotonic()
    seconds = CAL.working_seconds(datetime(1, 1, 1, tzinfo=SH), at(2026, 11, 30))
    due, provisional = CAL.add_working_days(datetime(1, 1, 1, tzinfo=SH), 3)
    assert time.monotonic() - started < 0.5
    assert seconds == CAL.working_seconds(datetime(2000, 1, 1, tzinfo=UTC), at(2026, 11, 30))
    assert due == datetime(2000, 1, 5, 17, 30, tzinfo=SH) and due.utcoffset() == timedelta(hours=8)
    assert CAL.add_working_hours(datetime(1, 1, 1, tzinfo=SH), 1)[0].utcoffset() == timedelta(hours=8)
    assert CAL.working_seconds(at(2026, 11, 30), datetime(9999, 12, 31, tzinfo=UTC)) > 0  # clamped at 2200


def test_a_reminder_before_a_deadline_before_the_calendar_ends():
    due = datetime(1999, 12, 31, 17, 30, tzinfo=SH)
    assert sla.working_hours_before(CAL, due, 4) == due


def test_a_provisional_year_keeps_the_statutory_holidays_off():
    """2027 is not in the installed release: 元旦 and 春节 are off by law, only 调休 and 补假 stay unknown."""
    assert day_info(date(2027, 1, 1)) == (False, True)                 # 元旦, a Friday
    due, provisional = CAL.add_working_days(at(2026, 12, 30), 3)
    assert provisional and due == datetime(2027, 1, 5, 17, 30, tzinfo=SH)  # 31 Dec, 4 Jan, 5 Jan
    for day in (5, 8):                                                 # 除夕 (Friday) and 初三 (Monday) of 2027
        assert day_info(date(2027, 2, day)) == (False, True)
    assert day_info(date(2027, 2, 9)) == (True, True)                  # a 补假 is for the schedule to say
    assert CAL.add_working_days(at(2027, 2, 4), 1)[0].date() == date(2027, 2, 9)
    assert workdays_between(date(2027, 2, 1), date(2027, 2, 15)) == 8  # 10 weekdays less 除夕 and 初三


def test_the_statutory_holidays_agree_with_every_published_schedule_since_the_law_of_2024():
    from service.domain.workdays import statutory_holidays

    assert statutory_holidays(2027) == {date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7),
                                        date(2027, 2, 8), date(2027, 4, 5), date(2027, 5, 1), date(2027, 5, 2),
                                        date(2027, 6, 9), date(2027, 9, 15), date(2027, 10, 1), date(2027, 10, 2),
                                        date(2027, 10, 3)}
    for year in (2025, 2026):  # the schedules published under the amended law give every statutory day off
        days = statutory_holidays(year)
        assert len(days) == 13 and not any(day_info(d)[0] for d in days)
        assert not any(day_info(d)[1] for d in days)
