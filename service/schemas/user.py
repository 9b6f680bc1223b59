"""Users and tokens."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from models import Role


Password = Annotated[str, StringConstraints(min_length=6, max_length=72)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64,
                                               pattern=r"^[A-Za-z0-9_.\-]+$")]
    password: Password
    role: Role
    unit: str | None = None
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""


class PasswordChange(BaseModel):
    """The caller's own password: the old one proves it is them."""

    model_config = ConfigDict(extra="forbid")
    old_password: Annotated[str, StringConstraints(max_length=200)]
    new_password: Password


class PasswordReset(BaseModel):
    """An admin's reset: the new password, or none to have one generated (answered once, never stored)."""

    model_config = ConfigDict(extra="forbid")
    password: Password | None = None


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


class PasswordResetOut(BaseModel):
    user: UserOut
    password: str | None = Field(None, description="the generated password, when none was given; shown only here")
