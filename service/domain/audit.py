"""The personal-data audit trail: writing a row for each full contact read and each export, and reading it back."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Ticket, User
from models.audit import AuditAction, AuditEvent
from service.errors import field_error
from service.domain.privacy import sees_full_contact

_MAX_ID = 2**63 - 1


def record(session: Session, user: User, action: AuditAction, *, ticket_id: int | None = None,
           params: dict | None = None, rows: int | None = None) -> None:
    """Add one audit row to the caller's transaction (the edge commits it with whatever it audits)."""
    session.add(AuditEvent(user_id=user.id, username=user.username, role=user.role, action=action.value,
                           ticket_id=ticket_id, params=params or {}, rows=rows))


def record_contact_read(session: Session, user: User, ticket: Ticket) -> bool:
    """Audit a one-ticket read if it shows `user` the full phone; whether it did."""
    if not ticket.contact_phone or not sees_full_contact(user, ticket):
        return False
    record(session, user, AuditAction.READ_CONTACT, ticket_id=ticket.id)
    return True


def record_export(session: Session, user: User, kind: str, params: dict, rows: int, **extra: Any) -> None:
    """Audit an export: what kind, under which filters (a monthly report's: its month), how many rows."""
    record(session, user, AuditAction.EXPORT, params={"kind": kind, "filters": params, **extra}, rows=rows)


@dataclass
class AuditFilter:
    user: str | None = None
    user_id: int | None = None
    action: list[str] | None = None
    ticket_id: int | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None

    def clauses(self) -> list:
        out = []
        if self.user:
            out.append(AuditEvent.username == self.user)
        if self.user_id is not None:
            out.append(AuditEvent.user_id == self.user_id)
        if self.action:
            out.append(AuditEvent.action.in_(self.action))
        if self.ticket_id is not None:
            out.append(AuditEvent.ticket_id == self.ticket_id)
        if self.at_from is not None:
            out.append(AuditEvent.at >= self.at_from)
        if self.at_to is not None:
            out.append(AuditEvent.at < self.at_to)
        return out


def encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"a:{event_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; 422 naming `cursor` when it was not made by us."""
    try:
        prefix, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":", 1)
        event_id = int(value)
        if prefix != "a" or not 0 < event_id <= _MAX_ID:
            raise ValueError
        return event_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error("cursor", "not a cursor returned by this endpoint") from None


def list_events(session: Session, flt: AuditFilter, *, cursor: str | None,
                limit: int) -> tuple[list[tuple[AuditEvent, str | None]], str | None]:
    """Newest first, keyset-paginated on id; each row with its ticket's number (None if it has none)."""
    query = (select(AuditEvent, Ticket.number).outerjoin(Ticket, Ticket.id == AuditEvent.ticket_id)
             .where(*flt.clauses()))
    if cursor:
        query = query.where(AuditEvent.id < decode_cursor(cursor))
    rows = [(event, number) for event, number in session.execute(query.order_by(AuditEvent.id.desc())
                                                                  .limit(limit + 1))]
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
