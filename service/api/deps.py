"""Authentication and role checks shared by the routers."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from models import Role, User
from service.db import SessionDep
from service.errors import Forbidden
from service.pipeline.users import user_from_token

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2)]) -> User:
    """The caller, from its bearer token."""
    from service.errors import Unauthorized

    if not token:
        raise Unauthorized("missing bearer token; POST /api/v1/auth/token first")
    return user_from_token(session, token)


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: Role):
    """A dependency that admits only the given roles (403 otherwise)."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"role {user.role!r} may not do this (allowed: {allowed})")
        return user

    return check
