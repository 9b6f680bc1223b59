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


LABELS: dict[str, dict[str, str]] = {
    "TicketStatus": {
        "new": "受理", "pending_dispatch": "待派单", "assigned": "待签收", "refuse_review": "退单审核",
        "in_progress": "办理中", "resolved": "已办结", "closed": "已归档", "merged": "已并单",
    },
    "RequestType": {"consult": "咨询", "help": "求助", "complaint": "投诉", "report": "举报", "suggestion": "建议"},
    "Urgency": {"normal": "一般", "urgent": "紧急", "critical": "特急"},
    "Role": {"operator": "话务员", "dispatcher": "派单员", "handler": "承办人", "leader": "领导", "admin": "管理员"},
}

# Tickets in these states are still someone's work; duplicates are looked for among them.
OPEN_STATUSES = (
    TicketStatus.NEW, TicketStatus.PENDING_DISPATCH, TicketStatus.ASSIGNED,
    TicketStatus.REFUSE_REVIEW, TicketStatus.IN_PROGRESS,
)
