"""Actions from 延期 to 归档, and the 催办 / 督办 flags."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from models import EventKind, Ticket, TicketEvent, TicketStatus, User
from service.config import get_settings
from service.errors import field_error
from service.effects import TicketResolved
from service.pipeline import clocks, sla
from service.domain import events, lookup
from service.pipeline.actions import finish, set_deadlines
from service.pipeline.workflow import CLOSE_BASIS, SATISFACTION, Action, check, rated_badly
from service.unit_of_work import UnitOfWork

S = TicketStatus


def request_extension(session: UnitOfWork, ticket: Ticket, user: User, *, new_due: datetime, reason: str) -> Ticket:
    """延期 request, before the 办结 deadline, for a later working day (a weekend or holiday is refused)."""
    check(Action.REQUEST_EXTENSION, ticket, user)
    if problem := sla.off_day_problem(new_due):
        raise field_error("new_due_at", problem)
    if ticket.resolve_due_at is not None and new_due <= ticket.resolve_due_at:
        raise field_error("new_due_at", f"must be later than the current deadline {ticket.resolve_due_at.isoformat()}")
    ticket.pending_extension = {"new_due_at": new_due.isoformat(), "reason": reason,
                                "requested_at": datetime.now(UTC).isoformat(), "by": user.username}
    events.record(session, ticket, EventKind.EXTENSION_REQUESTED, user=user,
                  payload={"new_due_at": new_due.isoformat(), "reason": reason,
                           "old_due_at": ticket.resolve_due_at.isoformat() if ticket.resolve_due_at else None})
    ticket.version += 1
    return finish(session, ticket)


def decide_extension(session: UnitOfWork, ticket: Ticket, user: User, *, approve: bool, note: str = "") -> Ticket:
    """Approved: the requested date becomes the 办结 deadline. Denied: the old one stands."""
    check(Action.APPROVE_EXTENSION if approve else Action.DENY_EXTENSION, ticket, user)
    request = ticket.pending_extension
    ticket.pending_extension = None
    payload = {"new_due_at": request["new_due_at"], "note": note}
    if approve:
        ticket.resolve_due_at = datetime.fromisoformat(request["new_due_at"])
        ticket.resolve_days = None  # a date set by hand is not recomputed
        ticket.reminded_at = None
        if ticket.supervision == "yellow":
            ticket.supervision = None
        ticket.remind_at, ticket.red_due_at, _ = sla.flag_times(ticket.resolve_due_at)
    events.record(session, ticket, EventKind.EXTENSION_APPROVED if approve else EventKind.EXTENSION_DENIED, user=user,
                  payload=payload)
    ticket.version += 1
    return finish(session, ticket)


def _resolution_facts(session: UnitOfWork, ticket: Ticket) -> dict:
    """What the statistics need to know of a resolution, fixed at the moment it happens."""
    now = datetime.now(UTC)
    facts = {"first": ticket.reopen_count == 0,
             "on_time": ticket.resolve_due_at is None or now <= ticket.resolve_due_at,
             "due_at": ticket.resolve_due_at.isoformat() if ticket.resolve_due_at else None,
             "duration_seconds": round(clocks.elapsed(session, ticket, now), 3)}
    if facts["first"]:
        session.add_effect(TicketResolved(ticket.id, ticket.channel_code, ticket.category_code or "",
                                          facts["duration_seconds"] / 3600))
    return facts


def resolve(session: UnitOfWork, ticket: Ticket, user: User, opinion: str, *, citation: dict | None = None) -> Ticket:
    """办结 with the unit's 办理意见; `citation`: the knowledge article it cites (service.pipeline.knowledge)."""
    check(Action.RESOLVE, ticket, user)
    facts = _resolution_facts(session, ticket)
    ticket.opinion, ticket.resolved_at = opinion, func.now()
    ticket.pending_extension = None
    lookup.index_opinion(session, ticket.id, opinion)
    events.transition(session, ticket, EventKind.RESOLVED, S.RESOLVED, user=user, unit_code=ticket.lead_unit_code,
                      payload={"opinion": opinion, **(citation or {}), **facts})
    return finish(session, ticket, "resolved")


