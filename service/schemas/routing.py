"""Routing preview, rule-set status, and what routing learns from dispatchers."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from models import RequestType, Urgency
from service.schemas.common import Coded, Instant
from service.schemas.ticket import CategoryCode, ChannelCode, CountyCode, SuggestionOut, TownCode, UnitRef


class PreviewIn(BaseModel):
    """A ticket that is not saved: what would the rules do with it?"""

    model_config = ConfigDict(extra="forbid")
    channel: ChannelCode = "hotline_96666"
    category: CategoryCode | None = None
    request_type: RequestType = RequestType.HELP
    urgency: Urgency = Urgency.NORMAL
    county: CountyCode | None = None
    town: TownCode | None = None
    enterprise_tier: str | None = None
    enterprise_chain: str | None = None
    above_scale: bool | None = None
    title: str = ""
    description: str = ""
    registered_by_town_centre: bool = False
    answered_locally: bool = False


class ScoreParts(BaseModel):
    """One rule's score in parts."""

    total: float | None
    priority: float
    conditions: float
    keywords: float


class RunnerUpParts(ScoreParts):
    rule_id: str | None
    lead_unit: str | None


class Comparison(BaseModel):
    """Why the winner beat the runner-up: each score in parts, the margin, and the keywords only one of them found."""

    winner: ScoreParts
    runner_up: RunnerUpParts | None
    margin: float | None = Field(description="winner's score minus the runner-up's; null without a runner-up")
    difference: dict[str, float] | None = Field(description="winner minus runner-up, per part")
    winner_only_keywords: list[str]
    runner_up_only_keywords: list[str]


class PreviewOut(BaseModel):
    decision: dict = Field(description="reasons.score: the winner's score breakdown; reasons.runner_up: the next "
                                       "best rule (id, lead, score breakdown); reasons.guards: guards that applied")
    comparison: Comparison | None = Field(None, description="why the winner beat the runner-up; null without a match")
    trace: list[dict]


class RulesStatus(BaseModel):
    version: str
    rules: int
    directory: str
    rejected_edit_errors: list[str] | None = None


class RulesInvalidOut(BaseModel):
    """A rule set refused on reload: every error, one line each."""

    error: str = Field(examples=["rules_invalid"])
    detail: list[str]


class SuggestedTicket(BaseModel):
    """A ticket with the model's suggestion (null when no model has looked at it yet)."""

    id: int
    number: str
    title: str
    status: Coded
    request_type: Coded
    category: Coded | None
    county: Coded | None
    town: Coded | None
    lead_unit: UnitRef | None = Field(description="the unit the ticket is with now (the rule's or a dispatcher's)")
    created_at: Instant
    suggestion: SuggestionOut | None


class ModelOut(BaseModel):
    """A trained suggestion model."""

    version: int
    trained_at: Instant
    examples: int = Field(description="labelled examples trained on")
    from_events: int = Field(description="tickets placed by a dispatcher (派单, 改派, approved 退单)")
    from_corpus: int = Field(description="cases of the corpus's dev split")
    kinds: int = Field(description="unit kinds it can suggest")
    params: dict = Field(description="smoothing, temperature and weights chosen by cross-validation")


class ModelStatus(BaseModel):
    active: ModelOut | None
    retrain_hour: int = Field(description="local hour after which the daily retrain runs")


class RetrainQueued(BaseModel):
    job_id: str
    status: str = Field(examples=["queued"])


class KindCount(BaseModel):
    kind: Coded | None = Field(description="where overridden tickets went; null: back in the dispatch queue")
    tickets: int


class RuleHealthRow(BaseModel):
    rule_id: str
    routed: int = Field(description="tickets the rule routed in the period")
    overridden: int = Field(description="of those, tickets a dispatcher moved: 改派, approved 退单 or 派单 after it")
    override_rate: float
    went_to: list[KindCount]


class RuleHealth(BaseModel):
    from_: date = Field(alias="from")
    to: date
    rules: list[RuleHealthRow]

    model_config = ConfigDict(populate_by_name=True)
