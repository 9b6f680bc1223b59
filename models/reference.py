"""Reference data: counties, towns, handling units, channels, categories, chains, tiers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class County(Base):
    __tablename__ = "county"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))


class Town(Base):
    __tablename__ = "town"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"), index=True)
    centre_name: Mapped[str] = mapped_column(String(128))


class Unit(Base):
    __tablename__ = "unit"
    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    county_code: Mapped[str | None] = mapped_column(ForeignKey("county.code"), index=True)
    town_code: Mapped[str | None] = mapped_column(ForeignKey("town.code"))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class Channel(Base):
    __tablename__ = "channel"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500), default="")


class Category(Base):
    __tablename__ = "category"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500), default="")
    tags: Mapped[list] = mapped_column(JSONB, default=list)


class Chain(Base):
    __tablename__ = "chain"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))


class Tier(Base):
    __tablename__ = "tier"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))


class ReferenceVersion(Base):
    """Which version (and content hash) of each reference file is loaded."""

    __tablename__ = "reference_version"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
