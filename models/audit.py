"""Audit trail of personal-data access (who saw a full contact phone, who exported what) and of account changes."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class AuditAction(StrEnum):
    EXPORT = "export"
    READ_CONTACT = "read_contact"
    ACCOUNT = "account"  # params: op (deactivate, activate, password_reset, password_change) and the username


AUDIT_ACTION_LABELS = {"export": "导出", "read_contact": "查看完整联系电话", "account": "账号管理"}

_ACTIONS = ", ".join(f"'{a.value}'" for a in AuditAction)


class AuditEvent(Base):
    """One access to personal data; rows are only ever inserted, never changed."""

    __tablename__ = "audit_event"
    __table_args__ = (
        CheckConstraint(f"action IN ({_ACTIONS})", name="action_known"),
        Index("ix_audit_event_at", "at", "id"),
        Index("ix_audit_event_user_id", "user_id", "id"),
        # Most rows are exports or reads of one ticket; only the latter are looked up by ticket.
        Index("ix_audit_event_ticket_id", "ticket_id", "id", postgresql_where=text("ticket_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The trail outlives an account: the name and role are kept as they were at the time.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    # No foreign key: the trail must not block or vanish with a ticket.
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    params: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    rows: Mapped[int | None] = mapped_column(Integer)
