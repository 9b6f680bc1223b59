"""The OpenAPI document tells the truth about errors, and a body that cannot be read says why and where."""
from __future__ import annotations

import pytest

from models import Role
from tests.factories import login


@pytest.fixture(scope="module")
def doc(app):
    return app.openapi()


def operations(doc):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


def ref(response) -> str:
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


def test_422_is_our_shape_not_fastapis(doc):
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ValidationErrorOut"]["properties"]["detail"]["items"]["$ref"].endswith("/FieldError")
    assert set(schemas["FieldError"]["required"]) == {"field", "message"}
    assert set(schemas["ErrorOut"]["required"]) == {"error", "detail"}
    with_422 = {name: op for name, op in operations(doc) if "422" in op["responses"]}
    assert len(with_422) > 30
    for name, op in with_422.items():
        expected = "RulesInvalidOut" if name == "POST /api/v1/routing/rules/reload" else "ValidationErrorOut"
        assert ref(op["responses"]["422"]) == expected, name


def test_every_route_lists_the_errors_it_can_answer(doc):
    ops = dict(operations(doc))
    for name, op in ops.items():
        codes = set(op["responses"])
        if op.get("security"):
            assert {"401", "503"} <= codes, name
        if "{" in name:
            assert "404" in codes, name
        if "requestBody" in op:
            assert {"413", "422"} <= codes, name
        for code in codes - {"200", "201", "202"}:
            assert "application/json" in op["responses"][code]["content"], (name, code)
    assert "403" in ops["GET /api/v1/users"]["responses"]  # an admin-only dependency
    assert "403" in ops["POST /api/v1/tickets/{ticket_id}/accept"]["responses"]  # the workflow decides
    assert {"403", "404", "409"} <= set(ops["POST /api/v1/tickets/{ticket_id}/merge"]["responses"])
    assert "409" in ops["GET /api/v1/exports/{export_id}/download"]["responses"]
    assert "403" not in ops["GET /api/v1/me"]["responses"]
    login_codes = set(ops["POST /api/v1/auth/token"]["responses"])
    assert {"401", "422", "429", "503"} <= login_codes and "403" not in login_codes
    assert set(ops["GET /healthz"]["responses"]) == {"200"}
    assert ref(ops["GET /readyz"]["responses"]["503"]) == "Readiness"
    assert "Retry-After" in ops["GET /api/v1/tickets"]["responses"]["503"]["headers"]


def test_documented_401_and_404_bodies_are_what_the_api_answers(client, doc):
    h = login(client, "op", Role.OPERATOR)
    r = client.get("/api/v1/tickets/999999", headers=h)
    assert r.status_code == 404 and set(r.json()) >= {"error", "detail"}
    r = client.get("/api/v1/tickets")
    assert r.status_code == 401 and set(r.json()) == {"error", "detail"}


def test_invalid_json_says_line_and_column(client):
    h = login(client, "op", Role.OPERATOR)
    r = client.post("/api/v1/routing/preview", content=b'{"title": "x",\n  "urgency": }',
                    headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json() == {"error": "validation_error", "detail": [
        {"field": "body", "code": "json_invalid", "message": "invalid JSON at line 2, column 14: Expecting value",
         "message_zh": "JSON 格式错误（invalid JSON at line 2, column 14: Expecting value）"}]}


def test_invalid_utf8_says_so_and_where(client):
    h = login(client, "op", Role.OPERATOR)
    r = client.post("/api/v1/routing/preview", content=b'{"title": "\xe5\x81"}',
                    headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json() == {"error": "validation_error",
                        "detail": [{"field": "body", "code": "body_unreadable", "message": "invalid UTF-8 at byte 11",
                                    "message_zh": "请求体无法读取（invalid UTF-8 at byte 11）"}]}


def test_unreadable_form_is_422_naming_the_body(client):
    h = login(client, "op", Role.OPERATOR)
    r = client.post("/api/v1/imports/tickets", content=b"--x", headers={**h, "Content-Type": "multipart/form-data"})
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["field"] == "body" and "boundary" in error["message"]


def test_405_lists_every_method_of_the_path(client):
    r = client.delete("/api/v1/users")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert r.headers["Allow"] == "GET, POST"
