"""Enterprises: known by their 统一社会信用代码 (USCC), or by their name until one arrives; their contacts and merges."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, Computed, DateTime, ForeignKey, Identity, Index, Integer, String, Text,
                        func, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Enterprise(Base):
    """One company. Without a USCC it is identified by `name_key`, its name folded by the database function
    hotline_name_key (full/half width, case, spaces, punctuation, the 有限公司 family of endings; migration 0018),
    unique among the records without a code. A record merged into another keeps its name (a later intake under it
    finds the other) and lends it nothing else."""

    __tablename__ = "enterprise"
    __table_args__ = (
        Index("uq_enterprise_name_key_unidentified", "name_key", unique=True,
              postgresql_where=text("uscc IS NULL AND merged_into_id IS NULL")),
        Index("ix_enterprise_name_key", text("name_key text_pattern_ops")),
        Index("ix_enterprise_name_grams", text("hotline_name_grams(name_key)"), postgresql_using="gin"),
        Index("ix_enterprise_uscc_prefix", text("uscc varchar_pattern_ops"), postgresql_where=text("uscc IS NOT NULL")),
        Index("ix_enterprise_recent", text("contact_hour DESC NULLS LAST"), text("id DESC")),
        Index("ix_enterprise_town_recent", "town_code", text("contact_hour DESC NULLS LAST"), text("id DESC")),
        Index("ix_enterprise_roster", "county_code", "town_code",
              postgresql_where=text("on_roster AND merged_into_id IS NULL")),
        Index("ix_enterprise_merged_into", "merged_into_id", postgresql_where=text("merged_into_id IS NOT NULL")),
        {"postgresql_with": {"fillfactor": 80}},  # room for the in-place update of each intake (migration 0021)
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(Text, Computed("hotline_name_key(name)", persisted=True))
    county_code: Mapped[str | None] = mapped_column(ForeignKey("county.code"))
    town_code: Mapped[str | None] = mapped_column(ForeignKey("town.code"))
    chain_code: Mapped[str | None] = mapped_column(ForeignKey("chain.code"))
    tier_code: Mapped[str | None] = mapped_column(ForeignKey("tier.code"))
    above_scale: Mapped[bool | None] = mapped_column(Boolean)
    # On the city's roster (e.g. the 规上 enterprises), as last imported: coverage counts these.
    on_roster: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    roster_imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    # The latest received_at of a ticket registered for (or moved to) this record.
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Its hour (UTC), what the search orders by: a call within the same hour changes no indexed value, and the
    # intake's update of the record stays on its page (migration 0021).
    contact_hour: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=False), Computed("date_trunc('hour', timezone('UTC', last_contact_at))", persisted=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


class EnterpriseContact(Base):
    """A person and phone an enterprise called from (kept by intake's statement): the caller lookup reads it."""

    __tablename__ = "enterprise_contact"
    __table_args__ = (
        Index("uq_enterprise_contact_person", "enterprise_id", "phone_digits", "name", unique=True),
        Index("ix_enterprise_contact_phone", "phone_digits"),
        Index("ix_enterprise_contact_phone_end", text("reverse(phone_digits) text_pattern_ops")),
        {"postgresql_with": {"fillfactor": 80}},  # room for the in-place update of a contact calling again
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))            # as last written
    phone_digits: Mapped[str] = mapped_column(Text, Computed("hotline_phone_digits(phone)", persisted=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ticket_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class EnterpriseMerge(Base):
    """An admin's merge of two records of one company: the tickets it moved (an undo moves exactly those back), the
    records merged into `from` before that it re-pointed, and the values `into` took from `from`."""

    __tablename__ = "enterprise_merge"
    __table_args__ = (Index("ix_enterprise_merge_from", "from_id", "id"), Index("ix_enterprise_merge_into", "into_id", "id"))
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    into_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    reason: Mapped[str] = mapped_column(Text)
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    ticket_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list, server_default="{}")
    repointed_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list, server_default="{}")
    filled: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


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
