"""Typed domain errors and the handlers that turn every failure into {"error", "detail"}."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of every foreseeable failure; carries its HTTP status and a stable code."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: Any = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail if detail is not None else self.code
        self.extra = extra


class NotFound(DomainError):
    status, code = 404, "not_found"


class TicketNotFound(NotFound):
    code = "ticket_not_found"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class InvalidTransition(DomainError):
    status, code = 409, "invalid_transition"


class Conflict(DomainError):
    status, code = 409, "conflict"


class InvalidInput(DomainError):
    """Well-formed input that names something that does not exist (an unknown town, unit...)."""

    status, code = 422, "invalid_input"


class RulesInvalid(DomainError):
    status, code = 422, "rules_invalid"


class ServiceUnavailable(DomainError):
    status, code = 503, "service_unavailable"


class TooManyAttempts(DomainError):
    """429; raise with retry_after=<seconds>, answered as the Retry-After header (and in the body)."""

    status, code = 429, "too_many_attempts"


def field_error(field: str, message: str) -> InvalidInput:
    """A 422 that names the field, shaped like request-validation errors."""
    return InvalidInput([{"field": field, "message": message}])


def _body(code: str, detail: Any, **extra: Any) -> dict:
    return {"error": code, "detail": detail, **extra}


def _loc(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _json_error(doc: Any, pos: Any, reason: str) -> str:
    """Where JSON stops parsing, as a person counts: line and column (both from 1)."""
    if not isinstance(doc, str) or not isinstance(pos, int):
        return f"invalid JSON: {reason}"
    line = doc.count("\n", 0, pos) + 1
    column = pos - doc.rfind("\n", 0, pos)
    return f"invalid JSON at line {line}, column {column}: {reason}"


def _unreadable(exc: StarletteHTTPException) -> str:
    """Why a body could not be read; FastAPI and Starlette say only "There was an error parsing the body"."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return f"invalid {cause.encoding.upper()} at byte {cause.start}"
    if isinstance(cause, RecursionError):
        return "invalid JSON: nested too deeply"
    if isinstance(cause, ValueError):
        return f"cannot be read: {cause}"
    return str(exc.detail)


def _allowed_methods(request: Request) -> str | None:
    """Every method of every route at the request's path (Starlette's 405 names only the first route's)."""
    methods = {m for route in getattr(request.app.state, "api_routes", ())
               if route.matches({**request.scope, "method": ""})[0] != Match.NONE for m in route.methods}
    return ", ".join(sorted(methods)) or None


def install_handlers(app: FastAPI) -> None:
    """Register the one error shape for domain errors, validation errors and a lost database."""

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 503:
            headers = {"Retry-After": "5"}
        if "retry_after" in exc.extra:
            headers = {"Retry-After": str(exc.extra["retry_after"])}
        return JSONResponse(_body(exc.code, exc.detail, **exc.extra), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = []
        for err in exc.errors():
            msg = err.get("msg", "invalid")
            ctx = err.get("ctx") or {}
            if err.get("type") == "enum" and "expected" in ctx:
                msg = f"must be one of {ctx['expected']}"
            if err.get("type") == "json_invalid" and ctx:  # FastAPI's: loc is (body, offset), ctx the reason
                detail.append({"field": "body", "message": _json_error(exc.body, err["loc"][-1], ctx.get("error"))})
                continue
            detail.append({"field": _loc(tuple(err.get("loc", ()))), "message": msg})
        return JSONResponse(_body("validation_error", detail), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # only the framework raises HTTPException: a body it could not read
            return JSONResponse(_body("validation_error", [{"field": "body", "message": _unreadable(exc)}]),
                                status_code=422)
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405 and (allow := _allowed_methods(request)):
            headers = {**(headers or {}), "Allow": allow}
        return JSONResponse(_body(code, exc.detail), status_code=exc.status_code, headers=headers)

    @app.exception_handler(OperationalError)
    async def db_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return JSONResponse(_body("database_unavailable", "the database is unreachable; try again shortly"),
                            status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(PoolTimeout)
    async def db_busy(_: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("no database connection free: %s", exc)
        return JSONResponse(_body("database_busy", "every database connection is busy; try again shortly"),
                            status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(DBAPIError)
    async def db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await db_down(request, exc)  # type: ignore[arg-type]
        raise exc
