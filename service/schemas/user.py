"""Users and tokens."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from models import Role


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64,
                                               pattern=r"^[A-Za-z0-9_.\-]+$")]
    password: Annotated[str, StringConstraints(min_length=6, max_length=72)]
    role: Role
    unit: str | None = None
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    unit: str | None
    unit_name: str | None
    active: bool


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut
