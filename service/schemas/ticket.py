"""Request and response models of the one table."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt,
                      StringConstraints, field_validator)
from stdnum.cn import uscc as uscc_std
from stdnum.exceptions import InvalidChecksum, ValidationError

from models import RequestType, Urgency
from service.domain.bounds import MAX_ID, received_at_problem
from service.domain.reference import lookup_code, lookup_enum, reference
from service.errors import KIND_ZH, FieldProblem
from service.schemas.common import Coded, Instant, JsonDict

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
        raise FieldProblem(f"unknown {kind[:-1] if kind != 'categories' else 'category'} {value!r}; allowed: {shown}",
                           zh=f"未知的{KIND_ZH.get(kind, '')}代码 {value!r}；可选：{shown}", code="unknown_code")
    return value


def _code(kind: str):
    return AfterValidator(lambda v: check_code(kind, v))


def _label(kind: str):
    return BeforeValidator(lambda v: lookup_code(kind, v))


# Reference codes, validated against the reference data with the allowed values in the error. A Chinese label
# (柳市镇, 96666助企热线) is taken for its code, with the spreadsheet import's lookup.
ChannelCode = Annotated[str, _label("channels"), _code("channels")]
CountyCode = Annotated[str, _label("counties"), _code("counties")]
TownCode = Annotated[str, _label("towns"), _code("towns")]
CategoryCode = Annotated[str, _label("categories"), _code("categories")]
ChainCode = Annotated[str, _label("chains"), _code("chains")]
TierCode = Annotated[str, _label("tiers"), _code("tiers")]


def validate_uscc(value: str) -> str:
    """Check a 统一社会信用代码 and say what is wrong with it."""
    code = uscc_std.compact(value)
    try:
        return uscc_std.validate(code)
    except InvalidChecksum:
        expected = uscc_std.calc_check_digit(code[:17])
        raise FieldProblem(f"check character is wrong: {code[17]!r} given, {expected!r} expected",
                           zh=f"统一社会信用代码校验位错误：填写的是 {code[17]!r}，应为 {expected!r}",
                           code="uscc_check_character") from None
    except ValidationError as exc:
        raise FieldProblem(f"not a valid 18-character USCC: {exc}", zh="不是有效的 18 位统一社会信用代码",
                           code="uscc_invalid") from None


class EnterpriseIn(BaseModel):
    """The enterprise of a problem: its USCC when the caller knows it, else its name alone (matched on the name
    folded: full/half width, spaces, punctuation, 有限公司 and similar endings); or the id of a record picked from
    GET /api/v1/enterprises, which name and USCC must not contradict."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[StrictInt, Field(gt=0, le=MAX_ID)] | None = Field(
        None, description="an enterprise picked from GET /api/v1/enterprises or /api/v1/callers")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    uscc: str | None = Field(None, description="统一社会信用代码, 18 characters with a check character; optional")
    chain: ChainCode | None = None
    tier: TierCode | None = None
    above_scale: bool | None = None

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None  # a blank is a code not given
        return validate_uscc(v)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not PHONE.match(v):
            raise FieldProblem("not a phone number (digits, optional +, - and spaces, 5 to 20 characters)",
                               zh="不是电话号码（数字，可带 +、- 和空格，5 到 20 位）", code="phone_invalid")
        return v


