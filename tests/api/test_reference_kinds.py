"""The unit-kind list of the reference API: labels, levels and remits from models/reference/unit_kinds.yaml."""

from tests.factories import login


def test_unit_kinds_list_labels_and_remits(client):
    h = login(client, "op")
    index = client.get("/api/v1/reference", headers=h).json()
    assert "unit_kinds" in index["lists"] and index["versions"]["unit_kinds"]
    kinds = {k["code"]: k for k in client.get("/api/v1/reference/unit_kinds", headers=h).json()["items"]}
    assert kinds["jyj"]["label"] == "教育局" and any("入学" in r for r in kinds["jyj"]["remit"])
    assert kinds["pbc"]["vertical"] is True and kinds["pbc"]["levels"] == ["city"]
    county = client.get("/api/v1/reference/unit_kinds?level=county", headers=h).json()["items"]
    assert "jyj" in {k["code"] for k in county} and "pbc" not in {k["code"] for k in county}


def test_routing_rules_list_names_each_rule_in_force_by_what_it_does(client):
    """The console shows a routing reason by the rule's description, not its id."""
    h = login(client, "op")
    assert "routing_rules" in client.get("/api/v1/reference", headers=h).json()["lists"]
    out = client.get("/api/v1/reference/routing_rules", headers=h).json()
    rules = {r["code"]: r["label"] for r in out["items"]}
    assert out["version"] and len(rules) > 100
    assert "停电" in rules["critical-power-outage"] and "供电" in rules["critical-power-outage"]
