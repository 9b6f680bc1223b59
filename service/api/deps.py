"""Authentication and role checks shared by the routers.

Each is one dependency that reads the bearer token itself (rather than a chain of token, user and role
dependencies): FastAPI's resolution of every dependency costs more than the check it does. The OpenAPI
document still shows the OAuth2 password flow on every route that needs a token (see `document_security`).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from models import Role, User
from service.errors import Forbidden, Unauthorized
from service.security.users import cached_user, load_user, password_stamp, token_payload

TOKEN_URL = "/api/v1/auth/token"
SCHEME = "OAuth2PasswordBearer"


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    value = request.headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _caller(request: Request) -> User:
    token = bearer_token(request)
    if not token:
        raise Unauthorized("missing bearer token; POST /api/v1/auth/token first")
    payload = token_payload(token)
    user = cached_user(payload.get("uid"))
    if user is not None and "pwd" in payload and payload["pwd"] != password_stamp(user):
        user = None  # the password changed since the copy was cached (in another process): read it again
    if user is None:
        user = await run_in_threadpool(load_user, payload.get("uid"))
    if user is None or not user.active:
        raise Unauthorized("user no longer active")
    if "pwd" in payload and payload["pwd"] != password_stamp(user):
        raise Unauthorized("the password has changed; log in again")
    return user


async def current_user(request: Request) -> User:
    """The caller, from its bearer token: checked on the event loop while the user is cached, read on a thread
    (in a session of its own, so a route that needs no database needs no session) when not."""
    return await _caller(request)


current_user.needs_token = True
CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: Role):
    """A dependency that admits only the given roles (401 without a valid token, 403 for another role)."""

    async def check(request: Request) -> User:
        user = await _caller(request)
        if user.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"role '{user.role}' may not do this (allowed: {allowed})")
        return user

    check.needs_token, check.roles = True, roles  # read by the OpenAPI document (401, 403)
    return check


def needs_token(dependant) -> bool:
    """Whether a route's dependencies (at any depth) read the bearer token."""
    return any(getattr(d.call, "needs_token", False) or needs_token(d) for d in dependant.dependencies)


def document_security(app: FastAPI, routers: list[APIRouter]) -> None:
    """Show the OAuth2 password flow in the OpenAPI document (and the docs' Authorize button) on every route of
    `routers` (those the app includes) whose dependencies need a token."""
    build = app.openapi
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = {
            "type": "oauth2", "flows": {"password": {"tokenUrl": TOKEN_URL, "scopes": {}}}}
        for route in routes:
            if route.include_in_schema and needs_token(route.dependant):
                for method in route.methods:
                    op = schema["paths"].get(route.path_format, {}).get(method.lower())
                    if op is not None:
                        op["security"] = [{SCHEME: []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
