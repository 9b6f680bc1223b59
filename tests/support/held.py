"""A job for the fault tests: it holds a ticket's row lock for a while, as a job in the middle of routing it."""
from __future__ import annotations

import time

from sqlalchemy import text

from service import db


def hold_ticket_lock(ticket_id: int, seconds: float) -> None:
    with db.session_factory()() as session:
        session.execute(text("SELECT 1 FROM ticket WHERE id = :id FOR UPDATE"), {"id": ticket_id})
        time.sleep(seconds)
        session.rollback()
