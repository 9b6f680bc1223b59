"""The queues people work from: what needs a handler's 签收 first, what it leads, assists or registered, what falls
due, what waits for a dispatcher's decision, and the console's tab counts that always equal their lists."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest

from models import Role
from service.domain.workdays import day_info
from tests.factories import login, make_uscc, ticket_body

SH = ZoneInfo("Asia/Shanghai")
_n = iter(range(500, 10_000))


@pytest.fixture
def people(client):
    return {
        "op": login(client, "op"), "op2": login(client, "op2"),
        "disp": login(client, "disp", Role.DISPATCHER), "boss": login(client, "boss", Role.LEADER),
        "admin": login(client, "admin", Role.ADMIN),
        "power": login(client, "power", Role.HANDLER, "yueqing.power"),
        "rsj": login(client, "rsj", Role.HANDLER, "yueqing.rsj"),
        "centre": login(client, "centre", Role.HANDLER, "tc.yueqing_liushi"),
    }


def _register(client, who, **overrides) -> int:
    i = next(_n)
    body = ticket_body(enterprise={"name": f"队列测试{i}有限公司", "uscc": make_uscc(i)}, **overrides)
    r = client.post("/api/v1/tickets", json=body, headers=who)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _do(client, who, ticket_id: int, action: str, **body) -> dict:
    r = client.post(f"/api/v1/tickets/{ticket_id}/{action}", json=body, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def _working(instant: datetime) -> datetime:
    while not day_info(instant.astimezone(SH).date())[0]:
        instant += timedelta(days=1)
    return instant


@pytest.fixture
def world(client, people):
    """Tickets in every queue, each placed by hand (no routing job runs)."""
    p, disp = people, people["disp"]
    t = {}

    def placed(name, lead, assisting=(), who=None, **overrides):
        t[name] = _register(client, who or p["op"], **overrides)
        _do(client, disp, t[name], "dispatch", lead_unit=lead, assisting_units=list(assisting))

    placed("normal", "yueqing.power")                      # 签收 within 4 office hours
    placed("critical", "yueqing.power", urgency="critical")  # within 0.5 h, day and night
    placed("urgent", "yueqing.power", urgency="urgent")      # within 1 office hour
    placed("assisted", "yueqing.rsj", ["yueqing.power"])
    placed("centre", "yueqing.rsj", who=p["centre"], channel="town_centre")
    placed("extension", "yueqing.power")
    ticket = _do(client, p["power"], t["extension"], "accept")
    due = datetime.fromisoformat(ticket["deadlines"]["resolve_due_at"])
    _do(client, p["power"], t["extension"], "extension", new_due_at=_working(due + timedelta(days=3)).isoformat(),
        reason="需要等待设备到货")
    placed("refused", "yueqing.power")
    _do(client, p["power"], t["refused"], "refuse", reason="not_our_function", note="非本单位职能")
    t["waiting"] = _register(client, p["op2"])
    placed("resolved", "yueqing.power")
    _do(client, p["power"], t["resolved"], "accept")
    _do(client, p["power"], t["resolved"], "resolve", opinion="已恢复供电。")
    placed("late", "yueqing.power", received_at=(datetime.now(SH) - timedelta(days=30)).isoformat())
    _do(client, p["power"], t["late"], "accept")
    _do(client, p["boss"], t["late"], "supervise", level="red", note="超期")
    return t


def listed(client, who, query: str | dict, *, limit: int = 2) -> list[int]:
    """Every ticket the list answers, page after page."""
    out, cursor = [], None
    pairs = parse_qsl(query) if isinstance(query, str) else list(query.items())
    while True:
        params = [*pairs, ("limit", limit), *([("cursor", cursor)] if cursor else [])]
        r = client.get("/api/v1/tickets", params=params, headers=who)
        assert r.status_code == 200, (query, r.text)
        out += [item["id"] for item in r.json()["items"]]
        if not (cursor := r.json()["next_cursor"]):
            return out


def test_a_handler_sees_what_needs_its_signature_first_by_deadline(client, people, world):
    t = world
    queue = listed(client, people["power"], "awaiting=accept&role_of_unit=lead&sort=accept_due_at")
    assert queue == [t["critical"], t["urgent"], t["normal"]]
    # Without role_of_unit, 待签收 also lists what the unit only assists (another unit signs for it).
    assert set(listed(client, people["power"], "awaiting=accept")) == {t["critical"], t["urgent"], t["normal"],
                                                                        t["assisted"]}
    # Labels are taken for codes.
    assert listed(client, people["power"], {"status": "待签收", "role_of_unit": "lead", "sort": "accept_due_at"}) == queue


def test_lead_assist_and_registered_are_apart(client, people, world):
    t = world
    lead = {t[k] for k in ("normal", "critical", "urgent", "extension", "refused", "resolved", "late")}
    assert set(listed(client, people["power"], "role_of_unit=lead")) == lead
    assert listed(client, people["power"], "role_of_unit=assist") == [t["assisted"]]
    assert listed(client, people["power"], "role_of_unit=registered") == []
    assert set(listed(client, people["power"], "role_of_unit=lead&role_of_unit=assist")) == lead | {t["assisted"]}
    assert listed(client, people["centre"], "role_of_unit=registered") == [t["centre"]]
    assert listed(client, people["centre"], "role_of_unit=lead") == []
    assert set(listed(client, people["rsj"], "role_of_unit=lead")) == {t["assisted"], t["centre"]}
    # Other roles name the unit the role is relative to.
    r = client.get("/api/v1/tickets?role_of_unit=assist", headers=people["disp"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "role_of_unit"
    assert listed(client, people["disp"], "role_of_unit=assist&unit=yueqing.power") == [t["assisted"]]
    assert listed(client, people["disp"], "role_of_unit=registered&unit=tc.yueqing_liushi") == [t["centre"]]


def test_due_within_lists_the_current_step_falling_due_and_not_yet_past(client, people, world):
    t = world
    soon = listed(client, people["power"], "due_within=2h&role_of_unit=lead")
    assert t["critical"] in soon  # 签收 within half an hour
    assert t["normal"] not in soon  # 4 office hours are at least 4 hours
    assert t["late"] not in soon  # its 办结 deadline has passed: overdue, not due soon
    later = listed(client, people["power"], "due_within=300d&role_of_unit=lead")
    assert {t["normal"], t["critical"], t["urgent"], t["extension"], t["refused"]} <= set(later)
    assert t["late"] not in later and t["resolved"] not in later
    assert listed(client, people["disp"], "overdue=true") == [t["late"]]
    for bad in ("5x", "0h", "9999d", "h", "-3d", "1.5h"):
        r = client.get("/api/v1/tickets", params={"due_within": bad}, headers=people["disp"])
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "due_within", bad


def test_a_dispatcher_lists_the_extension_requests_waiting(client, people, world):
    t = world
    assert listed(client, people["disp"], "awaiting=extension_decision") == [t["extension"]]
    assert listed(client, people["disp"], "awaiting=refusal_review") == [t["refused"]]
    assert listed(client, people["disp"], "awaiting=dispatch") == [t["waiting"]]
    assert listed(client, people["disp"], "awaiting=feedback") == [t["resolved"]]
    _do(client, people["disp"], t["extension"], "extension/approve")
    assert listed(client, people["disp"], "awaiting=extension_decision") == []


EXPECTED_TABS = {
    "power": ["to_accept", "in_progress", "awaiting_review", "assisting", "due_soon", "resolved"],
    "rsj": ["to_accept", "in_progress", "awaiting_review", "assisting", "due_soon", "resolved"],
    "centre": ["to_accept", "in_progress", "awaiting_review", "assisting", "due_soon", "resolved"],
    "disp": ["to_dispatch", "refusal_review", "extension_decision", "overdue", "feedback", "resolved"],
    "op": ["feedback", "registered", "overdue"], "op2": ["feedback", "registered", "overdue"],
    "boss": ["overdue", "supervised"], "admin": ["overdue", "supervised"],
}


def test_summary_counts_equal_the_lists_of_their_queries(client, people, world):
    counts = {}
    for who, keys in EXPECTED_TABS.items():
        r = client.get("/api/v1/queues/summary", headers=people[who])
        assert r.status_code == 200, r.text
        body = r.json()
        assert [tab["key"] for tab in body["tabs"]] == keys, who
        for tab in body["tabs"]:
            assert tab["label"] and tab["count"] == len(listed(client, people[who], tab["query"])), (who, tab)
        counts[who] = {tab["key"]: tab["count"] for tab in body["tabs"]}
        if who in ("power", "rsj", "centre"):
            assert body["role"] == {"code": "handler", "label": "承办人"} and body["unit"]["code"]
        else:
            assert body["unit"] is None
    assert counts["power"] == {"to_accept": 3, "in_progress": 2, "awaiting_review": 2, "assisting": 1,
                               "due_soon": counts["power"]["due_soon"], "resolved": 1}
    assert counts["power"]["due_soon"] >= 1  # the 特急 ticket's 签收
    assert counts["rsj"]["to_accept"] == 2 and counts["centre"]["to_accept"] == 0
    assert counts["disp"] == {"to_dispatch": 1, "refusal_review": 1, "extension_decision": 1, "overdue": 1,
                              "feedback": 1, "resolved": 1}
    assert counts["op"]["registered"] == 8 and counts["op2"]["registered"] == 1
    assert counts["boss"] == counts["admin"] == {"overdue": 1, "supervised": 1}
