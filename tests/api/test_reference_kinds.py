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
