"""Routing rules: preview a decision with its trace, see and reload the rule set in force; the suggestion model's
proposals for dispatchers, its disagreements with the rules, and each rule's health (how often it was overridden)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import redis
from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import RequestType, Role, RoutingModel, RoutingSuggestion, Ticket, TicketStatus, User
from routing_rules.scoring import comparison
from service.api import present
from service.api.deps import require
from service.api.openapi import errors
from service.config import get_settings
from service.db import SessionDep
from service.domain import tickets
from service.domain.bounds import check_day
from service.errors import ServiceUnavailable, field_error
from service.pipeline import route, suggest
from service.schemas.common import Coded, Page
from service.schemas.routing import (
    KindCount, ModelOut, ModelStatus, PreviewIn, PreviewOut, RetrainQueued, RuleHealth, RuleHealthRow,
    RulesInvalidOut, RulesStatus, SuggestedTicket,
)
from service.schemas.ticket import SuggestionOut

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])


@router.post("/preview", response_model=PreviewOut)
def preview(body: PreviewIn,
            _: Annotated[User, Depends(require(Role.OPERATOR, Role.DISPATCHER, Role.ADMIN))]) -> PreviewOut:
    """The decision the rules in force would take, and why each rule did or did not match."""
    decision, trace = route.current_ruleset().explain(route.preview_facts(body))
    return PreviewOut(decision=decision.to_dict(), comparison=comparison(decision.reasons),
                      trace=[t.to_dict() for t in trace])


@router.get("/rules", response_model=RulesStatus)
def rules(_: Annotated[User, Depends(require(Role.DISPATCHER, Role.ADMIN, Role.LEADER))]) -> RulesStatus:
    """The rule set in force (and the errors of a broken edit that was refused)."""
    return RulesStatus(**route.ruleset_status())


@router.post("/rules/reload", response_model=RulesStatus,
             responses={422: {"model": RulesInvalidOut, "description": "the rule files are broken; the old set stays"}})
def reload(_: Annotated[User, Depends(require(Role.ADMIN))]) -> RulesStatus:
    """Load the rule files now; a broken set answers 422 with every error and the old set stays."""
    route.reload_ruleset()
    return RulesStatus(**route.ruleset_status())


# What routing learns from dispatchers.

Staff = Annotated[User, Depends(require(Role.DISPATCHER, Role.ADMIN))]
Admin = Annotated[User, Depends(require(Role.ADMIN))]
Limit = Annotated[int | None, Query(ge=1, description="page size (default and maximum: the ticket list's)")]


def _page_size(limit: int | None) -> int:
    settings = get_settings()
    return min(limit or settings.page_size_default, settings.page_size_max)


def _kind(code: str | None) -> Coded | None:
    return None if code is None else Coded(code=code, label=suggest.kind_label(code))


def suggestion_out(row: RoutingSuggestion | None) -> SuggestionOut | None:
    """A stored suggestion with the Chinese names of its kind and unit."""
    if row is None:
        return None
    return SuggestionOut(kind=_kind(row.kind), unit=present.unit(row.unit_code), confidence=row.confidence,
                         model_version=row.model_version, rule_id=row.rule_id, rule_kind=_kind(row.rule_kind),
                         disagrees=row.disagrees, created_at=row.created_at)


def suggestion_for(session: Session, ticket_id: int, user: User) -> SuggestionOut | None:
    """The ticket's newest suggestion, for the ticket detail (handlers are not shown one)."""
    if user.role == Role.HANDLER.value:
        return None
    return suggestion_out(suggest.latest(session, [ticket_id]).get(ticket_id))


def _ticket(t: Ticket, row: RoutingSuggestion | None) -> SuggestedTicket:
    return SuggestedTicket(id=t.id, number=t.number, title=t.title, status=present.status(t.status),
                           request_type=Coded(code=t.request_type, label=RequestType(t.request_type).label),
                           category=present.coded("categories", t.category_code),
                           county=present.coded("counties", t.county_code), town=present.coded("towns", t.town_code),
                           lead_unit=present.unit(t.lead_unit_code), created_at=t.created_at,
                           suggestion=suggestion_out(row))


