"""Enterprises, keyed by their 统一社会信用代码 (USCC)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Enterprise(Base):
    __tablename__ = "enterprise"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str | None] = mapped_column(ForeignKey("county.code"))
    town_code: Mapped[str | None] = mapped_column(ForeignKey("town.code"))
    chain_code: Mapped[str | None] = mapped_column(ForeignKey("chain.code"))
    tier_code: Mapped[str | None] = mapped_column(ForeignKey("tier.code"))
    above_scale: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


class EnterpriseNameChange(Base):
    """A known USCC arrived under another company name: the record takes the new name, the old one is kept here
    (by a trigger on enterprise, whatever path renamed it), and the change waits for an admin to look at it (a
    typo, a renamed company, or a wrong code)."""

    __tablename__ = "enterprise_name_change"
    __table_args__ = (Index("ix_enterprise_name_change_pending", "id", postgresql_where=text("reviewed_at IS NULL")),
                      Index("ix_enterprise_name_change_enterprise", "enterprise_id", "id"))
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    old_name: Mapped[str] = mapped_column(String(200))
    new_name: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
