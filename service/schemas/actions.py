"""Bodies of the lifecycle actions."""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import (AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints,
                      WithJsonSchema)

from service.domain.bounds import MAX_ID, instant_problem

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


class ActionIn(BaseModel):
    """Every action may carry the version the client saw; a stale one answers 409."""

    model_config = ConfigDict(extra="forbid")
    expected_version: int | None = Field(None, ge=1)


class NoteIn(ActionIn):
    note: Note = ""


class RefuseIn(ActionIn):
    reason: Literal["not_our_function", "not_our_area", "ownership_unclear", "request_unclear", "in_legal_process",
                    "out_of_scope", "duplicate"]
    note: Note = ""


class ApproveRefusalIn(ActionIn):
    lead_unit: str | None = Field(None, description="the unit to 改派 to; omit to send the ticket back to dispatch")
    assisting_units: list[str] = Field(default_factory=list, max_length=10)
    note: Note = ""


class UnitsIn(ActionIn):
    lead_unit: str
    assisting_units: list[str] = Field(default_factory=list, max_length=10)
    reason: Note = ""


class OpinionIn(ActionIn):
    opinion: Required


class AnswerIn(ActionIn):
    answer: Required


class ExtensionIn(ActionIn):
    new_due_at: DueDay = Field(description=(
        "the requested 办结 deadline: a date-time with its offset, or a date alone (\"2026-12-18\"), meaning the "
        "end of office hours that day, Beijing time. It must be later than the current deadline and fall on a "
        "working day: a weekend or holiday is refused (422 naming new_due_at and the next working day), "
        "never moved."))
    reason: Required


class FeedbackIn(ActionIn):
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    solved: bool
    comment: Note = ""


class CloseIn(ActionIn):
    note: Note = ""
    reason: Note = Field("", description="why: the enterprise's refusal (with declined), or the dispatcher's decision "
                                         "to archive after a 不满意 or 未解决 回访")
    declined: bool = Field(False, description="the enterprise declined the 回访 (needs reason)")


class ReopenIn(ActionIn):
    reason: Required
    resolve_days: int | None = Field(None, ge=0, le=60)


class SuperviseIn(ActionIn):
    level: Literal["yellow", "red"]
    note: Note = ""


class MergeIn(ActionIn):
    into_ticket_id: int = Field(gt=0, le=MAX_ID)
    reason: Note = ""
