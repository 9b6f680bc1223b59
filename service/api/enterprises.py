"""Enterprises over HTTP: look them up (name fragment, USCC prefix, phone), read one with its contacts and tickets,
merge two records of one company (and undo it), load the roster; and the names a known USCC arrived under."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from pydantic import BaseModel
from sqlalchemy import select

from models import EnterpriseNameChange, Role, User
from models.audit import AuditAction
from service.api import enterprise_out
from service.api.deps import require
from service.api.openapi import errors
from service.config import get_settings
from service.db import SessionDep
from service.domain import audit
from service.domain.bounds import MAX_ID, is_id
from service.domain.privacy import FULL_CONTACT_ROLES
from service.domain.tickets import decode_cursor, encode_cursor
from service.errors import NotFound, field_error
from service.pipeline import enterprise_merge, enterprise_search, enterprises, roster
from service.schemas.common import Instant, Page
from service.schemas.enterprise import EnterpriseDetail, EnterpriseItem, MergeIn, MergeOut, RosterReport
from service.schemas.ticket import CountyCode, TownCode

router = APIRouter(prefix="/api/v1/enterprises", tags=["enterprises"])
Admin = Annotated[User, Depends(require(Role.ADMIN))]
# Town centre handlers see their town's enterprises (checked by the lookup); other handlers none.
Reader = Annotated[User, Depends(require(Role.OPERATOR, Role.DISPATCHER, Role.ADMIN, Role.LEADER, Role.HANDLER))]
Limit = Annotated[int | None, Query(ge=1, description="page size (default 50, at most 200)")]


def _limit(limit: int | None) -> int:
    settings = get_settings()
    return min(limit or settings.page_size_default, settings.page_size_max)


@router.get("", response_model=Page[EnterpriseItem], responses=errors(403, 422))
def search(session: SessionDep, user: Reader,
           q: Annotated[str | None, Query(max_length=200, description=(
               "any fragment of the name (folded: full/half width, spaces, punctuation, 有限公司 endings), a USCC or "
               "its beginning, or a contact's phone number (or its last 7 or more digits)"))] = None,
           town: Annotated[list[TownCode], Query()] = [], county: Annotated[list[CountyCode], Query()] = [],
           on_roster: bool | None = None, cursor: str | None = None, limit: Limit = None) -> Page[EnterpriseItem]:
    """Enterprises, best match first: the exact USCC or phone, then names (and USCCs) beginning with q, then names
    holding it; among equals the most recent contact first. Without q: every enterprise, latest contact first. A
    record merged into another is answered by that one. A town centre's handler sees its town's enterprises."""
    limit = _limit(limit)
    flt = enterprise_search.EnterpriseQuery(q=q, town=town, county=county, on_roster=on_roster)
    rows, next_cursor = enterprise_search.search(session, flt, user, cursor=cursor or None, limit=limit)
    return Page[EnterpriseItem](items=enterprise_out.items(session, [e for e, _ in rows], user),
                                next_cursor=next_cursor, limit=limit)


@router.get("/{enterprise_id:int}", response_model=EnterpriseDetail, responses=errors(403, 404))
def detail(enterprise_id: int, session: SessionDep, user: Reader) -> EnterpriseDetail:
    """One enterprise: its contacts (phones in full for operators and dispatchers, audited; masked for the others),
    its most recent tickets the caller may see (newest first; `tickets_next` lists the rest), and its merges."""
    ent = enterprises.get_visible(session, enterprise_id, user)
    if ent is None:
        raise NotFound(f"no enterprise {enterprise_id}")
    shown = enterprises.recent_tickets(session, ent.id, user, enterprises.SHOWN_TICKETS + 1)
    contacts = enterprises.contacts(session, ent.id)
    item = enterprise_out.items(session, [ent], user)[0]
    out = EnterpriseDetail(
        **item.model_dump(), contacts=[enterprise_out.contact(c, user) for c in contacts],
        tickets=[enterprise_out.ticket_summary(t) for t in shown[:enterprises.SHOWN_TICKETS]],
        tickets_next=f"/api/v1/tickets?enterprise={ent.id}" if len(shown) > enterprises.SHOWN_TICKETS else None,
        merges=enterprise_out.merges(session, enterprise_merge.merges(session, enterprise_id=ent.id, limit=20)))
    if contacts and user.role in FULL_CONTACT_ROLES:
        audit.record(session, user, AuditAction.READ_CONTACT, params={"enterprise_id": ent.id},
                     rows=len(contacts))
        session.commit()
    return out


@router.get("/merges", response_model=Page[MergeOut], responses=errors(422))
def merges(session: SessionDep, _: Admin, enterprise: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
           cursor: str | None = None, limit: Limit = None) -> Page[MergeOut]:
    """Merges of enterprise records, newest first (those of one record with `enterprise`), undone ones too."""
    limit = _limit(limit)
    rows = enterprise_merge.merges(session, enterprise_id=enterprise, before=decode_cursor(cursor) if cursor else None,
                                   limit=limit + 1)
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page[MergeOut](items=enterprise_out.merges(session, rows[:limit]), next_cursor=next_cursor, limit=limit)


@router.post("/merges", response_model=MergeOut, status_code=201, responses=errors(409, 422))
def merge(body: MergeIn, session: SessionDep, user: Admin) -> MergeOut:
    """Make two records of one company one: the tickets of `from` move to `into`, `from` stays as an alias of
    `into`. Refused (409, with the reason) when the two have different USCCs, either is merged already, or they are
    the same record."""
    record = enterprise_merge.merge(session, from_id=body.from_id, into_id=body.into_id, reason=body.reason,
                                    user=user)
    session.commit()
    return enterprise_out.merges(session, [record])[0]


@router.post("/merges/{merge_id:int}/undo", response_model=MergeOut, responses=errors(404, 409))
def undo_merge(merge_id: int, session: SessionDep, user: Admin) -> MergeOut:
    """Undo a merge: exactly the tickets it moved (those still with `into`) go back to `from`."""
    record = enterprise_merge.undo(session, merge_id, user=user)
    session.commit()
    return enterprise_out.merges(session, [record])[0]


@router.post("/import", response_model=RosterReport, responses=errors(409, 422))
def import_roster(session: SessionDep, _: Admin,
                  file: Annotated[UploadFile, File(description=".xlsx or .csv: 企业名称, 统一社会信用代码, 所属镇街, 产业链, "
                                                               "企业梯队, 是否规上")]) -> RosterReport:
    """Load the enterprise roster; importing the same file again changes nothing. Every rejected row is reported
    with its row number, field and reason; the other rows load."""
    limit = get_settings().max_import_bytes
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise field_error("file", f"over {limit} bytes; split the file")
    result = roster.import_roster(session, roster.read_roster(content))
    session.commit()
    return RosterReport.model_validate(result.report())


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
