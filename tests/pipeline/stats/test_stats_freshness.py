"""Every change shows in the summary within seconds, however many come at once, without the scheduler's tick."""
from __future__ import annotations

import threading
import time

from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import text

from models import Role
from service import db
from service.pipeline.stats.rollup import REFRESH_LOCK
from tests.factories import login, make_uscc, ticket_body
from workers import jobs
from service import queues

PROMISED_SECONDS = 5


def _work() -> None:
    """What a running worker does meanwhile: the due jobs, scheduled ones included."""
    conn = queues.worker_connection()
    SimpleWorker([queues.queue(n, conn) for n in queues.QUEUES], connection=conn,
                 serializer=JSONSerializer).work(burst=True, with_scheduler=True)


def _totals(client, leader) -> dict:
    r = client.get("/api/v1/stats/summary", headers=leader)
    assert r.status_code == 200, r.text
    return r.json()["totals"]


def _shown_within(client, leader, since: float, **expected) -> float:
    """Seconds from `since` until the summary shows `expected`, with a worker running; fails after the promise."""
    while True:
        _work()
        totals = _totals(client, leader)
        if all(totals[k] == v for k, v in expected.items()):
            return time.monotonic() - since
        assert time.monotonic() - since < PROMISED_SECONDS, {k: totals[k] for k in expected}
        time.sleep(0.1)


def _accepted_tickets(client, run_jobs, n: int) -> list[int]:
    op, power = login(client, "op"), login(client, "power", Role.HANDLER, "yueqing.power")
    ids = [client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": f"企业{i}", "uscc": make_uscc(200 + i)}),
                       headers=op).json()["id"] for i in range(n)]
    run_jobs()
    for tid in ids:
        assert client.post(f"/api/v1/tickets/{tid}/accept", json={}, headers=power).status_code == 200
    jobs.refresh_stats()
    return ids


def test_a_burst_of_resolutions_shows_within_seconds(client, run_jobs):
    ids = _accepted_tickets(client, run_jobs, 10)
    power, leader = login(client, "power2", Role.HANDLER, "yueqing.power"), login(client, "boss", Role.LEADER)
    for tid in ids:  # a worker is busy refreshing while they come in
        assert client.post(f"/api/v1/tickets/{tid}/resolve", json={"opinion": "已处理"}, headers=power).status_code == 200
        _work()
    _shown_within(client, leader, time.monotonic(), resolved=len(ids))


def test_a_change_made_while_a_refresh_runs_elsewhere_is_refreshed(client, run_jobs):
    [tid] = _accepted_tickets(client, run_jobs, 1)
    power, leader = login(client, "power2", Role.HANDLER, "yueqing.power"), login(client, "boss", Role.LEADER)
    locked, release = threading.Event(), threading.Event()

    def other_refresh():  # another refresh (the scheduler's) holds the lock a moment
        with db.session_factory()() as other:
            other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK})
            locked.set()
            release.wait(10)
            time.sleep(0.3)
            other.rollback()

    holder = threading.Thread(target=other_refresh)
    holder.start()
    assert locked.wait(10)
    assert client.post(f"/api/v1/tickets/{tid}/resolve", json={"opinion": "已处理"}, headers=power).status_code == 200
    changed = time.monotonic()
    release.set()
    _work()  # the job this change asked for starts while the other refresh still runs
    holder.join(10)
    _shown_within(client, leader, changed, resolved=1)
