"""The screen pop of an incoming call: who is known under the caller's number, and what they asked before."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import Role
from tests.factories import login, ticket_body


def _register(client, headers, name: str, phone: str, contact: str = "王经理", *, minutes_ago: int = 0, **kw) -> dict:
    received = (datetime.now(UTC) - timedelta(minutes=minutes_ago + 1)).isoformat()
    r = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": name}, contact={"name": contact,
                                                                                            "phone": phone},
                                                        received_at=received, **kw), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _lookup(client, headers, phone: str) -> dict:
    r = client.get("/api/v1/callers", params={"phone": phone}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_callers_enterprises_contacts_and_recent_tickets_latest_call_first(client):
    op = login(client, "op")
    tickets = [_register(client, op, "乐清市柳市华电电气有限公司", "13912345678", title=f"问题{i}", minutes_ago=60 - i)
               for i in range(6)]
    _register(client, op, "乐清市柳市华电电气有限公司", "13912345678", contact="王总", title="另一位", minutes_ago=30)
    other = _register(client, op, "温州华电配件厂", "139-1234-5678", contact="王经理", title="兼职的另一家")
    _register(client, op, "不相干企业", "13800000001")

    found = _lookup(client, op, "+86 139 1234 5678")
    assert found["phone"] == "+86 139 1234 5678"
    assert [e["enterprise"]["name"] for e in found["enterprises"]] == ["温州华电配件厂", "乐清市柳市华电电气有限公司"]
    first, second = found["enterprises"]
    assert first["enterprise"]["id"] == other["enterprise"]["id"]
    assert [(c["name"], c["phone"]) for c in first["contacts"]] == [("王经理", "139-1234-5678")]  # in full
    assert [t["id"] for t in first["recent_tickets"]] == [other["id"]]
    assert [c["name"] for c in second["contacts"]] == ["王总", "王经理"]
    assert [t["title"] for t in second["recent_tickets"]] == ["另一位", "问题5", "问题4", "问题3", "问题2"]
    assert second["recent_tickets"][1]["id"] == tickets[-1]["id"]
    assert (second["enterprise"]["total_tickets"], second["enterprise"]["open_tickets"]) == (7, 7)
    assert _lookup(client, op, "13700000000")["enterprises"] == []


def test_a_record_merged_into_another_is_answered_by_that_one(client):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    a = _register(client, op, "华电电气", "13912345678")["enterprise"]["id"]
    b = _register(client, op, "乐清市柳市华电电气有限公司", "0577-62881234")["enterprise"]["id"]
    assert client.post("/api/v1/enterprises/merges", json={"from_id": a, "into_id": b, "reason": "简称"},
                       headers=admin).status_code == 201
    found = _lookup(client, op, "13912345678")["enterprises"]
    assert [e["enterprise"]["id"] for e in found] == [b]
    assert [c["phone"] for c in found[0]["contacts"]] == ["13912345678"]
    assert len(found[0]["recent_tickets"]) == 2


def test_a_town_centre_gets_its_town_only_and_the_tickets_it_may_read(client):
    op = login(client, "op")
    centre = login(client, "centre", Role.HANDLER, "tc.yueqing_liushi")
    own = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "柳市本镇企业"}, title="中心登记",
                                                          contact={"name": "李", "phone": "13912345678"}),
                      headers=centre).json()
    _register(client, op, "柳市本镇企业", "13912345678", title="话务登记")
    _register(client, op, "塘下外镇企业", "13912345678", town="ruian_tangxia")
    found = _lookup(client, centre, "13912345678")["enterprises"]
    assert [e["enterprise"]["name"] for e in found] == ["柳市本镇企业"]
    assert [t["id"] for t in found[0]["recent_tickets"]] == [own["id"]]
    assert client.get("/api/v1/callers", params={"phone": "13912345678"},
                      headers=login(client, "power", Role.HANDLER, "yueqing.power")).status_code == 403
    assert client.get("/api/v1/callers", params={"phone": "13912345678"},
                      headers=login(client, "boss", Role.LEADER)).status_code == 403


def test_what_is_no_phone_number_is_422_naming_the_field(client):
    op = login(client, "op")
    for phone in ("1234", "王经理", "1" * 40, "138\x000013", ""):
        r = client.get("/api/v1/callers", params={"phone": phone}, headers=op)
        assert r.status_code == 422, (phone, r.text)
        assert r.json()["detail"][0]["field"] == "phone"
    assert client.get("/api/v1/callers", headers=op).json()["detail"][0]["field"] == "phone"
    r = client.get("/api/v1/callers", params={"phone": "13912345678", "name": "王"}, headers=op)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "name"
