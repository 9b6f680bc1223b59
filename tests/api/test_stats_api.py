"""Who sees which numbers."""
from __future__ import annotations

from models import Role
from tests.factories import login, ticket_body
from workers import jobs


def test_leader_sees_all_and_a_handler_only_its_unit(client, run_jobs):
    op = login(client, "op")
    client.post("/api/v1/tickets", json=ticket_body(), headers=op)
    run_jobs()
    jobs.refresh_stats()
    leader = login(client, "boss", Role.LEADER)
    r = client.get("/api/v1/stats/summary?group_by=unit&trend=month", headers=leader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"]["received"] == 1
    power = next(g for g in body["groups"] if g["key"] == "yueqing.power")
    assert power["label"] == "国网乐清市供电公司" and power["metrics"]["dispatched"] == 1
    handler = login(client, "power", Role.HANDLER, "yueqing.power")
    mine = client.get("/api/v1/stats/summary", headers=handler).json()
    assert mine["unit"] == "yueqing.power" and mine["totals"]["dispatched"] == 1 and mine["totals"]["received"] == 0
    assert client.get("/api/v1/stats/summary?group_by=town", headers=handler).status_code == 403
    assert client.get("/api/v1/stats/summary?unit=yueqing.rsj", headers=handler).status_code == 403
    bad = client.get("/api/v1/stats/summary?from=2026-05-01&to=2026-04-01", headers=leader)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "to"
    bad = client.get("/api/v1/stats/summary?group_by=planet", headers=leader)
    assert bad.status_code == 422 and "unit" in bad.json()["detail"][0]["message"]
