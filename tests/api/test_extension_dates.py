"""延期 to a date: a date alone means the end of office hours; a weekend or holiday is refused, naming the next
working day (never moved silently)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from models import Role
from service.domain.workdays import day_info, next_workday, statutory_holidays
from tests.factories import login, ticket_body


@pytest.fixture
def in_progress(client, run_jobs):
    op, power = login(client, "op"), login(client, "power", Role.HANDLER, "yueqing.power")
    t = client.post("/api/v1/tickets", json=ticket_body(), headers=op).json()
    run_jobs()
    assert client.post(f"/api/v1/tickets/{t['id']}/accept", json={}, headers=power).status_code == 200
    got = client.get(f"/api/v1/tickets/{t['id']}", headers=power).json()
    return got, power


def extend(client, ticket, who, new_due_at):
    return client.post(f"/api/v1/tickets/{ticket['id']}/extension", json={"new_due_at": new_due_at,
                                                                          "reason": "需要协调设备"}, headers=who)


def _after(ticket, days: int) -> date:
    return datetime.fromisoformat(ticket["deadlines"]["resolve_due_at"]).date() + timedelta(days=days)


def _first(start: date, want) -> date:
    while not want(start):
        start += timedelta(days=1)
    return start


def test_a_date_alone_means_the_end_of_office_hours_that_day(client, in_progress):
    ticket, power = in_progress
    day = _first(_after(ticket, 7), lambda d: day_info(d)[0])
    r = extend(client, ticket, power, day.isoformat())
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["work"]["pending_extension"]["new_due_at"]) == \
        datetime.fromisoformat(f"{day.isoformat()}T17:30:00+08:00")


def test_an_aware_datetime_still_works(client, in_progress):
    ticket, power = in_progress
    day = _first(_after(ticket, 7), lambda d: day_info(d)[0])
    r = extend(client, ticket, power, f"{day.isoformat()}T02:00:00Z")  # 10:00 in Beijing
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["work"]["pending_extension"]["new_due_at"]) == \
        datetime.fromisoformat(f"{day.isoformat()}T10:00:00+08:00")


def test_a_saturday_is_refused_with_the_next_working_day(client, in_progress):
    ticket, power = in_progress
    saturday = _first(_after(ticket, 7), lambda d: d.weekday() == 5 and not day_info(d)[0])
    following = next_workday(saturday)[0]
    for value in (saturday.isoformat(), f"{saturday.isoformat()}T10:00:00+08:00"):
        r = extend(client, ticket, power, value)
        assert r.status_code == 422, r.text
        problem = r.json()["detail"][0]
        assert problem["field"] == "new_due_at" and following.isoformat() in problem["message"], problem
    assert extend(client, ticket, power, following.isoformat()).status_code == 200


def test_a_spring_festival_day_is_refused_with_the_next_working_day(client, in_progress):
    ticket, power = in_progress
    year = _after(ticket, 7).year + 1
    eve = min(d for d in statutory_holidays(year) if d.month <= 2 and d != date(year, 1, 1))  # 除夕
    for day in (eve, eve + timedelta(days=3)):  # 除夕 and 初三
        r = extend(client, ticket, power, day.isoformat())
        assert r.status_code == 422, r.text
        problem = r.json()["detail"][0]
        assert problem["field"] == "new_due_at", problem
        assert next_workday(day)[0].isoformat() in problem["message"], problem
        assert next_workday(day)[0] > eve + timedelta(days=3)
