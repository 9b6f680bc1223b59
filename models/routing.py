"""What routing learns from dispatchers: trained suggestion models and the suggestions they made."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Identity, Index, Integer, String, \
    UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class RoutingModel(Base):
    """One trained suggestion model: its whole parameters as JSON; at most one row is active."""

    __tablename__ = "routing_model"
    __table_args__ = (Index("uq_routing_model_active", "active", unique=True, postgresql_where=text("active")),)

    version: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    examples: Mapped[int] = mapped_column(Integer)
    from_events: Mapped[int] = mapped_column(Integer)      # tickets labelled by a dispatcher's 派单/改派/退单
    from_corpus: Mapped[int] = mapped_column(Integer)      # cases of the corpus's dev split
    params: Mapped[dict] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class RoutingSuggestion(Base):
    """The unit kind a model suggested for a ticket, beside the rule decision (if any) it was compared with."""

    __tablename__ = "routing_suggestion"
    __table_args__ = (
        UniqueConstraint("ticket_id", "model_version"),
        # The flags list reads only the rows where the model disagreed.
        Index("ix_routing_suggestion_disagrees", "id", postgresql_where=text("disagrees")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    model_version: Mapped[int] = mapped_column(ForeignKey("routing_model.version", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    unit_code: Mapped[str | None] = mapped_column(String(80))   # None: no unit of that kind for this ticket
    confidence: Mapped[float] = mapped_column(Float)
    rule_id: Mapped[str | None] = mapped_column(String(100))
    rule_kind: Mapped[str | None] = mapped_column(String(32))
    disagrees: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
