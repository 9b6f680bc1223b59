"""即时办结 and 办结 cite a knowledge article: the citation is on the event; a stale or unknown one is refused."""
from __future__ import annotations

from datetime import timedelta

import pytest

from models import Role
from service.pipeline.knowledge import today
from tests.factories import login, ticket_body

TODAY = today()  # the service's day (Beijing), which validity dates are read in
ANSWER = "已电话告知企业小微企业所得税优惠的适用条件和享受方式，企业表示清楚。"


@pytest.fixture
def people(client):
    return {
        "admin": login(client, "cite-admin", Role.ADMIN),
        "op": login(client, "cite-op"),
        "power": login(client, "cite-power", Role.HANDLER, "yueqing.power"),
    }


def write(client, who, **fields) -> dict:
    body = {"title": "小型微利企业所得税优惠", "category": "policy", "owner_unit": "city.tax",
            "body": "年应纳税所得额不超过300万元的部分，减按25%计入应纳税所得额，按20%的税率缴纳企业所得税。",
            "review_by": str(TODAY + timedelta(days=90)), **fields}
    r = client.post("/api/v1/knowledge", json=body, headers=who)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def articles(client, people) -> dict:
    yesterday = str(TODAY - timedelta(days=1))
    return {
        "fresh": write(client, people["admin"]),
        "expired": write(client, people["admin"], title="阶段性缓缴社会保险费", valid_from="2022-04-01",
                         valid_until=yesterday),
        "overdue": write(client, people["admin"], title="旧版稳岗返还口径", review_by=yesterday),
        "future": write(client, people["admin"], title="明年起施行的新政策", valid_from=str(TODAY + timedelta(days=30))),
        "template": write(client, people["power"], kind="reply_template", title="停电抢修办结答复", owner_unit=None,
                          category="factor", body="已派抢修人员到场处理，恢复供电。"),
    }


def history(client, who, ticket_id: int, kind: str) -> dict:
    detail = client.get(f"/api/v1/tickets/{ticket_id}", headers=who).json()
    return next(e for e in detail["history"] if e["kind"] == kind)


def ticket_count(client, who) -> int:
    return len(client.get("/api/v1/tickets", headers=who).json()["items"])


def test_an_instant_answer_at_intake_cites_its_article(client, people, articles):
    fresh = articles["fresh"]
    r = client.post("/api/v1/tickets", json=ticket_body(
        title="小微企业所得税优惠咨询", instant_answer=ANSWER, instant_answer_article_id=fresh["id"]), headers=people["op"])
    assert r.status_code == 201, r.text
    assert r.json()["status"]["code"] == "resolved"
    event = history(client, people["op"], r.json()["id"], "instant_resolved")
    assert event["payload"]["answer"] == ANSWER
    assert {k: event["payload"][k] for k in ("article_id", "article_version", "article_title")} == {
        "article_id": fresh["id"], "article_version": 1, "article_title": "小型微利企业所得税优惠"}

    # The citation names the version answered from: a later edit does not rewrite it.
    edited = client.put(f"/api/v1/knowledge/{fresh['id']}", json={
        "title": "小型微利企业所得税优惠（2027年起）", "body": "新口径。", "category": "policy", "owner_unit": "city.tax",
        "review_by": str(TODAY + timedelta(days=90)), "version": 1}, headers=people["admin"])
    assert edited.status_code == 200
    again = history(client, people["op"], r.json()["id"], "instant_resolved")["payload"]
    assert (again["article_version"], again["article_title"]) == (1, "小型微利企业所得税优惠")


