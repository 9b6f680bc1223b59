"""The filters of the one table, shared by the list and the exports."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Query

from service.config import get_settings
from service.domain.tickets import TicketFilter


def ticket_filter(
    status_: Annotated[list[str], Query(alias="status")] = [],
    channel: Annotated[list[str], Query()] = [],
    county: Annotated[list[str], Query()] = [],
    town: Annotated[list[str], Query()] = [],
    unit: str | None = None,
    category: Annotated[list[str], Query()] = [],
    request_type: Annotated[list[str], Query()] = [],
    urgency: Annotated[list[str], Query()] = [],
    uscc: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    overdue: Annotated[bool | None, Query(description="past the 办结 deadline and still open")] = None,
    supervision: Annotated[list[Literal["yellow", "red"]], Query(description="督办 light")] = [],
) -> TicketFilter:
    """The filters of GET /api/v1/tickets, as a dependency."""
    created_from, created_to = local_time(created_from), local_time(created_to)
    return TicketFilter(status=status_, channel=channel, county=county, town=town, unit=unit or None,
                        category=category, request_type=request_type, urgency=urgency, uscc=uscc or None,
                        created_from=created_from, created_to=created_to, q=q or None, overdue=overdue,
                        supervision=list(supervision))


def local_time(value: datetime | None) -> datetime | None:
    """A date-time without a zone is read as local (Asia/Shanghai) time, as in the ticket list."""
    return value.replace(tzinfo=ZoneInfo(get_settings().timezone)) if value and value.tzinfo is None else value
