"""Redis hanging, restarting, or losing a worker mid-job: intake answers, and nothing waits for a timeout."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from models import Ticket
from service import db
from tests.factories import login, ticket_body
from tests.support.private import PrivateRedis, wait_for
from tests.support.servers import ROOT
from workers import jobs
from service import queues
from service.breaker import BREAKER


def test_intake_answers_at_once_while_redis_hangs(client, run_jobs, session, override_settings):
    server = PrivateRedis(persist=False).start()
    try:
        override_settings(redis_url=server.url, unrouted_grace_seconds=0, redis_breaker_seconds=3)
        h = login(client, "op")
        server.pause()
        took, ids = [], []
        for i in range(6):
            start = time.monotonic()
            r = client.post("/api/v1/tickets", json=ticket_body(external_id=f"hung-{i}"), headers=h)
            took.append(time.monotonic() - start)
            assert r.status_code == 201, r.text
            assert r.json()["status"]["code"] == "new"
            ids.append(r.json()["id"])
        assert max(took) < 1.5, took  # one Redis timeout (1 s) at most, not one per call and retry
        assert sorted(took)[-2] < 0.9, took  # and after a timeout Redis is skipped, not waited for again
        server.resume()
        time.sleep(max(0.0, BREAKER.open_until - time.monotonic()))  # once the breaker closes, Redis is used again
        ids.append(_post(client, h, "after-the-hang"))
        assert queues.queue(queues.ROUTING).count == 1
        assert jobs.sweep_unrouted()["enqueued"] == len(ids)
        run_jobs()
        assert {t.id: t.status for t in session.scalars(select(Ticket))} == dict.fromkeys(ids, "assigned")
    finally:
        server.remove()


def _post(client, h, external_id: str) -> int:
    r = client.post("/api/v1/tickets", json=ticket_body(external_id=external_id), headers=h)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_routing_flag_whose_job_was_lost_does_not_hold_back_routing(client, run_jobs, session):
    h = login(client, "op")
    routing = queues.queue(queues.ROUTING)
    first = _post(client, h, "before-the-kill")
    assert routing.count == 1
    # A worker takes the job as RQ does, and is SIGKILLed before the job starts: the flag still stands.
    assert Queue.dequeue_any([routing], None, connection=routing.connection, serializer=JSONSerializer)
    assert routing.count == 0 and queues.connection().exists(queues._route_wanted_key())
    second = _post(client, h, "after-the-kill")
    assert routing.count == 1  # sent at once, not after the flag's lifetime (or the sweep)
    third = _post(client, h, "while-it-waits")
    assert routing.count == 1  # a flag whose job waits in the queue still serves the burst
    run_jobs()
    assert {t.id: t.status for t in session.scalars(select(Ticket))} == dict.fromkeys([first, second, third],
                                                                                      "assigned")


def test_a_routing_flag_whose_job_was_never_sent_is_replaced(client, run_jobs):
    """An intake that set the flag and then died, or timed out on a hung Redis that set it later."""
    h = login(client, "op")
    flag = queues._route_wanted_key()
    queues.connection().set(flag, f"{queues.job_id('route-new-ghost')} {int(time.time() * 1000)}", ex=60)
    _post(client, h, "while-being-sent")
    assert queues.queue(queues.ROUTING).count == 0  # a flag this young may still be getting its job
    queues.connection().set(flag, f"{queues.job_id('route-new-ghost')} {int(time.time() * 1000) - 5000}", ex=60)
    _post(client, h, "after-the-intake-died")
    assert queues.queue(queues.ROUTING).count == 1
    assert run_jobs() >= 1


def test_jobs_waiting_for_a_retry_fire_after_redis_restarts(override_settings, tmp_path):
    server = PrivateRedis(persist=True).start()  # append-only: a restart keeps the queues, as the embedded one does
    override_settings(redis_url=server.url)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], env=dict(os.environ),
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        conn = queues.connection()
        lock = f"rq:scheduler-lock:{queues.queue_name(queues.DEFAULT)}"
        wait_for(lambda: conn.exists(lock), 30, what="the worker's scheduler")
        before = queues.queue(queues.DEFAULT).enqueue_in(timedelta(seconds=3), "workers.jobs.sweep_unrouted")
        server.kill()  # a crash: the scheduler process loses Redis too
        time.sleep(2)
        server.start()
        queues.reset_connections()
        after = queues.queue(queues.DEFAULT).enqueue_in(timedelta(seconds=1), "workers.jobs.sweep_unrouted")
        for job in (before, after):
            wait_for(lambda: job.get_status(refresh=True) == "finished", 30, 0.2, what=f"job {job.id} to run")
        assert worker.poll() is None  # the worker itself carried on
        # A scheduler process that ends anyway is started again by its worker.
        scheduler = next(k for k in conn.scan_iter("rq:scheduler:*") if b"scheduler-lock" not in k)
        os.kill(int(conn.hget(scheduler, "pid")), signal.SIGKILL)
        later = queues.queue(queues.DEFAULT).enqueue_in(timedelta(seconds=1), "workers.jobs.sweep_unrouted")
        wait_for(lambda: later.get_status(refresh=True) == "finished", 30, 0.2, what="a job after the kill to run")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.remove()
        print((tmp_path / "worker.log").read_text())  # shown when the test fails


def _row_lock_free(ticket_id: int) -> bool:
    with db.session_factory()() as s:
        try:
            s.execute(text("SELECT 1 FROM ticket WHERE id = :id FOR UPDATE NOWAIT"), {"id": ticket_id})
            return True
        except OperationalError:
            return False


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_a_killed_worker_leaves_no_lock_and_no_scheduler_behind(client, tmp_path):
    """The worker forks its scheduler: the child must not keep the dead worker's database connection (and its row
    locks) open, nor go on running without it."""
    ticket = _post(client, login(client, "op"), "held")
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], env=dict(os.environ), cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    scheduler = None
    try:
        conn = queues.connection()

        def our_scheduler():
            for key in conn.scan_iter("rq:scheduler:*"):
                info = conn.hgetall(key)
                if queues.queue_name(queues.DEFAULT).encode() in info.get(b"queues", b""):
                    return int(info[b"pid"])

        scheduler = wait_for(our_scheduler, 30, what="the worker's scheduler")
        queues.queue(queues.DEFAULT).enqueue("tests.support.held.hold_ticket_lock", ticket, 60)
        wait_for(lambda: not _row_lock_free(ticket), 30, 0.1, what="the job to hold the row")
        worker.kill()
        wait_for(lambda: _row_lock_free(ticket), 10, 0.1, what="the row lock to go with the worker")
        wait_for(lambda: not _running(scheduler), 10, 0.1, what="the scheduler to end with its worker")
    finally:
        worker.kill()
        if scheduler and _running(scheduler):
            os.kill(scheduler, signal.SIGKILL)
        print((tmp_path / "worker.log").read_text())  # shown when the test fails
