"""Response models of the queues: each role's console tabs with their counts."""
from __future__ import annotations

from pydantic import BaseModel, Field

from service.schemas.common import Coded
from service.schemas.ticket import UnitRef


class QueueTab(BaseModel):
    key: str = Field(examples=["to_accept"])
    label: str = Field(examples=["待签收"])
    count: int = Field(description="how many tickets GET /api/v1/tickets lists with `query`, over all its pages")
    query: str = Field(description="the query string to pass to GET /api/v1/tickets to list this tab",
                       examples=["awaiting=accept&role_of_unit=lead&sort=accept_due_at"])


class QueueSummary(BaseModel):
    role: Coded
    unit: UnitRef | None = Field(description="a handler's unit, which its tabs are relative to")
    tabs: list[QueueTab]
