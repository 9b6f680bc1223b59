"""The queues people work from: what waits for whom, a unit's part in a ticket, what falls due soon, and the tabs
of each role's console (each tab is a query of GET /api/v1/tickets, so its count and its list cannot disagree)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, func, or_

from models import OPEN_STATUSES, Role, Ticket, TicketStatus

S = TicketStatus

# awaiting=<step>: the tickets waiting for that step, whoever must take it.
AWAITING: dict[str, tuple[str, ColumnElement[bool]]] = {
    "accept": ("待签收", Ticket.status == S.ASSIGNED.value),
    # A decided request leaves JSON null behind, not SQL NULL: a waiting one is an object.
    "extension_decision": ("延期待审批", and_(Ticket.status == S.IN_PROGRESS.value,
                                             func.jsonb_typeof(Ticket.pending_extension) == "object")),
    "refusal_review": ("退单待审核", Ticket.status == S.REFUSE_REVIEW.value),
    "feedback": ("待回访", and_(Ticket.status == S.RESOLVED.value, Ticket.feedback_at.is_(None))),
    "dispatch": ("待派单", Ticket.status.in_([S.NEW.value, S.PENDING_DISPATCH.value])),
}

# role_of_unit=<role>: the unit's part in the ticket.
ROLES_OF_UNIT = {"lead": "主办", "assist": "协办", "registered": "登记"}


def role_of_unit(roles: list[str], unit: str) -> ColumnElement[bool]:
    """Tickets in which `unit` plays any of `roles`."""
    clause = {"lead": lambda: Ticket.lead_unit_code == unit,
              "assist": lambda: Ticket.assisting_units.contains([unit]),
              "registered": lambda: Ticket.registered_by_unit_code == unit}
    return or_(*[clause[r]() for r in dict.fromkeys(roles)])


def awaiting(steps: list[str]) -> ColumnElement[bool]:
    return or_(*[AWAITING[s][1] for s in dict.fromkeys(steps)])


_SPAN = re.compile(r"([1-9][0-9]{0,3})([hd])")
MAX_SPAN = timedelta(days=366)


def parse_span(text: str) -> timedelta | None:
    """`24h`, `3d`: the span of due_within; None when it is not one (or longer than MAX_SPAN)."""
    matched = _SPAN.fullmatch(text.strip())
    if matched is None:
        return None
    n, unit = int(matched.group(1)), matched.group(2)
    span = timedelta(hours=n) if unit == "h" else timedelta(days=n)
    return span if span <= MAX_SPAN else None


def due_within(span: timedelta) -> ColumnElement[bool]:
    """The deadline of the current step (签收 while waiting for it, else 办结) falls within `span` from now and has
    not passed; only open tickets have a step to take."""
    now = func.now()
    others = [s.value for s in OPEN_STATUSES if s != S.ASSIGNED]
    return or_(
        and_(Ticket.status == S.ASSIGNED.value, Ticket.accept_due_at >= now, Ticket.accept_due_at <= now + span),
        and_(Ticket.status.in_(others), Ticket.resolve_due_at >= now, Ticket.resolve_due_at <= now + span))


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    query: str


_WORKING = "status=assigned&status=in_progress"
# Each role's tabs. A handler's are relative to its unit (role_of_unit needs no unit= for a handler).
TABS: dict[str, tuple[Tab, ...]] = {
    Role.HANDLER.value: (
        Tab("to_accept", "待签收", "awaiting=accept&role_of_unit=lead&sort=accept_due_at"),
        Tab("in_progress", "办理中", "status=in_progress&role_of_unit=lead&sort=resolve_due_at"),
        Tab("awaiting_review", "待审核",
            "awaiting=refusal_review&awaiting=extension_decision&role_of_unit=lead&sort=resolve_due_at"),
        Tab("assisting", "协办", f"{_WORKING}&role_of_unit=assist&sort=resolve_due_at"),
        Tab("due_soon", "即将超期", "due_within=24h&role_of_unit=lead&sort=resolve_due_at"),
        Tab("resolved", "已办结", "status=resolved&role_of_unit=lead"),
    ),
    Role.DISPATCHER.value: (
        Tab("to_dispatch", "待派单", "awaiting=dispatch&sort=received_at"),
        Tab("refusal_review", "退单审核", "awaiting=refusal_review&sort=received_at"),
        Tab("extension_decision", "延期审批", "awaiting=extension_decision&sort=resolve_due_at"),
        Tab("overdue", "超期", "overdue=true&sort=resolve_due_at"),
        Tab("feedback", "待回访", "awaiting=feedback&sort=received_at"),
        Tab("resolved", "已办结", "status=resolved"),
    ),
    Role.OPERATOR.value: (
        Tab("feedback", "待回访", "awaiting=feedback&sort=received_at"),
        Tab("registered", "我登记的", "registered_by=me"),
        Tab("overdue", "超期", "overdue=true&sort=resolve_due_at"),
    ),
    Role.LEADER.value: (
        Tab("overdue", "超期", "overdue=true&sort=resolve_due_at"),
        Tab("supervised", "督办", f"supervision=yellow&supervision=red&{_WORKING}&sort=resolve_due_at"),
    ),
}
TABS[Role.ADMIN.value] = TABS[Role.LEADER.value]
