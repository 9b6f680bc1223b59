"""Routing preview and rule-set status."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models import RequestType, Urgency
from service.schemas.ticket import CategoryCode, ChannelCode, CountyCode, TownCode


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
class PreviewOut(BaseModel):
    decision: dict
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
