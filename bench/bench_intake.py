#!/usr/bin/env python
"""Intake throughput and latency: POST /api/v1/tickets under closed-loop load, beside a bare INSERT floor.

    python bench/bench_intake.py [--callers distinct|repeat|both] [--client raw|httpx|wrk] [--duration 20]
                                 [--concurrency 32] [--warmup 2] [--enterprises N] [--history 40] [--hostile [SHARE]]

Callers (--callers):
  distinct  (default) 30,000 enterprises (--enterprises), taken in turn: each body a new or rarely repeated
            enterprise, so the duplicate check finds little history.
  repeat    500 enterprises (--enterprises), each calling again and again for the whole run, drawn at random.
            Before measuring, each is given --history earlier tickets (received over the last 30 days, the
            shipped problem texts at random, so similar and dissimilar ones), registered through the project's
            own intake function (bench/_stack.py register): the duplicate check sees a full candidate window.
  both      repeat, then distinct, in the same run and database.
Each mode runs the service and the floor: a bare FastAPI app (baseline_app below) whose one endpoint takes the
same JSON body and does one INSERT of it into bench_baseline in the same database, served by uvicorn with the
same settings (same worker count, and the service's own engine, so the same pool size and pre-ping).
Bodies are valid tickets (Chinese titles and descriptions, a unique external_id each); --hostile adds a share
(default 5 %) of valid but costly ones: a title and a description near the schema's limits, made of many
distinct CJK characters. No worker runs: routing jobs just queue up in Redis, so this measures intake alone.

Load (--client): raw asyncio keep-alive connections (default), one httpx.AsyncClient, or wrk (-t2, a generated
Lua script that builds the same varied bodies from the mode's enterprise pool and sends the bearer token; its
--latency distribution and Requests/sec are reported). The intake bar is judged with wrk.

Servers: embedded PostgreSQL + Redis unless HOTLINE_DATABASE_URL / HOTLINE_REDIS_URL are set; a fresh
database is created and dropped (see bench/_stack.py).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
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


GOAL_RATIO, GOAL_P99_MS = 0.6, 80.0
MODES = {  # mode -> (default pool size, first enterprise number, bodies take the enterprises in turn)
    "repeat": (500, 1, False),
    "distinct": (30_000, 100_001, True),
}


@dataclass
class Result:
    mode: str
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    warmup_requests: int = 0
    cpu: _stack.CpuMeter | None = None
    sessions: _stack.PgSessions | None = None
    other_cpu_pct: float = float("nan")
    wrk: dict | None = None  # wrk's own figures (then latencies_ms stays empty)

    @property
    def requests(self) -> int:
        return self.wrk["requests"] if self.wrk else sum(self.statuses.values())

    def latency(self, p: int) -> float:
        if self.wrk:
            return self.wrk["latency_ms"].get(p, float("nan"))
        return _stack.percentile(self.latencies_ms, p)

    @property
    def ok(self) -> int:
        if self.wrk:
            return self.wrk["requests"] - self.wrk["errors"]
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


async def run_phase(mode: str, name: str, base_url: str, path: str, token: str, maker: _stack.TicketMaker, args,
                    pids: dict[str, int | None], pg) -> Result:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    result = Result(mode, name)
    async with _stack.ConnPool(base_url, headers, args.concurrency, args.client) as pool:
        if args.warmup > 0:
            result.warmup_requests, _ = await _load(pool, path, maker, args.warmup, args.max_requests, None)
        with _stack.CpuMeter(pids) as cpu, _stack.PgSessions(pg) as sessions:
            _, result.elapsed = await _load(pool, path, maker, args.duration, args.max_requests, result)
        result.cpu, result.sessions = cpu, sessions
    return result


# --------------------------------------------------------------------------------------------------
# wrk: the same bodies from a generated Lua script


WRK_LUA = r"""
-- Generated by bench/bench_intake.py: varied valid ticket bodies, as _stack.TicketMaker builds them.
local dir, run, n_threads, in_turn, hostile_share = %(dir)s, %(run)s, %(threads)d, %(in_turn)s, %(hostile)s
local token = %(token)s

