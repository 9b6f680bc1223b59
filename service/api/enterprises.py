"""Enterprise records an admin keeps right: a known USCC that arrived under another company name."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from models import EnterpriseNameChange, Role, User
from service.api.deps import require
from service.api.openapi import errors
from service.db import SessionDep
from service.domain.bounds import is_id
from service.domain.tickets import decode_cursor, encode_cursor
from service.errors import NotFound
from service.schemas.common import Instant, Page

router = APIRouter(prefix="/api/v1/enterprises", tags=["enterprises"])
Admin = Annotated[User, Depends(require(Role.ADMIN))]


class NameChangeOut(BaseModel):
    id: int
    enterprise_id: int
    old_name: str
    new_name: str
    changed_at: Instant
    reviewed_at: Instant | None
    reviewed_by: str | None


def _out(change: EnterpriseNameChange, reviewer: str | None) -> NameChangeOut:
    return NameChangeOut(id=change.id, enterprise_id=change.enterprise_id, old_name=change.old_name,
                         new_name=change.new_name, changed_at=change.changed_at,
                         reviewed_at=change.reviewed_at, reviewed_by=reviewer)


@router.get("/name-changes", response_model=Page[NameChangeOut], responses=errors(422))
def name_changes(session: SessionDep, _: Admin, pending: bool = True, cursor: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[NameChangeOut]:
    """USCCs that arrived under another company name (newest first): the record took the new name; the old one
    is kept here. `pending=true` (default): those no admin has looked at yet."""
    query = select(EnterpriseNameChange, User.username).outerjoin(User, User.id == EnterpriseNameChange.reviewed_by_id)
    if pending:
        query = query.where(EnterpriseNameChange.reviewed_at.is_(None))
    if cursor:
        query = query.where(EnterpriseNameChange.id < decode_cursor(cursor))
    rows = session.execute(query.order_by(EnterpriseNameChange.id.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return Page[NameChangeOut](items=[_out(c, reviewer) for c, reviewer in rows[:limit]], next_cursor=next_cursor,
                               limit=limit)


@router.post("/name-changes/{change_id}/review", response_model=NameChangeOut, responses=errors(404))
def review(change_id: int, session: SessionDep, user: Admin) -> NameChangeOut:
    """An admin has looked at the change (a second review keeps the first one's time and name)."""
    change = session.get(EnterpriseNameChange, change_id, with_for_update=True) if is_id(change_id) else None
    if change is None:
        raise NotFound(f"no name change {change_id}")
    if change.reviewed_at is None:
        change.reviewed_at, change.reviewed_by_id = datetime.now(UTC), user.id
    reviewer = session.scalar(select(User.username).where(User.id == change.reviewed_by_id))
    session.commit()
    return _out(change, reviewer)
