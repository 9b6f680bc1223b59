"""The fault runs' moving parts: real worker and scheduler processes, a load of intakes and actions that retries
as a real client would, and the checks every run must pass afterwards."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from models import Ticket, TicketEvent
from service import db
from service.pipeline import clocks
from service.pipeline.stats import query as stats_query
from tests.factories import make_uscc, ticket_body
from tests.support.private import wait_for
from workers import jobs

# Short sweep intervals: what the fault runs wait for is the system's own recovery, not a minute's tick.
FAST_SWEEPS = {"sweep_interval_seconds": 3, "unrouted_grace_seconds": 3}


class Fleet:
    """`hotline worker` and `hotline scheduler` processes, as docker-compose runs them, logging to files."""

    def __init__(self, logs: Path):
        self.logs, self.procs, self._n = logs, {}, 0

    def start(self, role: str) -> str:
        self._n += 1
        name = f"{role}-{self._n}"
        out = (self.logs / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen([sys.executable, "-m", "service.cli", role], env=dict(os.environ),
                                            stdout=out, stderr=subprocess.STDOUT)
        return name

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up at all, as when the machine takes the process away."""
        self.procs[name].kill()
        self.procs[name].wait(10)

    def running(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is None]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def tails(self) -> str:
        """The end of each process's log; all of it for a process that ended on its own."""
        died = {f"{n}.log" for n, p in self.procs.items() if p.returncode not in (None, 0, -signal.SIGKILL)}
        return "\n".join(f"--- {p.name}\n{p.read_text()[None if p.name in died else -3000:]}"
                         for p in sorted(self.logs.glob("*.log")))


class Load:
    """Intakes and handler actions through the API, each retried until it gets an answer (a client whose request
    failed does not know whether it committed): a 503 or a broken connection is retried, a 500 is a failure."""

    RETRY_FOR = 90.0

    def __init__(self, client, operator: dict, handler: dict, tag: str):
        self.client, self.operator, self.handler, self.tag = client, operator, handler, tag
        self.answered: dict[str, int] = {}  # external_id -> the ticket id the API answered
        self.statuses: Counter = Counter()
        self.server_errors: list[str] = []
        self.slowest_intake = 0.0

    def _send(self, method: str, url: str, headers: dict, ok: tuple[int, ...], retry_ok: tuple[int, ...] = (),
              **kw):
        deadline, retried = time.monotonic() + self.RETRY_FOR, False
        while True:
            try:
                r = self.client.request(method, url, headers=headers, **kw)
                status = r.status_code
            except Exception as exc:  # the connection broke under the request
                r, status = None, f"{type(exc).__name__}"
            self.statuses[status] += 1
            if status in ok or (retried and status in retry_ok):
                return r
            if isinstance(status, int) and status >= 500 and status != 503:
                self.server_errors.append(f"{method} {url}: {status} {r.text[:300]}")
            elif isinstance(status, int) and status != 503:
                raise AssertionError(f"{method} {url}: {status} {r.text[:300]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {url}: still {status} after {self.RETRY_FOR}s")
            retried = True
            time.sleep(0.2)

    def intake(self, i: int) -> None:
        external_id = f"{self.tag}-{i}"
        body = ticket_body(external_id=external_id, enterprise={"name": f"乐清市故障测试{i % 40}号电气有限公司",
                                                                "uscc": make_uscc(1000 + i % 40)})
        start = time.monotonic()
        r = self._send("POST", "/api/v1/tickets", self.operator, (200, 201), json=body)
        self.slowest_intake = max(self.slowest_intake, time.monotonic() - start)
        got = r.json()["id"]
        assert self.answered.setdefault(external_id, got) == got, f"{external_id} answered as two tickets"

    def work_some(self, n: int = 4) -> None:
        """The lead unit's handler accepts a few routed tickets and resolves every other one."""
        r = self._send("GET", f"/api/v1/tickets?status=assigned&limit={n}", self.handler, (200,))
        for k, item in enumerate(r.json()["items"]):
            self._send("POST", f"/api/v1/tickets/{item['id']}/accept", self.handler, (200,), retry_ok=(409,),
                       json={})
            if k % 2 == 0:
                self._send("POST", f"/api/v1/tickets/{item['id']}/resolve", self.handler, (200,), retry_ok=(409,),
                           json={"opinion": "已恢复供电"})

    def run(self, count: int, faults: dict[int, callable], act_every: int = 10) -> None:
        """count intakes; faults[i] is started (in a thread, while the intakes go on) just before intake i, once
        the fault before it has ended."""
        fault = None
        for i in range(count):
            if i in faults:
                if fault is not None:
                    fault.join(120)
                fault = threading.Thread(target=faults[i], name=f"fault-{i}")
                fault.start()
            self.intake(i)
            if i % act_every == act_every - 1:
                self.work_some()
        if fault is not None:
            fault.join(120)


def check_invariants(load: Load, routed_within: float = 90.0) -> dict:
    """After a fault run: no ticket lost or duplicated, every ticket routed once, rollups equal a direct count,
    the clocks verify. Returns a few numbers for the failure message of the caller."""
    assert not load.server_errors, load.server_errors[:5]

    def waiting() -> int:
        with db.session_factory()() as s:
            return s.scalar(select(func.count()).select_from(Ticket).where(Ticket.status == "new"))

    wait_for(lambda: waiting() == 0, routed_within, 0.5, what="every ticket routed")
    with db.session_factory()() as s:
        rows = s.execute(select(Ticket.id, Ticket.external_id)).all()
        stored = Counter(r.external_id for r in rows)
        assert not [e for e, n in stored.items() if n > 1], "duplicated tickets"
        assert {r.external_id: r.id for r in rows} == load.answered, "tickets lost, or answered under another id"
        per_kind = dict(s.execute(text("""
            SELECT kind, count(DISTINCT ticket_id) = count(*) FROM ticket_event
            WHERE kind IN ('created', 'routed', 'routing_no_match') GROUP BY kind""")).all())
        assert all(per_kind.values()), f"a ticket created or routed twice: {per_kind}"
        decided = s.scalar(select(func.count(func.distinct(TicketEvent.ticket_id)))
                           .where(TicketEvent.kind.in_(("routed", "routing_no_match"))))
        assert decided == len(rows), f"{len(rows) - decided} tickets without a routing decision"
    jobs.refresh_stats()
    with db.session_factory()() as s:
        assert_rollups_equal_direct(s)
        checked, differing = clocks.verify(s, limit=100_000)
        assert checked == len(rows) and differing == [], f"clocks differ: {differing[:20]}"
    out = {"tickets": len(rows), "answers": dict(load.statuses), "slowest_intake": round(load.slowest_intake, 2)}
    print("fault run:", out)
    return out


def assert_rollups_equal_direct(session) -> None:
    """Leadership's numbers from the rollups equal those counted from the events (as tests/pipeline/stats/test_stats)."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    period = {"start": date(today.year, 1, 1), "end": today}
    for group_by in (None, "unit", "channel"):
        fast = stats_query.summary(session, **period, group_by=group_by, trend="day", group_durations=True)
        slow = stats_query.summary(session, **period, group_by=group_by, trend="day", group_durations=True,
                                   use_rollups=False)
        assert fast == slow, group_by
    try:
        from service.pipeline.stats.verify import verify
    except ImportError:
        return
    drifts = verify(session)
    assert drifts == [], [str(d) for d in drifts[:10]]
