"""Every route of /openapi.json, fed text no column may hold and numbers no column can store: never a 500.

Each string parameter and each string field of a request body gets a NUL (U+0000) and a lone surrogate
(U+D800); the answer is 422 naming the field. Integer path parameters get ids beyond bigint (404), integer and
date query parameters values out of any range (a 4xx or an answer, never a 5xx).
"""
from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models import Role
from service.config import get_settings
from service.security.signatures import sign
from tests.factories import login, ticket_body

NUL, SURROGATE = "ab\x00cd", "ab\ud800cd"
# Who calls each route, so that without the guard the request would get as far as it can.
OPERATOR_PATHS = ("/api/v1/tickets", "/api/v1/imports/tickets", "/api/v1/routing/preview", "/merge",
                  "/instant-resolve", "/feedback", "/close")
DISPATCHER_PATHS = ("/dispatch", "/transfer", "/refusal/approve", "/refusal/overrule", "/reopen", "/remind",
                    "/supervise", "/extension/approve", "/extension/deny", "/unmerge")
# Values that make the rest of a body valid.
VALUES = {"password": "secret-pw", "grant_type": "password", "username": "sweep-new", "lead_unit": "city.power",
          "channel": "hotline_96666", "unit": None, "month": None, "url": None, "category": None, "county": None,
          "town": None, "enterprise_tier": None, "enterprise_chain": None}


