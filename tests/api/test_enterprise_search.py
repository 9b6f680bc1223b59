"""Looking an enterprise up by what a caller says (a piece of its name, its code, its phone) and reading one with
its contacts and tickets, as each role may."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import Role
from models.audit import AuditEvent
from tests.factories import login, make_uscc, ticket_body


def _register(client, headers, name: str, uscc: str | None = None, *, phone: str = "13800138000",
              days_ago: float = 0, **kw) -> dict:
    enterprise = {"name": name} if uscc is None else {"name": name, "uscc": uscc}
    received = (datetime.now(UTC) - timedelta(days=days_ago, minutes=1)).isoformat()
    r = client.post("/api/v1/tickets", json=ticket_body(enterprise=enterprise, contact={"name": "王经理", "phone": phone},
                                                        received_at=received, **kw), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _search(client, headers, **params) -> list[dict]:
    r = client.get("/api/v1/enterprises", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _names(items: list[dict]) -> list[str]:
    return [e["name"] for e in items]


def test_a_fragment_of_the_name_finds_it_names_beginning_with_it_first_then_the_latest_contact(client):
    op = login(client, "op")
    _register(client, op, "乐清市柳市华电电气有限公司", days_ago=3)
    _register(client, op, "华电电气科技有限公司", days_ago=5)
    _register(client, op, "温州华电电气设备厂", days_ago=1)
    _register(client, op, "瑞安市塘下汽摩配件有限公司")
    assert _names(_search(client, op, q="华电电气")) == ["华电电气科技有限公司", "温州华电电气设备厂", "乐清市柳市华电电气有限公司"]
    assert _names(_search(client, op, q="柳市华电")) == ["乐清市柳市华电电气有限公司"]
    assert _names(_search(client, op, q="华电 电气（")) == _names(_search(client, op, q="华电电气"))  # folded alike
    assert _search(client, op, q="汽摩配")[0]["name"] == "瑞安市塘下汽摩配件有限公司"
    assert _search(client, op, q="不存在的名字") == []
    one = _search(client, op, q="柳市华电")[0]
    assert one["town"] == {"code": "yueqing_liushi", "label": "柳市镇"} and one["county"]["label"] == "乐清市"
    assert (one["open_tickets"], one["total_tickets"], one["on_roster"], one["merged_into"]) == (1, 1, False, None)
    assert one["last_contact_at"].endswith("+08:00")


def test_a_uscc_or_its_beginning_finds_it_the_exact_code_first(client):
    op = login(client, "op")
    codes = [make_uscc(n) for n in (1100, 1101, 2200)]
    for i, code in enumerate(codes):
        _register(client, op, f"企业{i}有限公司", code)
    assert _names(_search(client, op, q=codes[1])) == ["企业1有限公司"]
    assert _names(_search(client, op, q=codes[1].lower())) == ["企业1有限公司"]
    assert sorted(_names(_search(client, op, q=codes[0][:15]))) == ["企业0有限公司", "企业1有限公司"]
    assert len(_search(client, op, q=codes[0][:8])) == 3


def test_a_contact_phone_finds_it_whatever_way_it_is_written(client):
    op = login(client, "op")
    _register(client, op, "甲电器有限公司", phone="13912345678")
    _register(client, op, "乙电器有限公司", phone="0577-62881234")
    _register(client, op, "丙电器有限公司", phone="13912345679")
    for q in ("13912345678", "+86 139-1234-5678", "139 1234 5678"):
        assert _names(_search(client, op, q=q)) == ["甲电器有限公司"], q
    assert _names(_search(client, op, q="0577-62881234")) == ["乙电器有限公司"]
    assert _names(_search(client, op, q="62881234")) == ["乙电器有限公司"]  # a landline without its area code
    assert _search(client, op, q="1391234") == []  # a beginning is no phone number


def test_pages_follow_the_order_without_repeating_or_skipping(client):
    op = login(client, "op")
    for i in range(7):
        _register(client, op, f"翻页测试{i}有限公司", days_ago=i % 3)
    _register(client, op, "不相干公司")
    seen, cursor = [], None
    while True:
        params = {"q": "翻页测试", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/enterprises", params=params, headers=op).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    assert [e["id"] for e in _search(client, op, q="翻页测试", limit=50)] == seen
    everything = _search(client, op, limit=50)
    assert len(everything) == 8 and everything[0]["last_contact_at"] >= everything[-1]["last_contact_at"]


def test_filters_and_bad_input_are_answered_with_4xx_naming_the_field(client):
    op = login(client, "op")
    _register(client, op, "柳市某公司", town="yueqing_liushi")
    _register(client, op, "塘下某公司", town="ruian_tangxia")
    assert _names(_search(client, op, town="ruian_tangxia")) == ["塘下某公司"]
    assert _names(_search(client, op, county="乐清市")) == ["柳市某公司"]
    assert _search(client, op, on_roster="true") == []

    def refused(params: dict) -> dict:
        r = client.get("/api/v1/enterprises", params=params, headers=op)
        assert r.status_code == 422, r.text
        return r.json()["detail"][0]

    assert refused({"q": "a" * 10000})["field"] == "q"
    assert refused({"q": "某\x00公司"})["field"] == "q"
    assert refused({"phone": "13800138000"})["field"] == "phone"  # not a parameter of this list: named, not ignored
    assert refused({"town": "atlantis"})["field"].startswith("town")
    assert refused({"cursor": "bm9wZQ"})["field"] == "cursor"
    assert refused({"limit": 0})["field"] == "limit"
    assert client.get(f"/api/v1/enterprises/{2**63}", headers=op).status_code == 404
    assert client.get("/api/v1/enterprises/999999", headers=op).status_code == 404
    assert client.get("/api/v1/tickets", params={"enterprise": 2**63}, headers=op).status_code == 422


def test_one_enterprise_shows_its_contacts_as_each_role_may_and_its_tickets_newest_first(client, session):
    op, leader = login(client, "op"), login(client, "boss", Role.LEADER)
    first = _register(client, op, "乐清市正泰精工电器有限公司", phone="13912345678", title="高企认定咨询", days_ago=2)
    _register(client, op, "乐清市正泰精工电器有限公司", phone="0577-62881234", title="招工难", days_ago=1)
    last = _register(client, op, "乐清市正泰精工电器有限公司", phone="13912345678", title="变压器故障")
    ent_id = first["enterprise"]["id"]
    seen = client.get(f"/api/v1/enterprises/{ent_id}", headers=op).json()
    assert [(c["phone"], c["ticket_count"]) for c in seen["contacts"]] == [("13912345678", 2), ("0577-62881234", 1)]
    assert [t["title"] for t in seen["tickets"]] == ["变压器故障", "招工难", "高企认定咨询"]
    assert seen["tickets"][0] == {"id": last["id"], "number": last["number"], "title": "变压器故障",
                                  "status": {"code": "new", "label": "受理"}, "category": None,
                                  "received_at": last["received_at"], "lead_unit": None}
    assert seen["tickets_next"] is None and seen["merges"] == []
    audited = session.scalars(select(AuditEvent).where(AuditEvent.username == "op")).all()
    assert [(a.action, a.params) for a in audited] == [("read_contact", {"enterprise_id": ent_id})]
    masked = client.get(f"/api/v1/enterprises/{ent_id}", headers=leader).json()
    assert [c["phone"] for c in masked["contacts"]] == ["139****5678", "0577-****1234"]
    assert client.get("/api/v1/tickets", params={"enterprise": ent_id}, headers=op).json()["items"][0]["id"] == last["id"]


def test_more_than_fifty_tickets_point_to_the_full_list(client):
    op = login(client, "op")
    ids = [_register(client, op, "多单企业有限公司", title=f"问题{i}")["id"] for i in range(51)]
    ent_id = _search(client, op, q="多单企业")[0]["id"]
    seen = client.get(f"/api/v1/enterprises/{ent_id}", headers=op).json()
    assert len(seen["tickets"]) == 50 and seen["tickets"][0]["id"] == ids[-1]
    assert seen["tickets_next"] == f"/api/v1/tickets?enterprise={ent_id}"
    assert seen["total_tickets"] == seen["open_tickets"] == 51


def test_a_town_centre_sees_its_town_and_the_tickets_it_may_read(client):
    op = login(client, "op")
    centre = login(client, "centre", Role.HANDLER, "tc.yueqing_liushi")
    power = login(client, "power", Role.HANDLER, "yueqing.power")
    own = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "柳市本镇企业"}, title="中心登记"),
                      headers=centre).json()
    _register(client, op, "柳市本镇企业", title="话务登记")  # not the centre's to read
    _register(client, op, "塘下外镇企业", town="ruian_tangxia")
    listed = _search(client, centre)
    assert _names(listed) == ["柳市本镇企业"]
    assert (listed[0]["total_tickets"], listed[0]["open_tickets"]) == (1, 1)  # the one it may read
    detail = client.get(f"/api/v1/enterprises/{own['enterprise']['id']}", headers=centre).json()
    assert [t["id"] for t in detail["tickets"]] == [own["id"]]
    assert detail["contacts"][0]["phone"] == "138****8000"
    other = _search(client, op, q="塘下外镇")[0]["id"]
    assert client.get(f"/api/v1/enterprises/{other}", headers=centre).status_code == 404
    assert client.get("/api/v1/enterprises", headers=power).status_code == 403


def test_each_enterprise_is_listed_once_under_its_best_rank_across_pages(client):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    begins = _register(client, op, "华电电气有限公司", days_ago=1)["enterprise"]["id"]
    inside_new = _register(client, op, "温州华电有限公司")["enterprise"]["id"]
    inside_old = _register(client, op, "乐清华电科技", days_ago=2)["enterprise"]["id"]
    # Its own name holds the text, the name of a record merged into it begins with it: it ranks with the beginnings.
    owner = _register(client, op, "乐清市华电配件", days_ago=3)["enterprise"]["id"]
    alias = _register(client, op, "华电配件", days_ago=0.5)["enterprise"]["id"]
    assert client.post("/api/v1/enterprises/merges", json={"from_id": alias, "into_id": owner, "reason": "简称"},
                       headers=admin).status_code == 201
    expected = [owner, begins, inside_new, inside_old]
    assert [e["id"] for e in _search(client, op, q="华电")] == expected
    for limit in (1, 2, 3):
        seen, cursor = [], None
        while True:
            params = {"q": "华电", "limit": limit} | ({"cursor": cursor} if cursor else {})
            page = client.get("/api/v1/enterprises", params=params, headers=op).json()
            seen += [e["id"] for e in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert seen == expected, limit
