"""Request and response models of enterprises: lookups, one record, callers, merges, the roster and coverage."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from service.domain.bounds import MAX_ID
from service.schemas.common import Coded, Instant
from service.schemas.ticket import UnitRef

EnterpriseId = Annotated[StrictInt, Field(gt=0, le=MAX_ID)]


class EnterpriseItem(BaseModel):
    id: int
    name: str
    uscc: str | None
    county: Coded | None
    town: Coded | None
    chain: Coded | None
    tier: Coded | None
    above_scale: bool | None
    on_roster: bool = Field(description="on the city's enterprise roster as last imported")
    open_tickets: int = Field(description="tickets still open (the ones the caller may see)")
    total_tickets: int
    last_contact_at: Instant | None = Field(description="received_at of its latest ticket")
    merged_into: int | None = Field(description="the record this one was merged into (lookups answer that one)")


class ContactOut(BaseModel):
    name: str
    phone: str = Field(description="masked unless the caller's role works with the enterprise directly")
    last_seen_at: Instant
    ticket_count: int


class TicketSummary(BaseModel):
    id: int
    number: str
    title: str
    status: Coded
    category: Coded | None
    received_at: Instant
    lead_unit: UnitRef | None


class EnterpriseRef(BaseModel):
    id: int
    name: str
    uscc: str | None


class MergeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: int
    from_: EnterpriseRef = Field(alias="from", description="the record merged (it stays, pointing at `into`)")
    into: EnterpriseRef
    reason: str
    merged_at: Instant
    merged_by: str | None
    undone_at: Instant | None
    undone_by: str | None
    ticket_count: int = Field(description="tickets the merge moved to `into` (an undo moves these back)")


class EnterpriseDetail(EnterpriseItem):
    contacts: list[ContactOut]
    tickets: list[TicketSummary] = Field(description="the most recent ones, newest first")
    tickets_next: str | None = Field(description="where the older ones are listed, when there are more")
    merges: list[MergeOut]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_id: EnterpriseId
    into_id: EnterpriseId
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]


class CallerContact(BaseModel):
    name: str
    phone: str
    last_seen_at: Instant


class CallerEnterprise(BaseModel):
    enterprise: EnterpriseItem
    contacts: list[CallerContact]
    recent_tickets: list[TicketSummary]


class CallerLookup(BaseModel):
    phone: str
    enterprises: list[CallerEnterprise]


class RosterRejected(BaseModel):
    row: int
    field: str
    code: str
    message: str
    message_zh: str


class RosterReport(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: list[RosterRejected]


class CoverageCounty(BaseModel):
    county: Coded
    roster: int
    served: int
    share: float | None


class CoverageTown(BaseModel):
    town: Coded
    county: Coded
    roster: int
    served: int
    share: float | None


class Coverage(BaseModel):
    period: dict[str, str] = Field(description="{from, to}: the first and the last day, both included")
    roster_total: int
    served: int = Field(description="roster enterprises with at least one ticket received in the period")
    share: float | None = Field(description="served / roster_total, 4 decimals; null without a roster")
    by_county: list[CoverageCounty]
    by_town: list[CoverageTown]
