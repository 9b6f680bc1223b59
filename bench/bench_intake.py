#!/usr/bin/env python
"""Intake throughput and latency: POST /api/v1/tickets under closed-loop load, against a bare baseline.

    python bench/bench_intake.py [--duration 20] [--concurrency 32] [--warmup 2]

Each of --concurrency clients POSTs valid tickets (varied enterprises, Chinese titles and descriptions,
a unique external_id each) back to back for --duration seconds, after a --warmup period that is not
counted. No worker runs: routing jobs just queue up in Redis, so this measures intake alone.

The baseline is a bare FastAPI app (baseline_app below) with one endpoint that takes the same JSON body
and does one INSERT of it into bench_baseline in the same database, served by uvicorn with the same
settings (same worker count, and the service's own engine, so the same pool size and pre-ping).

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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _stack  # noqa: E402

BASELINE_PATH = "/baseline"
BASELINE_DDL = ("CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, body jsonb NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())")


def baseline_app():
    """uvicorn factory: the floor an intake endpoint could reach here (parse JSON, one INSERT, answer 201)."""
    import json
    from typing import Any

    from fastapi import Body, FastAPI
    from sqlalchemy import text

    from service.db import get_engine  # the service's engine: same URL, pool size, overflow, pre-ping

    app = FastAPI(title="intake baseline")
    insert = text("INSERT INTO bench_baseline (body) VALUES (CAST(:body AS jsonb)) RETURNING id")

    @app.post(BASELINE_PATH, status_code=201)
    def create(body: dict[str, Any] = Body(...)) -> dict:
        with get_engine().begin() as conn:
            new_id = conn.execute(insert, {"body": json.dumps(body, ensure_ascii=False)}).scalar_one()
        return {"id": new_id}

    @app.get("/readyz")
    def readyz() -> dict:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ready"}

    return app


@dataclass
class Result:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    warmup_requests: int = 0
    cpu: _stack.CpuMeter | None = None
    sessions: _stack.PgSessions | None = None
    other_cpu_pct: float = float("nan")

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if isinstance(s, int) and 200 <= s < 300)

    @property
    def errors(self) -> int:
        return self.requests - self.ok

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else float("nan")


async def _load(pool: _stack.ConnPool, path: str, maker: _stack.TicketMaker, duration: float, max_requests: int,
                result: Result | None) -> tuple[int, float]:
    """Each connection of the pool is one client POSTing back to back until duration or max_requests."""
    loop_deadline = time.perf_counter() + duration
    sent = 0

    async def one_client(conn) -> None:
        nonlocal sent
        while sent < max_requests and time.perf_counter() < loop_deadline:
            sent += 1
            body = maker.encoded()
            t0 = time.perf_counter()
            try:
                status, payload = await conn.request("POST", path, body, timeout=10.0)
                if not 200 <= status < 300 and result is not None and len(result.error_samples) < 5:
                    result.error_samples.append(f"{status}: {payload[:300].decode(errors='replace')}")
            except Exception as exc:  # timeouts, resets: an error, and the client carries on
                status = type(exc).__name__
                if result is not None and len(result.error_samples) < 5:
                    result.error_samples.append(f"{status}: {exc}")
            t1 = time.perf_counter()
            if result is not None:
                result.statuses[status] += 1
                if isinstance(status, int) and 200 <= status < 300:
                    result.latencies_ms.append((t1 - t0) * 1000)

    t_start = time.perf_counter()
    tasks = [asyncio.create_task(one_client(c)) for c in pool.conns]
    try:
        # Every client stops by itself at the deadline; the timeout only guards against a hung server.
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + 30)
    finally:
        for t in tasks:
            t.cancel()
    return sent, time.perf_counter() - t_start


async def run_phase(name: str, base_url: str, path: str, token: str, maker: _stack.TicketMaker, args,
                    pids: dict[str, int | None], pg) -> Result:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    result = Result(name)
    async with _stack.ConnPool(base_url, headers, args.concurrency, args.client) as pool:
        if args.warmup > 0:
            result.warmup_requests, _ = await _load(pool, path, maker, args.warmup, args.max_requests, None)
        with _stack.CpuMeter(pids) as cpu, _stack.PgSessions(pg) as sessions:
            _, result.elapsed = await _load(pool, path, maker, args.duration, args.max_requests, result)
        result.cpu, result.sessions = cpu, sessions
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per endpoint (default 20)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each run (default 2)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="hard cap on requests per run")
    parser.add_argument("--enterprises", type=int, default=5000, help="size of the enterprise pool (default 5000)")
    parser.add_argument("--api-workers", type=int, default=None,
                        help="uvicorn worker processes for both apps (default: HOTLINE_API_WORKERS, i.e. 1)")
    parser.add_argument("--only", choices=["hotline", "baseline"], help="run one endpoint only")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="load client: raw asyncio keep-alive connections (default) or one httpx.AsyncClient")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="wait up to this long for the machine to be under 25%% busy before starting (default 0)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.concurrency <= 0:
        parser.error("--duration and --concurrency must be positive")

    from service.config import Settings

    settings = Settings()
    workers = args.api_workers or settings.api_workers
    _stack.install_signal_handlers()
    try:
        with _stack.Stack("intake") as stack:
            return _run(stack, args, workers, settings)
    except KeyboardInterrupt:
        print("\ninterrupted; everything started was stopped and removed", file=sys.stderr)
        return 130


def _run(stack: _stack.Stack, args, workers: int, settings) -> int:
    import psycopg

    print(f"intake benchmark: {stack.mode} (PostgreSQL {stack.server_version}), set-up {stack.setup_seconds:.1f} s")
    client = ("one httpx.AsyncClient, pool of" if args.client == "httpx" else "asyncio keep-alive HTTP/1.1,")
    print(f"  load: {args.concurrency} concurrent clients ({client} {args.concurrency} connections), closed loop, "
          f"{args.warmup:g} s warm-up + {args.duration:g} s measured per endpoint")
    print(f"  server: uvicorn, {workers} worker process(es), default loop/http; pools (pre-ping): threads' "
          f"{settings.db_pool_size}+{settings.db_max_overflow} (the baseline's), the event loop's "
          f"{settings.db_async_pool_size}+{settings.db_async_max_overflow} (intake's); "
          f"no RQ worker (routing jobs queue up in Redis)")
    _stack.report_quiet(args)
    pg = psycopg.connect(_stack.libpq_url(stack.db_url), autocommit=True)
    try:
        pg.execute(BASELINE_DDL)

        phases = [("hotline", "service.app:app", "/api/v1/tickets", {}),
                  ("baseline", "bench_intake:baseline_app", BASELINE_PATH,
                   {"factory": True, "app_dir": _stack.BENCH_DIR, "ready_path": "/readyz"})]
        if args.only:
            phases = [p for p in phases if p[0] == args.only]
        servers = stack.server_pids()
        results: dict[str, Result] = {}
        for i, (name, app, path, kw) in enumerate(phases):
            proc, base = stack.start_api(app, name=name, workers=workers, **kw)
            try:
                token = stack.token(base) if name == "hotline" else "not-checked"
                maker = _stack.TicketMaker(f"{stack.run}-{name}", enterprises=args.enterprises, seed=i + 1)
                print(f"  running {name} ...", flush=True)
                pids = {"api": proc.pid, **servers}
                results[name] = asyncio.run(run_phase(name, base, path, token, maker, args, pids, pg))
            finally:
                stack.stop(proc)

        rows = []
        for r in results.values():
            rows.append([r.name, r.requests, r.errors, r.rps, _stack.percentile(r.latencies_ms, 50),
                         _stack.percentile(r.latencies_ms, 99)])
        _stack.print_table(["endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms"], rows,
                           title=f"POST throughput and latency ({stack.short_mode} servers, "
                                 f"{args.concurrency} clients, {args.duration:g} s)")
        detail = []
        ncpu = os.cpu_count() or 1
        for r in results.values():
            pct = r.cpu.proc_pct
            api, pgc, rds = pct["api"], pct.get("pg", float("nan")), pct.get("redis", float("nan"))
            known = sum(v for v in (api, pgc, rds, r.cpu.bench_pct) if not math.isnan(v))
            r.other_cpu_pct = r.cpu.machine_busy_pct * ncpu - known
            detail.append([r.name, _stack.percentile(r.latencies_ms, 90), max(r.latencies_ms, default=float("nan")),
                           api, 10 * api / r.rps if r.rps else float("nan"), pgc, rds,
                           r.sessions.opened if r.sessions.opened is not None else "n/a",
                           r.cpu.bench_pct, r.other_cpu_pct, r.cpu.machine_busy_pct])
        shared = " (pg and redis: whole servers, shared with anything else using them)" if stack.servers_shared else ""
        _stack.print_table(["endpoint", "p90 ms", "max ms", "api CPU %", "api CPU ms/req", "pg CPU %", "redis CPU %",
                            "pg sessions opened", "client CPU %", "other CPU %", "machine busy %"], detail,
                           title=f"detail: CPU % of one core ({ncpu} cores; machine busy % is of all of them; "
                                 f"other = everything else on the machine){shared}")
        noisy = [r.name for r in results.values() if r.other_cpu_pct > 25]
        if noisy:
            print(f"  WARNING: other processes used a lot of CPU during {', '.join(noisy)}; "
                  f"those numbers are disturbed, run again on a quiet machine")
        for r in results.values():
            bad = {k: v for k, v in r.statuses.items() if not (isinstance(k, int) and 200 <= k < 300)}
            if bad:
                print(f"  {r.name} errors by status: {dict(bad)}")
                for sample in r.error_samples:
                    print(f"    e.g. {sample}")

        tickets = pg.execute("SELECT count(*) FROM ticket").fetchone()[0]
        baseline_rows = pg.execute("SELECT count(*) FROM bench_baseline").fetchone()[0]
        queued = None
        try:
            from rq import Queue

            conn = stack.redis()
            queued = Queue(f"{stack.queue_prefix}:routing", connection=conn).count
            conn.close()
        except Exception:
            pass
        print(f"\n  check: {tickets} tickets in the database, {queued} routing jobs queued, "
              f"{baseline_rows} baseline rows (warm-up requests included)")

        if "hotline" in results and "baseline" in results:
            h, b = results["hotline"], results["baseline"]
            ratio = h.rps / b.rps if b.rps else float("nan")
            print(f"\n  hotline / baseline throughput: {ratio:.2f}")
            print(_stack.goal("at least half the baseline's throughput", ratio >= 0.5))
        if "hotline" in results:
            p99 = _stack.percentile(results["hotline"].latencies_ms, 99)
            print(_stack.goal(f"p99 under 100 ms (hotline p99 {p99:.0f} ms)", p99 < 100))
            if "baseline" in results:
                b99 = _stack.percentile(results["baseline"].latencies_ms, 99)
                print(f"  (for scale: the baseline's p99 is {b99:.0f} ms; in a closed loop p50 is about "
                      f"clients / throughput = {args.concurrency} / req/s)")
            if results["hotline"].errors:
                print(f"  note: {results['hotline'].errors} hotline requests failed (counted as errors above)")
    finally:
        pg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
