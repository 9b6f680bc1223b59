"""From 签收 to 归档 over HTTP: each action by the right people, in the right state, on record."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from models import Role
from service.domain.workdays import day_info
from tests.factories import login, ticket_body


@pytest.fixture
def people(client):
    return {
        "op": login(client, "op"),
        "disp": login(client, "disp", Role.DISPATCHER),
        "boss": login(client, "boss", Role.LEADER),
        "power": login(client, "power", Role.HANDLER, "yueqing.power"),
        "rsj": login(client, "rsj", Role.HANDLER, "yueqing.rsj"),
        "jxj": login(client, "jxj", Role.HANDLER, "yueqing.jxj"),
    }


@pytest.fixture
def assigned(client, people, run_jobs):
    """A 停电 ticket routed to the 乐清 supply company."""
    t = client.post("/api/v1/tickets", json=ticket_body(), headers=people["op"]).json()
    run_jobs()
    got = client.get(f"/api/v1/tickets/{t['id']}", headers=people["power"]).json()
    assert got["status"]["code"] == "assigned" and got["lead_unit"]["code"] == "yueqing.power"
    return got


def do(client, who, ticket, action, **body):
    return client.post(f"/api/v1/tickets/{ticket['id']}/{action}", json=body, headers=who)


def codes(resp):
    return [a["code"] for a in resp.json()["allowed_actions"]]


def test_happy_path_to_archive(client, people, assigned):
    assert assigned["deadlines"]["accept_due_at"] and assigned["deadlines"]["resolve_due_at"]
    assert codes(client.get(f"/api/v1/tickets/{assigned['id']}", headers=people["power"])) == ["accept", "refuse"]
    r = do(client, people["power"], assigned, "accept", note="已联系企业")
    assert r.status_code == 200 and r.json()["status"]["code"] == "in_progress"
    assert set(codes(r)) == {"request_extension", "resolve"}
    r = do(client, people["power"], assigned, "resolve", opinion="已更换跳闸开关，恢复供电。")
    assert r.json()["status"]["code"] == "resolved" and r.json()["work"]["opinion"].startswith("已更换")
    r = do(client, people["op"], assigned, "feedback", satisfaction="satisfied", solved=True)
    assert r.json()["work"]["feedback"]["satisfaction"] == {"code": "satisfied", "label": "满意"}
    assert "reopen" not in codes(client.get(f"/api/v1/tickets/{assigned['id']}", headers=people["disp"]))
    r = do(client, people["op"], assigned, "close")
    assert r.json()["status"]["code"] == "closed" and codes(r) == []
    detail = client.get(f"/api/v1/tickets/{assigned['id']}", headers=people["op"]).json()
    assert [e["kind"] for e in detail["history"]] == ["created", "routed", "accepted", "resolved", "feedback",
                                                      "closed"]
    kinds = {s["kind"] for s in detail["clocks"]["segments"]}
    assert {"dispatch", "accept", "handle"} <= kinds


def test_wrong_state_is_409_with_allowed_actions(client, people, assigned):
    r = do(client, people["power"], assigned, "resolve", opinion="还没签收就办结")
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "invalid_transition" and body["status"] == "assigned"
    assert body["allowed_actions"] == ["accept", "refuse"]


def test_wrong_unit_or_role_is_403(client, people, assigned, run_jobs):
    # The ticket is not the 人社局's: it cannot even see it.
    assert do(client, people["rsj"], assigned, "accept").status_code == 404
    assert do(client, people["op"], assigned, "accept").status_code == 403
    assert do(client, people["boss"], assigned, "transfer", lead_unit="yueqing.rsj").status_code == 403


def test_refusal_approved_transfers_to_another_unit(client, people, assigned):
    r = do(client, people["power"], assigned, "refuse", reason="not_our_function", note="属于劳动纠纷")
    assert r.status_code == 200 and r.json()["status"]["code"] == "refuse_review"
    assert r.json()["work"]["pending_refusal"]["label"] == "职能不符"
    bad = do(client, people["power"], assigned, "refuse", reason="because")
    assert bad.status_code == 422 and "not_our_function" in bad.json()["detail"][0]["message"]
    r = do(client, people["disp"], assigned, "refusal/approve", lead_unit="yueqing.rsj", note="改派人社")
    assert r.status_code == 200 and r.json()["lead_unit"]["code"] == "yueqing.rsj"
    assert r.json()["status"]["code"] == "assigned"
    # the old unit no longer sees it; the new one does and may sign
    assert client.get(f"/api/v1/tickets/{assigned['id']}", headers=people["power"]).status_code == 404
    assert do(client, people["rsj"], assigned, "accept").status_code == 200


def test_refusal_overruled_stays_with_the_unit(client, people, assigned):
    do(client, people["power"], assigned, "refuse", reason="not_our_area")
    r = do(client, people["disp"], assigned, "refusal/overrule", note="属于供电范围")
    assert r.json()["status"]["code"] == "in_progress" and r.json()["lead_unit"]["code"] == "yueqing.power"
    assert do(client, people["power"], assigned, "refuse", reason="not_our_area").status_code == 409


def _working(instant: datetime) -> datetime:
    """The same time on the first working day from instant's day (a 延期 to a weekend or holiday is refused)."""
    while not day_info(instant.date())[0]:
        instant += timedelta(days=1)
    return instant