def instant_resolve(session: UnitOfWork, ticket: Ticket, user: User, answer: str, *,
                    citation: dict | None = None) -> Ticket:
    """即时办结: answered during the call; no unit is involved. `citation`: the knowledge article it cites."""
    check(Action.INSTANT_RESOLVE, ticket, user)
    facts = _resolution_facts(session, ticket)
    ticket.opinion, ticket.resolved_at = answer, func.now()
    lookup.index_opinion(session, ticket.id, answer)
    events.transition(session, ticket, EventKind.INSTANT_RESOLVED, S.RESOLVED, user=user,
                      unit_code=ticket.registered_by_unit_code, payload={"answer": answer, **(citation or {}), **facts})
    return finish(session, ticket)


def feedback(session: UnitOfWork, ticket: Ticket, user: User, *, satisfaction: str, solved: bool,
             comment: str = "", amends: bool = False) -> Ticket:
    """回访: the enterprise's own word on the result, once per resolution.

    `amends`: a correction of that 回访, recorded as its own event that names the one it replaces; the
    statistics count only the last word (service/pipeline/stats/facts.py)."""
    check(Action.AMEND_FEEDBACK if amends else Action.FEEDBACK, ticket, user)
    if satisfaction not in SATISFACTION:
        raise field_error("satisfaction", f"unknown value {satisfaction!r}; allowed: {', '.join(SATISFACTION)}")
    payload = {"satisfaction": satisfaction, "satisfaction_label": SATISFACTION[satisfaction],
               "solved": solved, "comment": comment}
    if amends:
        payload["amends"] = session.scalar(
            select(TicketEvent.id).where(TicketEvent.ticket_id == ticket.id,
                                         TicketEvent.kind.in_((EventKind.FEEDBACK, EventKind.FEEDBACK_AMENDED)))
            .order_by(TicketEvent.id.desc()).limit(1))
        payload["was"] = {"satisfaction": ticket.satisfaction, "solved": ticket.solved}
    ticket.satisfaction, ticket.solved, ticket.feedback_at = satisfaction, solved, func.now()
    events.record(session, ticket, EventKind.FEEDBACK_AMENDED if amends else EventKind.FEEDBACK, user=user,
                  unit_code=ticket.lead_unit_code, payload=payload)
    ticket.version += 1
    return finish(session, ticket)


def feedback_attempt(session: UnitOfWork, ticket: Ticket, user: User, note: str = "") -> Ticket:
    """A 回访 call nobody answered; HOTLINE_FEEDBACK_MAX_ATTEMPTS of them allow 归档 without a 回访."""
    check(Action.FEEDBACK_ATTEMPT, ticket, user)
    ticket.feedback_attempts = (ticket.feedback_attempts or 0) + 1
    events.record(session, ticket, EventKind.FEEDBACK_ATTEMPT, user=user, unit_code=ticket.lead_unit_code,
                  payload={"attempt": ticket.feedback_attempts, "of": get_settings().feedback_max_attempts,
                           "note": note})
    ticket.version += 1
    return finish(session, ticket)


