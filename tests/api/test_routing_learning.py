"""Learning from dispatchers over HTTP: a hand dispatch teaches the model, disagreements are flagged, rules'
health counts overrides, and only the right roles see any of it."""
from __future__ import annotations

from models import Role, RoutingModel
from service import db
from service.pipeline.suggest import Example, KindModel, unit_kind
from tests.factories import login, ticket_body

ODD = {"title": "鸽舍围挡改造咨询", "description": "我们厂区楼顶的鸽舍围挡要改造，鸽舍围挡的事情归哪个部门管，鸽舍围挡怎么办"}


def _register(client, headers, **fields) -> dict:
    r = client.post("/api/v1/tickets", json=ticket_body(**fields), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _store_model(examples: list[Example]) -> int:
    """An active model trained on the given examples only."""
    model = KindModel.fit(examples)
    with db.unit() as s:
        row = RoutingModel(examples=len(examples), from_events=0, from_corpus=len(examples), params=model.params,
                           active=True)
        s.add(row)
        s.commit()
        return row.version


def test_a_hand_dispatch_teaches_the_model(client, run_jobs):
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    admin = login(client, "admin", Role.ADMIN)
    first = _register(client, op, **ODD)
    run_jobs()
    got = client.get(f"/api/v1/tickets/{first['id']}", headers=disp).json()
    assert got["status"]["code"] == "pending_dispatch", "the ticket must match no rule"
    assert got["routing_suggestion"] is None  # no model yet
    r = client.post(f"/api/v1/tickets/{first['id']}/dispatch", json={"lead_unit": "city.gsl"}, headers=disp)
    assert r.status_code == 200, r.text

    queued = client.post("/api/v1/routing/model/retrain", headers=admin)
    assert queued.status_code == 202, queued.text
    assert run_jobs() >= 1
    status = client.get("/api/v1/routing/model", headers=admin).json()["active"]
    assert status is not None and status["from_events"] == 1 and status["from_corpus"] > 100
    assert status["examples"] == status["from_events"] + status["from_corpus"]

    second = _register(client, op, title="鸽舍围挡的问题", description="厂区楼顶鸽舍围挡改造找谁")
    run_jobs()
    page = client.get("/api/v1/routing/suggestions", params={"status": "pending_dispatch"}, headers=disp).json()
    mine = [t for t in page["items"] if t["id"] == second["id"]]
    assert mine, page
    s = mine[0]["suggestion"]
    assert s["kind"]["code"] == "gsl" and s["kind"]["label"]
    assert unit_kind(s["unit"]["code"]) == "gsl" and s["unit"]["name"]
    assert s["model_version"] == status["version"] and 0 < s["confidence"] <= 1
    assert not s["disagrees"] and s["rule_id"] is None
    detail = client.get(f"/api/v1/tickets/{second['id']}", headers=disp).json()
    assert detail["routing_suggestion"]["kind"]["code"] == "gsl"
    assert detail["status"]["code"] == "pending_dispatch"  # the model never routes


def test_a_strong_disagreement_is_flagged_and_routing_stands(client, run_jobs):
    version = _store_model([Example("厂区停电", "变压器跳闸全厂停电", "help", None, None, "gsl"),
                            Example("商会维权", "民营企业商会维权", "help", None, None, "gsl"),
                            Example("招工难", "招工用工社保", "help", None, None, "rsj")])
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    t = _register(client, op)  # 厂区突然停电: a power rule routes it
    run_jobs()
    got = client.get(f"/api/v1/tickets/{t['id']}", headers=disp).json()
    assert got["status"]["code"] == "assigned" and unit_kind(got["lead_unit"]["code"]) == "power"
    s = got["routing_suggestion"]
    assert s["kind"]["code"] == "gsl" and s["rule_kind"]["code"] == "power" and s["model_version"] == version
    assert s["disagrees"] is (s["confidence"] >= 0.8)
    flags = client.get("/api/v1/routing/flags", headers=disp).json()
    assert [f["id"] for f in flags["items"]] == ([t["id"]] if s["disagrees"] else [])


def test_the_flag_threshold_is_a_setting(client, run_jobs, override_settings):
    override_settings(routing_disagree_confidence=0)
    _store_model([Example("厂区停电", "变压器跳闸全厂停电", "help", None, None, "gsl"),
                  Example("招工难", "招工用工社保", "help", None, None, "rsj")])
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    t = _register(client, op)
    run_jobs()
    flags = client.get("/api/v1/routing/flags", params={"limit": 1}, headers=disp).json()
    assert [f["id"] for f in flags["items"]] == [t["id"]]
    assert flags["items"][0]["suggestion"]["disagrees"] and flags["items"][0]["lead_unit"]["code"]


def test_rule_health_counts_an_override(client, run_jobs):
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    admin = login(client, "admin", Role.ADMIN)
    kept, moved = _register(client, op), _register(client, op, contact={"name": "李", "phone": "13900139000"},
                                                    description="变压器跳闸，整个厂区停电了，请供电公司处理。")
    run_jobs()
    rule = client.get(f"/api/v1/tickets/{kept['id']}", headers=disp).json()["routing"]["rule_id"]
    assert rule and client.get(f"/api/v1/tickets/{moved['id']}", headers=disp).json()["routing"]["rule_id"] == rule
    r = client.post(f"/api/v1/tickets/{moved['id']}/transfer", json={"lead_unit": "city.jxj"}, headers=disp)
    assert r.status_code == 200, r.text
    health = client.get("/api/v1/routing/rule-health", headers=admin)
    assert health.status_code == 200, health.text
    row = next(x for x in health.json()["rules"] if x["rule_id"] == rule)
    assert row["routed"] == 2 and row["overridden"] == 1 and row["override_rate"] == 0.5
    assert row["went_to"] == [{"kind": {"code": "jxj", "label": row["went_to"][0]["kind"]["label"]}, "tickets": 1}]
    assert row["went_to"][0]["kind"]["label"]
    bad = client.get("/api/v1/routing/rule-health", params={"from": "2026-05-02", "to": "2026-05-01"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "to"


def test_roles(client):
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    leader, handler = login(client, "boss", Role.LEADER), login(client, "h", Role.HANDLER, "city.jxj")
    for h in (op, leader, handler):
        assert client.get("/api/v1/routing/suggestions", headers=h).status_code == 403
        assert client.get("/api/v1/routing/flags", headers=h).status_code == 403
    for h in (op, disp, leader, handler):
        assert client.get("/api/v1/routing/rule-health", headers=h).status_code == 403
        assert client.post("/api/v1/routing/model/retrain", headers=h).status_code == 403
    assert client.get("/api/v1/routing/model", headers=leader).json()["active"] is None
    assert client.get("/api/v1/routing/model", headers=op).status_code == 403
    assert client.get("/api/v1/routing/suggestions", headers={}).status_code == 401
    assert client.get("/api/v1/routing/suggestions", params={"status": "nope"}, headers=disp).status_code == 422
    assert client.get("/api/v1/routing/flags", params={"cursor": "zz"}, headers=disp).status_code == 422
