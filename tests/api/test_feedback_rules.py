"""回访 and 归档: one 回访 per resolution (a correction replaces it in every number), and no 归档 without a 回访
or a recorded reason why there was none; a 不满意 or 未解决 回访 leaves 归档 to a dispatcher's decision."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from models import Role
from service import db
from service.config import get_settings
from service.pipeline.stats import rollup
from service.pipeline.stats import query as stats_query
from service.pipeline.stats.verify import verify
from tests.factories import login, make_uscc, ticket_body
from workers import jobs


@pytest.fixture
def people(client):
    return {"op": login(client, "op"), "disp": login(client, "disp", Role.DISPATCHER),
            "boss": login(client, "boss", Role.LEADER),
            "power": login(client, "power", Role.HANDLER, "yueqing.power")}


@pytest.fixture
def resolved(client, people, run_jobs):
    """A factory of tickets resolved by the 乐清 supply company."""
    n = iter(range(10, 99))

    def make() -> dict:
        i = next(n)
        t = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": f"乐清市回访{i}厂", "uscc": make_uscc(i)}),
                        headers=people["op"]).json()
        run_jobs()
        ok(client, people["power"], t, "accept")
        ok(client, people["power"], t, "resolve", opinion="已恢复供电。")
        return t
    return make


def post(client, who, t, action, **body):
    return client.post(f"/api/v1/tickets/{t['id']}/{action}", json=body, headers=who)


def ok(client, who, t, action, **body) -> dict:
    r = post(client, who, t, action, **body)
    assert r.status_code == 200, r.text
    return r.json()


def codes(body: dict) -> set[str]:
    return {a["code"] for a in body["allowed_actions"]}


def totals(client, who) -> dict:
    jobs.refresh_stats()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return client.get(f"/api/v1/stats/summary?from={today.replace(day=1)}&to={today}", headers=who).json()["totals"]


def test_a_second_feedback_is_refused_and_an_amendment_replaces_the_first_in_the_numbers(
        client, people, resolved, session):
    op, boss = people["op"], people["boss"]
    t = resolved()
    first = ok(client, op, t, "feedback", satisfaction="satisfied", solved=True)
    assert "feedback" not in codes(first) and "amend_feedback" in codes(first)
    again = post(client, op, t, "feedback", satisfaction="unsatisfied", solved=False)
    assert again.status_code == 409 and "回访 exists" in again.text
    m = totals(client, boss)
    assert (m["rated"], m["satisfaction_rate"], m["solved_rate"]) == (1, 1.0, 1.0)

    fixed = ok(client, op, t, "feedback/amend", satisfaction="unsatisfied", solved=False, comment="企业更正")
    assert fixed["work"]["feedback"]["satisfaction"]["code"] == "unsatisfied"
    m = totals(client, boss)
    assert (m["rated"], m["satisfaction_rate"], m["solved_rate"]) == (1, 0.0, 0.0)  # replaced, not added
    ok(client, op, t, "feedback/amend", satisfaction="basically_satisfied", solved=True)
    m = totals(client, boss)
    assert (m["rated"], m["satisfaction_rate"], m["solved_rate"]) == (1, 1.0, 1.0)
    history = client.get(f"/api/v1/tickets/{t['id']}", headers=op).json()["history"]
    assert [e["kind"] for e in history].count("feedback_amended") == 2
    # the rollups equal a direct count, and the verification finds nothing
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    direct = stats_query.summary(session, start=today.replace(day=1), end=today, use_rollups=False)["totals"]
    assert direct["rated"] == 1 and direct["satisfaction_rate"] == 1.0
    assert verify(session) == []
    with db.unit() as uow:  # a rebuild from the whole history counts the same
        rollup.rebuild(uow)
        uow.commit()
    assert verify(session) == []


def test_a_new_resolution_after_reopen_gets_its_own_feedback(client, people, resolved):
    op, disp, power = people["op"], people["disp"], people["power"]
    t = resolved()
    ok(client, op, t, "feedback", satisfaction="unsatisfied", solved=False)
    assert post(client, op, t, "feedback/amend", satisfaction="unsatisfied", solved=False).status_code == 200
    ok(client, disp, t, "reopen", reason="企业不满意")
    assert post(client, op, t, "feedback/amend", satisfaction="satisfied", solved=True).status_code == 409
    ok(client, power, t, "resolve", opinion="已更换变压器。")
    ok(client, op, t, "feedback", satisfaction="satisfied", solved=True)
    m = totals(client, people["boss"])
    assert m["rated"] == 2 and m["satisfaction_rate"] == 0.5  # one 回访 per resolution


def test_archiving_needs_a_feedback_or_a_recorded_reason(client, people, resolved):
    op = people["op"]
    t = resolved()
    assert "close" not in codes(client.get(f"/api/v1/tickets/{t['id']}", headers=op).json())
    r = post(client, op, t, "close")
    assert r.status_code == 409 and "回访" in r.text
    ok(client, op, t, "feedback", satisfaction="basically_satisfied", solved=True)
    assert ok(client, op, t, "close")["status"]["code"] == "closed"

    # no answer after N calls (the setting)
    limit = get_settings().feedback_max_attempts
    t = resolved()
    for _ in range(limit - 1):
        body = ok(client, op, t, "feedback/attempt", note="无人接听")
        assert "close" not in codes(body)
    assert post(client, op, t, "close").status_code == 409
    body = ok(client, op, t, "feedback/attempt", note="无人接听")
    assert "close" in codes(body)
    closed = ok(client, op, t, "close")
    history = client.get(f"/api/v1/tickets/{t['id']}", headers=op).json()["history"]
    assert [e["kind"] for e in history].count("feedback_attempt") == limit
    assert closed["status"]["code"] == "closed"

    # the enterprise declined: a reason in the close body
    t = resolved()
    bad = post(client, op, t, "close", declined=True)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "reason"
    assert ok(client, op, t, "close", declined=True, reason="企业表示无需回访")["status"]["code"] == "closed"


def test_unsatisfied_goes_to_a_dispatchers_decision(client, people, resolved):
    op, disp = people["op"], people["disp"]
    for satisfaction, solved in (("unsatisfied", True), ("satisfied", False)):
        t = resolved()
        body = ok(client, op, t, "feedback", satisfaction=satisfaction, solved=solved)
        assert not codes(body) & {"close", "close_declined", "close_by_decision"}
        assert post(client, op, t, "close").status_code in (403, 409)
        assert post(client, op, t, "close", reason="我想归档").status_code == 403
        seen = client.get(f"/api/v1/tickets/{t['id']}", headers=disp).json()
        assert {"reopen", "close_by_decision"} <= codes(seen) and "close" not in codes(seen)
        bad = post(client, disp, t, "close")
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "reason"
        assert ok(client, disp, t, "close", reason="诉求超出政策范围，已向企业解释")["status"]["code"] == "closed"
