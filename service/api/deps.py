"""Authentication and role checks shared by the routers."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer

from models import Role, User
from service.db import SessionDep
from service.errors import Forbidden, Unauthorized
from service.pipeline.users import cached_user, load_user, token_payload

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2)]) -> User:
    """The caller, from its bearer token: checked on the event loop while the user is cached, read on a thread
    when not."""
    if not token:
        raise Unauthorized("missing bearer token; POST /api/v1/auth/token first")
    payload = token_payload(token)
    user = cached_user(session, payload.get("uid"))
    if user is None:
        user = await run_in_threadpool(load_user, session, payload.get("uid"))
    if user is None or not user.active:
        raise Unauthorized("user no longer active")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: Role):
    """A dependency that admits only the given roles (403 otherwise)."""

    async def check(user: CurrentUser) -> User:
        if user.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"role {user.role!r} may not do this (allowed: {allowed})")
        return user

    return check
