"""What /docs shows: every operation described, Chinese request examples for intake and every lifecycle action (each
one a valid body), and the code lists a form needs (退单 reasons, 满意度) with their labels in /api/v1/reference."""
from __future__ import annotations

import re
from datetime import date

from fastapi.routing import APIRoute

from tests.factories import login

METHODS = {"get", "post", "put", "patch", "delete"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_operation_has_a_description(client):
    doc = client.get("/openapi.json").json()
    missing = [f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method, op in ops.items()
               if method in METHODS and not (op.get("description") or "").strip()]
    assert missing == [], missing


def _schema(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        node = doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    for key in ("anyOf", "allOf", "oneOf"):
        for option in node.get(key, []):
            if "$ref" in option:
                return _schema(doc, option)
    return node


def test_intake_and_every_lifecycle_action_carry_a_chinese_request_example(app, client):
    doc = client.get("/openapi.json").json()
    wanted = {p for p, ops in doc["paths"].items() if "post" in ops and re.fullmatch(
        r"/api/v1/tickets(/\{ticket_id\}/[a-z/-]+)?", p)}
    assert "/api/v1/tickets" in wanted and "/api/v1/tickets/{ticket_id}/refuse" in wanted and len(wanted) >= 20
    bodies = {r.path: r.body_field for r in app.state.api_routes if isinstance(r, APIRoute) and "POST" in r.methods}
    for path in sorted(wanted):
        content = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        examples = _schema(doc, content["schema"]).get("examples") or []
        assert examples, f"POST {path} has no request example"
        model = bodies[path].field_info.annotation
        model = next((a for a in getattr(model, "__args__", (model,)) if isinstance(a, type)), model)
        for example in examples:
            assert CJK.search(str(example)), (path, example)
            model.model_validate(example)  # each example is a body the endpoint accepts as written


def test_refusal_reasons_and_satisfaction_codes_come_with_their_labels(client):
    h = login(client, "op")
    lists = client.get("/api/v1/reference", headers=h).json()["lists"]
    assert {"refusal_reasons", "satisfactions", "supervision_levels", "calendar", "article_kinds"} <= set(lists)
    doc = client.get("/openapi.json").json()["components"]["schemas"]

    reasons = client.get("/api/v1/reference/refusal_reasons", headers=h).json()["items"]
    assert [r["code"] for r in reasons] == doc["RefuseIn"]["properties"]["reason"]["enum"]
    assert {r["code"]: r["label"] for r in reasons}["not_our_function"] == "职能不符"
    assert all(CJK.search(r["label"]) for r in reasons)

    satisfactions = client.get("/api/v1/reference/satisfactions", headers=h).json()["items"]
    assert [s["code"] for s in satisfactions] == doc["FeedbackIn"]["properties"]["satisfaction"]["enum"]
    assert [s["label"] for s in satisfactions] == ["满意", "基本满意", "不满意"]


def test_the_calendar_lists_the_days_that_break_the_working_week(client):
    h = login(client, "op")
    days = client.get("/api/v1/reference/calendar", headers=h).json()["items"]
    for d in days:
        weekday = date.fromisoformat(d["date"]).weekday() < 5
        assert d["working"] is not weekday and d["label"] == ("调休上班" if d["working"] else "节假日")
    assert sum(not d["working"] for d in days) >= 5  # 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆 on weekdays
