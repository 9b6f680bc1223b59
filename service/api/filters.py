"""The filters of the one table, shared by the list and the exports."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import Query

from models import RequestType, Role, TicketStatus, Urgency, User
from service.api.deps import CurrentUser
from service.config import get_settings
from service.domain.bounds import MAX_ID
from service.domain.queues import AWAITING, ROLES_OF_UNIT, parse_span
from service.domain.reference import known_unit_codes, lookup_code, lookup_enum
from service.domain.tickets import TicketFilter
from service.errors import FieldProblem, InvalidInput, field_detail
from service.schemas.ticket import check_code

Awaiting = Literal[tuple(AWAITING)]  # type: ignore[valid-type]
RoleOfUnit = Literal[tuple(ROLES_OF_UNIT)]  # type: ignore[valid-type]
_AWAITING_DOC = ", ".join(f"{k} {label}" for k, (label, _) in AWAITING.items())
_ROLES_DOC = ", ".join(f"{k} {label}" for k, label in ROLES_OF_UNIT.items())


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
    enterprise: Annotated[int | None, Query(ge=1, le=MAX_ID, description=(
        "one enterprise record's tickets (GET /api/v1/enterprises/{id})"))] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    overdue: Annotated[bool | None, Query(description="past the 办结 deadline and still open")] = None,
    supervision: Annotated[list[Literal["yellow", "red"]], Query(description="督办 light")] = [],
    awaiting: Annotated[list[Awaiting], Query(description=f"waiting for a step (any of): {_AWAITING_DOC}")] = [],
    role_of_unit: Annotated[list[RoleOfUnit], Query(description=(
        f"the unit's part in the ticket (any of): {_ROLES_DOC}; a handler's own unit, for other roles the unit "
        "named by `unit` (required then)"))] = [],
    due_within: Annotated[str | None, Query(max_length=8, description=(
        "the deadline of the current step (签收 while 待签收, else 办结) falls within this span and has not passed: "
        "hours or days, e.g. 4h, 24h, 3d"), examples=["24h"])] = None,
    registered_by: Annotated[Literal["me"] | None, Query(description="me: the tickets the caller registered")] = None,
    *,
    user: CurrentUser,
) -> TicketFilter:
    """The filters of GET /api/v1/tickets, as a dependency. A code may be given as its Chinese label (待签收, 柳市镇,
    求助); a value matching nothing is a 422 naming the parameter and listing the allowed values."""
    created_from, created_to = local_time(created_from), local_time(created_to)
    problems: list[dict] = []
    status_ = _enum_values("status", TicketStatus, status_, problems)
    request_type = _enum_values("request_type", RequestType, request_type, problems)
    urgency = _enum_values("urgency", Urgency, urgency, problems)
    channel, county, town, category = (_code_values(name, kind, values, problems) for name, kind, values in (
        ("channel", "channels", channel), ("county", "counties", county), ("town", "towns", town),
        ("category", "categories", category)))
    if unit and unit not in known_unit_codes():
        problems.append(field_detail("unit", f"unknown unit code {unit!r}; the codes are listed by GET "
                                     "/api/v1/reference/units", code="unknown_code",
                                     zh=f"未知的单位代码 {unit!r}（见 /api/v1/reference/units）"))
    if due_within and parse_span(due_within) is None:
        problems.append(field_detail("due_within", f"{due_within!r} is no span: hours or days, like 4h, 24h or 3d (at "
                                     "most 366 days)", code="span_invalid",
                                     zh=f"{due_within!r} 不是时间段：应为小时或天数，如 4h、24h、3d（不超过 366 天）"))
    if role_of_unit and user.role != Role.HANDLER.value and not unit:
        problems.append(field_detail("role_of_unit", "is relative to a unit: name it with unit= (a handler's is its "
                                     "own unit)", code="needs_unit", zh="须同时用 unit= 指明单位（承办人默认为本单位）"))
    if problems:
        raise InvalidInput(problems)
    return TicketFilter(status=status_, channel=channel, county=county, town=town, unit=unit or None,
                        category=category, request_type=request_type, urgency=urgency, uscc=uscc or None,
                        enterprise=enterprise,
                        created_from=created_from, created_to=created_to, q=q or None, overdue=overdue,
                        supervision=list(supervision), awaiting=list(awaiting), role_of_unit=list(role_of_unit),
                        due_within=due_within or None, registered_by=_registered_by(registered_by, user))


def _registered_by(value: str | None, user: User) -> int | None:
    return user.id if value == "me" else None


def _enum_values(name: str, enum, values: list[str], problems: list[dict]) -> list[str]:
    """The members meant by codes or Chinese labels; each unknown one noted with the allowed values."""
    out = []
    for value in filter(None, values):  # an empty value means absent, as for every filter
        member = lookup_enum(enum, value)
        if member in {m.value for m in enum}:
            out.append(member)
            continue
        allowed = ", ".join(f"{m.value} ({m.label})" for m in enum)
        allowed_zh = "、".join(f"{m.value}（{m.label}）" for m in enum)
        problems.append(field_detail(name, f"unknown value {value!r}; allowed: {allowed}", code="enum",
                                     zh=f"未知的取值 {value!r}；可选：{allowed_zh}"))
    return out


def _code_values(name: str, kind: str, values: list[str], problems: list[dict]) -> list[str]:
    """The reference codes meant by codes or Chinese labels (柳市镇, 柳市); each unknown one noted."""
    out = []
    for value in filter(None, values):
        try:
            out.append(check_code(kind, lookup_code(kind, value)))
        except FieldProblem as problem:
            problems.append(field_detail(name, str(problem), code=problem.code, zh=problem.zh))
    return out


def local_time(value: datetime | None) -> datetime | None:
    """A date-time without a zone is read as local (Asia/Shanghai) time, as in the ticket list."""
    return value.replace(tzinfo=ZoneInfo(get_settings().timezone)) if value and value.tzinfo is None else value


# The filters a client may repeat (any of several values).
_REPEATED = {"status", "channel", "county", "town", "category", "request_type", "urgency", "supervision", "awaiting",
             "role_of_unit"}


def from_query(query: str, user: User) -> TicketFilter:
    """The filter a query string of GET /api/v1/tickets sets (the queue tabs' own queries), read as the list reads
    it; `sort` orders the list and filters nothing."""
    kwargs: dict = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name == "sort":
            continue
        key = "status_" if name == "status" else name
        if name in _REPEATED:
            kwargs[key] = values
        elif name == "overdue":
            kwargs[key] = values[-1] == "true"
        else:
            kwargs[key] = values[-1]
    return ticket_filter(**kwargs, user=user)