class TicketFields(BaseModel):
    """What an operator or a town centre registers about a problem."""

    model_config = ConfigDict(extra="forbid")
    enterprise: EnterpriseIn
    contact: ContactIn
    county: CountyCode | None = None
    town: TownCode | None = None
    category: CategoryCode | None = None
    request_type: Annotated[RequestType, BeforeValidator(lambda v: lookup_enum(RequestType, v))]
    urgency: Annotated[Urgency, BeforeValidator(lambda v: lookup_enum(Urgency, v))] = Urgency.NORMAL
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
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"channel": "hotline_96666", "enterprise": {"name": "乐清市柳市华电电气有限公司"},
         "contact": {"name": "王经理", "phone": "13805770001"}, "town": "yueqing_liushi", "request_type": "help",
         "urgency": "urgent", "title": "厂区突然停电影响生产",
         "description": "我司位于柳市镇工业区，今天上午厂区变压器跳闸停电，生产线全部停工，请供电部门尽快处理。"},
        {"channel": "hotline_96666", "enterprise": {"name": "乐清市正泰精工电器有限公司", "uscc": "91330382MA2AB1C3EL"},
         "contact": {"name": "陈会计", "phone": "0577-61234567"}, "category": "policy", "request_type": "consult",
         "title": "研发费用加计扣除比例咨询", "description": "企业想了解今年研发费用加计扣除的比例和享受方式。",
         "instant_answer": "已告知企业：研发费用按实际发生额的100%在税前加计扣除，可在预缴申报时享受。"},
    ]})

    channel: ChannelCode
    external_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] | None = None
    instant_answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=5000)] | None = \
        Field(None, description="即时办结: the answer given during the call; the ticket is resolved at once")
    instant_answer_article_id: int | None = Field(None, gt=0, le=MAX_ID, description=(
        "the knowledge article the instant answer was given from (GET /api/v1/knowledge/suggest): recorded on the "
        "即时办结 event with its version and title; an unknown or stale one is 422"))
    answered_locally: bool = Field(False, description="就地答复: a town centre's staff answered it on the spot; the "
                                                      "ticket stays with that centre (town-centre staff only)")


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
    reasons: JsonDict | None
    routed_at: Instant | None


class EventOut(BaseModel):
    id: int
    kind: str
    kind_label: str = Field(description="the event kind in Chinese, e.g. 签收")
    from_status: Coded | None
    to_status: Coded | None
    actor: str
    unit: UnitRef | None
    at: Instant
    payload: JsonDict


class DuplicateOut(BaseModel):
    id: int
    number: str
    title: str
    status: Coded
    similarity: float


class Deadlines(BaseModel):
    accept_due_at: Instant | None
    resolve_due_at: Instant | None
    provisional: bool = Field(description=(
        "counted on a year whose official schedule is not published yet: weekends and the statutory holidays "
        "(元旦, 春节 除夕 to 初三, 清明, 劳动节, 端午, 中秋, 国庆) are off; that year's 调休 and 补假 are not known "
        "yet, so the deadline is recounted once the schedule is installed"))
    reminded_at: Instant | None
    supervision: Coded | None


class Work(BaseModel):
    assigned_at: Instant | None
    accepted_at: Instant | None
    resolved_at: Instant | None
    closed_at: Instant | None
    opinion: str | None
    pending_refusal: JsonDict | None
    pending_extension: JsonDict | None
    reopen_count: int
    feedback: JsonDict | None


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
    received_at: Instant
    created_at: Instant
    updated_at: Instant
    version: int
    allowed_actions: list[Coded] = Field(default_factory=list, description="what the caller may do next")


class SuggestionOut(BaseModel):
    """The unit the suggestion model proposes (it never routes by itself), beside the rule's choice if any."""

    kind: Coded = Field(description="the suggested unit kind, e.g. {code: rsj, label: 人社局}")
    unit: UnitRef | None = Field(description="that kind's unit for this ticket's county (or the city's, or its "
                                             "town's centre); null when there is none")
    confidence: float = Field(description="the model's probability of its top kind, 0 to 1")
    model_version: int
    rule_id: str | None = Field(description="the rule whose decision the suggestion was compared with")
    rule_kind: Coded | None
    disagrees: bool = Field(description="the model's kind differs from the rule's with high confidence")
    created_at: Instant


class TicketDetail(TicketOut):
    merged_tickets: list[TicketRef]
    history: list[EventOut]
    clocks: JsonDict | None
    routing_suggestion: SuggestionOut | None = Field(None, description="for dispatchers: the model's suggestion")


class TicketCreated(TicketOut):
    possible_duplicates: list[DuplicateOut]
