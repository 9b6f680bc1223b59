"""Request and response models of the one table."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from stdnum.cn import uscc as uscc_std
from stdnum.exceptions import InvalidChecksum, ValidationError

from models import RequestType, Urgency
from service.domain.bounds import received_at_problem
from service.domain.reference import reference
from service.schemas.common import Coded

PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,19}$")


def check_code(kind: str, value: str | None) -> str | None:
    """Validate a reference code, listing the allowed values when it is unknown."""
    if value is None:
        return None
    if value in reference().files[kind].index:
        return value
    allowed = sorted(reference().codes(kind))
    if value not in allowed:
        shown = ", ".join(allowed) if len(allowed) <= 20 else ", ".join(allowed[:20]) + ", ..."
        raise ValueError(f"unknown {kind[:-1] if kind != 'categories' else 'category'} {value!r}; allowed: {shown}")
    return value


def _code(kind: str):
    return AfterValidator(lambda v: check_code(kind, v))


# Reference codes, validated against the reference data with the allowed values in the error.
ChannelCode = Annotated[str, _code("channels")]
CountyCode = Annotated[str, _code("counties")]
TownCode = Annotated[str, _code("towns")]
CategoryCode = Annotated[str, _code("categories")]
ChainCode = Annotated[str, _code("chains")]
TierCode = Annotated[str, _code("tiers")]


def validate_uscc(value: str) -> str:
    """Check a 统一社会信用代码 and say what is wrong with it."""
    code = uscc_std.compact(value)
    try:
        return uscc_std.validate(code)
    except InvalidChecksum:
        expected = uscc_std.calc_check_digit(code[:17])
        raise ValueError(f"check character is wrong: {code[17]!r} given, {expected!r} expected") from None
    except ValidationError as exc:
        raise ValueError(f"not a valid 18-character USCC: {exc}") from None


class EnterpriseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    uscc: str = Field(description="统一社会信用代码, 18 characters with a check character")
    chain: ChainCode | None = None
    tier: TierCode | None = None
    above_scale: bool | None = None

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str) -> str:
        return validate_uscc(v)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not PHONE.match(v):
            raise ValueError("not a phone number (digits, optional +, - and spaces, 5 to 20 characters)")
        return v


class TicketFields(BaseModel):
    """What an operator or a town centre registers about a problem."""

    model_config = ConfigDict(extra="forbid")
    enterprise: EnterpriseIn
    contact: ContactIn
    county: CountyCode | None = None
    town: TownCode | None = None
    category: CategoryCode | None = None
    request_type: RequestType
    urgency: Urgency = Urgency.NORMAL
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20000)]
    received_at: AwareDatetime | None = Field(None, description="when the call or visit happened; default now")

    @field_validator("received_at")
    @classmethod
    def _within_window(cls, v: datetime | None) -> datetime | None:
        if v is not None and (problem := received_at_problem(v)):
            raise ValueError(problem)
        return v


class TicketCreate(TicketFields):
    channel: ChannelCode
    external_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] | None = None
    instant_answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=5000)] | None = \
        Field(None, description="即时办结: the answer given during the call; the ticket is resolved at once")


class BangqiyunPush(TicketFields):
    """帮企云's payload: its own id becomes our external_id."""

    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class UnitRef(BaseModel):
    code: str
    name: str | None = None


class TicketRef(BaseModel):
    id: int
    number: str


class Routing(BaseModel):
    rule_id: str | None
    ruleset_version: str | None
    reasons: dict | None
    routed_at: datetime | None


class EventOut(BaseModel):
    id: int
    kind: str
    kind_label: str = Field(description="the event kind in Chinese, e.g. 签收")
    from_status: Coded | None
    to_status: Coded | None
    actor: str
    unit: UnitRef | None
    at: datetime
    payload: dict[str, Any]


class DuplicateOut(BaseModel):
    id: int
    number: str
    title: str
    status: Coded
    similarity: float


class Deadlines(BaseModel):
    accept_due_at: datetime | None
    resolve_due_at: datetime | None
    provisional: bool = Field(description="counted on a year whose official calendar is not published yet")
    reminded_at: datetime | None
    supervision: Coded | None


class Work(BaseModel):
    assigned_at: datetime | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    opinion: str | None
    pending_refusal: dict | None
    pending_extension: dict | None
    reopen_count: int
    feedback: dict | None


class TicketOut(BaseModel):
    id: int
    number: str
    channel: Coded
    external_id: str | None
    enterprise: dict[str, Any]
    contact: dict[str, str]
    county: Coded | None
    town: Coded | None
    request_type: Coded
    category: Coded | None
    urgency: Coded
    title: str
    description: str
    status: Coded
    lead_unit: UnitRef | None
    assisting_units: list[UnitRef]
    registered_by_unit: UnitRef | None
    routing: Routing
    merged_into: TicketRef | None
    deadlines: Deadlines
    work: Work
    received_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int
    allowed_actions: list[Coded] = Field(default_factory=list, description="what the caller may do next")


class TicketDetail(TicketOut):
    merged_tickets: list[TicketRef]
    history: list[EventOut]
    clocks: dict | None


class TicketCreated(TicketOut):
    possible_duplicates: list[DuplicateOut]
