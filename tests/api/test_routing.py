"""Routing over HTTP: preview with a trace, the rule set in force, refusing a broken edit."""
from __future__ import annotations

import shutil

from models import Role
from routing_rules import DEFAULT_RULES_DIR
from tests.factories import login, ticket_body


def test_preview_explains_without_saving(client):
    h = login(client, "op")
    r = client.post("/api/v1/routing/preview", json={"town": "yueqing_liushi", "title": "厂区停电",
                                                     "description": "变压器跳闸，全厂停电"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"]["matched"] and body["decision"]["lead_unit"] == "yueqing.power"
    matched = [t for t in body["trace"] if t["matched"]]
    assert matched and matched[0]["rule_id"] == body["decision"]["rule_id"]
    assert len(body["trace"]) >= 60
    assert client.get("/api/v1/tickets", headers=h).json()["items"] == []
    bad = client.post("/api/v1/routing/preview", json={"town": "atlantis"}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "town"


def test_leader_cannot_preview_but_reads_rule_status(client):
    leader = login(client, "boss", Role.LEADER)
    assert client.post("/api/v1/routing/preview", json={}, headers=leader).status_code == 403
    status = client.get("/api/v1/routing/rules", headers=leader).json()
    assert status["rules"] >= 60 and len(status["version"]) == 12


def test_broken_rule_edit_is_refused_and_the_last_good_set_stays(client, run_jobs, override_settings, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    override_settings(rules_dir=rules)
    admin = login(client, "admin", Role.ADMIN)
    good = client.post("/api/v1/routing/rules/reload", headers=admin).json()
    broken = rules / "99_broken.yaml"
    broken.write_text("rules:\n  - id: bad\n    priority: high\n    when: {colour: red}\n"
                      "    route: {lead: {unit: city.nowhere}}\n", encoding="utf-8")
    r = client.post("/api/v1/routing/rules/reload", headers=admin)
    assert r.status_code == 422 and r.json()["error"] == "rules_invalid"
    errors = r.json()["detail"]
    assert len(errors) >= 3 and all("99_broken.yaml:" in e for e in errors)
    status = client.get("/api/v1/routing/rules", headers=admin).json()
    assert status["version"] == good["version"]
    # Tickets are still routed by the last good set.
    op = login(client, "op")
    t = client.post("/api/v1/tickets", json=ticket_body(), headers=op).json()
    run_jobs()
    got = client.get(f"/api/v1/tickets/{t['id']}", headers=op).json()
    assert got["status"]["code"] == "assigned" and got["routing"]["ruleset_version"] == good["version"]
    assert client.post("/api/v1/routing/rules/reload", headers=op).status_code == 403
