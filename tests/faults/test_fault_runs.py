"""Fault runs at a small scale: a worker SIGKILLed mid-job, Redis hung, stopped and killed, PostgreSQL restarted
`immediate` — each while tickets pour in and handlers work them, with real worker and scheduler processes.
Afterwards no ticket is lost or duplicated, every ticket is routed once, the rollups equal a direct count and
the clocks verify. Run alone with `pytest -m fault`."""
from __future__ import annotations

import faulthandler
import time

import pytest
from fastapi.testclient import TestClient
from rq import Worker

from models import Role
from service import db
from service.migrate import upgrade
from service.domain.reference import seed_reference
from tests.factories import login
from tests.faults.harness import FAST_SWEEPS, Fleet, Load, check_invariants
from tests.support.private import PrivatePostgres, PrivateRedis, wait_for
from service import queues

pytestmark = pytest.mark.fault

TICKETS = 240


@pytest.fixture
def api(app):
    """The API in this process; a 500 comes back as an answer (and fails the run), not as an exception."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def fleet(tmp_path):
    f = Fleet(tmp_path)
    faulthandler.dump_traceback_later(180)  # a run stuck somewhere says where
    yield f
    faulthandler.cancel_dump_traceback_later()
    f.stop_all()
    print(f.tails())  # shown when the run fails


def _start(api, fleet, tag: str) -> Load:
    operator, handler = login(api, "op"), login(api, "power", Role.HANDLER, "yueqing.power")
    for role in ("worker", "worker", "scheduler"):
        fleet.start(role)
    pids = {p.pid for p in fleet.procs.values()}
    wait_for(lambda: len({w.pid for w in Worker.all(queue=queues.queue(queues.ROUTING))} & pids) == 2, 60, 0.1,
             what="the workers")  # the faults hit running workers, not ones still starting
    return Load(api, operator, handler, tag)


def _kill_mid_job(fleet: Fleet, name: str) -> None:
    """SIGKILL the worker while it runs a job (or after 5 s of waiting for one)."""
    pid = fleet.procs[name].pid
    deadline, busy = time.monotonic() + 5, False
    while not busy and time.monotonic() < deadline:
        ours = [w for w in Worker.all(queue=queues.queue(queues.ROUTING)) if w.pid == pid]
        busy = bool(ours) and ours[0].get_state() == "busy"
    fleet.kill(name)
    print(f"killed {name}", "in the middle of a job" if busy else "while idle")


def test_a_worker_killed_mid_job(api, fleet, override_settings):
    override_settings(**FAST_SWEEPS)
    load = _start(api, fleet, "kill")
    victim = fleet.running()[0]
    load.run(TICKETS, {TICKETS // 3: lambda: _kill_mid_job(fleet, victim),
                       2 * TICKETS // 3: lambda: fleet.start("worker")})  # its replacement, later
    out = check_invariants(load)
    assert victim not in fleet.running() and len(fleet.running()) == 3, out


def test_redis_hung_stopped_and_killed(api, fleet, override_settings):
    server = PrivateRedis(fsync="everysec").start()  # as the embedded one: append-only, synced every second
    try:
        override_settings(redis_url=server.url, **FAST_SWEEPS)
        load = _start(api, fleet, "redis")

        def hang():
            server.pause()
            time.sleep(3)
            server.resume()

        def stop():
            server.stop()
            time.sleep(2)
            server.start()

        def crash():
            server.kill()
            time.sleep(2)
            server.start()

        load.run(TICKETS, {TICKETS // 4: hang, TICKETS // 2: stop, 3 * TICKETS // 4: crash})
        out = check_invariants(load)
        assert load.slowest_intake < 2.5, out  # a hung Redis costs an intake one timeout at most
        assert len(fleet.running()) == 3, out  # the workers and the scheduler rode it out
    finally:
        fleet.stop_all()
        server.remove()


def test_postgres_restarted_immediate(api, fleet, override_settings):
    pg = PrivatePostgres().start()
    try:
        upgrade(pg.url)
        override_settings(database_url=pg.url, **FAST_SWEEPS)
        with db.session_factory()() as s:
            seed_reference(s)
            s.commit()
        load = _start(api, fleet, "pg")
        load.run(TICKETS, {TICKETS // 3: pg.restart_immediate, 2 * TICKETS // 3: pg.restart_immediate})
        out = check_invariants(load)
        assert len(fleet.running()) == 3, out
    finally:
        fleet.stop_all()
        db.reset_engine()
        pg.remove()
