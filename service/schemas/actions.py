"""Bodies of the lifecycle actions."""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import (AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints,
                      WithJsonSchema)

from models import RequestType
from service.domain.bounds import MAX_ID, instant_problem
from service.domain.reference import lookup_enum
from service.schemas.ticket import CategoryCode, CountyCode, TownCode

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=5000)]


def _in_calendar(value):
    if problem := instant_problem(value):
        raise ValueError(problem)
    return value


# A date the deadline arithmetic can work from (it computes the 催办 and red-light instants after it).
CalendarInstant = Annotated[AwareDatetime, AfterValidator(_in_calendar)]

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_means_end_of_office_hours(value):
    """"2026-12-18" alone: the end of office hours that day in the service's time zone (Beijing time)."""
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value  # not a real day: the datetime parser says why
        from service.domain.workdays import Calendar

        return Calendar.from_settings().end_of_day(day)
    return value


DueDay = Annotated[CalendarInstant, BeforeValidator(_date_means_end_of_office_hours),
                   WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"},
                                             {"type": "string", "format": "date"}]})]


def example(*bodies: dict, **body) -> ConfigDict:
    """The request examples shown in the API docs: one body given as keywords, or several as dicts."""
    return ConfigDict(json_schema_extra={"examples": list(bodies) or [body]})


class ActionIn(BaseModel):
    """Every action may carry the version the client saw; a stale one answers 409."""

    model_config = ConfigDict(extra="forbid")
    expected_version: int | None = Field(None, ge=1)


class NoteIn(ActionIn):
    model_config = example(note="已电话联系企业负责人，正在安排处理。", expected_version=3)

    note: Note = ""


class RefuseIn(ActionIn):
    model_config = example(reason="not_our_function", note="该诉求为稳岗补贴发放，不属于供电公司职能，建议改派人社局。")

    reason: Literal["not_our_function", "not_our_area", "ownership_unclear", "request_unclear", "in_legal_process",
                    "out_of_scope", "duplicate"]
    note: Note = ""


class ApproveRefusalIn(ActionIn):
    model_config = example(lead_unit="yueqing.rsj", assisting_units=[], note="同意退单，改派乐清市人社局办理。")

    lead_unit: str | None = Field(None, description="the unit to 改派 to; omit to send the ticket back to dispatch")
    assisting_units: list[str] = Field(default_factory=list, max_length=10)
    note: Note = ""


class UnitsIn(ActionIn):
    model_config = example(lead_unit="yueqing.power", assisting_units=["tc.yueqing_liushi"],
                           reason="停电抢修由供电公司承办，柳市镇企业服务中心协助。")

    lead_unit: str
    assisting_units: list[str] = Field(default_factory=list, max_length=10)
    reason: Note = ""


class OpinionIn(ActionIn):
    model_config = example(opinion="已会同村居到场协调，园区东路排水沟已疏通，积水问题已解决，企业表示认可。")

    opinion: Required


def _cited(what: str):
    return Field(None, gt=0, le=MAX_ID, description=(
        f"the knowledge article (or reply template) {what} cites, GET /api/v1/knowledge: recorded on the event "
        "with its version and title; an unknown or stale one is 422"))


class ResolveIn(OpinionIn):
    article_id: int | None = _cited("the 办理意见")


class AnswerIn(ActionIn):
    model_config = example(answer="已告知企业：研发费用按实际发生额的100%在税前加计扣除，可在预缴申报时享受。")

    answer: Required
    article_id: int | None = _cited("the answer")


class ExtensionIn(ActionIn):
    model_config = example(new_due_at="2026-12-18", reason="需协调供电线路改造，施工周期较长，申请延期至12月18日。")

    new_due_at: DueDay = Field(description=(
        "the requested 办结 deadline: a date-time with its offset, or a date alone (\"2026-12-18\"), meaning the "
        "end of office hours that day, Beijing time. It must be later than the current deadline and fall on a "
        "working day: a weekend or holiday is refused (422 naming new_due_at and the next working day), "
        "never moved."))
    reason: Required


class FeedbackIn(ActionIn):
    model_config = example(satisfaction="satisfied", solved=True, comment="处理及时，问题已解决，非常满意。")

    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    solved: bool
    comment: Note = ""


class CloseIn(ActionIn):
    model_config = example({"note": "回访满意，归档。"}, {"declined": True, "reason": "企业表示不需要回访。"})

    note: Note = ""
    reason: Note = Field("", description="why: the enterprise's refusal (with declined), or the dispatcher's decision "
                                         "to archive after a 不满意 or 未解决 回访")
    declined: bool = Field(False, description="the enterprise declined the 回访 (needs reason)")


class ReopenIn(ActionIn):
    model_config = example(reason="企业反映停电问题仍未解决，要求重新办理。", resolve_days=5)

    reason: Required
    resolve_days: int | None = Field(None, ge=0, le=60)


class SuperviseIn(ActionIn):
    model_config = example(level="red", note="超期未办结，请承办单位今日内反馈进展。")

    level: Literal["yellow", "red"]
    note: Note = ""


class MergeIn(ActionIn):
    model_config = example(into_ticket_id=1, reason="同一企业同一停电问题的重复来电。")

    into_ticket_id: int = Field(gt=0, le=MAX_ID)
    reason: Note = ""


class ReclassifyIn(BaseModel):
    """改类: the values to correct (those left out stay as they are) and why."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"category": "factor", "request_type": "help", "reason": "登记为咨询，实为用电求助，更正分类。"},
        {"enterprise_id": 12, "town": "yueqing_liushi", "reason": "来电企业登记错误，更正为实际企业。"}]})
    category: CategoryCode | None = Field(None, description="the service category (code or Chinese label)")
    request_type: Annotated[RequestType, BeforeValidator(lambda v: lookup_enum(RequestType, v))] | None = Field(
        None, description="诉求类型 (code or Chinese label); the deadlines the SLA table sets from it are recounted")
    county: CountyCode | None = None
    town: TownCode | None = Field(None, description="a town implies its county; null: the town is not known")
    enterprise_id: int | None = Field(None, gt=0, le=MAX_ID, description="the enterprise record the ticket belongs to")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    version: int | None = Field(None, ge=1, description="the version the client saw: 409 if the ticket changed since")
