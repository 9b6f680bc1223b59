"""Enterprises, keyed by their 统一社会信用代码 (USCC)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, String, func
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
