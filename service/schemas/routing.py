"""Routing preview and rule-set status."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from models import RequestType, Urgency
from service.schemas.ticket import check_code


class PreviewIn(BaseModel):
    """A ticket that is not saved: what would the rules do with it?"""

    model_config = ConfigDict(extra="forbid")
    channel: str = "hotline_96666"
    category: str | None = None
    request_type: RequestType = RequestType.HELP
    urgency: Urgency = Urgency.NORMAL
    county: str | None = None
    town: str | None = None
    enterprise_tier: str | None = None
    enterprise_chain: str | None = None
    above_scale: bool | None = None
    title: str = ""
    description: str = ""

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str) -> str:
        return check_code("channels", v)

    @field_validator("category")
    @classmethod
    def _category(cls, v: str | None) -> str | None:
        return check_code("categories", v)

    @field_validator("county")
    @classmethod
    def _county(cls, v: str | None) -> str | None:
        return check_code("counties", v)

    @field_validator("town")
    @classmethod
    def _town(cls, v: str | None) -> str | None:
        return check_code("towns", v)


class PreviewOut(BaseModel):
    decision: dict
    trace: list[dict]


class RulesStatus(BaseModel):
    version: str
    rules: int
    directory: str
    rejected_edit_errors: list[str] | None = None
