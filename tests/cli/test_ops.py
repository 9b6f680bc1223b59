"""Operations commands: recount provisional deadlines, verify clocks, sweep, retry notifications."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar.constants as cc
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from models import Ticket, TicketEvent
from service.cli import app
from service.pipeline import actions
from service.domain.workdays import day_info
from tests.factories import login, ticket_body

runner = CliRunner()
SH = ZoneInfo("Asia/Shanghai")


# What a chinesecalendar release that knows 2027 adds: 元旦, and 劳动节 with its 补假 (1-2 May fall on a weekend).
PUBLISHED_2027 = {dt.date(2027, 1, 1): "New Year's Day", **{dt.date(2027, 5, d): "Labour Day" for d in range(1, 6)}}


@pytest.fixture
def calendar_2027_published():
    """Installing the release is simulated by adding its days; before that, 2027 is provisional."""
    yield lambda: (cc.holidays.update(PUBLISHED_2027), day_info.cache_clear())
    for day in PUBLISHED_2027:
        cc.holidays.pop(day, None)
    day_info.cache_clear()


def test_provisional_deadline_is_recounted_once_the_year_is_published(client, run_jobs, session,
                                                                        calendar_2027_published):
    h = login(client, "op")
    t = client.post("/api/v1/tickets", json=ticket_body(), headers=h).json()
    run_jobs()
    ticket = session.get(Ticket, t["id"])
    # 10 working days from Monday 26 April 2027, in a year the installed release does not know yet.
    ticket.resolve_from_at, ticket.resolve_days = dt.datetime(2027, 4, 26, 10, 0, tzinfo=SH), 10
    actions.set_deadlines(ticket)
    session.commit()
    assert ticket.due_provisional
    # 1-2 May are off by law even before publication (a weekend anyway); the 补假 is not known yet.
    assert ticket.resolve_due_at == dt.datetime(2027, 5, 10, 17, 30, tzinfo=SH)

    publish = calendar_2027_published
    publish()  # the new release arrives: 3-5 May are the 补假
    r = runner.invoke(app, ["ops", "recompute-deadlines"])
    assert r.exit_code == 0 and r.output.startswith("1 ticket(s)")
    session.expire_all()
    ticket = session.get(Ticket, t["id"])
    assert not ticket.due_provisional
    assert ticket.resolve_due_at == dt.datetime(2027, 5, 13, 17, 30, tzinfo=SH)  # the 补假 no longer counts
    kinds = session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == t["id"])).all()
    assert kinds[-1] == "deadlines_recomputed"
    assert runner.invoke(app, ["ops", "recompute-deadlines"]).output.startswith("0 ticket(s)")


def test_a_provisional_deadline_already_keeps_the_statutory_holidays(session):
    """元旦 2027 is off before the release knows 2027: the law fixes it (issue 12, item 7)."""
    ticket = Ticket(resolve_from_at=dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH), resolve_days=30)
    actions.set_deadlines(ticket)
    # 30 working days from Tuesday 1 December 2026: 22 in December, then 8 in 2027 without 1 January.
    assert ticket.due_provisional and ticket.resolve_due_at == dt.datetime(2027, 1, 13, 17, 30, tzinfo=SH)


def test_verify_clocks_and_sweep(client, run_jobs):
    h = login(client, "op")
    client.post("/api/v1/tickets", json=ticket_body(), headers=h)
    run_jobs()
    r = runner.invoke(app, ["ops", "verify-clocks"])
    assert r.exit_code == 0 and "0 differ" in r.output
    r = runner.invoke(app, ["ops", "sweep"])
    assert r.exit_code == 0 and '"reminded": 0' in r.output
    assert runner.invoke(app, ["ops", "retry-notifications"]).exit_code == 0
