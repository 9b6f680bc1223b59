"""Clocks derived from the event history: the enterprise-facing total and each unit's segments.

Counting rules:
- Time is office hours on working days (service/domain/workdays.py).
- The total runs from receipt to the last resolution (办结 or 即时办结); a 重办 starts it again.
- A segment is one unit's stretch of one kind: `accept` (assigned, waiting for 签收) or `handle`
  (签收 to 办结, 改派 or 退单). Time in `new` / `pending_dispatch` belongs to dispatch (no unit).
- Waiting for a 退单 review is paused when HOTLINE_PAUSE_REFUSE_REVIEW is true (default), and an
  extension request waiting for a decision when HOTLINE_PAUSE_EXTENSION_REQUEST is true (default
  false). Paused time counts in no segment and not in the total.
- Clocks run up to the ticket's last event; recomputing them from the same events gives the same
  numbers, which is what tests and `hotline clocks verify` check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from models import OPEN_STATUSES, EventKind, Ticket, TicketClock, TicketEvent, TicketStatus
from service.config import get_settings
from service.domain.workdays import Calendar
from service.unit_of_work import UnitOfWork

S = TicketStatus
STOPPED = frozenset(S) - frozenset(OPEN_STATUSES)  # the clocks stop once a ticket is no longer open


@dataclass
class Clocks:
    total_seconds: float = 0.0
    accept_seconds: float = 0.0
    handle_seconds: float = 0.0
    paused_seconds: float = 0.0
    segments: list[dict] = field(default_factory=list)

    def as_row(self) -> dict:
        return {"total_seconds": round(self.total_seconds, 3), "accept_seconds": round(self.accept_seconds, 3),
                "handle_seconds": round(self.handle_seconds, 3), "paused_seconds": round(self.paused_seconds, 3),
                "segments": self.segments}


def _kind(status: str, paused_extension: bool) -> str | None:
    settings = get_settings()
    if status == S.REFUSE_REVIEW.value:
        return "paused" if settings.pause_refuse_review else "review"
    if status == S.IN_PROGRESS.value:
        return "paused" if paused_extension and settings.pause_extension_request else "handle"
    return {S.NEW.value: "dispatch", S.PENDING_DISPATCH.value: "dispatch", S.ASSIGNED.value: "accept"}.get(status)


def compute(received_at: datetime, events: list[TicketEvent], cal: Calendar | None = None,
            until: datetime | None = None) -> Clocks:
    """Fold the history into clocks (pure: same events, same answer); `until` closes the open segment."""
    cal = cal or Calendar.from_settings()
    out = Clocks()
    status, unit, ext_pending = S.NEW.value, None, False
    segment, since = _segment(status, unit, ext_pending), received_at
    for ev in events:
        if ev.to_status:
            status, unit = ev.to_status, ev.unit_code
        if ev.kind == EventKind.EXTENSION_REQUESTED:
            ext_pending = True
        elif ev.kind in (EventKind.EXTENSION_APPROVED, EventKind.EXTENSION_DENIED):
            ext_pending = False
        new_segment = _segment(status, unit, ext_pending)
        if new_segment != segment:  # a segment is one kind of time for one unit; it ends when either changes
            _close(out, cal, *segment, since, ev.at)
            segment, since = new_segment, ev.at
    if until is not None:
        _close(out, cal, *segment, since, until)
    return out


def _segment(status: str, unit: str | None, ext_pending: bool) -> tuple[str | None, str | None]:
    kind = None if status in STOPPED else _kind(status, ext_pending)
    return kind, unit if kind in ("accept", "handle", "review") else None


def elapsed(session: UnitOfWork, ticket: Ticket, until: datetime) -> float:
    """The enterprise-facing office-hour seconds from receipt until `until` (for the 办结 record)."""
    return compute(ticket.received_at, history(session, ticket.id), until=until).total_seconds


def _close(out: Clocks, cal: Calendar, kind: str | None, unit: str | None, start: datetime, end: datetime) -> None:
    if kind is None:
        return
    seconds = cal.working_seconds(start, end)
    out.segments.append({"kind": kind, "unit": unit if kind in ("accept", "handle", "review") else None,
                         "start": start.isoformat(), "end": end.isoformat(), "seconds": round(seconds, 3)})
    if kind == "paused":
        out.paused_seconds += seconds
        return
    out.total_seconds += seconds
    if kind == "accept":
        out.accept_seconds += seconds
    elif kind == "handle":
        out.handle_seconds += seconds


def history(session: UnitOfWork, ticket_id: int) -> list[TicketEvent]:
    return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)))


def _store(session: UnitOfWork, ticket_id: int, clocks: Clocks) -> Clocks:
    row = clocks.as_row()
    upsert = insert(TicketClock).values(ticket_id=ticket_id, **row)
    session.execute(upsert.on_conflict_do_update(
        index_elements=[TicketClock.ticket_id], set_={**{k: upsert.excluded[k] for k in row}, "computed_at": func.now()}))
    return clocks


def start(session: UnitOfWork, ticket: Ticket) -> Clocks:
    """The clocks of a ticket just registered: nothing has been timed yet (its only event opens a segment)."""
    return _store(session, ticket.id, Clocks())


def recompute(session: UnitOfWork, ticket: Ticket) -> Clocks:
    """Recompute a ticket's clocks from its events and store them."""
    return _store(session, ticket.id, compute(ticket.received_at, history(session, ticket.id)))


def verify(session: UnitOfWork, limit: int = 10000) -> tuple[int, list[int]]:
    """Compare stored clocks with clocks recomputed from the events; returns (checked, differing ids)."""
    differing, checked = [], 0
    for ticket in session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(limit)):
        stored = session.get(TicketClock, ticket.id)
        fresh = compute(ticket.received_at, history(session, ticket.id)).as_row()
        checked += 1
        if stored is None or {k: getattr(stored, k) for k in fresh} != fresh:
            differing.append(ticket.id)
    return checked, differing
