"""The one table over HTTP: register, list, read, merge and dispatch tickets."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status

from models import Role, TicketClock, User
from service.api import present, routing
from service.api.deps import CurrentUser, require
from service.config import get_settings
from service.db import SessionDep, async_unit
from service.effects import run_all_async
from service.errors import Forbidden
from service.api.filters import ticket_filter
from service.domain import audit, events, sorting, tickets
from service.domain.tickets import TicketFilter
from service.pipeline import dedupe, intake
from service.schemas.common import Page
from service.schemas.ticket import TicketCreate, TicketCreated, TicketDetail, TicketOut

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

Registrar = Annotated[User, Depends(require(Role.OPERATOR, Role.DISPATCHER, Role.HANDLER))]


def registering_unit(user: User) -> str | None:
    """Town centre staff register for their centre; handlers of other units do not register tickets."""
    if user.role != Role.HANDLER.value:
        return None
    if not (user.unit_code or "").startswith("tc."):
        raise Forbidden("only town enterprise service centre staff, operators and dispatchers register tickets")
    return user.unit_code


async def register(data, *, channel: str, external_id: str | None, user: User | None, unit_code: str | None,
                   system: str = "intake") -> Response:
    """Every intake edge (this router, 帮企云): one unit of work around intake.register, on the event loop; 201
    (new) or 200 (already registered) with the ticket and its possible duplicates as JSON. A ticket with nothing
    else to do in its transaction (no instant answer) is one statement in autocommit."""
    async with async_unit(single_statement=not getattr(data, "instant_answer", None)) as unit:
        created, body = await unit.run_sync(_register, data, channel=channel, external_id=external_id, user=user,
                                            unit_code=unit_code, system=system)
        await run_all_async(unit.sync_session.take_held())
    return Response(body, media_type="application/json",
                    status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _register(uow, data, *, channel: str, external_id: str | None, user: User | None, unit_code: str | None,
              system: str) -> tuple[bool, str]:
    registered = intake.register(uow, data, channel=channel, external_id=external_id, user=user,
                                 registered_by_unit=unit_code, system=system)
    uow.commit()
    # The registering caller typed the phone: shown in full (if its role may), with no audit row on this path.
    out = present.ticket_out(registered.ticket, uow, TicketCreated, user=user, full_contact=True,
                             possible_duplicates=[present.duplicate_out(d) for d in registered.duplicates])
    # Built and checked once here; handing FastAPI the finished JSON spares it validating the answer again.
    return registered.created, out.model_dump_json()


@router.post("", response_model=TicketCreated, status_code=201,
             responses={200: {"description": "already registered under this (channel, external_id)"}})
async def create(body: TicketCreate, user: Registrar) -> Response:
    """Register a problem from any channel. Replaying the same (channel, external_id) returns the first ticket."""
    return await register(body, channel=body.channel, external_id=body.external_id, user=user,
                    unit_code=registering_unit(user))


@router.get("", response_model=Page[TicketOut])
def list_(
    session: SessionDep, user: CurrentUser,
    flt: Annotated[TicketFilter, Depends(ticket_filter)],
    sort: Annotated[Literal[sorting.SORTS], Query(description=(  # type: ignore[valid-type]
        "received_at (受理时间), accept_due_at (签收时限) or resolve_due_at (办结时限), earliest first; a leading - "
        "for latest first. Tickets without that deadline come last. Default -received_at"))] = sorting.DEFAULT_SORT,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Page[TicketOut]:
    """The one table, newest first unless sorted otherwise; repeat a filter to match any of several values; follow
    next_cursor (made for its sort). `q` finds words of the title, description, enterprise and contact names and
    opinions, a ticket number or its beginning, and (for those who see it) any 4 or more digits of the phone."""
    settings = get_settings()
    limit = min(limit or settings.page_size_default, settings.page_size_max)
    rows, next_cursor = tickets.list_tickets(session, flt, user, cursor=cursor or None, limit=limit, sort=sort)
    return Page[TicketOut](items=[present.ticket_out(t, session, user=user) for t in rows], next_cursor=next_cursor,
                           limit=limit)


def _history(session, ticket_id: int, user: User) -> list:
    """The ticket's events; a merge link to a ticket the user may not read names no ticket."""
    history = events.history(session, ticket_id)
    return [present.event_out(e, p) for e, p in zip(history, dedupe.shown_payloads(session, user, history))]


@router.get("/by-number/{number}", response_model=TicketDetail)
def by_number(number: Annotated[str, Path(description="e.g. 20261201-0000017 (the dash may be left out)")],
              session: SessionDep, user: CurrentUser) -> TicketDetail:
    """The ticket of the number an enterprise quotes, as GET /api/v1/tickets/{id} answers it; 404 naming the number
    when there is none (or the caller may not see it)."""
    return _read(session, tickets.get_by_number(session, number, user), user)


@router.get("/{ticket_id}", response_model=TicketDetail)
def detail(ticket_id: int, session: SessionDep, user: CurrentUser) -> TicketDetail:
    """One ticket with its whole history and the tickets merged into it; a full contact phone shown is audited."""
    return _read(session, tickets.get_visible(session, ticket_id, user), user)


def _read(session, ticket, user: User) -> TicketDetail:
    out = detail_out(session, ticket, user)
    if audit.record_contact_read(session, user, ticket):
        session.commit()
    return out


def detail_out(session, ticket, user: User) -> TicketDetail:
    """The ticket as GET /api/v1/tickets/{id} answers it (the full phone's audit row is the caller's to write)."""
    clock = session.get(TicketClock, ticket.id)
    out = present.ticket_out(
        ticket, session, TicketDetail, user=user, full_contact=True,
        merged_tickets=[{"id": t.id, "number": t.number} for t in dedupe.merged_children(session, ticket.id, user)],
        history=_history(session, ticket.id, user),
        clocks=None if clock is None else {k: getattr(clock, k) for k in (
            "total_seconds", "accept_seconds", "handle_seconds", "paused_seconds", "segments")},
        routing_suggestion=routing.suggestion_for(session, ticket.id, user),
    )
    return out