local function rows(name)
  local out = {}
  for line in io.lines(dir .. "/" .. name) do
    local cells = {}
    for cell in (line .. "\t"):gmatch("([^\t]*)\t") do cells[#cells + 1] = cell end
    out[#out + 1] = cells
  end
  return out
end

local ents, texts, hostile = rows("enterprises.tsv"), rows("texts.tsv"), rows("hostile.tsv")
local channels, rtypes, contacts = rows("channels.tsv"), rows("request_types.tsv"), rows("contacts.tsv")
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  threads[#threads + 1] = thread
end

local counter = 0
function init(args)
  tid = tid or 1
  math.randomseed(os.time() * 1000 + tid)
  wrk.method = "POST"
  wrk.headers["content-type"] = "application/json"
  wrk.headers["authorization"] = "Bearer " .. token
end

local function pick(list) return list[math.random(#list)][1] end

function request()
  counter = counter + 1
  local k
  if in_turn then k = ((counter - 1) * n_threads + tid - 1) %% #ents else k = math.random(0, #ents - 1) end
  local e = ents[k + 1]
  local title, desc
  if hostile_share > 0 and math.random() < hostile_share then
    local h = hostile[math.random(#hostile)]
    title, desc = h[1], h[2]
  else
    local t = texts[math.random(#texts)]
    title = t[1]
    desc = t[2]:gsub("{n}", tostring(math.random(2, 9))):gsub("{m}", tostring(math.random(10, 500)))
    desc = desc:gsub("{h}", tostring(math.random(7, 11))):gsub("{ent}", e[1])
  end
  local body = table.concat({
    '{"channel":"', pick(channels), '","external_id":"bench-', run, '-w', tid, '-', counter,
    '","enterprise":{"name":"', e[1], '","uscc":"', e[2], '"},"contact":{"name":"', pick(contacts),
    '","phone":"1', tostring(math.random(3, 8)), string.format("%%09d", math.random(0, 999999999)),
    '"},"town":"', e[3], '","request_type":"', pick(rtypes), '","urgency":"normal","title":"', title,
    '","description":"', e[1], '反映：', desc, '"}'})
  return wrk.format(nil, nil, nil, body)
end
"""


def write_wrk_script(directory: Path, maker: _stack.TicketMaker, token: str, threads: int) -> Path:
    """The Lua script and its data files (TSV: the mode's enterprises, the texts, the hostile texts)."""
    directory.mkdir(parents=True, exist_ok=True)

    def tsv(name: str, rows) -> None:
        (directory / name).write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")

    numbers = range(maker.first_enterprise, maker.first_enterprise + maker.enterprises)
    tsv("enterprises.tsv", [(e["name"], e["uscc"], town) for e, town in map(_stack.enterprise, numbers)])
    tsv("texts.tsv", [(t, d) for t, d, _ in _stack.TEMPLATES])
    tsv("hostile.tsv", maker.hostile_texts or [("x", "x")])
    tsv("channels.tsv", [(c,) for c in _stack.CHANNELS])
    tsv("request_types.tsv", [(r,) for r in _stack.REQUEST_TYPES])
    tsv("contacts.tsv", [(c,) for c in _stack._CONTACTS])
    script = directory / "intake.lua"
    script.write_text(WRK_LUA % {"dir": json.dumps(str(directory)), "run": json.dumps(maker.run_id),
                                 "threads": threads, "in_turn": "true" if maker.in_turn else "false",
                                 "hostile": repr(float(maker.hostile)), "token": json.dumps(token)},
                      encoding="utf-8")
    return script


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(out: str) -> dict:
    """requests, errors (non-2xx/3xx and socket errors), seconds, rps (Requests/sec), latency_ms {50, 75, 90,
    99} and max_ms."""
    import re

    def ms(text: str) -> float:
        m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
        return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")

    got = {"latency_ms": {}, "errors": 0}
    for p, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M):
        got["latency_ms"][int(p)] = ms(value)
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not m:
        raise RuntimeError(f"wrk printed no request count:\n{out}")
    got["requests"], got["seconds"] = int(m.group(1)), ms(m.group(2) + m.group(3)) / 1000
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        got["errors"] += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        got["errors"] += sum(int(x) for x in m.groups())
    m = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M)
    got["max_ms"] = ms(m.group(1)) if m else float("nan")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    got["rps"] = float(m.group(1)) if m else float("nan")
    return got


def run_wrk(mode: str, name: str, base_url: str, path: str, script: Path, args, pids: dict[str, int | None],
            pg) -> Result:
    """A wrk warm-up, then the measured wrk run, on fresh connections each."""
    import resource
    import subprocess

    def wrk(seconds: float) -> str:
        argv = ["wrk", f"-t{args.wrk_threads}", f"-c{args.concurrency}", f"-d{max(1, round(seconds))}s",
                "--timeout", "10s", "--latency", "-s", str(script), base_url + path]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        if done.returncode != 0:
            raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr or done.stdout}")
        return done.stdout

    result = Result(mode, name)
    if args.warmup > 0:
        result.warmup_requests = parse_wrk(wrk(args.warmup))["requests"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with _stack.CpuMeter(pids) as cpu, _stack.PgSessions(pg) as sessions:
        out = wrk(args.duration)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.wrk = parse_wrk(out)
    if any(math.isnan(v) for v in result.wrk["latency_ms"].values()) or len(result.wrk["latency_ms"]) < 4:
        result.error_samples.append("wrk's latency distribution not read from:\n" + out)
    result.elapsed = result.wrk["seconds"]
    # the load generator is wrk, not this process: count its CPU as the client's
    cpu.bench_pct = 100 * ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / cpu.wall
    result.cpu, result.sessions = cpu, sessions
    if result.wrk["errors"]:
        result.error_samples.append(" ".join(line.strip() for line in out.splitlines()
                                             if "Non-2xx" in line or "Socket errors" in line))
    return result


# --------------------------------------------------------------------------------------------------


def seed_history(stack: _stack.Stack, maker: _stack.TicketMaker, per_enterprise: int) -> tuple[int, float]:
    """per_enterprise earlier tickets for each enterprise of the pool, received over the last 30 days, registered
    through the project's intake function; returns (tickets, seconds)."""
    import random
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine

    rng = random.Random(11)
    now = datetime.now(UTC)
    history = _stack.TicketMaker(f"{maker.run_id}-history", seed=12)

    def bodies():
        for _ in range(per_enterprise):
            for number in range(maker.first_enterprise, maker.first_enterprise + maker.enterprises):
                body = history.body(number)
                body["received_at"] = (now - timedelta(seconds=rng.randrange(30 * 86400))).isoformat()
                yield body

    engine = create_engine(stack.db_url)
    t0 = time.perf_counter()
    try:
        count = maker.enterprises * per_enterprise
        _stack.seed_tickets(engine, history, count, stories={}, bodies=bodies(), batch=200)
    finally:
        engine.dispose()
    return count, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--callers", choices=["distinct", "repeat", "both"], default="distinct",
                        help="which callers: distinct enterprises (default), 500 repeating ones, or both")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per endpoint (default 20)")
    parser.add_argument("--concurrency", "--connections", type=int, default=32,
                        help="concurrent clients / connections (default 32)")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each run (default 2)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="hard cap on requests per run (not wrk)")
    parser.add_argument("--enterprises", type=int, default=None,
                        help="enterprise pool of each mode (default: 500 repeat, 30,000 distinct)")
    parser.add_argument("--history", type=int, default=40,
                        help="earlier tickets per enterprise seeded before the repeat mode (default 40)")
    parser.add_argument("--hostile", type=float, nargs="?", const=0.05, default=0.0, metavar="SHARE",
                        help="share of hostile-but-valid bodies (default when given: 0.05)")
    parser.add_argument("--api-workers", type=int, default=None,
                        help="uvicorn worker processes for both apps (default: HOTLINE_API_WORKERS, i.e. 1)")
    parser.add_argument("--only", choices=["hotline", "baseline"], help="run one endpoint only")
    parser.add_argument("--client", choices=["raw", "httpx", "wrk"], default="raw",
                        help="load client: raw asyncio keep-alive connections (default), one httpx.AsyncClient, "
                             "or wrk")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="wait up to this long for the machine to be under 25%% busy before starting (default 0)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.concurrency <= 0:
        parser.error("--duration and --concurrency must be positive")
    if args.enterprises is not None and args.enterprises <= 0 or args.history < 0 or not 0 <= args.hostile <= 1:
        parser.error("--enterprises must be positive, --history not negative, --hostile between 0 and 1")
    if args.client == "wrk" and not shutil.which("wrk"):
        parser.error("--client wrk: wrk is not installed (Debian: apt-get install wrk)")

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

    modes = ["repeat", "distinct"] if args.callers == "both" else [args.callers]
    print(f"intake benchmark: {stack.mode} (PostgreSQL {stack.server_version}), set-up {stack.setup_seconds:.1f} s")
    client = {"httpx": "one httpx.AsyncClient, pool of", "raw": "asyncio keep-alive HTTP/1.1,",
              "wrk": f"wrk -t{args.wrk_threads},"}[args.client]
    print(f"  load: {args.concurrency} concurrent clients ({client} {args.concurrency} connections), closed loop, "
          f"{args.warmup:g} s warm-up + {args.duration:g} s measured per endpoint"
          + (f"; {args.hostile:.0%} hostile bodies" if args.hostile else ""))
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
        results: list[Result] = []
        for m, mode in enumerate(modes):
            size, first, in_turn = MODES[mode]
            size = args.enterprises or size
            if mode == "repeat" and args.history:
                print(f"  repeat: seeding {args.history} earlier tickets for each of {size:,} enterprises through "
                      f"the intake function ...", flush=True)
                n, secs = seed_history(stack, _stack.TicketMaker(stack.run, size, first_enterprise=first), args.history)
                print(f"  repeat: {n:,} tickets seeded in {secs:.1f} s ({n / secs:,.0f}/s)", flush=True)
            for i, (name, app, path, kw) in enumerate(phases):
                proc, base = stack.start_api(app, name=name, workers=workers, **kw)
                try:
                    token = stack.token(base) if name == "hotline" else "not-checked"
                    maker = _stack.TicketMaker(f"{stack.run}-{mode}-{name}", enterprises=size, seed=10 * m + i + 1,
                                               first_enterprise=first, in_turn=in_turn, hostile=args.hostile)
                    print(f"  running {mode} / {name} ...", flush=True)
                    pids = {"api": proc.pid, **servers}
                    if args.client == "wrk":
                        script = write_wrk_script(stack.workdir / f"wrk-{mode}-{name}", maker, token, args.wrk_threads)
                        results.append(run_wrk(mode, name, base, path, script, args, pids, pg))
                    else:
                        results.append(asyncio.run(run_phase(mode, name, base, path, token, maker, args, pids, pg)))
                finally:
                    stack.stop(proc)
        return report(stack, args, results, pg)
    finally:
        pg.close()


def report(stack: _stack.Stack, args, results: list[Result], pg) -> int:
    floors = {r.mode: r for r in results if r.name == "baseline"}
    rows = []
    for r in results:
        floor = floors.get(r.mode)
        ratio = r.rps / floor.rps if floor is not None and floor.rps else float("nan")
        rows.append([r.mode, r.name, args.client, r.requests, r.errors, r.rps, r.latency(50), r.latency(99),
                     f"{ratio:.2f}x" if r.name != "baseline" and not math.isnan(ratio) else "-"])
    _stack.print_table(["mode", "endpoint", "client", "requests", "errors", "req/s", "p50 ms", "p99 ms", "to floor"],
                       rows, title=f"POST throughput and latency ({stack.short_mode} servers, {args.concurrency} "
                                   f"connections, {args.duration:g} s"
                                   + (f", {args.hostile:.0%} hostile bodies)" if args.hostile else ")"))
    detail = []
    ncpu = os.cpu_count() or 1
    for r in results:
        pct = r.cpu.proc_pct
        api, pgc, rds = pct["api"], pct.get("pg", float("nan")), pct.get("redis", float("nan"))
        known = sum(v for v in (api, pgc, rds, r.cpu.bench_pct) if not math.isnan(v))
        r.other_cpu_pct = r.cpu.machine_busy_pct * ncpu - known
        top = r.wrk["max_ms"] if r.wrk else max(r.latencies_ms, default=float("nan"))
        detail.append([r.mode, r.name, r.latency(90), top,
                       api, 10 * api / r.rps if r.rps else float("nan"), pgc, rds,
                       r.sessions.opened if r.sessions.opened is not None else "n/a",
                       r.cpu.bench_pct, r.other_cpu_pct, r.cpu.machine_busy_pct])
    shared = " (pg and redis: whole servers, shared with anything else using them)" if stack.servers_shared else ""
    _stack.print_table(["mode", "endpoint", "p90 ms", "max ms", "api CPU %", "api CPU ms/req", "pg CPU %",
                        "redis CPU %", "pg sessions opened", "client CPU %", "other CPU %", "machine busy %"], detail,
                       title=f"detail: CPU % of one core ({ncpu} cores; machine busy % is of all of them; "
                             f"other = everything else on the machine){shared}")
    noisy = [f"{r.mode}/{r.name}" for r in results if r.other_cpu_pct > 25]
    if noisy:
        print(f"  WARNING: other processes used a lot of CPU during {', '.join(noisy)}; "
              f"those numbers are disturbed, run again on a quiet machine")
    for r in results:
        bad = {k: v for k, v in r.statuses.items() if not (isinstance(k, int) and 200 <= k < 300)}
        if bad or r.error_samples:
            print(f"  {r.mode}/{r.name} errors: {dict(bad) if bad else r.errors}")
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
    print(f"\n  check: {tickets:,} tickets in the database (seeded history included), {queued} routing jobs queued, "
          f"{baseline_rows:,} baseline rows (warm-up requests included)")

    print(f"\n  bars (the issue: intake at least {GOAL_RATIO:g}x the floor, p99 under {GOAL_P99_MS:g} ms, "
          f"judged with wrk{'' if args.client == 'wrk' else '; this run used ' + args.client}):")
    for r in results:
        if r.name != "hotline":
            continue
        floor = floors.get(r.mode)
        if floor is not None:
            ratio = r.rps / floor.rps if floor.rps else float("nan")
            print(_stack.goal(f"{r.mode}: {ratio:.2f}x the floor", ratio >= GOAL_RATIO))
        p99 = r.latency(99)
        print(_stack.goal(f"{r.mode}: p99 {p99:.0f} ms", p99 < GOAL_P99_MS))
        if r.errors:
            print(f"  note: {r.errors} {r.mode} requests failed (counted as errors above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
