"""Text no field may hold, refused in one place before any route runs: NUL characters and lone surrogates.

PostgreSQL's text cannot store U+0000, and a lone surrogate (U+D800 to U+DFFF) cannot be encoded as UTF-8:
either one, reaching the database or an answer, used to fail the request half-way with a 500. `InputGuard`
looks at every part of a request a route reads (the path, the query string, the headers, and a JSON,
form or multipart body) and answers 422 naming the field: `title`, `enterprise.name`, `assisting_units.0`,
`q`, `username`, `code`. Only bodies within the general limit are read here: the one larger kind, a spreadsheet
upload, has its cells checked row by row by the import (with `text_problem`).

`known_query_only`, a dependency of every route, answers 422 to a GET of the API with a query parameter the route
does not take, naming each one and listing those it takes.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import get_settings
from service.domain.bounds import MAX_ID, printable, text_problem
from service.errors import FieldProblem, field_detail

# What a body must contain to hold such a character once decoded: a raw NUL, a \u escape of NUL or of a
# surrogate (a valid pair decodes to one character and passes), or a surrogate written as UTF-8 bytes, which
# json.loads accepts from bytes. Bodies without any are not parsed here.
_SUSPECT = re.compile(rb"\x00|\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\xed[\xa0-\xbf]")
_FORM = "application/x-www-form-urlencoded"
_LONG_NUMBER = re.compile(r"/[0-9]{19,}(/|$)")  # 2**63 has 19 digits


def find_in_json(value: Any) -> tuple[str, str] | None:
    """(dotted path, problem) of the first key or string of a parsed JSON value that no text may hold."""
    stack: list[tuple[tuple[str, ...], Any]] = [((), value)]
    while stack:  # iterative: a deeply nested body cannot exhaust the recursion limit
        path, item = stack.pop()
        if isinstance(item, str):
            if problem := text_problem(item):
                return ".".join(path) or "body", problem
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if problem := text_problem(key):
                    return ".".join((*path, printable(key))), "the name " + problem
                stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, str(i)), child) for i, child in reversed(list(enumerate(item))))
    return None


def _find_in_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    for name, value in pairs:
        if problem := text_problem(name):
            return printable(name), "the name " + problem
        if problem := text_problem(value):
            return name, problem
    return None


async def body_problem(body: bytes, scope: Scope) -> tuple[str, str] | None:
    """(field, problem) for a JSON, form or multipart body holding a NUL or a lone surrogate, or None (also for a
    body that cannot be parsed: the route's parser answers that)."""
    content_type = _header(scope, b"content-type")
    media = content_type.split(";")[0].strip().lower()
    if media.startswith("multipart/"):
        return await _multipart_problem(body, scope)
    if _SUSPECT.search(body) is None and b"%00" not in body:
        return None
    if media == _FORM:
        return _find_in_pairs(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    try:
        value = json.loads(body)  # bytes: read as the routes read them (a UTF-8 surrogate decodes)
    except (ValueError, RecursionError):
        return None
    return find_in_json(value)


async def _multipart_problem(body: bytes, scope: Scope) -> tuple[str, str] | None:
    """The form fields of a multipart body (files are data: their bytes are not text)."""
    if _SUSPECT.search(body) is None:
        return None

    async def stream():
        yield body

    try:
        form = await MultiPartParser(Headers(scope=scope), stream()).parse()
    except (MultiPartException, KeyError, ValueError):
        return None
    try:
        return _find_in_pairs((name, value) for name, value in form.multi_items() if isinstance(value, str))
    finally:
        await form.close()


class InputGuard:
    """Answer 422 naming the field to a request whose path, query, headers or JSON/form body hold a NUL or a lone
    surrogate; pass every other request through unchanged (its body replayed)."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]):
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        found = self._path(scope) or self._query(scope) or self._headers(scope)
        if found:
            return await self._refuse(scope, receive, send, *found)
        if (too_large := self._id_beyond_bigint(scope)) is not None:
            return await _answer(scope, receive, send, 404, "not_found", f"no {too_large[0]} {too_large[1]}")
        # Bodies within the general limit are read here first; only the spreadsheet upload may be larger, and it
        # streams through unread (its cells are checked by the import).
        limit, chunks, size, more = get_settings().max_body_bytes, [], 0, True
        while more and size <= limit:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not more and body and (found := await body_problem(body, scope)):
            return await self._refuse(scope, receive, send, *found)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": more}

        await self.app(scope, replay, send)

    def _path(self, scope: Scope) -> tuple[str, str] | None:
        path = scope.get("path", "")
        problem = text_problem(path)
        if problem is None:
            return None
        for route in self.routes:  # name the path parameter, as a route would
            matched = getattr(route, "path_regex", None) and route.path_regex.match(path)
            for name, value in (matched.groupdict() if matched else {}).items():
                if problem := text_problem(value):
                    return name, problem
        return "path", problem

    def _id_beyond_bigint(self, scope: Scope) -> tuple[str, str] | None:
        """(name, value) of a numeric path parameter too large for any id: it names nothing (404), and no query
        could even be asked with it."""
        path = scope.get("path", "")
        if _LONG_NUMBER.search(path) is None:
            return None
        for route in self.routes:
            matched = getattr(route, "path_regex", None) and route.path_regex.match(path)
            for name, value in (matched.groupdict() if matched else {}).items():
                if value.isascii() and value.isdigit() and int(value) > MAX_ID:
                    return name, value
        return None

    @staticmethod
    def _query(scope: Scope) -> tuple[str, str] | None:
        raw = scope.get("query_string", b"")
        if b"%00" not in raw and b"\x00" not in raw:  # percent-decoding replaces invalid UTF-8: NUL is the one risk
            return None
        return _find_in_pairs(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))

    @staticmethod
    def _headers(scope: Scope) -> tuple[str, str] | None:
        for name, value in scope.get("headers") or []:
            if b"\x00" in value:
                return printable(name.decode("latin-1").lower()), text_problem("\x00")
        return None

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, field: str, problem: str) -> None:
        await _answer(scope, receive, send, 422, "validation_error",
                      [field_detail(field, problem, code="text_invalid", zh=f"含有不可接受的字符（{problem}）")])


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, code: str, detail: Any) -> None:
    await JSONResponse({"error": code, "detail": detail}, status_code=status)(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def checks_query(route: BaseRoute) -> bool:
    """Whether `known_query_only` refuses unknown query parameters on this route: every documented GET of the API."""
    return (isinstance(route, APIRoute) and route.include_in_schema and "GET" in route.methods
            and route.path.startswith("/api/"))


def query_names(route: APIRoute) -> tuple[str, ...]:
    """The query parameters a route declares, its dependencies' included, as a client spells them (aliases)."""
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        found, stack = [], [route.dependant]
        while stack:
            dependant = stack.pop()
            found.extend(field.alias for field in dependant.query_params)
            stack.extend(dependant.dependencies)
        names = _QUERY_NAMES[id(route)] = tuple(dict.fromkeys(sorted(found)))
    return names


_QUERY_NAMES: dict[int, tuple[str, ...]] = {}


async def known_query_only(request: Request) -> None:
    """422 naming each query parameter the route does not take (with the ones it takes): a misspelt or invented
    filter (`?phone=`, `?number=`) would otherwise be ignored and the whole table answered. A coroutine: it runs on
    the event loop, where a plain function would cost every request a trip through the thread pool."""
    route = request.scope.get("route")
    if route is None or not checks_query(route):
        return
    allowed = query_names(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in allowed]
    if not unknown:
        return
    if allowed:
        message, zh = f"unknown query parameter; allowed: {', '.join(allowed)}", f"不接受此查询参数；可用：{'、'.join(allowed)}"
    else:
        message, zh = "unknown query parameter; this endpoint takes none", "不接受此查询参数：此接口没有查询参数"
    raise RequestValidationError([
        {"type": "unknown_parameter", "loc": ("query", printable(name)), "msg": message, "input": None,
         "ctx": {"error": FieldProblem(message, zh=zh, code="unknown_parameter")}} for name in unknown])