def test_extension_requested_then_approved_or_denied(client, people, assigned):
    do(client, people["power"], assigned, "accept")
    old_due = datetime.fromisoformat(assigned["deadlines"]["resolve_due_at"])
    early = (old_due - timedelta(days=1)).isoformat()
    bad = do(client, people["power"], assigned, "extension", new_due_at=early, reason="需要更换变压器")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "new_due_at"
    new_due = _working(old_due + timedelta(days=5)).isoformat()
    r = do(client, people["power"], assigned, "extension", new_due_at=new_due, reason="需要更换变压器")
    assert r.status_code == 200 and r.json()["work"]["pending_extension"]["reason"] == "需要更换变压器"
    assert do(client, people["power"], assigned, "extension", new_due_at=new_due,
              reason="再次申请").status_code == 409
    r = do(client, people["disp"], assigned, "extension/approve")
    assert datetime.fromisoformat(r.json()["deadlines"]["resolve_due_at"]) == datetime.fromisoformat(new_due)
    assert r.json()["work"]["pending_extension"] is None
    r = do(client, people["power"], assigned, "extension",
           new_due_at=_working(old_due + timedelta(days=9)).isoformat(), reason="设备未到货")
    r = do(client, people["disp"], assigned, "extension/deny", note="不同意")
    assert datetime.fromisoformat(r.json()["deadlines"]["resolve_due_at"]) == datetime.fromisoformat(new_due)


def test_unsatisfied_feedback_reopens_with_a_new_deadline(client, people, assigned):
    do(client, people["power"], assigned, "accept")
    do(client, people["power"], assigned, "resolve", opinion="已处理")
    assert do(client, people["disp"], assigned, "reopen", reason="企业不满意").status_code == 409  # no feedback yet
    do(client, people["op"], assigned, "feedback", satisfaction="unsatisfied", solved=False, comment="仍然经常跳闸")
    r = do(client, people["disp"], assigned, "reopen", reason="企业反映仍然跳闸")
    assert r.status_code == 200
    t = r.json()
    assert t["status"]["code"] == "in_progress" and t["work"]["reopen_count"] == 1
    assert datetime.fromisoformat(t["deadlines"]["resolve_due_at"]) > datetime.now(UTC)
    assert t["work"]["feedback"] is None


def test_instant_resolution_at_intake(client, people, session):
    body = ticket_body(request_type="consult", title="研发费用加计扣除比例", instant_answer="制造业企业按100%加计扣除，已告知。")
    r = client.post("/api/v1/tickets", json=body, headers=people["op"])
    assert r.status_code == 201 and r.json()["status"]["code"] == "resolved"
    assert r.json()["lead_unit"] is None
    from service import queues

    assert queues.queue(queues.ROUTING).count == 0  # nothing to route


def test_flags_by_hand(client, people, assigned):
    r = do(client, people["boss"], assigned, "supervise", level="red", note="领导督办")
    assert r.json()["deadlines"]["supervision"] == {"code": "red", "label": "红灯督办"}
    r = do(client, people["disp"], assigned, "remind")
    assert r.json()["deadlines"]["reminded_at"] and r.json()["status"]["code"] == "assigned"


def test_stale_version_is_409(client, people, assigned):
    r = do(client, people["power"], assigned, "accept", expected_version=assigned["version"] - 1)
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    assert do(client, people["power"], assigned, "accept", expected_version=assigned["version"]).status_code == 200


def test_twenty_parallel_accepts_exactly_one_wins(client, people, assigned):
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: do(client, people["power"], assigned, "accept"), range(20)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 1 and statuses.count(409) == 19
    history = client.get(f"/api/v1/tickets/{assigned['id']}", headers=people["op"]).json()["history"]
    assert [e["kind"] for e in history].count("accepted") == 1


def test_an_instantly_resolved_ticket_is_not_offered_a_reopen(client):
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    t = client.post("/api/v1/tickets", json=ticket_body(instant_answer="已当场答复政策口径。"), headers=op).json()
    fb = client.post(f"/api/v1/tickets/{t['id']}/feedback", json={"satisfaction": "unsatisfied", "solved": False},
                     headers=op)
    assert fb.status_code == 200, fb.text
    got = client.get(f"/api/v1/tickets/{t['id']}", headers=disp).json()
    assert "reopen" not in [a["code"] for a in got["allowed_actions"]]
    r = client.post(f"/api/v1/tickets/{t['id']}/reopen", json={"reason": "企业不满意"}, headers=disp)
    assert r.status_code == 409 and "no unit to reopen" in r.json()["detail"]