def test_instant_resolve_and_resolve_cite_articles(client, people, articles, run_jobs):
    op, power = people["op"], people["power"]
    new = client.post("/api/v1/tickets", json=ticket_body(title="所得税优惠咨询", external_id="cite-1"), headers=op)
    ticket_id = new.json()["id"]
    r = client.post(f"/api/v1/tickets/{ticket_id}/instant-resolve",
                    json={"answer": ANSWER, "article_id": articles["fresh"]["id"]}, headers=op)
    assert r.status_code == 200, r.text
    payload = history(client, op, ticket_id, "instant_resolved")["payload"]
    assert (payload["article_id"], payload["article_version"]) == (articles["fresh"]["id"], 1)

    routed = client.post("/api/v1/tickets", json=ticket_body(external_id="cite-2"), headers=op).json()
    run_jobs()
    assert client.post(f"/api/v1/tickets/{routed['id']}/accept", json={}, headers=power).status_code == 200
    template = articles["template"]
    done = client.post(f"/api/v1/tickets/{routed['id']}/resolve",
                       json={"opinion": "已派抢修人员到场处理，恢复供电。", "article_id": template["id"]}, headers=power)
    assert done.status_code == 200, done.text
    payload = history(client, op, routed["id"], "resolved")["payload"]
    assert payload["opinion"].startswith("已派抢修")
    assert (payload["article_id"], payload["article_version"], payload["article_title"]) == (
        template["id"], 1, "停电抢修办结答复")

    plain = client.post("/api/v1/tickets", json=ticket_body(external_id="cite-3", title="不引用"), headers=op).json()
    client.post(f"/api/v1/tickets/{plain['id']}/instant-resolve", json={"answer": ANSWER}, headers=op)
    assert "article_id" not in history(client, op, plain["id"], "instant_resolved")["payload"]


@pytest.mark.parametrize("which", ["expired", "overdue", "future", "unknown"])
def test_a_stale_or_unknown_article_is_refused_and_nothing_is_written(client, people, articles, which, run_jobs):
    op, power = people["op"], people["power"]
    article_id = 987654 if which == "unknown" else articles[which]["id"]
    before = ticket_count(client, op)
    r = client.post("/api/v1/tickets", json=ticket_body(instant_answer=ANSWER, instant_answer_article_id=article_id),
                    headers=op)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["field"] == "instant_answer_article_id" and detail["message_zh"]
    assert {"expired": "已过有效期", "overdue": "已超过复核日期", "future": "尚未生效",
            "unknown": "没有"}[which] in detail["message_zh"]
    assert ticket_count(client, op) == before

    new = client.post("/api/v1/tickets", json=ticket_body(external_id=f"stale-{which}"), headers=op).json()
    r = client.post(f"/api/v1/tickets/{new['id']}/instant-resolve", json={"answer": ANSWER, "article_id": article_id},
                    headers=op)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "article_id"
    after = client.get(f"/api/v1/tickets/{new['id']}", headers=op).json()
    assert after["status"]["code"] == "new" and [e["kind"] for e in after["history"]] == ["created"]

    run_jobs()
    assert client.post(f"/api/v1/tickets/{new['id']}/accept", json={}, headers=power).status_code == 200
    r = client.post(f"/api/v1/tickets/{new['id']}/resolve", json={"opinion": "已处理。", "article_id": article_id},
                    headers=power)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "article_id"
    assert client.get(f"/api/v1/tickets/{new['id']}", headers=op).json()["status"]["code"] == "in_progress"


def test_citing_needs_an_answer_and_a_sane_id(client, people, articles):
    op = people["op"]
    before = ticket_count(client, op)
    r = client.post("/api/v1/tickets", json=ticket_body(instant_answer_article_id=articles["fresh"]["id"]),
                    headers=op)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "instant_answer_article_id"
    for bad in (0, -1, 2**63, "abc"):
        r = client.post("/api/v1/tickets", json=ticket_body(instant_answer=ANSWER, instant_answer_article_id=bad),
                        headers=op)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"][0]["field"] == "instant_answer_article_id"
    assert ticket_count(client, op) == before
    new = client.post("/api/v1/tickets", json=ticket_body(external_id="sane"), headers=op).json()
    for bad in (0, 2**63, "x"):
        r = client.post(f"/api/v1/tickets/{new['id']}/instant-resolve", json={"answer": ANSWER, "article_id": bad},
                        headers=op)
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "article_id"
