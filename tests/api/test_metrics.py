"""Prometheus: counters from every process add up; state gauges are read at scrape time."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from models import Role
from service import scrape
from service.config import get_settings
from tests.factories import login, ticket_body


def _value(text: str, name: str, **labels) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}}") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


SCRAPE = {"Authorization": "Bearer scrape-token-of-the-tests"}


def test_metrics_follow_the_work(client, run_jobs, override_settings):
    override_settings(metrics_state_ttl_seconds=0, metrics_token="scrape-token-of-the-tests")
    before = client.get("/metrics", headers=SCRAPE).text
    h = login(client, "op")
    client.post("/api/v1/tickets", json=ticket_body(channel="bangqiyun"), headers=h)
    run_jobs()
    r = client.get("/metrics", headers=SCRAPE)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = r.text
    received = "hotline_tickets_received_total"
    assert _value(after, received, category="", channel="bangqiyun") - \
        _value(before, received, category="", channel="bangqiyun") == 1
    assert 'hotline_routing_decisions_total{rule="' in after
    assert 'hotline_open_tickets{unit="yueqing.power"}' in after
    assert 'hotline_jobs_total{job="route_new",outcome="success"}' in after
    assert 'hotline_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/tickets"' in after
    assert "/api/v1/tickets/1" not in after  # routes are templates; labels never carry ids


def test_counters_from_several_processes_add_up(tmp_path):
    """Two processes (say an API worker and an RQ worker) count; a third renders the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = textwrap.dedent("""
        from service.metrics import JOBS, TICKETS_RECEIVED
        TICKETS_RECEIVED.labels("hotline_96666", "factor").inc()
        JOBS.labels("route_ticket", "failure").inc(2)
    """)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True)
    out = subprocess.run([sys.executable, "-c", "from service.gauges import render; print(render().decode())"],
                         env=env, check=True, capture_output=True, text=True).stdout
    assert _value(out, "hotline_tickets_received_total", category="factor", channel="hotline_96666") == 2
    assert _value(out, "hotline_jobs_total", job="route_ticket", outcome="failure") == 4


def test_metrics_answer_only_the_scrape_token(client, override_settings):
    assert client.get("/metrics").status_code == 401  # no token configured: closed to everyone
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    override_settings(metrics_token="scrape-token-of-the-tests")
    r = client.get("/metrics")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer" and "hotline_open_tickets" not in r.text
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic scrape-token-of-the-tests"}).status_code == 401
    admin = login(client, "admin", Role.ADMIN)  # a user's token is not the scrape token
    assert client.get("/metrics", headers=admin).status_code == 401
    r = client.get("/metrics", headers=SCRAPE)
    assert r.status_code == 200 and "hotline_open_tickets" in r.text


def test_hotline_up_derives_a_scrape_token_from_its_secret_key(client, override_settings):
    override_settings(secret_key="k" * 48, metrics_token="")
    scrape.use_embedded_token(get_settings())
    token = get_settings().metrics_token
    assert token and "k" * 16 not in token
    override_settings(metrics_token="")
    scrape.use_embedded_token(get_settings())
    assert get_settings().metrics_token == token  # the same across restarts
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
