"""An enterprise known by its name alone: matched on its folded name, given its USCC later, picked from a lookup, and
two records of one company merged by an admin (and the merge undone exactly)."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from models import Role
from service.config import get_settings
from service.security.signatures import sign
from tests.factories import login, make_uscc, ticket_body
from tests.support import xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _register(client, headers, name: str, uscc: str | None = None, **kw) -> dict:
    enterprise = {"name": name} if uscc is None else {"name": name, "uscc": uscc}
    enterprise.update(kw.pop("enterprise_extra", {}))
    r = client.post("/api/v1/tickets", json=ticket_body(enterprise=enterprise, **kw), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _enterprise(client, headers, enterprise_id: int) -> dict:
    r = client.get(f"/api/v1/enterprises/{enterprise_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_name_alone_registers_and_a_later_variant_of_the_name_finds_the_same_enterprise(client):
    op = login(client, "op")
    first = _register(client, op, "乐清市柳市华电电气有限公司", title="厂区停电")
    assert first["enterprise"]["uscc"] is None
    variants = ["乐清市柳市华电电气有限责任公司", "乐清市 柳市 华电电气（有限公司）", "乐清市柳市华电电气公司",
                "乐清市柳市华电电气股份有限公司"]
    ids = {_register(client, op, name, title=f"问题{i}")["enterprise"]["id"] for i, name in enumerate(variants)}
    assert ids == {first["enterprise"]["id"]}
    ent = _enterprise(client, op, first["enterprise"]["id"])
    assert (ent["name"], ent["uscc"], ent["total_tickets"], ent["open_tickets"]) == (
        "乐清市柳市华电电气有限公司", None, 1 + len(variants), 1 + len(variants))
    # Full-width Latin letters and case fold too; another company stays another record.
    a = _register(client, op, "ＡＢＣ电子科技有限公司")["enterprise"]["id"]
    assert _register(client, op, "abc 电子科技")["enterprise"]["id"] == a
    assert _register(client, op, "乐清市柳市华电电器有限公司")["enterprise"]["id"] not in (a, first["enterprise"]["id"])


def test_a_blank_uscc_is_no_code_and_a_wrong_one_is_still_refused(client):
    op = login(client, "op")
    t = _register(client, op, "温州某鞋业有限公司", uscc="  ")
    assert t["enterprise"]["uscc"] is None
    bad = make_uscc(5)[:-1] + ("0" if make_uscc(5)[-1] != "0" else "1")
    r = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "温州某鞋业有限公司", "uscc": bad}),
                    headers=op)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "enterprise.uscc"


def test_a_uscc_arriving_later_fills_in_the_code_of_the_record_known_by_name(client):
    op = login(client, "op")
    code = make_uscc(21)
    by_name = _register(client, op, "永嘉县瓯北泵阀制造有限公司")
    with_code = _register(client, op, "永嘉县瓯北泵阀制造有限责任公司", uscc=code)
    assert with_code["enterprise"]["id"] == by_name["enterprise"]["id"]
    ent = _enterprise(client, op, by_name["enterprise"]["id"])
    assert (ent["uscc"], ent["name"]) == (code, "永嘉县瓯北泵阀制造有限公司")  # the code fills in; the name stays
    # The code now finds it under any name, and the name alone still does.
    assert _register(client, op, "永嘉县瓯北泵阀制造有限公司", uscc=code)["enterprise"]["id"] == ent["id"]
    assert _register(client, op, "永嘉县 瓯北泵阀制造")["enterprise"]["id"] == ent["id"]
    listed = client.get("/api/v1/enterprises", params={"q": "瓯北泵阀"}, headers=op).json()["items"]
    assert [(e["id"], e["total_tickets"]) for e in listed] == [(ent["id"], 4)]


def test_an_intake_may_name_the_record_picked_from_a_lookup(client):
    op = login(client, "op")
    picked = _register(client, op, "温州娄桥智能装备有限公司")["enterprise"]["id"]
    t = _register(client, op, "温州娄桥智能装备有限公司", enterprise_extra={"id": picked})
    assert t["enterprise"]["id"] == picked
    code = make_uscc(33)
    assert _register(client, op, "温州娄桥智能装备有限公司", uscc=code,
                     enterprise_extra={"id": picked})["enterprise"]["id"] == picked
    assert _enterprise(client, op, picked)["uscc"] == code

    def refused(enterprise: dict) -> dict:
        r = client.post("/api/v1/tickets", json=ticket_body(enterprise=enterprise), headers=op)
        assert r.status_code == 422, r.text
        return r.json()["detail"][0]

    other = make_uscc(34)
    _register(client, op, "另一家公司", uscc=other)
    err = refused({"id": picked, "name": "温州娄桥智能装备有限公司", "uscc": other})
    assert err["field"] == "enterprise.uscc" and code in err["message"] and err["message_zh"]
    err = refused({"id": picked, "name": "完全不同的名字有限公司"})
    assert err["field"] == "enterprise.name" and "温州娄桥智能装备有限公司" in err["message"]
    assert refused({"id": 999999, "name": "某公司"})["field"] == "enterprise.id"
    assert refused({"id": 2**63, "name": "某公司"})["field"] == "enterprise.id"
    assert refused({"id": True, "name": "某公司"})["field"] == "enterprise.id"
    assert refused({"id": "7", "name": "某公司"})["field"] == "enterprise.id"


def test_merge_moves_the_tickets_and_undo_moves_exactly_those_back(client):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    code = make_uscc(41)
    a1 = _register(client, op, "柳市华电电气", title="停电一")
    a2 = _register(client, op, "柳市华电电气", title="停电二")
    b1 = _register(client, op, "乐清市柳市华电电气有限公司", uscc=code, title="招工")
    a, b = a1["enterprise"]["id"], b1["enterprise"]["id"]
    assert a != b

    r = client.post("/api/v1/enterprises/merges", json={"from_id": a, "into_id": b, "reason": "同一家企业，简称登记"},
                    headers=admin)
    assert r.status_code == 201, r.text
    merge = r.json()
    assert (merge["from"]["id"], merge["into"]["id"], merge["ticket_count"], merge["merged_by"], merge["undone_at"]) == (
        a, b, 2, "admin", None)
    for t in (a1, a2):
        assert client.get(f"/api/v1/tickets/{t['id']}", headers=op).json()["enterprise"]["id"] == b
    assert _enterprise(client, op, a)["merged_into"] == b
    into = _enterprise(client, op, b)
    assert into["total_tickets"] == 3 and [m["id"] for m in into["merges"]] == [merge["id"]]
    listed = client.get("/api/v1/enterprises", params={"q": "华电电气"}, headers=op).json()["items"]
    assert [e["id"] for e in listed] == [b]  # the merged record is answered by the one it went into
    later = _register(client, op, "柳市华电电气", title="停电三")  # its name now finds `into`
    assert later["enterprise"]["id"] == b
    mine = client.get("/api/v1/tickets", params={"enterprise": b}, headers=op).json()["items"]
    assert {t["id"] for t in mine} == {a1["id"], a2["id"], b1["id"], later["id"]}

    r = client.post(f"/api/v1/enterprises/merges/{merge['id']}/undo", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["undone_at"] and r.json()["undone_by"] == "admin"
    back = {t["id"]: t["enterprise"]["id"] for t in (client.get(f"/api/v1/tickets/{x['id']}", headers=op).json()
                                                      for x in (a1, a2, b1, later))}
    assert back == {a1["id"]: a, a2["id"]: a, b1["id"]: b, later["id"]: b}
    assert _enterprise(client, op, a)["merged_into"] is None
    assert (_enterprise(client, op, a)["total_tickets"], _enterprise(client, op, b)["total_tickets"]) == (2, 2)
    again = client.post(f"/api/v1/enterprises/merges/{merge['id']}/undo", headers=admin)
    assert again.status_code == 409 and "already" in again.json()["detail"]
    listed = client.get("/api/v1/enterprises/merges", headers=admin).json()["items"]
    assert [(m["id"], bool(m["undone_at"])) for m in listed] == [(merge["id"], True)]


def test_a_merge_carries_the_code_over_and_its_undo_gives_it_back(client):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    code = make_uscc(42)
    a = _register(client, op, "瑞安市塘下汽摩配件有限公司", uscc=code)["enterprise"]["id"]
    b = _register(client, op, "塘下汽摩配件厂", town="ruian_tangxia")["enterprise"]["id"]
    merge = client.post("/api/v1/enterprises/merges", json={"from_id": a, "into_id": b, "reason": "同一企业"},
                        headers=admin).json()
    assert merge["from"]["uscc"] == code and _enterprise(client, op, b)["uscc"] == code
    assert _enterprise(client, op, a)["uscc"] is None
    assert _register(client, op, "瑞安市塘下汽摩配件有限公司", uscc=code)["enterprise"]["id"] == b
    client.post(f"/api/v1/enterprises/merges/{merge['id']}/undo", headers=admin)
    assert (_enterprise(client, op, a)["uscc"], _enterprise(client, op, b)["uscc"]) == (code, None)


def test_merges_that_cannot_be_are_refused_with_the_reason(client):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    x = _register(client, op, "甲电气有限公司", uscc=make_uscc(51))["enterprise"]["id"]
    y = _register(client, op, "甲电气集团有限公司", uscc=make_uscc(52))["enterprise"]["id"]
    z = _register(client, op, "甲电气厂")["enterprise"]["id"]
    w = _register(client, op, "乙电气")["enterprise"]["id"]

    def merge(body: dict, headers=admin):
        return client.post("/api/v1/enterprises/merges", json=body, headers=headers)

    r = merge({"from_id": x, "into_id": y, "reason": "重复"})
    assert r.status_code == 409 and make_uscc(51) in r.json()["detail"] and make_uscc(52) in r.json()["detail"]
    assert merge({"from_id": x, "into_id": x, "reason": "重复"}).status_code == 409
    assert merge({"from_id": z, "into_id": x, "reason": "重复"}).status_code == 201
    r = merge({"from_id": z, "into_id": w, "reason": "重复"})
    assert r.status_code == 409 and "already merged" in r.json()["detail"]
    assert merge({"from_id": w, "into_id": z, "reason": "重复"}).status_code == 409  # into an alias: no
    r = merge({"from_id": 999999, "into_id": w, "reason": "重复"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "from_id"
    assert merge({"from_id": 2**63, "into_id": w, "reason": "重复"}).status_code == 422
    assert merge({"from_id": w, "into_id": x, "reason": ""}).json()["detail"][0]["field"] == "reason"
    assert merge({"from_id": w, "into_id": x, "reason": "重复"}, headers=op).status_code == 403
    assert client.post("/api/v1/enterprises/merges/999999/undo", headers=admin).status_code == 404
    assert client.post(f"/api/v1/enterprises/merges/{2**63}/undo", headers=admin).status_code == 404
    assert client.get("/api/v1/enterprises/merges", headers=op).status_code == 403


def test_an_undo_waits_for_the_later_merge_of_its_target_to_be_undone(client):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    a, b, c = (_register(client, op, name)["enterprise"]["id"] for name in ("丙一公司", "丙二公司", "丙三公司"))
    first = client.post("/api/v1/enterprises/merges", json={"from_id": a, "into_id": b, "reason": "同一"},
                        headers=admin).json()
    second = client.post("/api/v1/enterprises/merges", json={"from_id": b, "into_id": c, "reason": "同一"},
                         headers=admin).json()
    assert _enterprise(client, op, a)["merged_into"] == c  # re-pointed: lookups never land on an alias
    assert _register(client, op, "丙一公司")["enterprise"]["id"] == c
    r = client.post(f"/api/v1/enterprises/merges/{first['id']}/undo", headers=admin)
    assert r.status_code == 409 and str(second["id"]) in r.json()["detail"]
    assert client.post(f"/api/v1/enterprises/merges/{second['id']}/undo", headers=admin).status_code == 200
    assert _enterprise(client, op, a)["merged_into"] == b
    assert client.post(f"/api/v1/enterprises/merges/{first['id']}/undo", headers=admin).status_code == 200
    # Each back where it was; the ticket registered while they were one stays where it was registered.
    assert [_enterprise(client, op, i)["total_tickets"] for i in (a, b, c)] == [1, 1, 2]


def test_every_channel_registers_by_name_alone(client):
    payload = ticket_body(enterprise={"name": "平阳县鳌江印刷包装有限公司"})
    payload.pop("channel")
    payload["id"] = "BQY-NAME-1"
    raw = json.dumps(payload, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    r = client.post("/api/v1/intake/bangqiyun", content=raw, headers={
        "Content-Type": "application/json", "X-Signature-Timestamp": stamp,
        "X-Signature": f"sha256={sign(get_settings().bangqiyun_secret, stamp, raw)}"})
    assert r.status_code == 201, r.text
    op = login(client, "op")
    assert _register(client, op, "平阳县鳌江印刷包装公司")["enterprise"]["id"] == r.json()["enterprise"]["id"]


def test_an_imported_row_without_a_uscc_is_registered_under_the_name_and_once(client):
    op = login(client, "op")
    known = _register(client, op, "手工1有限公司")["enterprise"]["id"]
    rows = [xlsx.row(1, xlsx.HEADER), xlsx.row(2, xlsx.ticket_values(1, None)),
            xlsx.row(3, xlsx.ticket_values(2, make_uscc(81)))]
    content = xlsx.workbook(xlsx.sheet(rows))

    def upload():
        r = client.post("/api/v1/imports/tickets", files={"file": ("台账.xlsx", content, XLSX)}, headers=op)
        assert r.status_code == 200, r.text
        return r.json()

    first = upload()
    assert (first["created"], first["rejected"]) == (2, [])
    ticket = client.get(f"/api/v1/tickets/{first['tickets'][0]['id']}", headers=op).json()
    assert (ticket["enterprise"]["id"], ticket["enterprise"]["uscc"]) == (known, None)
    again = upload()
    assert (again["created"], again["duplicates"]) == (0, 2)
    # A sheet without the column at all is read too.
    no_column = [xlsx.row(1, ["企业名称", "联系人", "联系电话", "镇街", "诉求类型", "标题", "诉求内容"]),
                 xlsx.row(2, ["手工1有限责任公司", "张三", "13900000000", "柳市镇", "求助", "另一问题", "第二个问题的内容。"])]
    r = client.post("/api/v1/imports/tickets", files={"file": ("台账.xlsx", xlsx.workbook(xlsx.sheet(no_column)), XLSX)},
                    headers=op)
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    assert _enterprise(client, op, known)["total_tickets"] == 3


def test_concurrent_intakes_of_a_new_name_make_one_record_and_count_every_call(client):
    op = login(client, "op")
    names = ["温州新开电器有限公司", "温州新开电器有限责任公司", "温州 新开电器", "温州新开电器（有限公司）"]
    bodies = [ticket_body(enterprise={"name": names[i % 4]}, title=f"问题{i}", external_id=f"race-{i}",
                          contact={"name": "王经理", "phone": "13912345678"}) for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda b: client.post("/api/v1/tickets", json=b, headers=op), bodies))
    assert [r.status_code for r in answers] == [201] * 16
    ids = {r.json()["enterprise"]["id"] for r in answers}
    assert len(ids) == 1
    seen = _enterprise(client, op, ids.pop())
    assert seen["total_tickets"] == 16
    assert [(c["name"], c["ticket_count"]) for c in seen["contacts"]] == [("王经理", 16)]
    replay = client.post("/api/v1/tickets", json=bodies[0], headers=op)
    assert replay.status_code == 200  # a replay is no new call
    assert _enterprise(client, op, seen["id"])["contacts"][0]["ticket_count"] == 16
