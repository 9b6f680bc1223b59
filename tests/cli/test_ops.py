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


@pytest.fixture
def calendar_2027_published():
    """What installing a chinesecalendar release that knows 2027 does: 元旦 2027 is a holiday."""
    day = dt.date(2027, 1, 1)
    cc.holidays[day] = "New Year's Day"
    day_info.cache_clear()
    yield
    del cc.holidays[day]
    day_info.cache_clear()


def test_provisional_deadline_is_recounted_once_the_year_is_published(client, run_jobs, session,
                                                                        calendar_2027_published):
    h = login(client, "op")
    t = client.post("/api/v1/tickets", json=ticket_body(), headers=h).json()
    run_jobs()
    ticket = session.get(Ticket, t["id"])
    # 30 working days from Tuesday 1 December 2026: 22 in December, the last 8 in (unpublished) 2027.
    ticket.resolve_from_at, ticket.resolve_days = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH), 30
    cc.holidays.pop(dt.date(2027, 1, 1))  # before publication
    day_info.cache_clear()
    actions.set_deadlines(ticket)
    session.commit()
    assert ticket.due_provisional
    assert ticket.resolve_due_at == dt.datetime(2027, 1, 12, 17, 30, tzinfo=SH)  # 1 Jan assumed a working day

    cc.holidays[dt.date(2027, 1, 1)] = "New Year's Day"  # the new release arrives
    day_info.cache_clear()
    r = runner.invoke(app, ["ops", "recompute-deadlines"])
    assert r.exit_code == 0 and r.output.startswith("1 ticket(s)")
    session.expire_all()
    ticket = session.get(Ticket, t["id"])
    assert not ticket.due_provisional
    assert ticket.resolve_due_at == dt.datetime(2027, 1, 13, 17, 30, tzinfo=SH)  # 元旦 no longer counts
    kinds = session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == t["id"])).all()
    assert kinds[-1] == "deadlines_recomputed"
    assert runner.invoke(app, ["ops", "recompute-deadlines"]).output.startswith("0 ticket(s)")


def test_verify_clocks_and_sweep(client, run_jobs):
    h = login(client, "op")
    client.post("/api/v1/tickets", json=ticket_body(), headers=h)
    run_jobs()
    r = runner.invoke(app, ["ops", "verify-clocks"])
    assert r.exit_code == 0 and "0 differ" in r.output
    r = runner.invoke(app, ["ops", "sweep"])
    assert r.exit_code == 0 and '"reminded": 0' in r.output
    assert runner.invoke(app, ["ops", "retry-notifications"]).exit_code == 0
