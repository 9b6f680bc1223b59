"""Probes, and a lost database answered with 503 rather than 500."""
from __future__ import annotations

from tests.factories import login, ticket_body


def test_health_and_ready(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_database_unreachable_is_503_with_retry_after(client, override_settings):
    h = login(client, "op")
    override_settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    r = client.post("/api/v1/tickets", json=ticket_body(), headers=h)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"
    assert r.json()["error"] == "database_unavailable"
    assert client.get("/readyz").status_code == 503


def test_every_connection_busy_is_503_with_retry_after(client, override_settings, session):
    """Intake waits a moment for a pooled connection, then says the database is busy (never a 500)."""
    from sqlalchemy import func, select

    from models import Ticket
    from service import db

    h = login(client, "op")
    override_settings(db_async_pool_size=1, db_pool_timeout_seconds=0.3)

    async def take():
        return await (await db.async_engine()).connect()

    held = client.portal.call(take)  # on the app's own event loop, like a request in flight
    try:
        r = client.post("/api/v1/tickets", json=ticket_body(), headers=h)
        assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.text
        assert r.json()["error"] == "database_busy"
    finally:
        client.portal.call(held.close)
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert client.post("/api/v1/tickets", json=ticket_body(), headers=h).status_code == 201


def test_intake_carries_on_after_the_database_dropped_its_connections(client):
    """A restart or fail-over closes every pooled connection; the next intake checks its connection first."""
    from sqlalchemy import text

    from service import db

    h = login(client, "op")
    assert client.post("/api/v1/tickets", json=ticket_body(external_id="before"), headers=h).status_code == 201
    with db.get_engine().connect() as conn:
        dropped = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    assert dropped >= 1  # the event loop's own connection among them
    r = client.post("/api/v1/tickets", json=ticket_body(external_id="after"), headers=h)
    assert r.status_code == 201, r.text
    assert client.get(f"/api/v1/tickets/{r.json()['id']}", headers=h).status_code == 200
