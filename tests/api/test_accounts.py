"""Deactivating users and changing or resetting passwords, by the API and the CLI."""
from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from models import Role, User
from models.audit import AuditEvent
from service.cli import app as cli
from tests.factories import PASSWORD, add_user, login

TOKEN = "/api/v1/auth/token"


def _id(session, username: str) -> int:
    return session.scalar(select(User.id).where(User.username == username))


def _login(client, username, password):
    return client.post(TOKEN, data={"username": username, "password": password})


def test_admin_deactivates_and_reactivates_a_user(client, session, override_settings):
    override_settings(user_cache_seconds=60)
    admin = login(client, "root", Role.ADMIN)
    op = login(client, "op")
    assert client.get("/api/v1/me", headers=op).status_code == 200  # now cached
    uid = _id(session, "op")
    assert client.post(f"/api/v1/users/{uid}/deactivate", headers=op).status_code == 403
    r = client.post(f"/api/v1/users/{uid}/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/me", headers=op).status_code == 401
    assert _login(client, "op", PASSWORD).status_code == 401
    assert client.post(f"/api/v1/users/{_id(session, 'root')}/deactivate", headers=admin).status_code == 409
    assert client.post("/api/v1/users/987654/deactivate", headers=admin).status_code == 404
    assert client.post(f"/api/v1/users/{uid}/activate", headers=admin).json()["active"] is True
    assert _login(client, "op", PASSWORD).status_code == 200
    ops = [e.params["op"] for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "account"))]
    assert ops == ["deactivate", "activate"]


def test_admin_resets_a_password_and_old_tokens_stop_working(client, session):
    admin = login(client, "root", Role.ADMIN)
    op = login(client, "op")
    uid = _id(session, "op")
    r = client.post(f"/api/v1/users/{uid}/password-reset", headers=admin)
    assert r.status_code == 200, r.text
    generated = r.json()["password"]
    assert generated and len(generated) >= 10
    assert client.get("/api/v1/me", headers=op).status_code == 401
    assert _login(client, "op", PASSWORD).status_code == 401 and _login(client, "op", generated).status_code == 200
    r = client.post(f"/api/v1/users/{uid}/password-reset", json={"password": "chosen-pw"}, headers=admin)
    assert r.status_code == 200 and r.json()["password"] is None
    assert _login(client, "op", "chosen-pw").status_code == 200
    bad = client.post(f"/api/v1/users/{uid}/password-reset", json={"password": "short"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "password"


def test_a_user_changes_its_own_password(client):
    op = login(client, "op")
    wrong = client.post("/api/v1/auth/password", json={"old_password": "nope", "new_password": "new-pw-1"}, headers=op)
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["field"] == "old_password"
    short = client.post("/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": "x"}, headers=op)
    assert short.status_code == 422 and short.json()["detail"][0]["field"] == "new_password"
    long = client.post("/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": "密" * 25},
                       headers=op)  # 75 bytes
    assert long.status_code == 422 and long.json()["detail"][0]["field"] == "new_password"
    r = client.post("/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": "new-pw-1"}, headers=op)
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/me", headers=op).status_code == 401  # the old token
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).status_code == 200
    assert _login(client, "op", "new-pw-1").status_code == 200 and _login(client, "op", PASSWORD).status_code == 401


def test_cli_deactivates_and_sets_passwords(client, session):
    add_user("zhang", Role.OPERATOR)
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "deactivate", "zhang"])
    assert r.exit_code == 0, r.output
    assert _login(client, "zhang", PASSWORD).status_code == 401
    assert runner.invoke(cli, ["user", "activate", "zhang"]).exit_code == 0
    r = runner.invoke(cli, ["user", "password", "zhang", "--password", "cli-pw-123"])
    assert r.exit_code == 0, r.output
    assert _login(client, "zhang", "cli-pw-123").status_code == 200
    r = runner.invoke(cli, ["user", "password", "zhang", "--generate"])
    generated = r.output.strip().rsplit(": ", 1)[1]
    assert _login(client, "zhang", generated).status_code == 200
    assert runner.invoke(cli, ["user", "password", "zhang", "--password", "12"]).exit_code == 1
    assert runner.invoke(cli, ["user", "deactivate", "nobody"]).exit_code == 1
