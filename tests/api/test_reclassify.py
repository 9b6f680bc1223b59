"""改类: a dispatcher corrects a ticket's category, request type, place or enterprise, with a reason on record; the
statistics count the ticket under its new values and the deadlines move only where the SLA table says."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import Role
from service.pipeline import sla
from service.pipeline.stats.verify import verify
from tests.factories import login, make_uscc, ticket_body
from workers import jobs

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def people(client):
    return {"op": login(client, "op"), "disp": login(client, "disp", Role.DISPATCHER),
            "boss": login(client, "boss", Role.LEADER), "admin": login(client, "admin", Role.ADMIN),
            "power": login(client, "power", Role.HANDLER, "yueqing.power"),
            "rsj": login(client, "rsj", Role.HANDLER, "yueqing.rsj")}


def _register(client, who, n: int, **overrides) -> dict:
    body = ticket_body(**{"enterprise": {"name": f"改类测试{n}有限公司", "uscc": make_uscc(700 + n)}, **overrides})
    r = client.post("/api/v1/tickets", json=body, headers=who)
    assert r.status_code == 201, r.text
    return r.json()


def _reclassify(client, who, ticket_id: int, **body):
    return client.post(f"/api/v1/tickets/{ticket_id}/reclassify", json=body, headers=who)


def _by(body: dict) -> dict:
    return {g["key"]: g["metrics"] for g in body["groups"]}


def test_a_correction_is_recorded_with_its_reason_and_both_values(client, people):
    t = _register(client, people["op"], 1, category="factor")
    r = _reclassify(client, people["disp"], t["id"], category="法律维权", request_type="投诉", town="ruian_tangxia",
                    reason="企业反映的是商标侵权，登记有误")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["category"] == {"code": "legal", "label": "法律维权"}
    assert got["request_type"]["code"] == "complaint"
    assert got["town"]["code"] == "ruian_tangxia" and got["county"]["code"] == "ruian"  # a town names its county
    event = got["history"][-1]
    assert event["kind"] == "reclassified" and event["kind_label"] == "改类" and event["actor"] == "disp"
    assert event["payload"]["reason"] == "企业反映的是商标侵权，登记有误"
    assert event["payload"]["before"] == {"category": "factor", "request_type": "help", "county": "yueqing",
                                          "town": "yueqing_liushi"}
    assert event["payload"]["after"] == {"category": "legal", "request_type": "complaint", "county": "ruian",
                                         "town": "ruian_tangxia"}
    assert got["version"] == t["version"] + 1
    assert client.get(f"/api/v1/tickets/{t['id']}", headers=people["op"]).json()["history"] == got["history"]
    # A county alone keeps the town only when the town lies in it; `town: null` clears it.
    r = _reclassify(client, people["disp"], t["id"], county="yueqing", reason="属地更正")
    assert r.json()["county"]["code"] == "yueqing" and r.json()["town"] is None
    r = _reclassify(client, people["disp"], t["id"], town="yueqing_liushi", reason="属地更正")
    r = _reclassify(client, people["disp"], t["id"], town=None, reason="镇街不明")
    assert r.status_code == 200 and r.json()["town"] is None and r.json()["county"]["code"] == "yueqing"


def test_the_statistics_move_the_ticket_to_its_new_values(client, people, run_jobs, session):
    op, disp = people["op"], people["disp"]
    moved = _register(client, op, 2, category="factor")
    _register(client, op, 3, category="factor")
    _register(client, op, 4, category="legal", title="商标被抢注", description="我司商标在外地被他人抢注，请求帮助维权。")
    run_jobs()
    _do = lambda action, **b: client.post(f"/api/v1/tickets/{moved['id']}/{action}", json=b,  # noqa: E731
                                          headers=people["power"])
    assert _do("accept").status_code == 200 and _do("resolve", opinion="已恢复供电").status_code == 200
    run_jobs()
    jobs.refresh_stats()
    query = "/api/v1/stats/summary?group_by=category"
    before = client.get(query, headers=people["boss"]).json()
    assert _by(before)["factor"]["received"] == 2 and _by(before)["factor"]["resolved"] == 1
    assert _by(before)["legal"]["received"] == 1 and _by(before)["legal"]["resolved"] == 0
    r = _reclassify(client, disp, moved["id"], category="legal", request_type="complaint", reason="实为维权诉求")
    assert r.status_code == 200, r.text
    run_jobs()
    jobs.refresh_stats()
    after = client.get(query, headers=people["boss"]).json()
    assert after["totals"]["received"] == before["totals"]["received"] == 3
    assert after["totals"]["resolved"] == before["totals"]["resolved"] == 1
    assert _by(after)["factor"]["received"] == 1 and _by(after)["factor"]["resolved"] == 0
    assert _by(after)["legal"]["received"] == 2 and _by(after)["legal"]["resolved"] == 1
    by_type = _by(client.get("/api/v1/stats/summary?group_by=request_type", headers=people["boss"]).json())
    assert by_type["complaint"]["received"] == 1 and by_type["help"]["received"] == 2
    # The counts by dimension still add up to the totals, and the rollups equal a direct count of the events.
    assert sum(m["received"] for m in _by(after).values()) == after["totals"]["received"]
    assert verify(session) == []


def test_a_changed_request_type_recounts_the_deadlines_the_table_set_from_it(client, people):
    op, disp = people["op"], people["disp"]
    received = (datetime.now(SH) - timedelta(hours=1)).replace(microsecond=0)
    t = _register(client, op, 5, received_at=received.isoformat(), title="咨询一般事项",
                  description="想了解一下有关事项的办理情况。")
    placed = client.post(f"/api/v1/tickets/{t['id']}/dispatch", json={"lead_unit": "yueqing.power"}, headers=disp)
    assert placed.status_code == 200, placed.text
    old_due = placed.json()["deadlines"]["resolve_due_at"]
    assigned_at = datetime.fromisoformat(placed.json()["work"]["assigned_at"])
    r = _reclassify(client, disp, t["id"], request_type="suggestion", reason="实为建议")  # help 7 days -> 10
    assert r.status_code == 200, r.text
    due = r.json()["deadlines"]
    expected_resolve = sla.resolve_deadlines(received, 10)[0]
    expected_accept = sla.accept_deadline(assigned_at, 8, "normal")[0]  # 建议: 8 office hours to sign
    assert datetime.fromisoformat(due["resolve_due_at"]) == expected_resolve
    assert datetime.fromisoformat(due["accept_due_at"]) == expected_accept
    payload = r.json()["history"][-1]["payload"]
    assert datetime.fromisoformat(payload["before"]["resolve_due_at"]) == datetime.fromisoformat(old_due)
    assert datetime.fromisoformat(payload["after"]["resolve_due_at"]) == expected_resolve
    # A category, a place or an enterprise sets no limit: the deadlines stay.
    r = _reclassify(client, disp, t["id"], category="policy", town="yueqing_hongqiao", reason="分类更正")
    assert r.json()["deadlines"]["resolve_due_at"] == due["resolve_due_at"]
    assert "resolve_due_at" not in r.json()["history"][-1]["payload"]["after"]


def test_urgency_and_a_set_date_keep_their_deadlines(client, people):
    op, disp, power = people["op"], people["disp"], people["power"]
    urgent = _register(client, op, 6, urgency="urgent")
    placed = client.post(f"/api/v1/tickets/{urgent['id']}/dispatch", json={"lead_unit": "yueqing.power"}, headers=disp)
    r = _reclassify(client, disp, urgent["id"], request_type="complaint", reason="实为投诉")
    assert r.json()["deadlines"]["resolve_due_at"] == placed.json()["deadlines"]["resolve_due_at"]  # urgency rules
    closed = _register(client, op, 7, instant_answer="已当场答复企业。")
    r = _reclassify(client, disp, closed["id"], request_type="consult", reason="实为咨询")
    assert r.status_code == 200 and r.json()["request_type"]["code"] == "consult"  # resolved: nothing to recount
    assert r.json()["deadlines"]["resolve_due_at"] is None


def test_the_enterprise_can_be_corrected(client, people):
    op, disp = people["op"], people["disp"]
    wrong = _register(client, op, 8)
    right = _register(client, op, 9, enterprise={"name": "乐清市正确电气有限公司", "uscc": make_uscc(799)})
    r = _reclassify(client, disp, wrong["id"], enterprise_id=right["enterprise"]["id"], reason="登记错了企业")
    assert r.status_code == 200, r.text
    assert r.json()["enterprise"]["id"] == right["enterprise"]["id"]
    assert r.json()["enterprise"]["name"] == "乐清市正确电气有限公司"
    payload = r.json()["history"][-1]["payload"]
    assert payload["before"]["enterprise"]["id"] == wrong["enterprise"]["id"]
    found = client.get("/api/v1/tickets", params={"q": "正确电气"}, headers=op).json()["items"]
    assert sorted(t["id"] for t in found) == sorted([wrong["id"], right["id"]])
    assert client.get("/api/v1/tickets", params={"q": "改类测试8"}, headers=op).json()["items"] == []
    # The caller now belongs to the right enterprise: the phone's screen-pop names it alone.
    callers = client.get("/api/v1/callers", params={"phone": "13800138000"}, headers=op)
    assert callers.status_code == 200, callers.text
    assert [e["enterprise"]["id"] for e in callers.json()["enterprises"]] == [right["enterprise"]["id"]]


@pytest.mark.parametrize("who", ["op", "boss", "admin", "power"])
def test_only_a_dispatcher_reclassifies(client, people, run_jobs, who):
    t = _register(client, people["op"], 10, category="factor")
    run_jobs()  # 停电: routed to the supply company, whose handler sees it
    r = _reclassify(client, people[who], t["id"], category="legal", reason="试图更正")
    assert r.status_code == 403, r.text
    assert client.get(f"/api/v1/tickets/{t['id']}", headers=people["op"]).json()["category"]["code"] == "factor"
    # A handler who cannot see the ticket is told it does not exist.
    assert _reclassify(client, people["rsj"], t["id"], category="legal", reason="试图更正").status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"category": "legal"}, "reason"),
    ({"category": "legal", "reason": "x"}, "reason"),
    ({"category": "legal", "reason": "理" * 501}, "reason"),
    ({"category": "nonsense", "reason": "更正"}, "category"),
    ({"request_type": "bogus", "reason": "更正"}, "request_type"),
    ({"town": "ruian_tangxia", "county": "yueqing", "reason": "更正"}, "town"),
    ({"county": "atlantis", "reason": "更正"}, "county"),
    ({"enterprise_id": 999999, "reason": "更正"}, "enterprise_id"),
    ({"enterprise_id": 2**63, "reason": "更正"}, "enterprise_id"),
    ({"enterprise_id": "one", "reason": "更正"}, "enterprise_id"),
    ({"category": "factor", "reason": "更正"}, "body"),  # nothing changes
    ({"reason": "更正"}, "body"),
    ({"colour": "red", "reason": "更正"}, "colour"),
    ({"category": "legal", "reason": "更正", "version": 0}, "version"),
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(client, people, body, field):
    t = _register(client, people["op"], 11, category="factor")
    r = _reclassify(client, people["disp"], t["id"], **body)
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["detail"]] == [field], r.text
    after = client.get(f"/api/v1/tickets/{t['id']}", headers=people["op"]).json()
    assert after["version"] == t["version"] and after["category"]["code"] == "factor"


def test_a_stale_version_is_409(client, people):
    t = _register(client, people["op"], 12)
    r = _reclassify(client, people["disp"], t["id"], category="legal", reason="更正", version=t["version"] + 5)
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    r = _reclassify(client, people["disp"], t["id"], category="legal", reason="更正", version=t["version"])
    assert r.status_code == 200
    assert _reclassify(client, people["disp"], 2**62, category="legal", reason="更正").status_code == 404
