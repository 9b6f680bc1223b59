#!/usr/bin/env python
"""End to end: time from POST /api/v1/tickets to the ticket being `assigned` by the routing worker.

    python bench/bench_e2e.py [--rate 50] [--duration 30] [--grace 10] [--floor-duration 10]

Starts the API (uvicorn) and one worker (`python -m service.cli worker`), then sends tickets open-loop:
a scheduler fires POSTs at fixed times (--rate per second for --duration seconds) whatever the responses,
with at most --concurrency requests in flight. Every ticket's text is one the shipped routing rules place
(停电/跳闸, 招工, 社保, 专利侵权, 环评, 出口退税 ... in real towns), so each should end `assigned`.

Two views of the same latency:
  * client: POST start -> the first poll (every --poll-ms, straight on the database) that sees the ticket
    no longer `new`, on the bench's clock;
  * server: ticket.created_at -> ticket.routed_at, both PostgreSQL now() (transaction start times), and
    created_at -> the routing event's `at` (clock_timestamp() when the worker wrote it).
After the run the bench waits up to --grace seconds for stragglers, then counts tickets still not routed.

Floor (unless --floor-duration 0): before the hotline run, the same open-loop measurement of RQ alone:
a no-op job (time.time) enqueued on a private queue, executed by the same worker command, observed by
polling the job's status in Redis every --poll-ms. It shows the latency the queue itself imposes.

Servers: embedded PostgreSQL + Redis unless HOTLINE_DATABASE_URL / HOTLINE_REDIS_URL are set; a fresh
database is created and dropped (see bench/_stack.py).
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _stack  # noqa: E402  (also puts the repository root on sys.path)
from models import EventKind, TicketStatus  # noqa: E402

RQ_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass
class Run:
    """One open-loop run: what was sent and what was seen."""

    name: str
    duration: float = 0.0
    planned: int = 0
    started: dict[int, float] = field(default_factory=dict)   # key -> send start (perf_counter)
    answered: dict[int, float] = field(default_factory=dict)  # key -> response / enqueue return
    answered_wall: dict[int, float] = field(default_factory=dict)  # key -> the same, time.time()
    ok: dict[int, object] = field(default_factory=dict)       # key -> ticket id / job id
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    seen: dict[object, float] = field(default_factory=dict)   # ticket id / job id -> first seen done
    late_ms: list[float] = field(default_factory=list)        # send start - scheduled time
    scheduled: dict[int, float] = field(default_factory=dict) # key -> scheduled send time (perf_counter)
    send_window: float = 0.0
    finished_sending_at: float = 0.0
    grace_used: float = 0.0
    cpu: _stack.CpuMeter | None = None

    def error(self, kind: str, sample: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.error_samples) < 5:
            self.error_samples.append(sample)

    def client_ms(self) -> list[float]:
        return [(self.seen[ident] - self.started[k]) * 1000 for k, ident in self.ok.items() if ident in self.seen]

    def scheduled_ms(self) -> list[float]:
        return [(self.seen[ident] - self.scheduled[k]) * 1000 for k, ident in self.ok.items()
                if ident in self.seen and k in self.scheduled]

    def response_ms(self) -> list[float]:
        return [(self.answered[k] - self.started[k]) * 1000 for k in self.ok]

    @property
    def achieved_rate(self) -> float:
        starts = sorted(self.started.values())
        if len(starts) < 2:
            return float("nan")
        return (len(starts) - 1) / (starts[-1] - starts[0])

    @property
    def pending(self) -> list:
        return [ident for ident in self.ok.values() if ident not in self.seen]


async def open_loop(run: Run, args, send, poll_once) -> None:
    """Fire send(key) at t0 + key/rate (bounded in flight), poll for completions, then wait out the grace."""
    loop = asyncio.get_running_loop()
    n = max(1, int(round(args.rate * run.duration)))
    run.planned = n
    slots = asyncio.Semaphore(args.concurrency)
    stop_polling = asyncio.Event()
    hard_deadline = loop.time() + run.duration + args.grace + 60  # nothing below may outlive this

    async def poller() -> None:
        while not stop_polling.is_set() and loop.time() < hard_deadline:
            t = time.perf_counter()
            await poll_once(run)
            await asyncio.sleep(max(0.0, args.poll_ms / 1000 - (time.perf_counter() - t)))

    async def fire(key: int) -> None:
        try:
            await send(run, key)
        finally:
            slots.release()

    poll_task = asyncio.create_task(poller())
    tasks = set()
    try:
        t0 = loop.time() + 0.05
        for key in range(n):
            target = t0 + key / args.rate
            delay = target - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if loop.time() > hard_deadline:
                break
            await slots.acquire()  # open loop, but never more than --concurrency in flight
            lateness = loop.time() - target
            run.late_ms.append(lateness * 1000)
            run.scheduled[key] = time.perf_counter() - lateness
            task = asyncio.create_task(fire(key))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=max(1.0, hard_deadline - loop.time()))
        run.finished_sending_at = time.perf_counter()
        grace_end = loop.time() + args.grace
        while run.pending and loop.time() < grace_end:
            await asyncio.sleep(args.poll_ms / 1000)
        await asyncio.sleep(2 * args.poll_ms / 1000)  # one more poll round for the last ones
        run.grace_used = time.perf_counter() - run.finished_sending_at
    finally:
        stop_polling.set()
        for t in tasks:
            t.cancel()
        await asyncio.wait_for(poll_task, timeout=10)


# --------------------------------------------------------------------------------------------------
# the RQ floor: a no-op job, enqueue -> executed


def run_floor(stack: _stack.Stack, args) -> tuple[Run, dict[str, list[float]]]:
    from rq import Queue
    from rq.serializers import JSONSerializer

    prefix = f"{stack.queue_prefix}-floor"
    worker = stack.start_worker(name="floor-worker", queue_prefix=prefix)
    conn = stack.redis()
    queue = Queue(f"{prefix}:routing", connection=conn, serializer=JSONSerializer)
    run = Run("RQ floor", duration=args.floor_duration)
    try:
        _wait_job(queue, f"{prefix}-warm", worker, stack)

        async def send(run: Run, key: int) -> None:
            job_id = f"{prefix}-{key}"
            run.started[key] = time.perf_counter()
            try:
                await asyncio.to_thread(queue.enqueue, "time.time", job_id=job_id, result_ttl=600, failure_ttl=600)
            except Exception as exc:
                run.error(type(exc).__name__, f"{type(exc).__name__}: {exc}")
                return
            run.answered[key] = time.perf_counter()
            run.ok[key] = job_id

        async def poll_once(run: Run) -> None:
            pending = run.pending
            if not pending:
                return

            def statuses():
                pipe = conn.pipeline(transaction=False)
                for job_id in pending:
                    pipe.hget(f"rq:job:{job_id}", "status")
                return pipe.execute()

            now_done = await asyncio.to_thread(statuses)
            t = time.perf_counter()
            for job_id, status in zip(pending, now_done):
                if status in (b"finished", b"failed"):
                    run.seen[job_id] = t

        with _stack.CpuMeter({"worker": worker.pid}) as cpu:
            asyncio.run(open_loop(run, args, send, poll_once))
        run.cpu = cpu

        server_ms, failed = [], 0
        pipe = conn.pipeline(transaction=False)
        for job_id in run.ok.values():
            pipe.hmget(f"rq:job:{job_id}", "enqueued_at", "ended_at", "status")
        for enq, end, status in pipe.execute():
            if status == b"failed":
                failed += 1
            if enq and end:
                t_enq = datetime.strptime(enq.decode(), RQ_TIME).replace(tzinfo=timezone.utc)
                t_end = datetime.strptime(end.decode(), RQ_TIME).replace(tzinfo=timezone.utc)
                server_ms.append((t_end - t_enq).total_seconds() * 1000)
        if failed:
            run.error("job failed", f"{failed} no-op jobs failed; see the worker log")
        return run, {"server": server_ms}
    finally:
        stack.stop(worker)
        conn.close()


def _wait_job(queue, job_id: str, worker, stack: _stack.Stack, timeout: float = 60) -> None:
    queue.enqueue("time.time", job_id=job_id, result_ttl=600)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}\n{stack.log_tail(worker)}")
        status = queue.connection.hget(f"rq:job:{job_id}", "status")
        if status == b"finished":
            return
        if status == b"failed":
            raise RuntimeError(f"the warm-up job failed\n{stack.log_tail(worker)}")
        time.sleep(0.05)
    raise RuntimeError(f"the worker did not run the warm-up job in {timeout:.0f} s\n{stack.log_tail(worker)}")


# --------------------------------------------------------------------------------------------------
# hotline: POST -> assigned


def run_hotline(stack: _stack.Stack, args) -> tuple[Run, dict]:
    import json

    import psycopg

    api, base = stack.start_api(name="api")
    worker = stack.start_worker(name="worker")
    token = stack.token(base)
    maker = _stack.TicketMaker(stack.run, enterprises=args.enterprises, seed=7)
    run = Run("hotline", duration=args.duration)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    server: dict = {}

    async def main() -> None:
        db = await psycopg.AsyncConnection.connect(_stack.libpq_url(stack.db_url), autocommit=True)
        try:
            async with _stack.ConnPool(base, headers, args.concurrency, args.client) as pool:
                free = asyncio.LifoQueue()  # reuse the most recently used (still open) connections first
                for c in pool.conns:
                    free.put_nowait(c)

                async def send(run: Run, key: int) -> None:
                    conn = free.get_nowait()  # a slot is held, so a connection is free
                    body = maker.encoded()
                    run.started[key] = time.perf_counter()
                    try:
                        status, payload = await conn.request("POST", "/api/v1/tickets", body, timeout=10.0)
                        run.answered[key] = time.perf_counter()
                        run.answered_wall[key] = time.time()
                        if status == 201:
                            run.ok[key] = json.loads(payload)["id"]
                        else:
                            run.error(f"HTTP {status}", f"{status}: {payload[:300].decode(errors='replace')}")
                    except Exception as exc:
                        run.error(type(exc).__name__, f"{type(exc).__name__}: {exc}")
                    finally:
                        free.put_nowait(conn)

                async def poll_once(run: Run) -> None:
                    pending = run.pending
                    if not pending:
                        return
                    cur = await db.execute("SELECT id FROM ticket WHERE id = ANY(%s) AND status <> %s",
                                           (pending, TicketStatus.NEW.value))
                    rows = await cur.fetchall()
                    t = time.perf_counter()
                    for (ticket_id,) in rows:
                        run.seen[ticket_id] = t

                # Warm-up (not counted): the API's first requests, the worker's first jobs, the rule set load.
                warm = Run("warm-up", duration=1)
                saved = (args.rate, args.grace)
                args.rate, args.grace = 5, 30
                try:
                    await open_loop(warm, args, send, poll_once)
                finally:
                    args.rate, args.grace = saved
                if warm.errors or warm.pending:
                    raise RuntimeError(f"warm-up failed: errors {warm.errors} {warm.error_samples}, "
                                       f"{len(warm.pending)} not routed\n{stack.log_tail(worker)}")

                with _stack.CpuMeter({"api": api.pid, "worker": worker.pid}) as cpu:
                    await open_loop(run, args, send, poll_once)
                run.cpu = cpu

            ids = list(run.ok.values())
            cur = await db.execute(
                """SELECT t.id, t.status,
                          extract(epoch FROM t.routed_at - t.created_at) * 1000,
                          extract(epoch FROM e.at - t.created_at) * 1000,
                          extract(epoch FROM e.at)
                     FROM ticket t
                     LEFT JOIN ticket_event e ON e.ticket_id = t.id AND e.kind = ANY(%s)
                    WHERE t.id = ANY(%s)""", ([EventKind.ROUTED.value, EventKind.ROUTING_NO_MATCH.value], ids))
            rows = await cur.fetchall()
            rows.sort(key=lambda r: r[0])
            server["routed_ms"] = [float(r[2]) for r in rows if r[2] is not None]
            server["event_ms"] = [float(r[3]) for r in rows if r[3] is not None]
            answered = {ident: run.answered_wall[k] for k, ident in run.ok.items() if k in run.answered_wall}
            server["after_answer_ms"] = [(float(r[4]) - answered[r[0]]) * 1000 for r in rows
                                         if r[4] is not None and r[0] in answered]
            server["status"] = {}
            for r in rows:
                server["status"][r[1]] = server["status"].get(r[1], 0) + 1
            cur = await db.execute("SELECT count(*) FROM ticket")
            server["tickets_total"] = (await cur.fetchone())[0]
        finally:
            await db.close()

    try:
        asyncio.run(main())
    finally:
        stack.stop(api)
        stack.stop(worker)
    return run, server


# --------------------------------------------------------------------------------------------------


def _row(label: str, values: list[float]) -> list:
    p = _stack.percentile
    return [label, len(values), p(values, 50), p(values, 90), p(values, 99), max(values, default=float("nan"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=50, help="tickets per second (default 50)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of sending (default 30)")
    parser.add_argument("--grace", type=float, default=10, help="seconds to wait for stragglers (default 10)")
    parser.add_argument("--concurrency", type=int, default=64, help="max requests in flight (default 64)")
    parser.add_argument("--poll-ms", type=float, default=20, help="polling interval for completions (default 20)")
    parser.add_argument("--floor-duration", type=float, default=10,
                        help="seconds of the RQ no-op floor run at the same rate; 0 skips it (default 10)")
    parser.add_argument("--enterprises", type=int, default=5000, help="size of the enterprise pool (default 5000)")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="HTTP client: raw asyncio keep-alive connections (default) or one httpx.AsyncClient")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="wait up to this long for the machine to be under 25%% busy before starting (default 0)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.concurrency <= 0 or args.poll_ms <= 0:
        parser.error("--rate, --duration, --concurrency and --poll-ms must be positive")
    if args.rate * args.duration > 100_000 or args.rate * args.floor_duration > 100_000:
        parser.error("more than 100000 tickets per run: lower --rate or --duration")

    problems = _stack.check_templates_route()
    _stack.install_signal_handlers()
    try:
        with _stack.Stack("e2e") as stack:
            return _run(stack, args, problems)
    except KeyboardInterrupt:
        print("\ninterrupted; everything started was stopped and removed", file=sys.stderr)
        return 130


def _run(stack: _stack.Stack, args, problems: list[str]) -> int:
    print(f"end-to-end benchmark: {stack.mode} (PostgreSQL {stack.server_version}), set-up {stack.setup_seconds:.1f} s")
    print(f"  open loop: {args.rate:g} tickets/s for {args.duration:g} s, at most {args.concurrency} in flight, "
          f"completions polled every {args.poll_ms:g} ms, grace {args.grace:g} s")
    print("  stack: uvicorn service.app:app (1 process) + one `python -m service.cli worker` (RQ SimpleWorker)")
    _stack.report_quiet(args)
    if problems:
        print(f"  WARNING: {len(problems)} ticket texts are not placed by the shipped rules as expected, e.g. "
              f"{problems[0]}")

    floor = floor_server = None
    if args.floor_duration > 0:
        print(f"  running the RQ floor (no-op job, {args.floor_duration:g} s) ...", flush=True)
        floor, floor_server = run_floor(stack, args)
    print(f"  running hotline ({args.duration:g} s + up to {args.grace:g} s grace) ...", flush=True)
    run, server = run_hotline(stack, args)

    rows = [
        _row("hotline: POST start -> seen assigned (client)", run.client_ms()),
        _row("hotline: scheduled send -> seen assigned (client)", run.scheduled_ms()),
        _row("hotline: created_at -> routed_at (server now())", server.get("routed_ms", [])),
        _row("hotline: created_at -> routing event at (server)", server.get("event_ms", [])),
        _row("hotline: POST answered -> routing event at (*)", server.get("after_answer_ms", [])),
        _row("hotline: POST response time", run.response_ms()),
    ]
    if floor is not None:
        rows += [
            _row("RQ floor: enqueue -> seen finished (client)", floor.client_ms()),
            _row("RQ floor: enqueued_at -> ended_at (job)", floor_server["server"]),
            _row("RQ floor: enqueue call time", floor.response_ms()),
        ]
    _stack.print_table(["measure", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows,
                       title=f"POST -> assigned ({stack.short_mode} servers, {args.rate:g}/s for {args.duration:g} s)")
    print("  (*) the bench's time.time() at the response against PostgreSQL's clock_timestamp(): same machine, same "
          "clock;\n      negative when the worker routed the ticket before the response reached the bench")

    status = server.get("status", {})
    not_routed = status.get(TicketStatus.NEW.value, 0)
    print()
    for r in [run] + ([floor] if floor is not None else []):
        late = _stack.percentile(r.late_ms, 99)
        sent_ok = len(r.ok)
        print(f"  {r.name}: planned {r.planned}, sent {len(r.started)}, accepted {sent_ok}, "
              f"errors {sum(r.errors.values())} {r.errors or ''}; achieved send rate {r.achieved_rate:.1f}/s; "
              f"p99 send lateness {late:.1f} ms; not seen done after {r.grace_used:.1f} s grace: {len(r.pending)}")
        for sample in r.error_samples:
            print(f"    e.g. {sample}")
        if r.cpu is not None:
            unit = "ticket" if r is run else "job"
            # the API's CPU per ticket it accepted; the worker's per job it finished
            done = {k: (len(r.seen) if k == "worker" else sent_ok) for k in r.cpu.proc_pct}
            parts = ", ".join(f"{k} {v:.0f}% ({1000 * r.cpu.proc_s[k] / max(1, done[k]):.1f} ms/{unit})"
                              for k, v in r.cpu.proc_pct.items())
            print(f"    CPU over the {r.cpu.wall:.0f} s run (% of one core): {parts}, bench {r.cpu.bench_pct:.0f}%, "
                  f"machine busy {r.cpu.machine_busy_pct:.0f}% of {os.cpu_count()} cores")
    print(f"  hotline tickets by status after the grace period: {status}; still `new` (not routed): {not_routed}")

    # Where the time went: the API falling behind shows as a send rate under target (the in-flight cap
    # throttles the open loop); the worker falling behind shows as a routing delay that grows during the run.
    if run.achieved_rate < 0.95 * args.rate:
        print(f"  diagnosis: the API took only {run.achieved_rate:.1f} tickets/s of the {args.rate:g}/s offered "
              f"({args.concurrency} in flight at most; POST p50 {_stack.percentile(run.response_ms(), 50):.0f} ms): "
              f"intake is the bottleneck")
    after = server.get("after_answer_ms", [])
    if len(after) >= 30:
        third = len(after) // 3
        first, last = _stack.percentile(after[:third], 50), _stack.percentile(after[-third:], 50)
        trend = "growing: the worker cannot keep up" if last > 2 * max(first, 0) + 100 else "steady"
        print(f"  diagnosis: POST answered -> routed p50 {first:.0f} ms for the first third of the tickets, "
              f"{last:.0f} ms for the last third ({trend})")

    client = run.client_ms()
    p99 = _stack.percentile(client, 99)
    all_done = not run.pending and not run.errors and len(client) == run.planned
    print(_stack.goal(f"p99 under 1 s (POST start -> assigned, p99 {p99:.0f} ms)",
                      not math.isnan(p99) and p99 < 1000 and all_done))
    if not all_done:
        print(f"  (counted as not met: {len(run.pending)} tickets not routed in time, "
              f"{sum(run.errors.values())} POSTs failed, of {run.planned} planned)")
    if status.get(TicketStatus.PENDING_DISPATCH.value):
        print(f"  note: {status[TicketStatus.PENDING_DISPATCH.value]} tickets went to pending_dispatch (no rule matched)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
