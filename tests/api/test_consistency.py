"""What users compare across screens: one label for a missing category, one form for every instant."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from models import Role
from service.domain.reference import NO_CATEGORY, reference
from tests.factories import login, ticket_body
from workers import jobs

ROOT = Path(__file__).resolve().parents[2]
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")


def test_no_category_has_one_label_in_code_and_dashboard():
    assert NO_CATEGORY == "未分类"
    for path in [*ROOT.joinpath("service").rglob("*.py"), *ROOT.joinpath("service/dashboard/static").glob("*")]:
        text = path.read_text(encoding="utf-8") if path.suffix in (".py", ".js", ".html") else ""
        assert "未填写" not in text and "未分类" not in text.replace("未分类工单", "") or path.name == "reference.py", path


def test_local_rules_set_a_category():
    """The rules that send a topic (by its keywords) to the town centre say which category it is."""
    rules = yaml.safe_load(ROOT.joinpath("routing_rules/rules/80_local.yaml").read_text(encoding="utf-8"))["rules"]
    topical = [r for r in rules if "keywords_any" in r["when"]]
    known = reference().codes("categories")
    assert topical and all(r["route"].get("set_category") in known for r in topical), [r["id"] for r in topical]


def test_stats_call_a_missing_category_uncategorised(client, run_jobs):
    op = login(client, "op")
    client.post("/api/v1/tickets", json=ticket_body(title="咨询一件事", description="请问这件事找哪个部门办理？"), headers=op)
    run_jobs()
    jobs.refresh_stats()
    leader = login(client, "boss", Role.LEADER)
    groups = client.get("/api/v1/stats/summary?group_by=category", headers=leader).json()["groups"]
    blank = [g for g in groups if g["key"] == ""]
    assert blank and blank[0]["label"] == NO_CATEGORY


def _instants(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _instants(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _instants(v, f"{path}[{i}]")
    elif isinstance(value, str) and INSTANT.fullmatch(value):
        yield path, value


def test_read_and_action_return_the_same_instants_in_the_same_form(client, run_jobs):
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    power = login(client, "power", Role.HANDLER, "yueqing.power")
    t = client.post("/api/v1/tickets", json=ticket_body(), headers=op).json()
    run_jobs()
    client.post(f"/api/v1/tickets/{t['id']}/accept", json={}, headers=power)
    due = datetime.fromisoformat(client.get(f"/api/v1/tickets/{t['id']}", headers=power).json()
                                 ["deadlines"]["resolve_due_at"])
    r = client.post(f"/api/v1/tickets/{t['id']}/extension", headers=power,
                    json={"new_due_at": (due + timedelta(days=7)).isoformat(), "reason": "设备未到货"})
    assert r.status_code == 200, r.text
    acted = client.post(f"/api/v1/tickets/{t['id']}/extension/approve", json={}, headers=disp)
    assert acted.status_code == 200, acted.text
    read = client.get(f"/api/v1/tickets/{t['id']}", headers=disp)
    found = dict(_instants(acted.json())), dict(_instants(read.json()))
    assert found[0] and found[1]
    for which in found:
        assert all(v.endswith("+08:00") for v in which.values()), which
    shared = set(found[0]) & set(found[1]) - {".updated_at"}
    assert ".deadlines.resolve_due_at" in shared and ".received_at" in shared
    assert {k: found[0][k] for k in shared} == {k: found[1][k] for k in shared}
    for event in read.json()["history"]:
        assert all(v.endswith("+08:00") for _, v in _instants(event))
