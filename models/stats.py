"""Rollups for leadership's numbers, maintained incrementally by the workers from the event history."""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Identity, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

COUNTERS = ("received", "instant", "resolved", "resolved_on_time", "accepted", "accepted_on_time", "dispatched",
            "refused", "rated", "satisfied", "solved", "reopened", "repeats")
DIMENSIONS = ("unit", "county", "town", "channel", "category", "request_type")


class _Counters:
    """The counters of a rollup row, one per entry of COUNTERS."""

    received: Mapped[int] = mapped_column(Integer, default=0)
    instant: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    resolved_on_time: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    accepted_on_time: Mapped[int] = mapped_column(Integer, default=0)
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    repeats: Mapped[int] = mapped_column(Integer, default=0)


class _Cell:
    """A rollup row's dimension ('all' for the whole city) and its value."""

    dim: Mapped[str] = mapped_column(String(16), primary_key=True, sort_order=-2)
    value: Mapped[str] = mapped_column(String(80), primary_key=True, sort_order=-1)


class StatDaily(_Cell, _Counters, Base):
    """Counters per day for the whole city (dim 'all') and per value of each dimension."""

    __tablename__ = "stat_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class _Histogram:
    """A histogram cell: how many first resolutions took `bucket` half office hours."""

    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class StatDuration(_Cell, _Histogram, Base):
    """How many first resolutions took a given number of half office hours, per day and dimension value."""

    __tablename__ = "stat_duration"
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class StatMonthly(_Cell, _Counters, Base):
    """stat_daily added up per calendar month (month = its first day); kept equal to the sum of its days."""

    __tablename__ = "stat_monthly"
    month: Mapped[date] = mapped_column(Date, primary_key=True)


class StatDurationMonthly(_Cell, _Histogram, Base):
    """stat_duration added up per calendar month (month = its first day); kept equal to the sum of its days."""

    __tablename__ = "stat_duration_monthly"
    month: Mapped[date] = mapped_column(Date, primary_key=True)


class StatTicket(Base):
    """What each ticket contributes under: its dimensions and the last event counted."""

    __tablename__ = "stat_ticket"
    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    county: Mapped[str] = mapped_column(String(32))
    town: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    request_type: Mapped[str] = mapped_column(String(16))
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    # the ids of the events counted (NULL on rows of older releases: the events up to last_event_id)
    counted: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))


class StatQueue(Base):
    """Tickets whose numbers must be refreshed (filled by triggers on ticket_event and ticket)."""

    __tablename__ = "stat_queue"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigInteger)
