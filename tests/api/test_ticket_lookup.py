"""Finding a ticket by what people quote: its number, the caller's phone or name, a handler's opinion; and walking
the list in every order, each ticket exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import Role
from service.domain import tickets as domain_tickets
from tests.factories import login, make_uscc, ticket_body

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def people(client):
    return {
        "op": login(client, "op"),
        "disp": login(client, "disp", Role.DISPATCHER),
        "boss": login(client, "boss", Role.LEADER),
        "power": login(client, "power", Role.HANDLER, "yueqing.power"),
        "rsj": login(client, "rsj", Role.HANDLER, "yueqing.rsj"),
    }


@pytest.fixture
def two(client, people, run_jobs):
    """A 停电 ticket of 王经理 (13800138000) routed to the supply company; a 招工 ticket of 李建国 (0577-88881234)
    dispatched to 人社局 with the supply company assisting."""
    power = client.post("/api/v1/tickets", json=ticket_body(), headers=people["op"]).json()
    jobs = client.post("/api/v1/tickets", headers=people["op"], json=ticket_body(
        enterprise={"name": "乐清市招工电器有限公司", "uscc": make_uscc(2)}, contact={"name": "李建国", "phone": "0577-88881234"},
        title="招工难", description="春节后普工缺口较大，希望协助对接劳务资源。")).json()
    r = client.post(f"/api/v1/tickets/{jobs['id']}/dispatch", headers=people["disp"],
                    json={"lead_unit": "yueqing.rsj", "assisting_units": ["yueqing.power"]})
    assert r.status_code == 200, r.text
    run_jobs()
    return power, jobs


def ids(client, who, **params) -> list[int]:
    r = client.get("/api/v1/tickets", params=params, headers=who)
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["items"]]


def test_by_number_answers_the_ticket_as_its_detail(client, people, two):
    power, _ = two
    detail = client.get(f"/api/v1/tickets/{power['id']}", headers=people["op"]).json()
    got = client.get(f"/api/v1/tickets/by-number/{power['number']}", headers=people["op"])
    assert got.status_code == 200, got.text
    assert got.json()["id"] == power["id"] and got.json()["history"] == detail["history"]
    assert got.json()["contact"]["phone"] == "13800138000"  # the full phone, as the detail shows it (audited)
    undashed = power["number"].replace("-", "")
    assert client.get(f"/api/v1/tickets/by-number/{undashed}", headers=people["op"]).json()["id"] == power["id"]
    # A ticket the handler's unit has nothing to do with does not exist for it.
    assert client.get(f"/api/v1/tickets/by-number/{power['number']}", headers=people["rsj"]).status_code == 404


@pytest.mark.parametrize("number", ["20991231-0000001", "abc", "2026-12-01", "0" * 40, "20261201-", "１２３",
                                    "20261201-0000001 ", "9" * 25, "-1", "%25", "a b"])
def test_an_unknown_or_malformed_number_is_404_naming_it(client, people, number):
    r = client.get(f"/api/v1/tickets/by-number/{number}", headers=people["op"])
    assert r.status_code == 404, r.text
    assert r.json()["error"] in ("ticket_not_found", "not_found")


def test_unknown_number_message_names_it(client, people):
    r = client.get("/api/v1/tickets/by-number/20991231-0000001", headers=people["op"])
    assert r.status_code == 404 and "20991231-0000001" in r.json()["detail"]


def test_q_finds_the_number_exact_or_by_its_beginning(client, people, two, searched):
    power, jobs = two
    assert ids(client, people["op"], q=power["number"]) == [power["id"]]
    assert ids(client, people["op"], q=power["number"].replace("-", "")) == [power["id"]]
    day = power["number"][:8]
    assert sorted(ids(client, people["op"], q=day)) == sorted([power["id"], jobs["id"]])
    common = 0
    while power["number"][common] == jobs["number"][common]:
        common += 1
    assert sorted(ids(client, people["op"], q=power["number"][:common])) == sorted([power["id"], jobs["id"]])


@pytest.fixture(params=["few", "many", "common", "common, short window"])
def searched(request, monkeypatch):
    """A search is listed from its matches when they are few, along the list's order when many (counted, or called
    common by the planner's estimate without counting; a common one first among the next WINDOW tickets, and as
    the others when those hold less than a page): the same answers."""
    if request.param == "many":
        monkeypatch.setattr(domain_tickets, "FEW_MATCHES", 0)
    if request.param.startswith("common"):
        monkeypatch.setattr(domain_tickets, "COMMON", 0)
    if request.param == "common, short window":
        monkeypatch.setattr(domain_tickets, "WINDOW", 3)
    return request.param


def test_q_finds_any_four_or_more_digits_of_the_phone(client, people, two, searched):
    power, jobs = two
    op = people["op"]
    for fragment in ("13800138000", "8000", "0013", "138-0013-8000", "138 0013"):
        assert ids(client, op, q=fragment) == [power["id"]], fragment
    for fragment in ("88881234", "0577-8888", "1234", "05778888"):
        assert ids(client, op, q=fragment) == [jobs["id"]], fragment
    assert ids(client, op, q="800") == []  # three digits are no fragment
    assert ids(client, op, q="99998888") == []


def test_a_phone_is_matched_only_where_its_searcher_sees_it(client, people, two):
    power, jobs = two
    assert ids(client, people["boss"], q="8000") == []  # a leader sees phones masked
    assert ids(client, people["power"], q="8000") == [power["id"]]  # the lead unit
    assert ids(client, people["power"], q="1234") == []  # only assisting: the phone is masked for it
    assert ids(client, people["rsj"], q="1234") == [jobs["id"]]


def test_q_finds_the_contact_name_and_the_opinions(client, people, two, searched):
    power, jobs = two
    op = people["op"]
    assert ids(client, op, q="王经理") == [power["id"]]
    assert ids(client, op, q="李建国") == [jobs["id"]]
    assert ids(client, op, q="熔断器") == []
    assert client.post(f"/api/v1/tickets/{power['id']}/accept", json={}, headers=people["power"]).status_code == 200
    r = client.post(f"/api/v1/tickets/{power['id']}/resolve", json={"opinion": "已更换烧毁的熔断器，恢复供电。"},
                    headers=people["power"])
    assert r.status_code == 200, r.text
    assert ids(client, op, q="熔断器") == [power["id"]]
    r = client.post(f"/api/v1/tickets/{jobs['id']}/assist", json={"opinion": "已协助核查厂区线路负荷。"},
                    headers=people["power"])
    assert r.status_code == 200, r.text
    assert ids(client, op, q="线路负荷") == [jobs["id"]]
    # The words still find what they found before.
    assert ids(client, op, q="招工难") == [jobs["id"]]
    assert ids(client, op, q="变压器跳闸") == [power["id"]]


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _walk(client, who, sort: str, limit: int = 2, **filters) -> list[dict]:
    seen, cursor = [], None
    while True:
        params = {"sort": sort, "limit": limit, **filters, **({"cursor": cursor} if cursor else {})}
        r = client.get("/api/v1/tickets", params=params, headers=who)
        assert r.status_code == 200, r.text
        seen += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return seen


def test_every_sort_pages_through_every_ticket_once_in_order(client, people):
    op = people["op"]
    now = datetime.now(SH).replace(microsecond=0)
    made = []
    # Received at various times, two at the same instant; some dispatched (deadlines set), some not yet.
    for i, (hours_ago, placed) in enumerate([(5, True), (30, False), (5, True), (2, False), (50, True), (1, True),
                                             (30, True)]):
        body = ticket_body(enterprise={"name": f"排序测试{i}有限公司", "uscc": make_uscc(300 + i)},
                           received_at=(now - timedelta(hours=hours_ago)).isoformat(),
                           urgency=["normal", "urgent"][i % 2], request_type=["help", "consult", "complaint"][i % 3])
        made.append(client.post("/api/v1/tickets", json=body, headers=op).json()["id"])
        if placed:
            r = client.post(f"/api/v1/tickets/{made[-1]}/dispatch", json={"lead_unit": "yueqing.power"},
                            headers=people["disp"])
            assert r.status_code == 200, r.text
    everything = {t["id"]: t for t in _walk(client, op, "-received_at", limit=50)}
    assert sorted(everything) == sorted(made)
    assert any(t["deadlines"]["accept_due_at"] is None for t in everything.values())
    assert any(t["deadlines"]["accept_due_at"] is not None for t in everything.values())
    for sort in ("-received_at", "received_at", "accept_due_at", "-accept_due_at", "resolve_due_at",
                 "-resolve_due_at"):
        name, descending = sort.lstrip("-"), sort.startswith("-")
        walked = [t["id"] for t in _walk(client, op, sort)]
        assert sorted(walked) == sorted(made), sort  # each ticket exactly once

        def key(tid):
            t = everything[tid]
            value = _instant(t["received_at"] if name == "received_at" else t["deadlines"][name])
            stamp = value.timestamp() if value is not None else 0.0
            return (value is None, -stamp if descending else stamp, -tid if descending else tid)

        assert walked == sorted(made, key=key), sort
    # The default order is the newest received first.
    assert ids(client, op) == [t["id"] for t in _walk(client, op, "-received_at", limit=50)]


def test_a_search_pages_alike_whether_its_matches_are_few_or_many(client, people, searched):
    op = people["op"]
    now = datetime.now(SH).replace(microsecond=0)
    for i in range(5):
        client.post("/api/v1/tickets", headers=op, json=ticket_body(
            enterprise={"name": f"翻页{i}有限公司", "uscc": make_uscc(600 + i)},
            received_at=(now - timedelta(hours=[3, 1, 3, 2, 5][i])).isoformat()))
    client.post("/api/v1/tickets", headers=op, json=ticket_body(
        enterprise={"name": "别的企业", "uscc": make_uscc(610)}, title="招工难", description="缺少普工。"))
    for sort in ("-received_at", "received_at", "accept_due_at"):
        everything = [t["id"] for t in _walk(client, op, sort) if t["title"] == "厂区突然停电"]
        assert [t["id"] for t in _walk(client, op, sort, q="有限公司")] == everything, sort
        assert len(everything) == 5
        # With list filters beside the search (several values each, a date range): the same tickets.
        assert [t["id"] for t in _walk(client, op, sort, q="有限公司", status=["new", "pending_dispatch", "assigned"],
                                       request_type=["help", "consult"],
                                       created_from=(now - timedelta(days=1)).isoformat())] == everything, sort


def test_a_cursor_continues_only_its_own_sort(client, people):
    op = people["op"]
    for i in range(3):
        client.post("/api/v1/tickets", headers=op,
                    json=ticket_body(enterprise={"name": f"游标{i}有限公司", "uscc": make_uscc(400 + i)}))
    page = client.get("/api/v1/tickets", params={"sort": "received_at", "limit": 1}, headers=op).json()
    r = client.get("/api/v1/tickets", params={"sort": "accept_due_at", "cursor": page["next_cursor"]}, headers=op)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "cursor"
    assert "received_at" in r.json()["detail"][0]["message"]
    r = client.get("/api/v1/tickets", params={"sort": "received_at", "cursor": page["next_cursor"]}, headers=op)
    assert r.status_code == 200 and len(r.json()["items"]) == 2
