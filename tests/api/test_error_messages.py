"""422 answers: one shape, a machine code, the English message without pydantic's prefix, and Chinese."""
from __future__ import annotations

from models import Role
from tests.factories import login, ticket_body


def _details(r):
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "validation_error" or body["error"] == "invalid_input"
    for d in body["detail"]:
        assert set(d) >= {"field", "code", "message", "message_zh"}, d
        assert not d["message"].startswith(("Value error", "Assertion failed")), d
        assert any("\u4e00" <= ch <= "\u9fff" for ch in d["message_zh"]), d
    return {d["field"]: d for d in body["detail"]}


def test_pydantic_errors_have_code_and_chinese(client):
    op = login(client, "op")
    body = ticket_body(title="x" * 300, urgency="whenever", received_at="yesterday")
    body.pop("description")
    by = _details(client.post("/api/v1/tickets", json=body, headers=op))
    assert by["description"]["code"] == "missing" and by["description"]["message_zh"] == "必填项"
    assert by["title"]["code"] == "string_too_long" and by["title"]["message_zh"] == "最多 200 个字符"
    assert by["received_at"]["code"].startswith("datetime") and "ISO 8601" in by["received_at"]["message_zh"]
    assert by["urgency"]["message_zh"].startswith("应为以下之一")


def test_our_own_value_errors_have_no_prefix(client):
    op = login(client, "op")
    body = ticket_body(enterprise={"name": "乐清市测试电气有限公司", "uscc": "91330382MA2AB1C2D0"}, town="atlantis")
    by = _details(client.post("/api/v1/tickets", json=body, headers=op))
    uscc = by["enterprise.uscc"]
    assert uscc["code"] == "uscc_check_character" and uscc["message"].startswith("check character is wrong")
    assert "校验位" in uscc["message_zh"]
    assert by["town"]["code"] == "unknown_code" and "未知的镇街代码" in by["town"]["message_zh"]


def test_field_errors_raised_by_the_service_have_chinese(client):
    leader = login(client, "boss", Role.LEADER)
    by = _details(client.get("/api/v1/stats/summary?unit=nowhere", headers=leader))
    assert by["unit"]["code"] == "unknown_code" and "未知的单位代码" in by["unit"]["message_zh"]
    by = _details(client.get("/api/v1/stats/summary?from=2026-05-01&to=2026-04-01", headers=leader))
    assert by["to"]["message_zh"] == "结束日期不能早于开始日期"
    by = _details(client.post("/api/v1/tickets", content=b'{"title": ', headers={**leader, "Content-Type": "application/json"}))
    assert by["body"]["code"] == "json_invalid"


def test_openapi_documents_the_chinese_message(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["FieldError"]
    assert {"code", "message", "message_zh"} <= set(schema["properties"])
