"""The work-order state machine: which action fits which state, and who may take it.

受理 -> 派单 -> 签收 -> 办理 -> 办结 -> 回访 -> 归档, with 退单 review, 改派, 延期, 重办 and 并单.
One 回访 per resolution (a correction is an amendment). 归档 needs that 回访, or unanswered calls up to
HOTLINE_FEEDBACK_MAX_ATTEMPTS, or the enterprise's stated refusal; after a 不满意 or 未解决 回访 a dispatcher
decides: 重办, or 归档 with a reason.
催办 and 督办 are flags (actions that change no state).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from models import OPEN_STATUSES, WORKING_STATUSES, Role, Ticket, User
from models.enums import TicketStatus
from service.config import get_settings
from service.errors import Forbidden, InvalidTransition

S = TicketStatus


class Action(StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    REFUSE = "refuse"
    APPROVE_REFUSAL = "approve_refusal"
    OVERRULE_REFUSAL = "overrule_refusal"
    TRANSFER = "transfer"
    ASSIST = "assist"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    RESOLVE = "resolve"
    INSTANT_RESOLVE = "instant_resolve"
    FEEDBACK = "feedback"
    AMEND_FEEDBACK = "amend_feedback"
    FEEDBACK_ATTEMPT = "feedback_attempt"
    REOPEN = "reopen"
    CLOSE = "close"
    CLOSE_DECLINED = "close_declined"
    CLOSE_BY_DECISION = "close_by_decision"
    MERGE = "merge"
    UNMERGE = "unmerge"
    REMIND = "remind"
    SUPERVISE = "supervise"
    RECLASSIFY = "reclassify"


ACTION_LABELS = {
    "dispatch": "派单", "accept": "签收", "refuse": "退单", "approve_refusal": "同意退单并改派",
    "overrule_refusal": "驳回退单(强制派单)", "transfer": "改派", "assist": "协办意见", "request_extension": "申请延期",
    "approve_extension": "同意延期", "deny_extension": "不同意延期", "resolve": "办结", "instant_resolve": "即时办结",
    "feedback": "回访", "amend_feedback": "更正回访", "feedback_attempt": "回访未接通", "reopen": "重办",
    "close": "归档", "close_declined": "归档(企业拒绝回访)", "close_by_decision": "归档(不满意，派单员决定)", "merge": "并单", "unmerge": "撤销并单",
    "remind": "催办", "supervise": "督办", "reclassify": "改类",
}

# 退单 reasons (DOMAIN.md).
REFUSAL_REASONS = {
    "not_our_function": "职能不符", "not_our_area": "属地不符", "ownership_unclear": "权属不清",
    "request_unclear": "诉求不清", "in_legal_process": "已进入诉讼/仲裁/信访程序", "out_of_scope": "不属受理范围",
    "duplicate": "重复",
}
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
# Why a ticket was archived (the `basis` of its 归档 event).
CLOSE_BASIS = {"feedback": "已回访", "no_answer": "多次回访未接通", "declined": "企业拒绝回访",
               "dispatcher_decision": "回访不满意或未解决，派单员决定归档"}


def _handler_of(unit_attr: Callable[[Ticket], list[str]]) -> Callable[[User, Ticket], bool]:
    return lambda u, t: u.role == Role.HANDLER.value and u.unit_code in unit_attr(t)


LEAD = _handler_of(lambda t: [t.lead_unit_code])
ASSISTING = _handler_of(lambda t: list(t.assisting_units or []))


def _roles(*roles: Role) -> Callable[[User, Ticket], bool]:
    names = {r.value for r in roles}
    return lambda u, t: u.role in names


DISPATCHER = _roles(Role.DISPATCHER)
FRONT_DESK = _roles(Role.OPERATOR, Role.DISPATCHER)
SUPERVISOR = _roles(Role.DISPATCHER, Role.LEADER)


def _registrar(u: User, t: Ticket) -> bool:
    return FRONT_DESK(u, t) or (u.role == Role.HANDLER.value and u.unit_code == t.registered_by_unit_code)


def _no_pending_extension(t: Ticket) -> str | None:
    return "an extension request is already waiting for a decision" if t.pending_extension else None


def _pending_extension(t: Ticket) -> str | None:
    return None if t.pending_extension else "no extension request is waiting for a decision"


def _before_deadline(t: Ticket) -> str | None:
    if t.pending_extension:
        return "an extension request is already waiting for a decision"
    if t.resolve_due_at is not None and datetime.now(UTC) >= t.resolve_due_at:
        return "the 办结 deadline has passed; an extension must be asked for before it"
    return None


def _reopenable(t: Ticket) -> str | None:
    if t.lead_unit_code is None:
        return "an instantly resolved ticket has no unit to reopen it with; register a new one"
    if t.satisfaction == "unsatisfied" or t.solved is False:
        return None
    return "重办 follows an unsatisfied or unsolved 回访"


def rated_badly(t: Ticket) -> bool:
    """The 回访 of the current resolution says 不满意 or 未解决: a dispatcher decides (重办, or 归档 with a reason)."""
    return t.feedback_at is not None and (t.satisfaction == "unsatisfied" or t.solved is False)


def _no_feedback_yet(t: Ticket) -> str | None:
    if t.feedback_at is not None:
        return "a 回访 exists for this resolution (one per resolution); correct it with POST .../feedback/amend"
    return None


def _has_feedback(t: Ticket) -> str | None:
    return None if t.feedback_at is not None else "there is no 回访 on this resolution to amend"


def _closable(t: Ticket) -> str | None:
    """归档 needs a 回访 that raises nothing to decide, or the calls the setting allows all unanswered."""
    if rated_badly(t):
        return ("the 回访 was 不满意 or 未解决: a dispatcher decides, 重办 or 归档 with a stated reason "
                "(close_by_decision)")
    if t.feedback_at is not None:
        return None
    limit = get_settings().feedback_max_attempts
    if (t.feedback_attempts or 0) >= limit:
        return None
    return (f"归档 needs a 回访 on this resolution, or {limit} unanswered calls (feedback/attempt, "
            f"{t.feedback_attempts or 0} so far), or the enterprise's refusal with a reason (declined)")


def _rated_badly(t: Ticket) -> str | None:
    return None if rated_badly(t) else "only a 回访 of 不满意 or 未解决 leaves 归档 to a dispatcher's decision"


@dataclass(frozen=True)
class Rule:
    states: tuple[TicketStatus, ...]
    who: Callable[[User, Ticket], bool]
    who_text: str
    guard: Callable[[Ticket], str | None] | None = None


MACHINE: dict[Action, Rule] = {
    Action.DISPATCH: Rule((S.NEW, S.PENDING_DISPATCH), DISPATCHER, "a dispatcher"),
    Action.ACCEPT: Rule((S.ASSIGNED,), LEAD, "the lead unit"),
    Action.REFUSE: Rule((S.ASSIGNED,), LEAD, "the lead unit"),
    Action.APPROVE_REFUSAL: Rule((S.REFUSE_REVIEW,), DISPATCHER, "a dispatcher"),
    Action.OVERRULE_REFUSAL: Rule((S.REFUSE_REVIEW,), DISPATCHER, "a dispatcher"),
    Action.TRANSFER: Rule(WORKING_STATUSES, DISPATCHER, "a dispatcher"),
    Action.ASSIST: Rule(WORKING_STATUSES, ASSISTING, "an assisting unit"),
    Action.REQUEST_EXTENSION: Rule((S.IN_PROGRESS,), LEAD, "the lead unit", _before_deadline),
    Action.APPROVE_EXTENSION: Rule((S.IN_PROGRESS,), DISPATCHER, "a dispatcher", _pending_extension),
    Action.DENY_EXTENSION: Rule((S.IN_PROGRESS,), DISPATCHER, "a dispatcher", _pending_extension),
    Action.RESOLVE: Rule((S.IN_PROGRESS,), LEAD, "the lead unit"),
    Action.INSTANT_RESOLVE: Rule((S.NEW,), _registrar, "the operator or centre that registered it"),
    Action.FEEDBACK: Rule((S.RESOLVED,), FRONT_DESK, "an operator", _no_feedback_yet),
    Action.AMEND_FEEDBACK: Rule((S.RESOLVED,), FRONT_DESK, "an operator", _has_feedback),
    Action.FEEDBACK_ATTEMPT: Rule((S.RESOLVED,), FRONT_DESK, "an operator", _no_feedback_yet),
    Action.REOPEN: Rule((S.RESOLVED,), DISPATCHER, "a dispatcher", _reopenable),
    Action.CLOSE: Rule((S.RESOLVED,), FRONT_DESK, "an operator", _closable),
    Action.CLOSE_DECLINED: Rule((S.RESOLVED,), FRONT_DESK, "an operator", _no_feedback_yet),
    Action.CLOSE_BY_DECISION: Rule((S.RESOLVED,), DISPATCHER, "a dispatcher", _rated_badly),
    Action.MERGE: Rule(OPEN_STATUSES, FRONT_DESK, "an operator"),
    Action.UNMERGE: Rule((S.MERGED,), DISPATCHER, "a dispatcher"),
    Action.REMIND: Rule(WORKING_STATUSES, SUPERVISOR, "a dispatcher or leader"),
    Action.SUPERVISE: Rule(WORKING_STATUSES, SUPERVISOR, "a dispatcher or leader"),
    # 改类 corrects how a ticket was registered, in any state: the statistics count it under the values it has now.
    Action.RECLASSIFY: Rule(tuple(S), DISPATCHER, "a dispatcher"),
}


def allowed_actions(ticket: Ticket, user: User) -> list[str]:
    """The actions this user may take on this ticket now."""
    out = []
    for action, rule in MACHINE.items():
        if ticket.status in rule.states and rule.who(user, ticket) and not (rule.guard and rule.guard(ticket)):
            out.append(action.value)
    return out


def check(action: Action, ticket: Ticket, user: User) -> None:
    """403 when the user may never take this action here; 409 when the ticket's state does not fit."""
    rule = MACHINE[action]
    if not rule.who(user, ticket):
        raise Forbidden(f"{action.value} ({ACTION_LABELS[action.value]}) is for {rule.who_text}")
    problem = None
    if ticket.status not in rule.states:
        problem = (f"ticket {ticket.number} is {ticket.status} ({S(ticket.status).label}); "
                   f"{action.value} needs {' or '.join(s.value for s in rule.states)}")
    elif rule.guard:
        problem = rule.guard(ticket)
    if problem:
        raise InvalidTransition(problem, status=ticket.status, allowed_actions=allowed_actions(ticket, user))
