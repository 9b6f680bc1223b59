"""The screen pop of an incoming call: every enterprise and contact known under the caller's number, with their
recent tickets."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from models import Role, User
from service.api import enterprise_out
from service.api.deps import require
from service.api.openapi import errors
from service.db import SessionDep
from service.pipeline import enterprises
from service.schemas.enterprise import CallerContact, CallerEnterprise, CallerLookup

router = APIRouter(prefix="/api/v1/callers", tags=["enterprises"])
# Those who take calls; a town centre's handler gets its town's enterprises only.
CallTaker = Annotated[User, Depends(require(Role.OPERATOR, Role.DISPATCHER, Role.ADMIN, Role.HANDLER))]


@router.get("", response_model=CallerLookup, responses=errors(403, 422))
def lookup(session: SessionDep, user: CallTaker,
           phone: Annotated[str, Query(max_length=32, description="the caller's number, as the phone system shows it "
                                                                  "(+86, spaces and - are ignored)")]) -> CallerLookup:
    """Every enterprise with a contact under this number (a record merged into another answers as that one), the
    latest call first, with those contacts (in full: the number is the caller's own) and its 5 most recent tickets
    the caller may see."""
    found = enterprises.callers(session, phone, user)
    records = enterprise_out.items(session, [e for e, _ in found], user)
    return CallerLookup(phone=phone.strip(), enterprises=[
        CallerEnterprise(enterprise=record,
                         contacts=[CallerContact(name=c.name, phone=c.phone, last_seen_at=c.last_seen_at)
                                   for c in contacts],
                         recent_tickets=[enterprise_out.ticket_summary(t) for t in enterprises.recent_tickets(
                             session, ent.id, user, enterprises.CALLER_TICKETS)])
        for record, (ent, contacts) in zip(records, found, strict=True)])
