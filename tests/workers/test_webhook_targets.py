"""Webhooks never reach loopback, private, link-local or metadata addresses, when set nor when sent."""
from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import select

from models import Notification, NotificationAttempt, Role
from service.security import egress
from tests.factories import login, ticket_body
from tests.workers.test_notifications import Receiver

REFUSED_URLS = [
    "http://127.0.0.1:5432/",
    "http://localhost:6379/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0x7f.1/hook",
    "http://2130706433/hook",
    "http://017700000001/hook",
    "http://127.1:8000/hook",
    "http://0.0.0.0:8000/",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.10/hook",
    "http://100.100.100.200/latest/meta-data/",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://[::1]:8000/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:a9fe:a9fe]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00:ec2::254]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://user:pass@1.1.1.1/hook",
    "ftp://1.1.1.1/hook",
    "gopher://1.1.1.1:6379/_INFO",
]


def _webhook(client, admin) -> str | None:
    units = client.get("/api/v1/units", headers=admin).json()
    return next(u for u in units if u["code"] == "yueqing.power")["webhook_url"]


def test_a_webhook_url_pointing_inside_is_refused_when_set(client):
    admin = login(client, "admin", Role.ADMIN)
    ok = client.put("/api/v1/units/yueqing.power/webhook", json={"url": "https://1.1.1.1/hook"}, headers=admin)
    assert ok.status_code == 200 and ok.json()["webhook_url"] == "https://1.1.1.1/hook"
    try:
        for url in REFUSED_URLS:
            r = client.put("/api/v1/units/yueqing.power/webhook", json={"url": url}, headers=admin)
            assert r.status_code == 422, (url, r.text)
            assert [d["field"] for d in r.json()["detail"]] == ["url"], (url, r.text)
        assert _webhook(client, admin) == "https://1.1.1.1/hook"  # unchanged
        r = client.put("/api/v1/units/yueqing.power/webhook", json={"url": "http://0x7f.1/hook"}, headers=admin)
        assert "loopback" in r.json()["detail"][0]["message"]
    finally:
        client.put("/api/v1/units/yueqing.power/webhook", json={"url": None}, headers=admin)


@pytest.mark.parametrize("spelling", ["0x7f.1", "2130706433", "017700000001", "127.1", "0177.0.0.01", "[::1]",
                                      "::ffff:127.0.0.1", "::ffff:7f00:1"])
def test_odd_spellings_of_loopback_are_loopback(spelling):
    ip = egress.parse_ip(spelling)
    assert ip is not None and "loopback" in egress.refusal(ip)


def test_public_addresses_pass_and_the_allow_list_admits_private_ones(override_settings):
    assert egress.refusal(ipaddress.ip_address("1.1.1.1")) is None
    assert egress.refusal(ipaddress.ip_address("2400:3200::1")) is None
    with pytest.raises(egress.TargetRefused):
        egress.check_url("http://10.20.30.40:8080/hook")
    override_settings(webhook_allow_hosts="10.20.0.0/16, hooks.internal")
    egress.check_url("http://10.20.30.40:8080/hook")
    egress.check_url("http://hooks.internal/hook")
    with pytest.raises(egress.TargetRefused, match="credentials"):
        egress.check_url("http://a:b@hooks.internal/hook")  # the allow-list never admits credentials
    with pytest.raises(egress.TargetRefused):
        egress.check_url("http://10.21.0.1/hook")


def test_a_name_that_resolves_inside_is_refused_when_sent(client, run_jobs, session, override_settings):
    """Allowed when set, refused when sent: the notification fails and the receiver hears nothing."""
    receiver = Receiver()
    try:
        override_settings(webhook_allow_hosts="localhost", unit_cache_seconds=0)
        url = f"http://localhost:{receiver.server.server_port}/hook"
        admin = login(client, "admin", Role.ADMIN)
        assert client.put("/api/v1/units/yueqing.power/webhook", json={"url": url}, headers=admin).status_code == 200
        op = login(client, "op")
        first = client.post("/api/v1/tickets", json=ticket_body(), headers=op).json()
        run_jobs()
        assert len(receiver.received) == 1  # allow-listed: delivered

        override_settings(webhook_allow_hosts="", unit_cache_seconds=0)
        second = client.post("/api/v1/tickets", json=ticket_body(external_id="x-2", title="另一处停电"),
                             headers=op).json()
        run_jobs()
        assert len(receiver.received) == 1  # nothing more reached the receiver
        n = session.scalar(select(Notification).where(Notification.ticket_id == second["id"]))
        assert n.status == "failed" and n.attempts == 1 and n.delivered_at is None
        assert "is a loopback address" in n.last_error
        attempt = session.scalar(select(NotificationAttempt).where(NotificationAttempt.notification_id == n.id))
        assert attempt.status_code is None and attempt.error.startswith("refused")
        assert session.scalar(select(Notification.status).where(Notification.ticket_id == first["id"])) == "delivered"
        client.put("/api/v1/units/yueqing.power/webhook", json={"url": None}, headers=admin)
    finally:
        receiver.close()


def test_bangqiyun_callback_to_loopback_is_not_sent(client, run_jobs, session, override_settings):
    receiver = Receiver()
    try:
        override_settings(bangqiyun_callback_url=receiver.url.replace("127.0.0.1", "0x7f.1"))
        from tests.api.test_bangqiyun import _payload, _push

        t = _push(client, _payload(id="BQY-SSRF")).json()
        run_jobs()
        assert receiver.received == []
        n = session.scalar(select(Notification).where(Notification.ticket_id == t["id"],
                                                      Notification.target == "bangqiyun"))
        assert n.status == "failed" and "loopback" in n.last_error
    finally:
        receiver.close()
