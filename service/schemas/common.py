"""Shared response pieces: a code with its Chinese label, pages, and instants in one form."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, PlainSerializer

T = TypeVar("T")

# Every instant the API returns is Beijing time with its offset, e.g. "2026-12-01T09:30:00+08:00",
# whether it was read back from the database (UTC) or just computed by an action (local time). The offset is
# fixed: the zone database would give year-1 instants local mean time (+08:05:43).
BEIJING = timezone(timedelta(hours=8))
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def beijing_iso(value: datetime) -> str:
    """An aware instant as Beijing ISO 8601 with +08:00; a naive one is taken as Beijing wall time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=BEIJING).isoformat()
    return value.astimezone(BEIJING).isoformat()


def beijing_tree(value: Any) -> Any:
    """A JSON value with every instant in it (datetime objects and ISO strings with a zone) in Beijing form."""
    if isinstance(value, datetime):
        return beijing_iso(value)
    if isinstance(value, str) and _ISO_INSTANT.match(value):
        try:
            return beijing_iso(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: beijing_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [beijing_tree(v) for v in value]
    return value


Instant = Annotated[datetime, PlainSerializer(beijing_iso, return_type=str, when_used="json")]
"""A datetime field of a response: serialised as Beijing time with +08:00."""
JsonDict = Annotated[dict[str, Any], PlainSerializer(beijing_tree, return_type=dict[str, Any], when_used="json")]
"""A free-form object of a response whose instants are serialised like Instant."""


class Coded(BaseModel):
    """A code and its Chinese label, e.g. {"code": "consult", "label": "咨询"}."""

    code: str
    label: str | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    limit: int