def reopen(session: UnitOfWork, ticket: Ticket, user: User, *, reason: str, resolve_days: int | None = None) -> Ticket:
    """重办: back to the lead unit's hands with a new 办结 deadline counted from now."""
    check(Action.REOPEN, ticket, user)  # also refuses an instantly resolved ticket: no unit to reopen it with
    limits = sla.sla_table().limits(ticket.request_type, ticket.urgency)
    ticket.resolve_days = resolve_days if resolve_days is not None else limits.resolve_days
    ticket.resolve_from_at = datetime.now(UTC)
    ticket.accept_hours = None
    set_deadlines(ticket)
    ticket.reopen_count += 1
    ticket.resolved_at = None
    ticket.satisfaction = ticket.solved = ticket.feedback_at = None
    ticket.feedback_attempts = 0  # the new resolution gets its own 回访
    ticket.reminded_at, ticket.supervision, ticket.supervised_at = None, None, None
    events.transition(session, ticket, EventKind.REOPENED, S.IN_PROGRESS, user=user, unit_code=ticket.lead_unit_code,
                      payload={"reason": reason, "reopen_count": ticket.reopen_count,
                               "resolve_due_at": ticket.resolve_due_at.isoformat()})
    return finish(session, ticket, "reopened")


def close(session: UnitOfWork, ticket: Ticket, user: User, note: str = "", *, reason: str = "",
          declined: bool = False) -> Ticket:
    """归档 on the 回访, or on HOTLINE_FEEDBACK_MAX_ATTEMPTS unanswered calls; `declined`: the enterprise refused
    the 回访 (with its `reason`); after a 不满意 or 未解决 回访, a dispatcher's decision with a `reason`."""
    if declined:
        return close_declined(session, ticket, user, reason=reason, note=note)
    if rated_badly(ticket):
        return close_by_decision(session, ticket, user, reason=reason, note=note)
    check(Action.CLOSE, ticket, user)
    return _archive(session, ticket, user, "feedback" if ticket.feedback_at is not None else "no_answer", note, reason)


def close_declined(session: UnitOfWork, ticket: Ticket, user: User, *, reason: str, note: str = "") -> Ticket:
    """归档 without a 回访 because the enterprise declined one; the reason is recorded."""
    check(Action.CLOSE_DECLINED, ticket, user)
    return _archive(session, ticket, user, "declined", note, reason)


def close_by_decision(session: UnitOfWork, ticket: Ticket, user: User, *, reason: str, note: str = "") -> Ticket:
    """归档 after a 不满意 or 未解决 回访, instead of 重办: a dispatcher's decision with its reason."""
    check(Action.CLOSE_BY_DECISION, ticket, user)
    return _archive(session, ticket, user, "dispatcher_decision", note, reason)


def _archive(session: UnitOfWork, ticket: Ticket, user: User, basis: str, note: str, reason: str) -> Ticket:
    if basis in ("declined", "dispatcher_decision") and len(reason.strip()) < 2:
        raise field_error("reason", f"归档 ({CLOSE_BASIS[basis]}) needs the reason, stated")
    ticket.closed_at = func.now()
    events.transition(session, ticket, EventKind.CLOSED, S.CLOSED, user=user, unit_code=ticket.lead_unit_code,
                      payload={"note": note, "basis": basis, "basis_label": CLOSE_BASIS[basis], "reason": reason,
                               "feedback_attempts": ticket.feedback_attempts or 0})
    return finish(session, ticket)


def remind(session: UnitOfWork, ticket: Ticket, user: User, note: str = "") -> Ticket:
    """催办 by hand (the scheduler raises it automatically before the deadline)."""
    check(Action.REMIND, ticket, user)
    ticket.reminded_at = func.now()
    events.record(session, ticket, EventKind.REMINDED, user=user, unit_code=ticket.lead_unit_code,
                  payload={"note": note, "auto": False})
    ticket.version += 1
    return finish(session, ticket, "reminded")


def supervise(session: UnitOfWork, ticket: Ticket, user: User, *, level: str, note: str = "") -> Ticket:
    """督办 with a yellow or red light."""
    check(Action.SUPERVISE, ticket, user)
    if level not in ("yellow", "red"):
        raise field_error("level", "must be yellow or red")
    ticket.supervision, ticket.supervised_at = level, func.now()
    events.record(session, ticket, EventKind.SUPERVISED, user=user, unit_code=ticket.lead_unit_code,
                  payload={"level": level, "note": note, "auto": False})
    ticket.version += 1
    return finish(session, ticket, "supervised")
