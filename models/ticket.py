"""The one table: a ticket per enterprise problem, and its append-only event history."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Identity, Index, Integer, Sequence, String,
    Text, func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, coded
from models.enums import OPEN_STATUSES, WORKING_STATUSES, EventKind, TicketStatus, sql_list

# Ticket numbers are "<YYYYMMDD>-<global sequence>": readable, unique without a per-day counter row
# (which would serialise concurrent intake on one lock).
ticket_number_seq = Sequence("ticket_number_seq", metadata=Base.metadata)

_STATUSES = ", ".join(f"'{s.value}'" for s in TicketStatus)
_WORKING = sql_list(WORKING_STATUSES)


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        Index("uq_ticket_channel_external_id", "channel_code", "external_id", unique=True,
              postgresql_where=text("external_id IS NOT NULL")),
        Index("ix_ticket_status_id", "status", "id"),
        Index("ix_ticket_lead_unit_id", "lead_unit_code", "id"),
        Index("ix_ticket_channel_id", "channel_code", "id"),
        Index("ix_ticket_county_id", "county_code", "id"),
        Index("ix_ticket_town_id", "town_code", "id"),
        Index("ix_ticket_category_id", "category_code", "id"),
        Index("ix_ticket_registered_unit_id", "registered_by_unit_code", "id"),
        Index("ix_ticket_enterprise_created", "enterprise_id", "created_at"),
        # An enterprise's open tickets, counted beside it in lookups without reading its closed ones.
        Index("ix_ticket_enterprise_open", "enterprise_id", postgresql_where=text(f"status IN {sql_list(OPEN_STATUSES)}")),
        Index("ix_ticket_created_at", "created_at"),
        Index("ix_ticket_assisting_units", "assisting_units", postgresql_using="gin"),
        Index("ix_ticket_search", "search_vector", postgresql_using="gin"),
        Index("ix_ticket_merged_into", "merged_into_id", postgresql_where=text("merged_into_id IS NOT NULL")),
        # The sweeps read only the rows a flag may still be raised on.
        Index("ix_ticket_remind_due", "remind_at",
              postgresql_where=text(f"reminded_at IS NULL AND status IN {_WORKING}")),
        Index("ix_ticket_yellow_due", "resolve_due_at",
              postgresql_where=text(f"supervision IS NULL AND status IN {_WORKING}")),
        Index("ix_ticket_accept_due", "accept_due_at",
              postgresql_where=text(f"supervision IS NULL AND status = '{TicketStatus.ASSIGNED.value}'")),
        Index("ix_ticket_red_due", "red_due_at",
              postgresql_where=text(f"supervision = 'yellow' AND status IN {_WORKING}")),
        # The queues (migration 0019): their sorts, what is overdue, what an operator registered, 延期 waiting.
        Index("ix_ticket_received_id", "received_at", "id"),
        Index("ix_ticket_accept_due_id", "accept_due_at", "id", postgresql_where=text("accept_due_at IS NOT NULL")),
        Index("ix_ticket_resolve_due_id", "resolve_due_at", "id", postgresql_where=text("resolve_due_at IS NOT NULL")),
        Index("ix_ticket_open_resolve_due", "resolve_due_at", postgresql_where=text(
            f"status IN {sql_list(OPEN_STATUSES)} AND resolve_due_at IS NOT NULL")),
        Index("ix_ticket_created_by_id", "created_by_id", "id"),
        Index("ix_ticket_pending_extension", "id", postgresql_where=text("jsonb_typeof(pending_extension) = 'object'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    channel_code: Mapped[str] = mapped_column(ForeignKey("channel.code"))
    external_id: Mapped[str | None] = mapped_column(String(128))

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    enterprise_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))  # as given at intake (none when only the name was)
    contact_name: Mapped[str] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(32))
    county_code: Mapped[str | None] = mapped_column(ForeignKey("county.code"))
    town_code: Mapped[str | None] = mapped_column(ForeignKey("town.code"))

    request_type: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    urgency: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # What `?q=` finds: tokens of the title, description, enterprise and contact names and opinions
    # (service.domain.lookup), and the number and phone lexemes a trigger adds (migration 0019).
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, deferred=True)
    # The distinct search tokens of title and description (service.domain.textsearch), the first dedupe_max_tokens
    # of them, stored at intake: the duplicate check compares them and never tokenizes an earlier ticket again.
    tokens: Mapped[list[str]] = mapped_column(ARRAY(Text), deferred=True, default=list, server_default="{}")

    status: Mapped[TicketStatus] = mapped_column(coded(TicketStatus, 24), default=TicketStatus.NEW)
    lead_unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"))
    assisting_units: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list, server_default="{}")
    registered_by_unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"))
    # Registered by a town centre and answered there on the spot: routing keeps it with that centre.
    answered_locally: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    route_rule_id: Mapped[str | None] = mapped_column(String(100))
    route_ruleset_version: Mapped[str | None] = mapped_column(String(32))
    route_reasons: Mapped[dict | None] = mapped_column(JSONB)
    routed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))

    # Deadlines (see service/pipeline/sla.py); provisional when a year's calendar is not published.
    accept_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolve_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remind_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    red_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The inputs of the deadlines, kept so provisional ones can be recomputed later.
    resolve_days: Mapped[int | None] = mapped_column(Integer)      # None once a date was set by hand (延期)
    accept_hours: Mapped[float | None] = mapped_column(Float)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolve_from_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # receipt, or the 重办

    # 催办 / 督办 are flags, not states.
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    supervision: Mapped[str | None] = mapped_column(String(8))  # yellow | red
    supervised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Work on the ticket.
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opinion: Mapped[str | None] = mapped_column(Text)
    pending_refusal: Mapped[dict | None] = mapped_column(JSONB)
    pending_extension: Mapped[dict | None] = mapped_column(JSONB)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    solved: Mapped[bool | None] = mapped_column(Boolean)
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    feedback_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # unanswered 回访 calls

    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
    # Bumped by every state change; concurrent actions compare-and-set on it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class TicketEvent(Base):
    """One change of a ticket. Rows are never updated or deleted (a trigger refuses it)."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_ticket_id", "ticket_id", "id"), Index("ix_ticket_event_at", "at"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    kind: Mapped[EventKind] = mapped_column(coded(EventKind, 32))
    from_status: Mapped[TicketStatus | None] = mapped_column(coded(TicketStatus, 24))
    to_status: Mapped[TicketStatus | None] = mapped_column(coded(TicketStatus, 24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
    payload: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


class TicketClock(Base):
    """Times derived from a ticket's events (recomputing them from the history gives the same numbers)."""

    __tablename__ = "ticket_clock"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), primary_key=True)
    total_seconds: Mapped[float] = mapped_column(Float)          # enterprise-facing, office hours, less pauses
    accept_seconds: Mapped[float] = mapped_column(Float)         # all units' 签收 segments
    handle_seconds: Mapped[float] = mapped_column(Float)         # all units' 办理 segments
    paused_seconds: Mapped[float] = mapped_column(Float)
    segments: Mapped[list] = mapped_column(JSONB)                # [{unit, kind, start, end, seconds, paused}]
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
