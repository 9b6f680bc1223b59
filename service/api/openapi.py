"""The error side of the OpenAPI document: the one error shape, and every status each route can answer.

FastAPI documents only its own 422 ({loc, msg, type}). `document_errors` rewrites the document once, when it is
first built: each route gets the statuses that its signature shows it can answer (a token: 401 and 503; a role
check: 403; a path id: 404; a body: 413 and 422; parameters: 422; the database: 503), plus those it declares with
`responses=errors(...)` for what only its code knows (a lifecycle conflict, a role the pipeline checks). Each
error response refers to ErrorOut, or to ValidationErrorOut for 422: the bodies service/errors.py writes.
"""
from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import needs_token
from service.api.hardening import checks_query
from service.db import get_session

DESCRIPTIONS = {
    401: "no valid bearer token: missing, expired, or its user deactivated",
    403: "the caller's role may not do this",
    404: "not found, or not visible to the caller",
    409: "the current state does not allow this, or the resource changed meanwhile",
    413: "request body over the limit",
    422: "malformed input: detail names each field at fault and what is wrong",
    429: "too many attempts: retry after Retry-After seconds",
    503: "the database or Redis is unreachable or busy: retry after Retry-After seconds",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}
# FastAPI's own 422 model, replaced by ours (and dropped from the components once nothing refers to it).
_FASTAPI_MODELS = ("HTTPValidationError", "ValidationError")


class FieldError(BaseModel):
    """One field at fault."""

    field: str = Field(description="dotted path of the field, e.g. enterprise.uscc; `body` for the body as a whole")
    code: str = Field("invalid", description="machine-readable kind of the problem: pydantic's error type "
                                             "(missing, string_too_long, enum...) or ours (unknown_code, "
                                             "uscc_check_character...)", examples=["missing"])
    message: str = Field(description="what is wrong with it, in English")
    message_zh: str = Field("", description="the same in Chinese, for people", examples=["必填项"])


class ErrorOut(BaseModel):
    """Every error: a stable code and what went wrong; some add context (e.g. a ticket's status on a 409)."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="stable, machine-readable code", examples=["ticket_not_found"])
    detail: Any = Field(description="what went wrong, for people")


class ValidationErrorOut(BaseModel):
    """Malformed input (error `validation_error` or `invalid_input`): one entry per field at fault."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="stable, machine-readable code", examples=["validation_error"])
    detail: list[FieldError]


def errors(*codes: int, descriptions: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the statuses a route's signature does not show; `descriptions` reword some."""
    return {code: {"description": (descriptions or {}).get(code, DESCRIPTIONS[code])} for code in codes}


def _uses(dependant: Dependant, call: Any) -> bool:
    return any(d.call is call or _uses(d, call) for d in dependant.dependencies)


def _restricted(dependant: Dependant) -> bool:
    return any(getattr(d.call, "roles", None) or _restricted(d) for d in dependant.dependencies)


def _params(dependant: Dependant, kind: str) -> bool:
    return bool(getattr(dependant, kind)) or any(_params(d, kind) for d in dependant.dependencies)


def inferred(route: APIRoute) -> set[int]:
    """The error statuses a route's parameters and dependencies show it can answer."""
    dependant = route.dependant
    codes = {401, 503} if needs_token(dependant) else set()
    if _restricted(dependant):
        codes.add(403)
    if _params(dependant, "path_params"):
        codes.add(404)
    if route.body_field is not None:
        codes |= {413, 422}
    if any(_params(dependant, kind) for kind in ("path_params", "query_params", "header_params", "cookie_params")):
        codes.add(422)
    if checks_query(route):  # an unknown query parameter (service.api.hardening.known_query_only)
        codes.add(422)
    if _uses(dependant, get_session):
        codes.add(503)
    return codes


def _model_schema(components: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _ours_needed(content: dict[str, Any]) -> bool:
    """No schema yet, an empty one, or FastAPI's 422 model."""
    schema = content.get("application/json", {}).get("schema")
    return not schema or schema.get("$ref", "").rsplit("/", 1)[-1] in _FASTAPI_MODELS


def _document(op: dict[str, Any], codes: set[int], refs: dict[str, dict[str, str]]) -> None:
    responses = op.setdefault("responses", {})
    codes = codes | {int(c) for c in responses if c.isdigit() and int(c) >= 400}
    for code in sorted(codes):
        entry = responses.setdefault(str(code), {})
        if entry.get("description") in (None, "", HTTPStatus(code).phrase, "Validation Error"):
            entry["description"] = DESCRIPTIONS.get(code, HTTPStatus(code).phrase)
        if _ours_needed(entry.get("content", {})):
            entry["content"] = {"application/json": {"schema": refs["422" if code == 422 else "error"]}}
        if code in HEADERS:
            entry.setdefault("headers", {}).update(HEADERS[code])
    op["responses"] = dict(sorted(responses.items()))


def document_errors(app: FastAPI, routers: list[APIRouter]) -> None:
    """Rewrite the app's OpenAPI document so that every route of `routers` (those the app includes) lists each
    error it can answer, in our shape."""
    build = app.openapi
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute) and r.include_in_schema]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        refs = {"error": _model_schema(components, ErrorOut), "422": _model_schema(components, ValidationErrorOut)}
        for route in routes:
            for method in route.methods:
                op = schema["paths"].get(route.path_format, {}).get(method.lower())
                if op is not None:
                    _document(op, inferred(route), refs)
        for name in _FASTAPI_MODELS:  # the error model first: the field model is referred to by it only
            if f'"#/components/schemas/{name}"' not in json.dumps(schema):
                components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
