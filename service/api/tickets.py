"""The one table over HTTP: register, list, read, merge and dispatch tickets."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from models import Role, Ticket, TicketClock, User
from service.api import present
from service.api.deps import CurrentUser, require
from service.config import get_settings
from service.db import SessionDep, after_commit, commit, session_factory
from service.metrics import TICKETS_RECEIVED
from service.errors import Forbidden
from service.pipeline import dedupe, resolution
from service.domain import audit
from service.domain import events
from service.domain import tickets
from service.pipeline.intake import insert_ticket_alone, register_ticket
from service.api.filters import ticket_filter
from service.domain.tickets import TicketFilter
from service.schemas.common import Page
from service.schemas.ticket import TicketCreate, TicketCreated, TicketDetail, TicketOut
from service.queues import (
    enqueue_stats_refresh_soon, enqueue_stats_refresh_soon_async, request_routing_async, request_routing_safely,
)

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

Registrar = Annotated[User, Depends(require(Role.OPERATOR, Role.DISPATCHER, Role.HANDLER))]


def registering_unit(user: User) -> str | None:
    """Town centre staff register for their centre; handlers of other units do not register tickets."""
    if user.role != Role.HANDLER.value:
        return None
    if not (user.unit_code or "").startswith("tc."):
        raise Forbidden("only town enterprise service centre staff, operators and dispatchers register tickets")
    return user.unit_code


def register(session, data, *, channel: str, external_id: str | None, user: User | None,
             unit_code: str | None, system: str = "intake") -> Response:
    """Shared by every intake path: create once, ask for routing after the commit, answer 201 (new) or 200
    (already registered) with the ticket as JSON."""
    answer = getattr(data, "instant_answer", None)
    # Without an instant answer the one intake statement is the whole transaction.
    ticket, created = register_ticket(session, data, channel=channel, external_id=external_id, user=user,
                                      registered_by_unit=unit_code, system=system, alone=not answer)
    duplicates = dedupe.possible_duplicates(session, ticket, user=user) if created else []
    if created and answer:  # same transaction: never half-done
        ticket = resolution.instant_resolve(session, session.get(Ticket, ticket.id), user, answer)
    elif created:
        after_commit(session, request_routing_safely)
    if created:
        after_commit(session, enqueue_stats_refresh_soon)
    commit(session)
    return _answer(ticket, session, user, duplicates, created)


def _answer(ticket, session, user: User | None, duplicates, created: bool) -> Response:
    """201 (new) or 200 (already registered) with the ticket and its possible duplicates as JSON."""
    # The registering caller typed the phone: shown in full (if its role may), with no audit row on this hot path.
    out = present.ticket_out(ticket, session, TicketCreated, user=user, full_contact=True,
                             possible_duplicates=[present.duplicate_out(d) for d in duplicates])
    # Built and checked once here; handing FastAPI the finished JSON spares it validating the answer again.
    return Response(out.model_dump_json(), status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                    media_type="application/json")


async def register_on_loop(data, *, channel: str, external_id: str | None, user: User | None,
                           unit_code: str | None, system: str = "intake") -> Response:
    """register, with the common case on the event loop: a new ticket with nothing else to commit with it is one
    statement, its routing flag and its answer, with no thread and no ORM session. A replay, or a ticket
    answered during the call, takes register's path on a thread."""
    if getattr(data, "instant_answer", None) is None:
        ticket, found = await insert_ticket_alone(data, channel=channel, external_id=external_id, user=user,
                                                  registered_by_unit=unit_code, system=system)
        if ticket is not None:
            TICKETS_RECEIVED.labels(channel, data.category or "").inc()
            await request_routing_async()
            await enqueue_stats_refresh_soon_async()
            return _answer(ticket, None, user, dedupe.still_open(found, ticket), created=True)
    return await run_in_threadpool(_register_in_own_session, data, channel=channel, external_id=external_id,
                                   user=user, unit_code=unit_code, system=system)


def _register_in_own_session(data, **kw) -> Response:
    with session_factory()() as session:
        return register(session, data, **kw)


@router.post("", response_model=TicketCreated, status_code=201,
             responses={200: {"description": "already registered under this (channel, external_id)"}})
async def create(body: TicketCreate, user: Registrar) -> Response:
    """Register a problem from any channel. Replaying the same (channel, external_id) returns the first ticket."""
    unit_code = registering_unit(user)
    return await register_on_loop(body, channel=body.channel, external_id=body.external_id, user=user,
                                  unit_code=unit_code)


@router.get("", response_model=Page[TicketOut])
def list_(
    session: SessionDep, user: CurrentUser,
    flt: Annotated[TicketFilter, Depends(ticket_filter)],
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Page[TicketOut]:
    """The one table, newest first; repeat a filter to match any of several values; follow next_cursor."""
    settings = get_settings()
    limit = min(limit or settings.page_size_default, settings.page_size_max)
    rows, next_cursor = tickets.list_tickets(session, flt, user, cursor=cursor or None, limit=limit)
    return Page[TicketOut](items=[present.ticket_out(t, session, user=user) for t in rows], next_cursor=next_cursor,
                           limit=limit)


def _history(session, ticket_id: int, user: User) -> list:
    """The ticket's events; a merge link to a ticket the user may not read names no ticket."""
    history = events.history(session, ticket_id)
    return [present.event_out(e, p) for e, p in zip(history, dedupe.shown_payloads(session, user, history))]


@router.get("/{ticket_id}", response_model=TicketDetail)
def detail(ticket_id: int, session: SessionDep, user: CurrentUser) -> TicketDetail:
    """One ticket with its whole history and the tickets merged into it; a full contact phone shown is audited."""
    ticket = tickets.get_visible(session, ticket_id, user)
    clock = session.get(TicketClock, ticket.id)
    out = present.ticket_out(
        ticket, session, TicketDetail, user=user, full_contact=True,
        merged_tickets=[{"id": t.id, "number": t.number} for t in dedupe.merged_children(session, ticket.id, user)],
        history=_history(session, ticket.id, user),
        clocks=None if clock is None else {k: getattr(clock, k) for k in (
            "total_seconds", "accept_seconds", "handle_seconds", "paused_seconds", "segments")},
    )
    if audit.record_contact_read(session, user, ticket):
        commit(session)
    return out
