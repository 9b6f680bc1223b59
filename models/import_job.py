"""Spreadsheet imports too large for a request: the uploaded file, its state and, once done, its report."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, LargeBinary, String, Text, func, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from models.base import Base
from models.export import ExportStatus

IMPORT_STATUS_LABELS = {"queued": "排队中", "running": "导入中", "done": "已完成", "failed": "失败"}
_STATUSES = ", ".join(f"'{s.value}'" for s in ExportStatus)


class ImportJob(Base):
    """One upload imported by a worker; the file is kept in the row so any worker can run (or rerun) it."""

    __tablename__ = "import_job"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        Index("ix_import_job_user_id", "user_id", "id"),
        # The stale-job sweep reads only unfinished rows.
        Index("ix_import_job_unfinished", "created_at", postgresql_where=text("status IN ('queued', 'running')")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    # {"mapping": {...} | null, "channel": "...", "dry_run": bool}
    params: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), default=ExportStatus.QUEUED, server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows: Mapped[int] = mapped_column(Integer)  # counted at upload
    filename: Mapped[str] = mapped_column(String(200))
    # Deferred: polling the status never drags the file along; cleared once the import is finished.
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    size_bytes: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
