"""The suggestion model: deterministic and JSON-whole, units resolved by kind, labels read from dispatcher events."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from models import Role
from service import db, queues
from service.pipeline import suggest
from service.pipeline.suggest import Example, KindModel, resolve_unit
from tests.factories import login, ticket_body
from workers import jobs

EXAMPLES = [Example("厂区停电", "变压器跳闸停电", "help", "factor", "hotline_96666", "power"),
            Example("停电抢修", "线路故障全厂停电", "help", None, None, "power"),
            Example("招工难", "招工用工缺人", "help", None, None, "rsj"),
            Example("社保补缴", "员工社保补缴", "consult", None, None, "rsj")] * 3


def test_training_is_deterministic_and_the_model_is_its_json():
    a, b = KindModel.fit(EXAMPLES), KindModel.fit(EXAMPLES)
    assert json.dumps(a.params, sort_keys=True) == json.dumps(b.params, sort_keys=True)
    again = KindModel(json.loads(json.dumps(a.params)))
    kind, p = again.predict("又停电了", "厂区停电")
    assert kind == "power" and 0.5 < p <= 1 and (kind, p) == a.predict("又停电了", "厂区停电")
    assert KindModel.fit(EXAMPLES[:1]) is None  # one kind: nothing to tell apart


def test_a_kind_resolves_to_the_county_unit_else_the_city_else_the_town_centre():
    assert resolve_unit("power", "yueqing", None) == "yueqing.power"
    assert resolve_unit("power", None, "yueqing_liushi") == "yueqing.power"
    assert resolve_unit("pbc", "yueqing", None) == "city.pbc"  # city-level only
    assert resolve_unit("town_centre", "yueqing", "yueqing_liushi") == "tc.yueqing_liushi"
    assert resolve_unit("town_centre", "yueqing", None) is None


def test_dispatcher_events_label_their_tickets_with_the_last_unit_chosen(client, run_jobs):
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    t = client.post("/api/v1/tickets", json=ticket_body(title="鸽舍围挡改造", description="鸽舍围挡归谁管"),
                    headers=op).json()
    run_jobs()
    client.post(f"/api/v1/tickets/{t['id']}/dispatch", json={"lead_unit": "city.gsl"}, headers=disp)
    assert client.post(f"/api/v1/tickets/{t['id']}/transfer", json={"lead_unit": "yueqing.jxj"},
                       headers=disp).status_code == 200
    with db.unit() as s:
        examples = suggest.event_examples(s)
    assert [(e.title, e.kind) for e in examples] == [("鸽舍围挡改造", "jxj")]


def test_the_daily_retrain_is_queued_once_after_its_hour(override_settings):
    override_settings(routing_retrain_hour=3)
    zone = ZoneInfo("Asia/Shanghai")
    assert not jobs.enqueue_daily_retrain(datetime(2026, 12, 2, 2, 59, tzinfo=zone))
    assert jobs.enqueue_daily_retrain(datetime(2026, 12, 2, 3, 1, tzinfo=zone))
    assert not jobs.enqueue_daily_retrain(datetime(2026, 12, 2, 9, 0, tzinfo=zone))
    assert queues.queue(queues.DEFAULT).count == 1


def test_a_failing_suggestion_leaves_routing_alone(client, run_jobs, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("model broke")

    monkeypatch.setattr(suggest, "suggest", broken)
    op = login(client, "op")
    t = client.post("/api/v1/tickets", json=ticket_body(), headers=op).json()
    run_jobs()
    assert client.get(f"/api/v1/tickets/{t['id']}", headers=op).json()["status"]["code"] == "assigned"