@router.get("/suggestions", response_model=Page[SuggestedTicket])
def suggestions(session: SessionDep, _: Staff,
                status_: Annotated[TicketStatus, Query(alias="status")] = TicketStatus.PENDING_DISPATCH,
                cursor: str | None = None, limit: Limit = None) -> Page[SuggestedTicket]:
    """Tickets in a state (default 待派单), newest first, each with the model's suggested unit and confidence;
    follow next_cursor."""
    size = _page_size(limit)
    query = select(Ticket).where(Ticket.status == status_)
    if cursor:
        query = query.where(Ticket.id < tickets.decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Ticket.id.desc()).limit(size + 1)))
    next_cursor = tickets.encode_cursor(rows[size - 1].id) if len(rows) > size else None
    rows = rows[:size]
    found = suggest.latest(session, [t.id for t in rows])
    return Page[SuggestedTicket](items=[_ticket(t, found.get(t.id)) for t in rows], next_cursor=next_cursor,
                                 limit=size)


@router.get("/flags", response_model=Page[SuggestedTicket])
def flags(session: SessionDep, _: Staff, cursor: str | None = None, limit: Limit = None) -> Page[SuggestedTicket]:
    """Rule decisions the model strongly disagrees with (its kind differs with confidence of at least
    HOTLINE_ROUTING_DISAGREE_CONFIDENCE), newest first: tickets for a dispatcher to look at; follow next_cursor."""
    size = _page_size(limit)
    query = (select(RoutingSuggestion, Ticket).join(Ticket, Ticket.id == RoutingSuggestion.ticket_id)
             .where(RoutingSuggestion.disagrees.is_(True)))
    if cursor:
        query = query.where(RoutingSuggestion.id < tickets.decode_cursor(cursor))
    rows = session.execute(query.order_by(RoutingSuggestion.id.desc()).limit(size + 1)).all()
    next_cursor = tickets.encode_cursor(rows[size - 1].RoutingSuggestion.id) if len(rows) > size else None
    return Page[SuggestedTicket](items=[_ticket(r.Ticket, r.RoutingSuggestion) for r in rows[:size]],
                                 next_cursor=next_cursor, limit=size)


def _model_out(row: RoutingModel) -> ModelOut:
    params = {k: v for k, v in row.params.items() if k not in ("counts", "docs")}
    return ModelOut(version=row.version, trained_at=row.trained_at, examples=row.examples,
                    from_events=row.from_events, from_corpus=row.from_corpus, kinds=len(row.params.get("docs", {})),
                    params=params)


@router.get("/model", response_model=ModelStatus)
def model(session: SessionDep, _: Annotated[User, Depends(require(Role.DISPATCHER, Role.ADMIN, Role.LEADER))]
          ) -> ModelStatus:
    """The active suggestion model: its version, when it was trained, on how many examples."""
    row = session.scalar(select(RoutingModel).where(RoutingModel.active.is_(True)))
    return ModelStatus(active=None if row is None else _model_out(row),
                       retrain_hour=get_settings().routing_retrain_hour)


@router.post("/model/retrain", response_model=RetrainQueued, status_code=202, responses=errors(503))
def retrain(_: Admin) -> RetrainQueued:
    """Queue a retrain of the suggestion model now (it also runs once a day); a worker runs it."""
    try:
        job = suggest.queue_retrain()
    except (redis.RedisError, OSError) as exc:
        raise ServiceUnavailable(f"the job queue is unreachable: {exc}") from None
    return RetrainQueued(job_id=job.id, status="queued")


@router.get("/rule-health", response_model=RuleHealth, response_model_by_alias=True)
def rule_health(
    session: SessionDep, _: Admin,
    from_: Annotated[date | None, Query(alias="from", description="first day (default: 90 days ago)")] = None,
    to: Annotated[date | None, Query(description="last day, inclusive (default: today)")] = None,
) -> RuleHealth:
    """Per rule: the tickets it routed in the period (by routing day), how many a dispatcher then moved (改派,
    approved 退单, or 派单), and the unit kinds those went to; the most overridden rules first."""
    zone = ZoneInfo(get_settings().timezone)
    today = datetime.now(zone).date()
    end = check_day("to", to) or today
    start = check_day("from", from_) or end - timedelta(days=89)
    if end < start:
        raise field_error("to", "must not be before from")
    if (end - start).days > 3660:
        raise field_error("from", "the period is limited to ten years")
    rows = suggest.rule_health(session, datetime.combine(start, time(), zone),
                               datetime.combine(end + timedelta(days=1), time(), zone))
    out = [RuleHealthRow(rule_id=r["rule_id"], routed=r["routed"], overridden=r["overridden"],
                         override_rate=r["override_rate"],
                         went_to=[KindCount(kind=_kind(k), tickets=n) for k, n in r["went_to"]]) for r in rows]
    return RuleHealth(from_=start, to=end, rules=out)