@pytest.fixture
def api(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def world(api) -> dict:
    admin = login(api, "sweep-admin", Role.ADMIN)
    operator = login(api, "sweep-op", Role.OPERATOR)
    dispatcher = login(api, "sweep-disp", Role.DISPATCHER)
    created = api.post("/api/v1/tickets", json=ticket_body(), headers=operator)
    assert created.status_code == 201, created.text
    return {"admin": admin, "operator": operator, "dispatcher": dispatcher, "ticket_id": created.json()["id"],
            "spec": api.get("/openapi.json").json()}


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"].get(name) or schema.get("$defs", {})[name]
    return schema


def _branches(spec: dict, schema: dict) -> list[dict]:
    """The non-null alternatives of a schema (anyOf / oneOf), resolved."""
    schema = _resolve(spec, schema)
    alternatives = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return [_resolve(spec, s) for s in alternatives if s.get("type") != "null"]


def _kind(spec: dict, schema: dict) -> str | None:
    """string, integer, date, date-time, string-array, object or None."""
    for branch in _branches(spec, schema):
        kind = branch.get("type")
        if kind == "string" and branch.get("format") in ("date", "date-time"):
            return branch["format"]
        if kind == "string" and branch.get("format") != "binary":
            return "string"
        if kind == "array" and _kind(spec, branch.get("items", {})) == "string":
            return "string-array"
        if kind in ("integer", "object"):
            return kind
        if "properties" in branch:
            return "object"
    return None


def _example(spec: dict, schema: dict, depth: int = 0) -> Any:
    """A plausible value for a schema: every property present (validity does not matter for these tests)."""
    kind = _kind(spec, schema)
    branch = next(iter(_branches(spec, schema)), {})
    if kind == "object" and depth < 5:
        props = branch.get("properties", {})
        return {name: _example(spec, sub, depth + 1) for name, sub in props.items()}
    if kind in ("string", "string-array"):
        value = (branch.get("enum") or ["abc"])[0]
        return [value] if kind == "string-array" else value
    if branch.get("type") == "boolean":
        return False
    return {"integer": 1, "date": "2026-11-02", "date-time": "2026-11-30T09:30:00+08:00"}.get(kind)


def _baseline(spec: dict, template: str, schema: dict) -> Any:
    """A body for the route that is valid but for the field under test, as far as these tests can tell."""
    if template == "/api/v1/tickets":
        return ticket_body(external_id="sweep")
    if template == "/api/v1/intake/bangqiyun":
        body = ticket_body()
        body.pop("channel")
        return {**body, "id": "BQY-sweep"}
    body = _example(spec, schema)
    if isinstance(body, dict):
        body.update({k: v for k, v in VALUES.items() if k in body and not isinstance(body[k], list)})
    return body


def _string_fields(spec: dict, schema: dict, path: tuple[str, ...] = (), depth: int = 0) -> Iterator[tuple[str, ...]]:
    """The dotted paths of every string leaf of a body schema (list items as index 0, as errors name them)."""
    kind = _kind(spec, schema)
    if kind == "string":
        yield path
    elif kind == "string-array":
        yield (*path, "0")
    elif kind == "object" and depth < 5:
        for branch in _branches(spec, schema):
            for name, sub in branch.get("properties", {}).items():
                yield from _string_fields(spec, sub, (*path, name), depth + 1)


def _put(body: dict, path: tuple[str, ...], value: str) -> dict:
    body = copy.deepcopy(body)
    node: Any = body
    for key in path[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[path[-1]] = value
    return body


def _operations(world: dict) -> Iterator[tuple[str, str, dict, dict]]:
    """(method, path template, operation, headers) of every route, with the role that may call it."""
    for template, operations in world["spec"]["paths"].items():
        for method, op in operations.items():
            role = "operator" if template.endswith(OPERATOR_PATHS) else "admin"
            role = "dispatcher" if template.endswith(DISPATCHER_PATHS) else role
            yield method, template, op, world[role]


def _url(template: str, op: dict, world: dict, override: dict | None = None) -> str:
    values = {"ticket_id": world["ticket_id"], "export_id": 1, "import_id": 1, "code": "city.power", "name": "units",
              **(override or {})}
    for param in op.get("parameters", []):
        if param["in"] == "path":
            template = template.replace("{" + param["name"] + "}", str(values.get(param["name"], "x")))
    return template


def _send(api: TestClient, method: str, url: str, headers: dict, body: Any = None, *, form: str | None = None,
          files: dict | None = None):
    headers = dict(headers)
    if form == "multipart":
        return api.request(method, url, headers=headers, data=body, files=files)
    if form == "urlencoded":
        return api.request(method, url, headers=headers, data=body)
    if body is None:
        return api.request(method, url, headers=headers)
    raw = json.dumps(body).encode()  # ASCII JSON: a NUL and a lone surrogate travel as \u escapes
    headers["Content-Type"] = "application/json"
    if url.endswith("/intake/bangqiyun"):
        stamp = str(int(time.time()))
        headers.update({"X-Signature-Timestamp": stamp,
                        "X-Signature": "sha256=" + sign(get_settings().bangqiyun_secret, stamp, raw)})
    return api.request(method, url, headers=headers, content=raw)


def _names(response) -> list[str]:
    detail = response.json().get("detail")
    return [d.get("field") for d in detail] if isinstance(detail, list) else []


def test_every_string_field_of_every_route_refuses_nul_and_lone_surrogates(api, world):
    spec, failures, sent = world["spec"], [], 0

    def expect_named(response, field: str, what: str) -> None:
        nonlocal sent
        sent += 1
        if response.status_code != 422 or field not in _names(response):
            failures.append(f"{what}: {response.status_code} {response.text[:160]}")

    for method, template, op, headers in _operations(world):
        params = op.get("parameters", [])
        url = _url(template, op, world)
        for param in params:
            kind = _kind(spec, param.get("schema", {}))
            if kind not in ("string", "string-array"):
                continue
            name, where = param["name"], f"{method.upper()} {template} {param['in']} {param['name']}"
            if param["in"] == "query":
                expect_named(api.request(method, f"{url}?{name}=ab%00cd", headers=headers), name, where)
                r = api.request(method, f"{url}?{name}=ab%ED%A0%80cd", headers=headers)  # replaced when decoded
                if r.status_code >= 500:
                    failures.append(f"{where} (surrogate bytes): {r.status_code}")
            elif param["in"] == "path":
                expect_named(api.request(method, _url(template, op, world, {name: "ab%00cd"}), headers=headers),
                             name, where)
            elif param["in"] == "header":
                expect_named(api.request(method, url, headers={**headers, name: NUL}), name, where)
        content = op.get("requestBody", {}).get("content", {})
        for media, body_spec in content.items():
            schema = body_spec.get("schema", {})
            baseline = _baseline(spec, template, schema)
            for path in _string_fields(spec, schema):
                field = ".".join(path)
                for bad, label in ((NUL, "NUL"), (SURROGATE, "surrogate")):
                    where = f"{method.upper()} {template} body {field} ({label})"
                    if media == "application/json":
                        r = _send(api, method, url, headers, _put(baseline, path, bad))
                    elif label == "surrogate":
                        continue  # a form field is bytes decoded by the server: it cannot carry a lone surrogate
                    elif media == "multipart/form-data":
                        fields = {k: str(v) for k, v in baseline.items() if v is not None and k != "file"}
                        r = _send(api, method, url, headers, {**fields, field: bad}, form="multipart",
                                  files={"file": ("t.xlsx", b"PK\x03\x04 not a workbook", "application/zip")})
                    else:
                        fields = {k: str(v) for k, v in baseline.items() if v is not None}
                        r = _send(api, method, url, headers, {**fields, field: bad}, form="urlencoded")
                    expect_named(r, field, where)
    assert sent > 150, sent  # every route's fields were reached
    assert not failures, "\n".join(failures)


def test_numbers_and_dates_out_of_any_range_never_give_500(api, world):
    spec, failures = world["spec"], []
    huge = str(2**63)
    extremes = {"integer": [huge, "9" * 30, "-" + huge],
                "date": ["9999-12-31", "0001-01-01"],
                "date-time": ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00"]}
    for method, template, op, headers in _operations(world):
        url = _url(template, op, world)
        for param in op.get("parameters", []):
            kind = _kind(spec, param.get("schema", {}))
            for value in extremes.get(kind, []):
                where = f"{method.upper()} {template} {param['in']} {param['name']}={value}"
                if param["in"] == "path":
                    r = api.request(method, _url(template, op, world, {param["name"]: value}), headers=headers,
                                    json={} if "requestBody" in op else None)
                    if r.status_code not in (404, 422):
                        failures.append(f"{where}: {r.status_code} {r.text[:160]}")
                elif param["in"] == "query":
                    r = api.request(method, url, params={param["name"]: value}, headers=headers)
                    if r.status_code >= 500:
                        failures.append(f"{where}: {r.status_code} {r.text[:160]}")
    assert not failures, "\n".join(failures)
