"""Deadlines: the SLA table, and the 签收 / 办结 / 催办 / 督办 instants of a ticket."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from service.config import get_settings
from service.domain.bounds import FIRST_INSTANT
from service.domain.workdays import Calendar

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

    def limits(self, request_type: str, urgency: str, override: dict | None = None) -> Limits:
        """Defaults, then the request type, then the urgency, then a rule's override."""
        merged = {**self.defaults, **self.by_request_type.get(request_type, {}), **self.by_urgency.get(urgency, {}),
                  **(override or {})}
        # a fractional day limit (allowed in rule files) rounds up: never a tighter deadline than written
        return Limits(float(merged["accept_hours"]), math.ceil(merged["resolve_days"]))


def load_sla(path: Path) -> SlaTable:
    """Parse and check the SLA file."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    table = SlaTable(
        version=str(doc["version"]), defaults=doc["defaults"], by_request_type=doc.get("by_request_type", {}),
        by_urgency=doc.get("by_urgency", {}), remind_before_hours=float(doc.get("remind_before_hours", 4)),
        red_after_days=int(doc.get("red_after_days", 3)), refuse_review_hours=float(doc.get("refuse_review_hours", 8)),
    )
    for section in (table.defaults, *table.by_request_type.values(), *table.by_urgency.values()):
        for key, value in section.items():
            if key not in ("accept_hours", "resolve_days") or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{path}: bad SLA entry {key}: {value!r}")
    return table


@lru_cache
def sla_table() -> SlaTable:
    return load_sla(get_settings().sla_file or DEFAULT_SLA_FILE)


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
