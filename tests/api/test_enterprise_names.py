"""A known USCC arriving under another company name is not a silent rename: the old name is kept and an admin
sees the change."""
from __future__ import annotations

from sqlalchemy import select

from models import Enterprise, Role
from tests.factories import login, make_uscc, ticket_body


def test_a_new_name_for_a_known_uscc_is_kept_and_flagged_for_an_admin(client, session):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    code = make_uscc(71)
    first = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "乐清市甲电气有限公司", "uscc": code}),
                        headers=op)
    assert first.status_code == 201
    again = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "乐清市甲电气有限公司", "uscc": code}),
                        headers=op)
    assert again.status_code == 201
    assert client.get("/api/v1/enterprises/name-changes", headers=admin).json()["items"] == []  # same name: nothing

    renamed = client.post("/api/v1/tickets", json=ticket_body(
        enterprise={"name": "浙江乙科技股份有限公司", "uscc": code}), headers=op)
    assert renamed.status_code == 201
    assert session.scalar(select(Enterprise.name).where(Enterprise.uscc == code)) == "浙江乙科技股份有限公司"
    pending = client.get("/api/v1/enterprises/name-changes", headers=admin).json()["items"]
    assert [(c["old_name"], c["new_name"], c["enterprise_id"]) for c in pending] == [
        ("乐清市甲电气有限公司", "浙江乙科技股份有限公司", renamed.json()["enterprise"]["id"])]
    assert pending[0]["reviewed_at"] is None

    assert client.get("/api/v1/enterprises/name-changes", headers=op).status_code == 403
    assert client.post(f"/api/v1/enterprises/name-changes/{pending[0]['id']}/review", headers=op).status_code == 403
    done = client.post(f"/api/v1/enterprises/name-changes/{pending[0]['id']}/review", headers=admin)
    assert done.status_code == 200 and done.json()["reviewed_by"] == "admin" and done.json()["reviewed_at"]
    assert client.get("/api/v1/enterprises/name-changes", headers=admin).json()["items"] == []
    kept = client.get("/api/v1/enterprises/name-changes", params={"pending": "false"}, headers=admin).json()["items"]
    assert [c["old_name"] for c in kept] == ["乐清市甲电气有限公司"]  # the history stays
    assert client.post("/api/v1/enterprises/name-changes/99999/review", headers=admin).status_code == 404
