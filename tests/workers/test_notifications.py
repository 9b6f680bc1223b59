"""Webhooks: signed, retried with backoff, every attempt recorded; a receiver that is down only delays."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select, update

from models import Notification, NotificationAttempt, Role
from service.config import get_settings
from service.security.signatures import verify
from tests.factories import login, ticket_body
from workers import jobs


class Receiver:
    """A real HTTP endpoint on loopback that records what it is sent."""

    def __init__(self, port: int = 0):
        self.received: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), raw))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_unit_webhook_survives_a_receiver_outage(client, run_jobs, session, override_settings):
    override_settings(webhook_allow_hosts="127.0.0.1")  # the receiver is on loopback
    receiver = Receiver()
    url = receiver.url
    receiver.close()  # down at first
    admin = login(client, "admin", Role.ADMIN)
    r = client.put("/api/v1/units/yueqing.power/webhook", json={"url": url}, headers=admin)
    assert r.status_code == 200 and r.json()["webhook_url"] == url
    assert client.put("/api/v1/units/yueqing.power/webhook", json={"url": "not a url"},
                      headers=admin).status_code == 422
    op = login(client, "op")
    t = client.post("/api/v1/tickets", json=ticket_body(), headers=op).json()
    run_jobs()  # routes, then tries to deliver: the receiver is down
    n = session.scalar(select(Notification).where(Notification.ticket_id == t["id"]))
    assert n.event == "assigned" and n.status == "pending" and n.attempts == 1
    attempts = session.scalars(select(NotificationAttempt).where(NotificationAttempt.notification_id == n.id)).all()
    assert len(attempts) == 1 and attempts[0].error

    # The receiver comes back on the same port; once the retry is due, it gets the message.
    back = Receiver(port=receiver.server.server_port)
    try:
        session.execute(update(Notification).values(next_attempt_at=Notification.created_at))
        session.commit()
        assert jobs.deliver_notifications()["delivered"] == 1
        headers, raw = back.received[0]
        verify(get_settings().webhook_secret, headers["X-Signature-Timestamp"], headers["X-Signature"], raw,
               max_skew=60)
        payload = json.loads(raw)
        assert payload["event"] == "assigned" and payload["ticket_id"] == t["id"]
        session.expire_all()
        n = session.get(Notification, n.id)
        assert n.status == "delivered" and n.attempts == 2
    finally:
        back.close()


def test_bangqiyun_hears_every_status_change(client, run_jobs, override_settings):
    receiver = Receiver()
    try:
        override_settings(bangqiyun_callback_url=receiver.url, webhook_allow_hosts="127.0.0.1/32")
        from tests.api.test_bangqiyun import _payload, _push

        t = _push(client, _payload(id="BQY-77")).json()
        run_jobs()  # routed -> status push
        power = login(client, "power", Role.HANDLER, "yueqing.power")
        client.post(f"/api/v1/tickets/{t['id']}/accept", json={}, headers=power)
        run_jobs()
        events = [json.loads(raw)["event"] for _, raw in receiver.received]
        assert events == ["routed", "accepted"]
        assert all(json.loads(raw)["external_id"] == "BQY-77" for _, raw in receiver.received)
    finally:
        receiver.close()
