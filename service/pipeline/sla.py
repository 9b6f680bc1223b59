"""Deadlines: the SLA table, and the 签收 / 办结 / 催办 / 督办 instants of a ticket.

A limit counts office hours on working days, unless the table marks it `around_the_clock` for the ticket's urgency
(特急: a 签收 promised within 15 minutes at 03:15 falls due at 03:30, not the next morning)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from service.config import get_settings
from service.domain.bounds import FIRST_INSTANT
from service.domain.workdays import Calendar, day_info, next_workday

# The limits a table may count around the clock (elapsed hours): the 签收 limit. The 办结 limit stays in working
# days for every urgency: it is the deadline told to the enterprise, and 当日办结 means the same working day.
CLOCK_LIMITS = ("accept_hours",)

DEFAULT_SLA_FILE = Path(__file__).resolve().parents[2] / "routing_rules" / "sla.yaml"


@dataclass(frozen=True)
class Limits:
    accept_hours: float
    resolve_days: int


@dataclass(frozen=True)
class SlaTable:
    version: str
    defaults: dict
    by_request_type: dict
    by_urgency: dict
    remind_before_hours: float
    red_after_days: int
    refuse_review_hours: float
    around_the_clock: dict[str, frozenset[str]]  # urgency -> the limits that count elapsed time

    def runs_around_the_clock(self, urgency: str, limit: str) -> bool:
        return limit in self.around_the_clock.get(urgency, ())

    def limits(self, request_type: str, urgency: str, override: dict | None = None) -> Limits:
        """Defaults, then the request type, then the urgency, then a rule's override."""
        merged = {**self.defaults, **self.by_request_type.get(request_type, {}), **self.by_urgency.get(urgency, {}),
                  **(override or {})}
        # a fractional day limit (allowed in rule files) rounds up: never a tighter deadline than written
        return Limits(float(merged["accept_hours"]), math.ceil(merged["resolve_days"]))


def load_sla(path: Path) -> SlaTable:
    """Parse and check the SLA file."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_urgency, clock = {}, {}
    for urgency, section in (doc.get("by_urgency") or {}).items():
        section = dict(section)
        names = section.pop("around_the_clock", [])
        if not isinstance(names, list) or any(n not in CLOCK_LIMITS for n in names):
            raise ValueError(f"{path}: around_the_clock of {urgency} must list limits among {', '.join(CLOCK_LIMITS)}")
        by_urgency[urgency], clock[urgency] = section, frozenset(names)
    table = SlaTable(
        version=str(doc["version"]), defaults=doc["defaults"], by_request_type=doc.get("by_request_type", {}),
        by_urgency=by_urgency, remind_before_hours=float(doc.get("remind_before_hours", 4)),
        red_after_days=int(doc.get("red_after_days", 3)), refuse_review_hours=float(doc.get("refuse_review_hours", 8)),
        around_the_clock=clock,
    )
    for section in (table.defaults, *table.by_request_type.values(), *table.by_urgency.values()):
        for key, value in section.items():
            if key not in ("accept_hours", "resolve_days") or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{path}: bad SLA entry {key}: {value!r}")
    return table


@lru_cache
def sla_table() -> SlaTable:
    return load_sla(get_settings().sla_file or DEFAULT_SLA_FILE)


def accept_deadline(assigned_at: datetime, accept_hours: float, urgency: str) -> tuple[datetime, bool]:
    """(签收 deadline, provisional): elapsed hours when the urgency runs the 签收 limit around the clock, else
    office hours on working days."""
    if sla_table().runs_around_the_clock(urgency, "accept_hours"):
        return assigned_at + timedelta(hours=accept_hours), False
    return Calendar.from_settings().add_working_hours(assigned_at, accept_hours)


def off_day_problem(due: datetime) -> str | None:
    """Why a deadline set by hand (延期) cannot fall on its day: a weekend or holiday, with the next working day
    named; None on a working day. Such a date is refused, never moved: the handler chooses the new date."""
    cal = Calendar.from_settings()
    day = due.astimezone(cal.tz).date()
    if day_info(day)[0]:
        return None
    after, after_provisional = next_workday(day)
    unsure = " (provisional: that year's official schedule is not published yet)" if after_provisional else ""
    return (f"{day.isoformat()} is not a working day (weekend or holiday); the next working day is "
            f"{after.isoformat()}{unsure}")


def flag_times(due: datetime) -> tuple[datetime, datetime, bool]:
    """(催办 instant, red-light instant, provisional) for a 办结 deadline."""
    cal, table = Calendar.from_settings(), sla_table()
    remind = working_hours_before(cal, due, table.remind_before_hours)
    red, provisional = cal.add_working_days(due, table.red_after_days, count_from="next_day")
    return remind, red, provisional


def resolve_deadlines(received_at: datetime, resolve_days: int) -> tuple[datetime, datetime, datetime, bool]:
    """(办结 deadline, 催办 instant, red-light instant, provisional) for a limit counted from received_at."""
    cal = Calendar.from_settings()
    due, p1 = cal.add_working_days(received_at, resolve_days, count_from=get_settings().deadline_count_from)
    remind, red, p2 = flag_times(due)
    return due, remind, red, p1 or p2


def working_hours_before(cal: Calendar, due: datetime, hours: float) -> datetime:
    """The latest instant with `hours` office hours between it and due."""
    target, lo, hi = hours * 3600, due, due
    while cal.working_seconds(lo, due) < target:  # step back whole days until enough office time lies between
        if lo < FIRST_INSTANT:  # before the calendar's first day there is no office time to count
            return min(due, FIRST_INSTANT)
        lo -= timedelta(days=1)
    while (hi - lo).total_seconds() > 1:  # then bisect to the second
        mid = lo + (hi - lo) / 2
        if cal.working_seconds(mid, due) >= target:
            lo = mid
        else:
            hi = mid
    return lo.replace(microsecond=0)
