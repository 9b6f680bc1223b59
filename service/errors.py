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


class FieldProblem(ValueError):
    """A validator's complaint with its Chinese text and a machine code (answered without "Value error, ")."""

    def __init__(self, message: str, *, zh: str | None = None, code: str = "value_error"):
        super().__init__(message)
        self.zh, self.code = zh, code


# The Chinese text of the common pydantic error types; {…} are filled from the error's context.
_ZH = {
    "missing": "必填项", "missing_argument": "必填项",
    "extra_forbidden": "不接受此字段", "json_invalid": "JSON 格式错误", "value_error": "取值无效",
    "string_type": "应为文本", "string_too_short": "至少 {min_length} 个字符", "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确", "too_short": "至少 {min_length} 项", "too_long": "最多 {max_length} 项",
    "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数", "float_parsing": "应为数字",
    "float_type": "应为数字", "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
    "greater_than": "应大于 {gt}", "greater_than_equal": "不能小于 {ge}", "less_than": "应小于 {lt}",
    "less_than_equal": "不能大于 {le}", "enum": "应为以下之一：{expected}", "literal_error": "应为以下之一：{expected}",
    "date_parsing": "日期格式应为 YYYY-MM-DD", "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_inexact": "日期不应带时刻", "date_type": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式应为 ISO 8601，如 2026-12-01T09:30:00+08:00",
    "datetime_from_date_parsing": "时间格式应为 ISO 8601，如 2026-12-01T09:30:00+08:00",
    "datetime_type": "时间格式应为 ISO 8601，如 2026-12-01T09:30:00+08:00",
    "timezone_aware": "时间须带时区，如 +08:00", "dict_type": "应为对象", "model_type": "应为对象",
    "model_attributes_type": "应为对象", "list_type": "应为数组", "url_parsing": "不是有效的网址",
    "url_scheme": "网址协议不被接受", "string_unicode": "应为文本",
}


def field_detail(field: str, message: str, *, code: str = "invalid", zh: str | None = None) -> dict:
    """One entry of a 422's detail: the field, a machine code, the English message and its Chinese text."""
    return {"field": field, "code": code, "message": message, "message_zh": zh or f"输入不正确：{message}"}


def field_error(field: str, message: str, *, zh: str | None = None, code: str = "invalid") -> InvalidInput:
    """A 422 that names the field, shaped like request-validation errors."""
    return InvalidInput([field_detail(field, message, code=code, zh=zh)])


KIND_ZH = {"units": "单位", "towns": "镇街", "counties": "区县", "categories": "问题分类", "channels": "渠道",
            "chains": "产业链", "tiers": "企业梯队"}


def unknown_code(field: str, kind: str, value: object, message: str | None = None) -> InvalidInput:
    """A 422 for a reference code (unit, town, category...) that does not exist."""
    return field_error(field, message or f"unknown {kind.rstrip('s')} code {value!r}",
                       zh=f"未知的{KIND_ZH.get(kind, '')}代码 {value!r}", code="unknown_code")


def validation_detail(err: dict) -> dict:
    """A pydantic error as a detail entry: English without "Value error, ", Chinese, and the error type as code."""
    kind, ctx = err.get("type", "invalid"), err.get("ctx") or {}
    message = str(err.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    problem = ctx.get("error")
    if isinstance(problem, FieldProblem):
        return field_detail(_loc(tuple(err.get("loc", ()))), message, code=problem.code, zh=problem.zh)
    if kind == "enum" and "expected" in ctx:
        message = f"must be one of {ctx['expected']}"
    zh = _ZH.get(kind)
    if zh is not None:
        try:
            zh = zh.format(**ctx)
        except (KeyError, IndexError, ValueError):
            zh = zh.split("{")[0].rstrip("：") or zh
        if kind == "value_error":
            zh = f"{zh}：{message}"
    return field_detail(_loc(tuple(err.get("loc", ()))), message, code=kind, zh=zh)


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
            ctx = err.get("ctx") or {}
            if err.get("type") == "json_invalid" and ctx:  # FastAPI's: loc is (body, offset), ctx the reason
                message = _json_error(exc.body, err["loc"][-1], ctx.get("error"))
                detail.append(field_detail("body", message, code="json_invalid", zh=f"JSON 格式错误（{message}）"))
                continue
            detail.append(validation_detail(err))
        return JSONResponse(_body("validation_error", detail), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # only the framework raises HTTPException: a body it could not read
            message = _unreadable(exc)
            return JSONResponse(_body("validation_error", [field_detail("body", message, code="body_unreadable",
                                                                        zh=f"请求体无法读取（{message}）")]),
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
