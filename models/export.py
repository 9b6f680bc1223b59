"""Requested spreadsheet exports: their state and, once built, the file itself."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, LargeBinary, String, Text, func, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from models.base import Base


class ExportKind(StrEnum):
    TICKETS = "tickets"
    MONTHLY_REPORT = "monthly_report"


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


EXPORT_STATUS_LABELS = {"queued": "排队中", "running": "生成中", "done": "已完成", "failed": "失败"}

_KINDS = ", ".join(f"'{k.value}'" for k in ExportKind)
_STATUSES = ", ".join(f"'{s.value}'" for s in ExportStatus)


class ExportJob(Base):
    """One export a user asked for; the file is stored with its state so any API replica can serve it."""

    __tablename__ = "export_job"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind_known"),
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        Index("ix_export_job_user_id", "user_id", "id"),
        # The stale-job sweep reads only unfinished rows.
        Index("ix_export_job_unfinished", "created_at", postgresql_where=text("status IN ('queued', 'running')")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), default=ExportStatus.QUEUED, server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    # Deferred: polling the status never drags the file along.
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
