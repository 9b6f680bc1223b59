"""The values the service accepts: what PostgreSQL's columns and the calendar can hold.

Text holds no NUL and no lone surrogate; an id beyond bigint names nothing (404, or 422 in a body or a cursor); a
day outside the calendar's range is refused with 422 naming the field, before it reaches a query or the deadline
arithmetic.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from service.config import get_settings
from service.errors import field_error

# PostgreSQL's text cannot store U+0000, and a lone surrogate cannot be encoded as UTF-8.
_BAD = re.compile("[\x00\ud800-\udfff]")
MAX_ID = 2**63 - 1  # every id column is a bigint

# The days the working-day calendar covers. From 2000 Asia/Shanghai keeps +08:00 all year (before 1901 it reads
# as local mean time, +08:05:43, and 1986-1991 had summer time), and 2199 leaves any deadline room to be computed.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2199, 12, 31)
FIRST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
LAST_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)

# How far ahead of the server's clock a received_at may lie (the caller's clock may run a little fast).
RECEIVED_AT_MAX_AHEAD = timedelta(minutes=5)


def text_problem(text: str) -> str | None:
    """What makes a string unstorable (a NUL or a lone surrogate), or None."""
    found = _BAD.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "contains a NUL character (U+0000), which no text may hold"
    return f"contains a lone surrogate (U+{ord(char):04X}), which is not valid Unicode"


def check_text(values: dict[str, Any]) -> None:
    """422 naming the first field whose text no column may hold (the API's guard does this for requests)."""
    for name, value in values.items():
        if isinstance(value, str) and (problem := text_problem(value)):
            raise field_error(name, problem)


def printable(name: str) -> str:
    """A name safe to echo in a JSON answer (bad characters written as JSON escapes)."""
    return _BAD.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def is_id(value: Any) -> bool:
    """Whether value can be the id of a row (a positive bigint; a JSON true is not 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def check_day(field: str, value: date | None) -> date | None:
    """A day within the calendar's range, or 422 naming the field."""
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        raise field_error(field, f"must lie between {FIRST_DAY} and {LAST_DAY}")
    return value


def clamp(instant: datetime) -> datetime:
    """An instant moved into the calendar's range (the deadline arithmetic never walks beyond it)."""
    return min(max(instant, FIRST_INSTANT), LAST_INSTANT)


def received_at_problem(value: datetime, now: datetime | None = None) -> str | None:
    """What is wrong with a received_at (the API and the spreadsheet import both ask), or None.

    It may lie at most received_at_max_age_days in the past (and never before the calendar's first day), and
    at most a few minutes in the future."""
    now = now or datetime.now(UTC)
    days = get_settings().received_at_max_age_days
    earliest = max(now - timedelta(days=days), FIRST_INSTANT)
    if value > now + RECEIVED_AT_MAX_AHEAD:
        return "lies in the future"
    if value < earliest:
        return (f"lies more than {days} days in the past (before {earliest.date().isoformat()}); "
                "HOTLINE_RECEIVED_AT_MAX_AGE_DAYS sets the window")
    return None


def instant_problem(value: datetime) -> str | None:
    """Whether an instant lies outside the calendar's range (e.g. a 延期 date), or None."""
    if not FIRST_INSTANT <= value < LAST_INSTANT:
        return f"must lie between {FIRST_DAY} and {LAST_DAY}"
    return None
