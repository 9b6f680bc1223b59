"""Response models of the personal-data audit trail."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from service.schemas.common import Coded, Instant


class AuditUser(BaseModel):
    id: int | None  # None once the account was deleted; the name and role stay as they were
    username: str
    role: Coded


class AuditTicket(BaseModel):
    id: int
    number: str | None


class AuditEventOut(BaseModel):
    id: int
    at: Instant
    user: AuditUser
    action: Coded
    ticket: AuditTicket | None
    params: dict[str, Any]
    rows: int | None
