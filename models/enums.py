"""Fixed vocabularies of the work order, each code with its Chinese label."""
from __future__ import annotations

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry a Chinese label (see LABELS)."""

    @property
    def label(self) -> str:
        return LABELS[type(self).__name__][self.value]


class TicketStatus(LabelledEnum):
    NEW = "new"
    PENDING_DISPATCH = "pending_dispatch"
    ASSIGNED = "assigned"
    REFUSE_REVIEW = "refuse_review"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    MERGED = "merged"


class RequestType(LabelledEnum):
    CONSULT = "consult"
    HELP = "help"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGESTION = "suggestion"


class Urgency(LabelledEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    CRITICAL = "critical"


class Role(LabelledEnum):
    OPERATOR = "operator"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    LEADER = "leader"
    ADMIN = "admin"


class EventKind(LabelledEnum):
    """What one row of a ticket's history records (ticket_event.kind)."""

    CREATED = "created"
    ROUTED = "routed"
    ROUTING_NO_MATCH = "routing_no_match"
    DISPATCHED = "dispatched"
    TRANSFERRED = "transferred"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    REFUSAL_APPROVED = "refusal_approved"
    REFUSAL_OVERRULED = "refusal_overruled"
    ASSIST_OPINION = "assist_opinion"
    DEADLINES_RECOMPUTED = "deadlines_recomputed"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_APPROVED = "extension_approved"
    EXTENSION_DENIED = "extension_denied"
    RESOLVED = "resolved"
    INSTANT_RESOLVED = "instant_resolved"
    FEEDBACK = "feedback"
    FEEDBACK_AMENDED = "feedback_amended"
    FEEDBACK_ATTEMPT = "feedback_attempt"
    REOPENED = "reopened"
    CLOSED = "closed"
    REMINDED = "reminded"
    SUPERVISED = "supervised"
    MERGED = "merged"
    MERGE_RECEIVED = "merge_received"
    UNMERGED = "unmerged"
    MERGE_UNDONE = "merge_undone"
    RECLASSIFIED = "reclassified"


class ArticleKind(LabelledEnum):
    """What a knowledge base entry is: an answer to give enterprises, or a unit's wording of a 办理意见."""

    ARTICLE = "article"
    REPLY_TEMPLATE = "reply_template"


LABELS: dict[str, dict[str, str]] = {
    "TicketStatus": {
        "new": "受理", "pending_dispatch": "待派单", "assigned": "待签收", "refuse_review": "退单审核",
        "in_progress": "办理中", "resolved": "已办结", "closed": "已归档", "merged": "已并单",
    },
    "RequestType": {"consult": "咨询", "help": "求助", "complaint": "投诉", "report": "举报", "suggestion": "建议"},
    "Urgency": {"normal": "一般", "urgent": "紧急", "critical": "特急"},
    "ArticleKind": {"article": "知识", "reply_template": "答复模板"},
    "Role": {"operator": "话务员", "dispatcher": "派单员", "handler": "承办人", "leader": "领导", "admin": "管理员"},
    "EventKind": {
        "created": "受理", "routed": "自动派单", "routing_no_match": "未匹配派单规则", "dispatched": "派单",
        "transferred": "改派", "accepted": "签收", "refused": "退单", "refusal_approved": "退单通过",
        "refusal_overruled": "退单驳回", "assist_opinion": "协办意见", "deadlines_recomputed": "重算时限",
        "extension_requested": "申请延期", "extension_approved": "延期通过", "extension_denied": "延期驳回",
        "resolved": "办结", "instant_resolved": "即时办结", "feedback": "回访",
        "feedback_amended": "更正回访", "feedback_attempt": "回访未接通", "reopened": "重办", "closed": "归档",
        "reminded": "催办", "supervised": "督办", "merged": "并单", "merge_received": "并入工单",
        "unmerged": "撤销并单", "merge_undone": "并单已撤销", "reclassified": "改类",
    },
}

# Tickets in these states are still someone's work: duplicates are looked for among them, and one whose
# 办结 deadline has passed is overdue (service/domain/tickets.py `overdue`), whoever holds it now.
OPEN_STATUSES = (
    TicketStatus.NEW, TicketStatus.PENDING_DISPATCH, TicketStatus.ASSIGNED,
    TicketStatus.REFUSE_REVIEW, TicketStatus.IN_PROGRESS,
)
# A unit holds these tickets and works them: 改派, 协办, 催办 and 督办 apply, and the sweeps flag them.
WORKING_STATUSES = (TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS)
# A unit holds these tickets, working them or asking to give them back (退单审核): their deadlines run.
HELD_STATUSES = (*WORKING_STATUSES, TicketStatus.REFUSE_REVIEW)


def sql_list(members) -> str:
    """`('a', 'b')`: enum values as an SQL list, for statements written as text (the values are fixed codes)."""
    values = [m.value for m in members]
    assert all(v.isidentifier() for v in values)
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"
