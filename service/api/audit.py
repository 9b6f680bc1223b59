"""The personal-data audit trail over HTTP: who saw a full contact phone or exported what, and when (admins)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from models import Role, User
from models.audit import AUDIT_ACTION_LABELS, AuditAction, AuditEvent
from models.enums import LABELS
from service.api.deps import require
from service.api.filters import local_time
from service.config import get_settings
from service.db import SessionDep
from service.domain import audit
from service.schemas.audit import AuditEventOut, AuditTicket, AuditUser
from service.schemas.common import Coded, Page

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Admin = Annotated[User, Depends(require(Role.ADMIN))]


def event_out(event: AuditEvent, number: str | None) -> AuditEventOut:
    return AuditEventOut(
        id=event.id, at=event.at,
        user=AuditUser(id=event.user_id, username=event.username,
                       role=Coded(code=event.role, label=LABELS["Role"].get(event.role, event.role))),
        action=Coded(code=event.action, label=AUDIT_ACTION_LABELS[event.action]),
        ticket=None if event.ticket_id is None else AuditTicket(id=event.ticket_id, number=number),
        params=event.params, rows=event.rows)


@router.get("", response_model=Page[AuditEventOut])
def list_(
    session: SessionDep, _: Admin,
    user: Annotated[str | None, Query(max_length=64, description="username")] = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    action: Annotated[list[AuditAction], Query(description="export 导出, read_contact 查看完整联系电话, account 账号管理")] = [],
    ticket: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="ticket id")] = None,
    from_: Annotated[datetime | None, Query(alias="from", description="at or after (no zone: Beijing time)")] = None,
    to: Annotated[datetime | None, Query(description="before (no zone: Beijing time)")] = None,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Page[AuditEventOut]:
    """Who saw a ticket's full contact phone, or exported what under which filters, and when; newest first."""
    settings = get_settings()
    limit = min(limit or settings.page_size_default, settings.page_size_max)
    flt = audit.AuditFilter(user=user or None, user_id=user_id, action=[a.value for a in action], ticket_id=ticket,
                            at_from=local_time(from_), at_to=local_time(to))
    rows, next_cursor = audit.list_events(session, flt, cursor=cursor or None, limit=limit)
    return Page[AuditEventOut](items=[event_out(e, n) for e, n in rows], next_cursor=next_cursor, limit=limit)
