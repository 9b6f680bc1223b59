"""Bodies of the lifecycle actions."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from service.domain.bounds import MAX_ID, instant_problem

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=5000)]


def _in_calendar(value):
    if problem := instant_problem(value):
        raise ValueError(problem)
    return value


# A date the deadline arithmetic can work from (it computes the 催办 and red-light instants after it).
CalendarInstant = Annotated[AwareDatetime, AfterValidator(_in_calendar)]


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
    new_due_at: CalendarInstant
    reason: Required


class FeedbackIn(ActionIn):
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    solved: bool
    comment: Note = ""


class ReopenIn(ActionIn):
    reason: Required
    resolve_days: int | None = Field(None, ge=0, le=60)


class SuperviseIn(ActionIn):
    level: Literal["yellow", "red"]
    note: Note = ""


class MergeIn(ActionIn):
    into_ticket_id: int = Field(gt=0, le=MAX_ID)
    reason: Note = ""
