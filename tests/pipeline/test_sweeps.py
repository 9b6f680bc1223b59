"""The 催办 / 督办 sweep: set-based, each flag raised once, also with two schedulers at once."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from models import Notification, Ticket, TicketEvent, Unit
from service import db
from service.pipeline import sweeps
from tests.factories import login, ticket_body


def _tickets(client, run_jobs, n=3):
    h = login(client, "op")
    ids = [client.post("/api/v1/tickets", json=ticket_body(), headers=h).json()["id"] for _ in range(n)]
    run_jobs()
    return ids


def _count(session, kind):
    return session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == kind))


def test_flags_are_raised_once(client, run_jobs, session):
    near, overdue, long_overdue = _tickets(client, run_jobs)
    now = datetime.now(UTC)
    session.execute(update(Ticket).where(Ticket.id == near).values(remind_at=now - timedelta(minutes=1)))
    session.execute(update(Ticket).where(Ticket.id == overdue).values(resolve_due_at=now - timedelta(hours=1)))
    session.execute(update(Ticket).where(Ticket.id == long_overdue).values(
        resolve_due_at=now - timedelta(days=9), red_due_at=now - timedelta(days=1)))
    session.execute(update(Unit).where(Unit.code == "yueqing.power").values(webhook_url="http://127.0.0.1:9/hook"))
    session.commit()

    first = sweeps.raise_flags(session)
    session.commit()
    # Overdue tickets are past their reminder instant too, but 催办 is only for tickets not yet overdue;
    # the long-overdue one turns yellow and then red in the same sweep.
    assert first == {"reminded": 1, "supervised_yellow": 2, "supervised_red": 1, "notifications": 4}
    again = sweeps.raise_flags(session)
    session.commit()
    assert again == {"reminded": 0, "supervised_yellow": 0, "supervised_red": 0, "notifications": 0}
    session.expire_all()
    flags = {t.id: t.supervision for t in session.scalars(select(Ticket))}
    assert flags == {near: None, overdue: "yellow", long_overdue: "red"}
    assert _count(session, "reminded") == 1 and _count(session, "supervised") == 3
    assert session.scalar(select(func.count()).select_from(Notification)) == 4


def test_two_schedulers_at_once_flag_each_ticket_once(client, run_jobs, session):
    ids = _tickets(client, run_jobs, n=6)
    session.execute(update(Ticket).where(Ticket.id.in_(ids)).values(
        resolve_due_at=datetime.now(UTC) - timedelta(hours=2)))
    session.commit()
    barrier = threading.Barrier(2)

    def sweep():
        with db.session_factory()() as s:
            barrier.wait()
            sweeps.raise_flags(s)
            s.commit()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(session, "supervised") == 6
