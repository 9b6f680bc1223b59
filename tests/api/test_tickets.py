"""Reading the one table: filters, pagination, who sees what, merge and unmerge."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models import Role
from tests.factories import login, make_uscc, ticket_body


def _create(client, h, **kw):
    r = client.post("/api/v1/tickets", json=ticket_body(**kw), headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def test_filters_and_text_search(client):
    h = login(client, "op")
    a = _create(client, h, channel="bangqiyun", category="factor", urgency="urgent")
    b = _create(client, h, town="ruian_tangxia", category="legal", title="商标被抢注",
                description="我司商标在外地被他人抢注，请求帮助维权。")
    ids = lambda r: [t["id"] for t in r.json()["items"]]  # noqa: E731
    assert ids(client.get("/api/v1/tickets?channel=bangqiyun", headers=h)) == [a["id"]]
    assert ids(client.get("/api/v1/tickets?county=ruian", headers=h)) == [b["id"]]
    assert ids(client.get("/api/v1/tickets?category=factor&category=legal", headers=h)) == [b["id"], a["id"]]
    assert ids(client.get("/api/v1/tickets?urgency=urgent", headers=h)) == [a["id"]]
    assert ids(client.get("/api/v1/tickets", params={"q": "商标"}, headers=h)) == [b["id"]]
    assert ids(client.get("/api/v1/tickets", params={"q": "变压器跳闸"}, headers=h)) == [a["id"]]
    assert ids(client.get("/api/v1/tickets?status=assigned", headers=h)) == []
    # Empty query parameters mean absent.
    assert len(ids(client.get("/api/v1/tickets?q=&unit=&uscc=", headers=h))) == 2


def test_keyset_pagination_visits_every_ticket_once(client):
    h = login(client, "op")
    made = [_create(client, h, enterprise={"name": f"企业{i}有限公司", "uscc": make_uscc(100 + i)})["id"]
            for i in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/tickets", params=params, headers=h).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(made, reverse=True)
    bad = client.get("/api/v1/tickets?cursor=nonsense!", headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "cursor"


def test_handler_sees_only_its_units_tickets(client, run_jobs):
    op = login(client, "op")
    power = _create(client, op)  # 停电 in 柳市 -> the county supply company
    run_jobs()
    other = _create(client, op, town="ruian_tangxia", title="商标被抢注", description="我司商标被他人抢注，请求维权。")
    run_jobs()
    yq_power = login(client, "yqp", Role.HANDLER, "yueqing.power")
    listed = client.get("/api/v1/tickets", headers=yq_power).json()["items"]
    assert [t["id"] for t in listed] == [power["id"]]
    assert client.get(f"/api/v1/tickets/{power['id']}", headers=yq_power).status_code == 200
    # Another unit's ticket does not exist for this handler: 404, not 403.
    r = client.get(f"/api/v1/tickets/{other['id']}", headers=yq_power)
    assert r.status_code == 404 and r.json()["error"] == "ticket_not_found"
    # A forbidden write is 403.
    assert client.post(f"/api/v1/tickets/{power['id']}/dispatch", json={"lead_unit": "city.jxj"},
                       headers=yq_power).status_code == 403


def test_merge_and_unmerge(client):
    op = login(client, "op")
    disp = login(client, "disp", Role.DISPATCHER)
    keep = _create(client, op, channel="bangqiyun")
    dup = _create(client, op)
    r = client.post(f"/api/v1/tickets/{dup['id']}/merge", json={"into_ticket_id": keep["id"], "reason": "同一问题"},
                    headers=op)
    assert r.status_code == 200, r.text
    assert r.json()["status"]["code"] == "merged"
    assert r.json()["merged_into"]["id"] == keep["id"]
    target = client.get(f"/api/v1/tickets/{keep['id']}", headers=op).json()
    assert [t["id"] for t in target["merged_tickets"]] == [dup["id"]]
    assert target["history"][-1]["kind"] == "merge_received"
    # Operators merge; only dispatchers undo.
    assert client.post(f"/api/v1/tickets/{dup['id']}/unmerge", headers=op).status_code == 403
    r = client.post(f"/api/v1/tickets/{dup['id']}/unmerge", headers=disp)
    assert r.status_code == 200 and r.json()["status"]["code"] == "new" and r.json()["merged_into"] is None
    assert client.get(f"/api/v1/tickets/{keep['id']}", headers=op).json()["merged_tickets"] == []
    kinds = [e["kind"] for e in client.get(f"/api/v1/tickets/{dup['id']}", headers=op).json()["history"]]
    assert kinds == ["created", "merged", "unmerged"]
    again = client.post(f"/api/v1/tickets/{dup['id']}/unmerge", headers=disp)
    assert again.status_code == 409 and again.json()["error"] == "invalid_transition"


def test_merge_refuses_self_and_closed_targets(client):
    op = login(client, "op")
    a, b = _create(client, op), _create(client, op)
    r = client.post(f"/api/v1/tickets/{a['id']}/merge", json={"into_ticket_id": a["id"]}, headers=op)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "into_ticket_id"
    client.post(f"/api/v1/tickets/{b['id']}/merge", json={"into_ticket_id": a["id"]}, headers=op)
    r = client.post(f"/api/v1/tickets/{a['id']}/merge", json={"into_ticket_id": b["id"]}, headers=op)
    assert r.status_code == 422 and "open ticket" in r.json()["detail"][0]["message"]
    assert client.post(f"/api/v1/tickets/{a['id']}/merge", json={"into_ticket_id": 999999},
                       headers=op).status_code == 404


def test_reference_lists_carry_chinese_names(client):
    h = login(client, "op")
    towns = client.get("/api/v1/reference/towns?county=yueqing", headers=h).json()["items"]
    assert any(t["code"] == "yueqing_liushi" and t["name"] == "柳市镇" for t in towns)
    assert len(client.get("/api/v1/reference/towns", headers=h).json()["items"]) >= 76
    cats = {c["code"]: c["label"] for c in client.get("/api/v1/reference/categories", headers=h).json()["items"]}
    assert cats["factor"] == "要素对接" and len(cats) == 10
    urg = client.get("/api/v1/reference/urgencies", headers=h).json()["items"]
    assert {"code": "critical", "label": "特急"} in urg
    assert client.get("/api/v1/reference/planets", headers=h).status_code == 404


def test_overdue_and_supervision_filters(client, run_jobs, session):
    from sqlalchemy import text

    h = login(client, "op")
    late, fine = _create(client, h), _create(client, h)
    run_jobs()
    session.execute(text("UPDATE ticket SET resolve_due_at = now() - interval '1 day', supervision = 'yellow' "
                         "WHERE id = :id"), {"id": late["id"]})
    session.commit()
    ids = lambda r: [t["id"] for t in r.json()["items"]]  # noqa: E731
    assert ids(client.get("/api/v1/tickets?overdue=true", headers=h)) == [late["id"]]
    assert ids(client.get("/api/v1/tickets?overdue=false", headers=h)) == [fine["id"]]
    assert ids(client.get("/api/v1/tickets?supervision=yellow", headers=h)) == [late["id"]]
    assert client.get("/api/v1/tickets?supervision=blue", headers=h).status_code == 422


def test_created_range_reads_local_time_without_a_zone(client):
    h = login(client, "op")
    t = _create(client, h)
    created = datetime.fromisoformat(t["created_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    naive = (created - timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    assert [x["id"] for x in client.get("/api/v1/tickets", params={"created_from": naive}, headers=h).json()["items"]] \
        == [t["id"]]
    assert client.get("/api/v1/tickets", params={"created_to": naive}, headers=h).json()["items"] == []
    assert client.get("/api/v1/tickets?created_from=yesterday", headers=h).status_code == 422
