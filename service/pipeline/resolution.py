"""Actions from 延期 to 归档, and the 催办 / 督办 flags."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func

from models import EventKind, Ticket, TicketStatus, User
from service.errors import field_error
from service.effects import TicketResolved
from service.pipeline import clocks, sla
from service.domain import events
from service.pipeline.actions import finish, set_deadlines
from service.pipeline.workflow import SATISFACTION, Action, check
from service.unit_of_work import UnitOfWork

S = TicketStatus


def request_extension(session: UnitOfWork, ticket: Ticket, user: User, *, new_due: datetime, reason: str) -> Ticket:
    """延期 request, before the 办结 deadline, for a later date."""
    check(Action.REQUEST_EXTENSION, ticket, user)
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


def resolve(session: UnitOfWork, ticket: Ticket, user: User, opinion: str) -> Ticket:
    """办结 with the unit's 办理意见."""
    check(Action.RESOLVE, ticket, user)
    facts = _resolution_facts(session, ticket)
    ticket.opinion, ticket.resolved_at = opinion, func.now()
    ticket.pending_extension = None
    events.transition(session, ticket, EventKind.RESOLVED, S.RESOLVED, user=user, unit_code=ticket.lead_unit_code,
                      payload={"opinion": opinion, **facts})
    return finish(session, ticket, "resolved")


def instant_resolve(session: UnitOfWork, ticket: Ticket, user: User, answer: str) -> Ticket:
    """即时办结: answered during the call; no unit is involved."""
    check(Action.INSTANT_RESOLVE, ticket, user)
    facts = _resolution_facts(session, ticket)
    ticket.opinion, ticket.resolved_at = answer, func.now()
    events.transition(session, ticket, EventKind.INSTANT_RESOLVED, S.RESOLVED, user=user,
                      unit_code=ticket.registered_by_unit_code, payload={"answer": answer, **facts})
    return finish(session, ticket)


def feedback(session: UnitOfWork, ticket: Ticket, user: User, *, satisfaction: str, solved: bool,
             comment: str = "") -> Ticket:
    """回访: the enterprise's own word on the result."""
    check(Action.FEEDBACK, ticket, user)
    if satisfaction not in SATISFACTION:
        raise field_error("satisfaction", f"unknown value {satisfaction!r}; allowed: {', '.join(SATISFACTION)}")
    ticket.satisfaction, ticket.solved, ticket.feedback_at = satisfaction, solved, func.now()
    events.record(session, ticket, EventKind.FEEDBACK, user=user, unit_code=ticket.lead_unit_code,
                  payload={"satisfaction": satisfaction, "satisfaction_label": SATISFACTION[satisfaction],
                           "solved": solved, "comment": comment})
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
    ticket.reminded_at, ticket.supervision, ticket.supervised_at = None, None, None
    events.transition(session, ticket, EventKind.REOPENED, S.IN_PROGRESS, user=user, unit_code=ticket.lead_unit_code,
                      payload={"reason": reason, "reopen_count": ticket.reopen_count,
                               "resolve_due_at": ticket.resolve_due_at.isoformat()})
    return finish(session, ticket, "reopened")


def close(session: UnitOfWork, ticket: Ticket, user: User, note: str = "") -> Ticket:
    """归档."""
    check(Action.CLOSE, ticket, user)
    ticket.closed_at = func.now()
    events.transition(session, ticket, EventKind.CLOSED, S.CLOSED, user=user, unit_code=ticket.lead_unit_code,
                      payload={"note": note})
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
