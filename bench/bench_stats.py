#!/usr/bin/env python
"""Leadership's numbers: GET /api/v1/stats/summary at 100,000 and 10,000,000 tickets, beside a direct GROUP BY.

    python bench/bench_stats.py [--sizes 100000,10000000] [--templates 2000] [--repeat 7] [--direct-repeat 3]
                                [--explain] [--direct-heavy] [--keep-indexes] [--rebuild-settings work_mem=512MB,...]
                                [--hold SECONDS]

Set-up (bench/_stack.py): a fresh database hotline_bench_<run> on the embedded PostgreSQL, or on the
server at HOTLINE_DATABASE_URL when that is set (Redis likewise: embedded, or HOTLINE_REDIS_URL; only the
API needs it); migrated, reference data seeded, a leader user (service.security.users.create_user). It is
dropped at the end, also on Ctrl-C / SIGTERM, with the API subprocess and the temporary directory.

Data: first --templates tickets (default 2,000) go through the project's own code (bench/_stack.py
seed_tickets): registered by the intake function, then each worked through a story by the lifecycle actions
(route_ticket, accept, refuse, approve / overrule the refusal, dispatch, transfer, resolve, instant_resolve,
feedback, close, reopen, remind, supervise; shares in _stack.STORIES), so every status, event kind and payload
is the one the service writes. Then the database grows through --sizes (ascending): grow to the first size,
measure, grow to the next, measure again. Growing copies the templates (_stack.copy_tickets: INSERT ... SELECT of
their ticket, ticket_event and ticket_clock rows with new ids and numbers, every timestamp shifted so that the
copy is received on a day of this year up to now, weekdays four times weekends, office hours mostly); a copy
takes its channel, request type, category and town from the reference data (weighted), and the durations and
on-time flags in its events' payloads are redrawn (log-normal around 14 h, 85 % on time): the dimensions and
the duration buckets of the rollups fill out as in production. Nothing is later than now.
For speed the copying session runs with session_replication_role = replica (no per-row foreign-key checks;
every row is a copy of a valid one), the stat_enqueue triggers are disabled (ALTER TABLE ... DISABLE TRIGGER)
around the load and enabled again, and the secondary indexes of ticket and ticket_event are dropped before
the copy and built again after it from their own definitions (--keep-indexes copies into them instead).
Then the production path after a bulk load: the rollups rebuilt with service.pipeline.stats.rollup.rebuild(session)
+ commit (timed), then VACUUM (ANALYZE). The rebuild
writes the fact rows once to a temporary table and adds them up with GROUPING SETS (the city and every
dimension in one pass) into the daily and the monthly rollups; --rebuild-settings (e.g. work_mem=512MB)
sets planner settings on the rebuild's session only (the output says which were used).

Measured at each size, after one warm-up, --repeat times, in rounds that rotate which goes first:
  api  summary           GET /api/v1/stats/summary (this year to date), uvicorn subprocess, leader's token,
                          client wall time per request on one keep-alive connection
  api  unit+month        the same with group_by=unit&trend=month (the dashboard's heaviest call; per-group
                          办理时长 percentiles are left out unless group_durations=true is asked for)
  api  unit+month+group_durations   the same with group_durations=true (for information; not a goal)
  in-process summary / unit+month   stats_query.summary(session, ...) from the rollups (no HTTP)
Baselines, --direct-repeat times (after one warm-up):
  direct summary         stats_query.summary(..., use_rollups=False): the GROUP BY over ticket_event
                          joined to ticket (the check of the rollups)
  direct unit+month      the same for the heavy call (only with --direct-heavy: minutes at 10M)
  ticket GROUP BY        SELECT channel_code, count(*) FROM ticket WHERE created_at >= 1 January GROUP BY 1
Also: each rollup statement of the summary and of the heavy call once under EXPLAIN ANALYZE (rollup rows
read, time; whole plans with --explain), the rollup tables' row counts, and at the smallest size whether
the rollup answer equals the direct one.

Goals (the issue): the endpoint answers in under 100 ms at 10 million tickets, and its time grows less
than 3 times from 100,000 to 10 million (judged on the median, for both calls, at the largest and the
smallest size measured; the output says so when the largest is not 10 million, and then also prints a
projection to 10 million from the two largest sizes, labelled as such).
--hold N keeps everything up for N seconds before the clean-up (prints how to connect), for inspection.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import (  # noqa: E402
    HttpConn, Stack, TicketMaker, copy_tickets, drop_indexes, goal, install_signal_handlers, libpq_url, print_table,
    report_quiet, restore_indexes, seed_tickets, spread_sql,
)

LEADER, LEADER_PW = "bench-leader", "bench-leader-pw"
GOAL_MS, GOAL_RATIO, GOAL_SIZE = 100.0, 3.0, 10_000_000
ROLLUPS = ("stat_daily", "stat_duration", "stat_monthly", "stat_duration_monthly")
SEED = 20261127
SH = timezone(timedelta(hours=8))  # Asia/Shanghai has no DST: a fixed offset renders the same local days
# Shares of the copies over channels and request types (the templates' own come from bench/_stack.py).
CHANNEL_WEIGHTS = {"hotline_96666": 34, "bangqiyun": 24, "town_centre": 20, "liangwan": 11, "zhitongche": 4,
                   "qijian": 4, "kentanhui": 3}
REQUEST_WEIGHTS = {"help": 36, "consult": 34, "complaint": 14, "suggestion": 10, "report": 6}

def parse_size(text: str) -> int:
    t = text.strip().lower().replace("_", "").replace(",", "")
    mult = 1
    if t.endswith("k"):
        t, mult = t[:-1], 1_000
    elif t.endswith("m"):
        t, mult = t[:-1], 1_000_000
    return int(float(t) * mult)


def human(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


# --------------------------------------------------------------------------------------------------
# seeding


class Templates:
    """Tickets made by the project's own code (intake and the lifecycle actions, bench/_stack.py seed_tickets),
    and the SQL that spreads copies of them over this year and over the reference data's dimensions."""

    def __init__(self, conn, now: datetime):
        q = lambda sql: [r[0] for r in conn.execute(sql).fetchall()]  # noqa: E731
        self.now = now
        self.year_start = date(now.astimezone(SH).year, 1, 1)
        self.n_days = (now.astimezone(SH).date() - self.year_start).days + 1
        self.channels = q("SELECT code FROM channel ORDER BY code")
        self.categories = q("SELECT code FROM category ORDER BY code")
        self.towns = conn.execute("SELECT code, county_code FROM town ORDER BY code").fetchall()
        self.ids: list[int] = []
        self.stories: dict[str, int] = {}

    def make(self, stack: Stack, count: int) -> float:
        """Register and work `count` tickets through the pipeline; returns the seconds taken."""
        from sqlalchemy import create_engine

        maker = TicketMaker(f"{stack.run}-templates", enterprises=max(50, count // 4), seed=SEED)
        engine = create_engine(stack.db_url)
        t0 = time.perf_counter()
        try:
            self.stories = seed_tickets(engine, maker, count, seed=SEED)
        finally:
            engine.dispose()
        import psycopg

        with psycopg.connect(libpq_url(stack.db_url)) as conn:
            self.ids = [r[0] for r in conn.execute("SELECT id FROM ticket ORDER BY id").fetchall()]
        return time.perf_counter() - t0

    def overrides(self) -> dict[str, str]:
        """The copies' dimensions drawn over the reference data (weighted by repetition in the arrays)."""
        def one_of(values: list[str], r: str) -> str:
            return f"(ARRAY[{', '.join(repr(v) for v in values)}])[1 + floor({r} * {len(values)})::int]"

        channels = [c for c in self.channels for _ in range(CHANNEL_WEIGHTS.get(c, 3))]
        rtypes = [t for t, w in REQUEST_WEIGHTS.items() for _ in range(w)]
        return {"channel_code": one_of(channels, "m.r1"), "request_type": one_of(rtypes, "m.r2"),
                "category_code": f"CASE WHEN m.r2 * 37 - floor(m.r2 * 37) < 0.03 THEN NULL "
                                 f"ELSE {one_of(self.categories, '(m.r1 * 53 - floor(m.r1 * 53))')} END",
                "town_code": one_of([t for t, _ in self.towns], "m.r3"),
                "county_code": one_of([c for _, c in self.towns], "m.r3")}


def rebuild_settings(spec: str) -> list[tuple[str, str]]:
    """'work_mem=512MB,enable_sort=off' -> [('work_mem', '512MB'), ('enable_sort', 'off')] (names checked)."""
    import re

    out = []
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        name, _, value = part.partition("=")
        if not re.fullmatch(r"[a-z_]+", name.strip()) or not re.fullmatch(r"[A-Za-z0-9_.]+", value.strip()):
            raise SystemExit(f"--rebuild-settings: cannot use {part!r}")
        out.append((name.strip(), value.strip()))
    return out


def seed_to(stack: Stack, templates: Templates, have: int, target: int, args) -> dict:
    """Grow the database from `have` tickets to about `target` with copies of the templates; returns the timings
    (out["tickets"]: how many were added, a whole number of copies of the templates)."""
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from service.pipeline.stats import rollup as stats

    url = libpq_url(stack.db_url)
    copies = max(0, round((target - have) / len(templates.ids)))
    out = {"tickets": copies * len(templates.ids)}
    with psycopg.connect(url, autocommit=True) as admin:
        superuser = admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        admin.execute("ALTER TABLE ticket_event DISABLE TRIGGER stat_enqueue_event")
        admin.execute("ALTER TABLE ticket DISABLE TRIGGER stat_enqueue_ticket")
        t0 = time.perf_counter()
        indexes = [] if args.keep_indexes else drop_indexes(admin, ("ticket", "ticket_event"))
        out["drop_s"] = time.perf_counter() - t0
        first_id = admin.execute("SELECT max(id) + 1 FROM ticket").fetchone()[0]

    # INSERT ... SELECT of the templates' rows (no FK checks under the replica role, when allowed)
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        if superuser:
            conn.execute("SET session_replication_role = replica")
        copied = copy_tickets(conn, templates.ids, copies, first_id=first_id,
                              received=spread_sql(templates.year_start.isoformat(), templates.n_days),
                              overrides=templates.overrides())
    out["events"] = copied["events"]
    out["copy_s"] = time.perf_counter() - t0
    out["copy_mode"] = "replica role" if superuser else "FK checks on"

    with psycopg.connect(url, autocommit=True) as admin:
        t0 = time.perf_counter()
        admin.execute("SET maintenance_work_mem = '1GB'")
        restore_indexes(admin, indexes)
        out["index_s"] = time.perf_counter() - t0
        admin.execute(f"ALTER TABLE ticket ALTER COLUMN id RESTART WITH {first_id + out['tickets']}")
        admin.execute("ALTER TABLE ticket_event ENABLE TRIGGER stat_enqueue_event")
        admin.execute("ALTER TABLE ticket ENABLE TRIGGER stat_enqueue_ticket")

    engine = create_engine(stack.db_url)
    try:
        with Session(engine) as session:
            from sqlalchemy import text

            for name, value in rebuild_settings(getattr(args, "rebuild_settings", "")):
                session.execute(text(f"SET {name} = '{value}'"))
            t0 = time.perf_counter()
            stats.rebuild(session)
            session.commit()
            out["rebuild_s"] = time.perf_counter() - t0
    finally:
        engine.dispose()

    with psycopg.connect(url, autocommit=True) as admin:
        t0 = time.perf_counter()
        admin.execute("VACUUM (ANALYZE) ticket, ticket_event, enterprise, stat_daily, stat_duration, stat_monthly, "
                      "stat_duration_monthly, stat_ticket, stat_queue")
        out["vacuum_s"] = time.perf_counter() - t0
        out["db_bytes"] = admin.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return out


def free_bytes_for(stack: Stack) -> tuple[int | None, str]:
    """Free bytes on the filesystem of the PostgreSQL data directory (None when it is not readable here)."""
    import psycopg

    try:
        with psycopg.connect(libpq_url(stack.db_url), autocommit=True) as c:
            path = c.execute("SHOW data_directory").fetchone()[0]
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize, path
    except Exception:
        return None, "?"


# --------------------------------------------------------------------------------------------------
# measuring


class Api:
    """One keep-alive connection to the API with the leader's token, driven synchronously."""

    def __init__(self, base: str):
        import httpx

        r = httpx.post(f"{base}/api/v1/auth/token", data={"username": LEADER, "password": LEADER_PW}, timeout=30)
        r.raise_for_status()
        self.loop = asyncio.new_event_loop()
        self.conn = HttpConn.for_url(base, {"authorization": f"Bearer {r.json()['access_token']}"})

    def get(self, path: str) -> tuple[float, dict]:
        t0 = time.perf_counter()
        status, body = self.loop.run_until_complete(self.conn.request("GET", path, timeout=600))
        ms = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        return ms, json.loads(body)

    def close(self) -> None:
        self.conn.close()
        self.loop.close()


def timed(fn, reps: int, warmup: int = 1) -> tuple[list[float], object]:
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, out


def capture_statements(engine, fn) -> list[tuple[str, dict]]:
    """The statements (as sent to the driver) and parameters fn() executes on engine."""
    from sqlalchemy import event

    seen: list[tuple[str, dict]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, dict(parameters or {})))

    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def explain(engine, statement: str, params: dict, full: bool) -> tuple[float, int, str]:
    """(execution ms, rows read by the scans of the rollup tables, plan text) under EXPLAIN ANALYZE."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params)
        plan = cur.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        text_plan = ""
        if full:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            text_plan = "\n".join(r[0] for r in cur.fetchall())
        raw.rollback()
    finally:
        raw.close()
    rows = 0

    def walk(node):
        nonlocal rows
        if node.get("Relation Name") in ROLLUPS:
            rows += int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return plan[0]["Execution Time"], rows, text_plan


def describe(statement: str) -> str:
    s = " ".join(statement.split()) + " "
    table = "+".join(t for t in ROLLUPS if f"FROM {t} " in s) or "events"
    if "value AS k" in s:
        what = "groups"
    elif "date_trunc" in s:
        what = "trend"
    else:
        what = "totals"
    return f"{what:<6} {table}"


def measure(stack: Stack, api: Api, engine, size: int, args, smallest: bool) -> tuple[list[list], dict]:
    """Rows for the results table at one size, and the medians keyed by what."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from service.pipeline.stats import query as stats_query

    today = datetime.now(SH).date()
    jan1 = date(today.year, 1, 1)
    lo = datetime.combine(jan1, datetime.min.time(), SH)
    rows, medians = [], {}
    session = Session(engine)

    def inproc(**kw):
        def call():
            try:
                return stats_query.summary(session, start=jan1, end=today, **kw)
            finally:
                session.rollback()
        return call

    def api_call(path):
        return lambda: api.get(path)[1]

    plain_sql = text("SELECT channel_code, count(*) FROM ticket WHERE created_at >= :lo GROUP BY 1")

    def ticket_groupby():
        try:
            return session.execute(plain_sql, {"lo": lo}).all()
        finally:
            session.rollback()

    fast = {
        "api summary": api_call("/api/v1/stats/summary"),
        "api unit+month": api_call("/api/v1/stats/summary?group_by=unit&trend=month"),
        "api unit+month+group_durations": api_call(
            "/api/v1/stats/summary?group_by=unit&trend=month&group_durations=true"),
        "in-process summary": inproc(),
        "in-process unit+month": inproc(group_by="unit", trend="month"),
    }
    slow = {
        "direct summary (events)": inproc(use_rollups=False),
        "ticket GROUP BY channel": ticket_groupby,
    }
    if args.direct_heavy:
        slow["direct unit+month (events)"] = inproc(group_by="unit", trend="month", use_rollups=False)

    try:
        # warm-up, then rounds that rotate the order
        answers = {k: fn() for k, fn in fast.items()}
        times: dict[str, list[float]] = {k: [] for k in fast}
        names = list(fast)
        for rnd in range(args.repeat):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for k in order:
                t0 = time.perf_counter()
                fast[k]()
                times[k].append((time.perf_counter() - t0) * 1000)
        for k, fn in slow.items():
            t0 = time.perf_counter()
            ts_, answers[k] = timed(fn, args.direct_repeat, warmup=1)
            times[k] = ts_
            print(f"    {k}: {statistics.median(ts_):,.0f} ms median ({time.perf_counter() - t0:.0f} s with warm-up)",
                  flush=True)
        for k, v in times.items():
            medians[k] = statistics.median(v)
            rows.append([human(size), k, statistics.median(v), min(v), len(v)])

        # sanity: the API and in-process answers agree; at the smallest size the rollups equal the direct count
        same = answers["api summary"]["totals"] == answers["in-process summary"]["totals"]
        print(f"  check ({human(size)}): API totals == in-process rollup totals: {'yes' if same else 'NO'}")
        if smallest:
            direct = answers["direct summary (events)"]
            ok = direct["totals"] == answers["in-process summary"]["totals"]
            print(f"  check ({human(size)}): rollup totals == direct GROUP BY totals: {'yes' if ok else 'NO'}")
            if not ok:
                for key in direct["totals"]:
                    if direct["totals"][key] != answers["in-process summary"]["totals"][key]:
                        print(f"      {key}: rollup {answers['in-process summary']['totals'][key]} "
                              f"direct {direct['totals'][key]}")
            heavy_direct = stats_query.summary(session, start=jan1, end=today, group_by="unit", trend="month",
                                               use_rollups=False)
            session.rollback()
            ok2 = heavy_direct == answers["in-process unit+month"]
            print(f"  check ({human(size)}): rollup == direct for group_by=unit&trend=month (totals, groups, "
                  f"trend): {'yes' if ok2 else 'NO'}")
        t = answers["in-process summary"]["totals"]
        print(f"  totals ({human(size)}): received {t['received']:,}, resolved {t['resolved']:,}, "
              f"accepted {t['accepted']:,}, dispatched {t['dispatched']:,}, refused {t['refused']:,}, "
              f"rated {t['rated']:,}, reopened {t['reopened']:,}, repeats {t['repeats']:,}, median "
              f"{t['duration_hours_median']} h, p90 {t['duration_hours_p90']} h; "
              f"{len(answers['in-process unit+month']['groups'])} unit groups")
    finally:
        session.close()
    return rows, medians


def rollup_profile(engine, size: int, args) -> list[list]:
    """Each statement of the heavy call under EXPLAIN ANALYZE, plus the rollup tables' sizes."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from service.pipeline.stats import query as stats_query

    today = datetime.now(SH).date()
    jan1 = date(today.year, 1, 1)
    with Session(engine) as session:
        stmts = []
        for call, kw in (("summary", {}), ("unit+month", {"group_by": "unit", "trend": "month"})):
            stmts += [(call, *st) for st in capture_statements(
                engine, lambda: stats_query.summary(session, start=jan1, end=today, **kw))]
            session.rollback()
        counts = session.execute(text(" UNION ALL ".join(
            f"(SELECT '{t}' AS t, dim, count(*) FROM {t} GROUP BY dim ORDER BY dim)" for t in ROLLUPS))).all()
        sizes = session.execute(text(
            "SELECT " + ", ".join(f"pg_total_relation_size('{t}')" for t in ROLLUPS))).one()
    print(f"  rollup rows ({human(size)}): " + ", ".join(f"{t}[{d}] {n:,}" for t, d, n in counts)
          + "; " + ", ".join(f"{t} {b / 2**20:,.1f} MiB" for t, b in zip(ROLLUPS, sizes)))
    out = []
    for call, statement, params in stmts:
        ms, nrows, plan = explain(engine, statement, params, args.explain)
        out.append([human(size), call, describe(statement), nrows, ms])
        if args.explain:
            print(f"\n  EXPLAIN ANALYZE ({human(size)}, {call}, {describe(statement)}):\n"
                  f"    {' '.join(statement.split())}")
            print("\n".join("    " + line for line in plan.splitlines()))
    return out


# --------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,10000000", help="ticket counts, ascending (100k, 1M ok)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs of each rollup / API call (after a warm-up)")
    ap.add_argument("--direct-repeat", type=int, default=3, help="timed runs of each direct baseline")
    ap.add_argument("--direct-heavy", action="store_true",
                    help="also time the direct count of group_by=unit&trend=month (minutes at 10M)")
    ap.add_argument("--explain", action="store_true", help="print the plans of the rollup statements")
    ap.add_argument("--templates", type=int, default=2000,
                    help="tickets made through the project's pipeline, then copied up to each size (default 2000)")
    ap.add_argument("--keep-indexes", action="store_true", help="copy into the secondary indexes (slower)")
    ap.add_argument("--rebuild-settings", default="",
                    help="planner settings for the rebuild's session, e.g. work_mem=512MB,enable_sort=off")
    ap.add_argument("--hold", type=float, default=0.0, help="keep the stack up this many s before cleaning up")
    ap.add_argument("--wait-quiet", type=float, default=0.0, help="wait up to this many s for an idle machine")
    args = ap.parse_args()
    sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
    settings = rebuild_settings(args.rebuild_settings)
    install_signal_handlers()

    def interrupted(signum, frame):  # like _stack's handlers, but says which signal ended the run
        print(f"\nbench_stats: signal {signum} received, cleaning up", file=sys.stderr, flush=True)
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    import psycopg

    from models import Role
    from service.security.users import create_user

    print(f"bench_stats: the summary endpoint at {', '.join(human(s) for s in sizes)} tickets")
    report_quiet(args)
    seed_rows, result_rows, profile_rows, medians = [], [], [], {}
    measured: list[int] = []
    skipped: list[str] = []
    with Stack("stats") as stack:
        print(f"  {stack.mode}; PostgreSQL {stack.server_version}; database {stack.db_name} "
              f"(set-up {stack.setup_seconds:.1f} s)")
        engine = create_engine(stack.db_url, pool_size=2)
        try:
            with Session(engine) as session:
                create_user(session, username=LEADER, password=LEADER_PW, role=Role.LEADER, display_name="压测领导")
                session.commit()
            now = datetime.now(SH)
            with psycopg.connect(libpq_url(stack.db_url)) as conn:
                templates = Templates(conn, now)
            print(f"  templates: {args.templates:,} tickets through intake and the lifecycle actions ...", flush=True)
            secs = templates.make(stack, args.templates)
            with psycopg.connect(libpq_url(stack.db_url)) as conn:
                events_total = conn.execute("SELECT count(*) FROM ticket_event").fetchone()[0]
            print(f"  templates: {len(templates.ids):,} tickets, {events_total:,} events in {secs:.1f} s; by story: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(templates.stories.items(), key=lambda kv: -kv[1])))
            print(f"  copies spread over {len(templates.channels)} channels, {len(templates.categories)} categories, "
                  f"{len(templates.towns)} towns; this year: {templates.n_days} days to {now:%Y-%m-%d %H:%M} "
                  f"(Asia/Shanghai)")
            api_base = None
            have = len(templates.ids)
            for i, size in enumerate(sizes):
                if i > 0 and have:
                    # guard: the disk the next growth needs, from what the data took so far
                    per_ticket = seed_rows[-1][8] / have
                    need = per_ticket * (size - have) * 1.6  # index builds, rebuild spill, WAL
                    free, path = free_bytes_for(stack)
                    secs = sum(seed_rows[-1][k] for k in (3, 4, 5, 6)) / max(1, seed_rows[-1][1]) * (size - have)
                    print(f"\n  growing to {human(size)}: about {need / 2**30:,.1f} GiB more "
                          f"(free {'?' if free is None else f'{free / 2**30:,.1f} GiB'} at {path}); "
                          f"seeding about {secs / 60:,.0f} min if linear", flush=True)
                    if free is not None and need > 0.6 * free:
                        msg = (f"{human(size)} SKIPPED: it needs about {need / 2**30:,.0f} GiB, more than 60 % of the "
                               f"{free / 2**30:,.0f} GiB free")
                        print("  " + msg)
                        skipped.append(msg)
                        break
                print(f"\n  seeding {human(size)} tickets (adding {size - have:,}) ...", flush=True)
                s = seed_to(stack, templates, have, size, args)
                have += s["tickets"]
                events_total += s["events"]
                seed_rows.append([human(size), s["tickets"], s["events"], s["copy_s"], s["index_s"],
                                  s["rebuild_s"], s["vacuum_s"], events_total, s["db_bytes"]])
                tuned = ", ".join(f"{k}={v}" for k, v in settings) or "server defaults"
                print(f"  seeded {human(size)} ({have:,} tickets): +{s['tickets']:,} tickets, +{s['events']:,} events: "
                      f"copy {s['copy_s']:.1f} s ({s['copy_mode']}; {s['tickets'] / s['copy_s']:,.0f} tickets/s), "
                      f"indexes {s['index_s']:.1f} s, stats.rebuild {s['rebuild_s']:.1f} s ({tuned}), VACUUM "
                      f"ANALYZE {s['vacuum_s']:.1f} s; database {s['db_bytes'] / 2**30:,.2f} GiB", flush=True)
                if api_base is None:
                    _, api_base = stack.start_api()
                api = Api(api_base)
                try:
                    print(f"  measuring at {human(size)} ...", flush=True)
                    rows, med = measure(stack, api, engine, size, args, smallest=(i == 0))
                finally:
                    api.close()
                result_rows += rows
                medians[size] = med
                profile_rows += rollup_profile(engine, size, args)
                measured.append(size)
            report(seed_rows, result_rows, profile_rows, medians, measured, skipped, settings)
            if args.hold > 0:
                print(f"\n  holding {args.hold:.0f} s before the clean-up (kill -TERM {os.getpid()} ends it): "
                      f"database {stack.db_url}", flush=True)
                try:
                    time.sleep(args.hold)
                except KeyboardInterrupt:
                    print("  hold ended early", flush=True)
        finally:
            engine.dispose()
    return 0 if measured else 1


def report(seed_rows, result_rows, profile_rows, medians, measured, skipped, settings) -> None:
    tuned = ", ".join(f"{k}={v}" for k, v in settings) or "server defaults"
    print_table(["size", "tickets added", "events added", "copy s", "indexes s", "stats.rebuild s", "VACUUM s",
                 "events total", "db bytes"],
                [r[:8] + [f"{r[8] / 2**30:.2f} GiB"] for r in seed_rows],
                title=f"Seeding (copies of the templates) and rollup rebuild (rebuild session: {tuned})")
    print_table(["size", "what", "median ms", "best ms", "runs"],
                [r[:2] + [round(r[2], 1), round(r[3], 1), r[4]] for r in result_rows],
                title="Summary: endpoint, in-process from the rollups, and the direct GROUP BY baselines")
    print_table(["size", "call", "statement", "rollup rows read", "exec ms"],
                [r[:4] + [round(r[4], 1)] for r in profile_rows],
                title="The statements of the summary and of the heavy call under EXPLAIN ANALYZE")
    if not measured:
        print("nothing measured")
        return
    small, large = measured[0], measured[-1]
    print(f"\nGoals (endpoint medians; largest size measured {human(large)}, smallest {human(small)}):")
    if large < GOAL_SIZE:
        print(f"  NOTE: the goal is stated at {human(GOAL_SIZE)} tickets; this run measured up to {human(large)} only"
              + (f" ({'; '.join(skipped)})" if skipped else "") + ". Run with --sizes ...,10000000 for the real test.")
    for k, label in (("api summary", "summary"), ("api unit+month", "group_by=unit&trend=month")):
        m_large = medians[large][k]
        print(goal(f"{label} under {GOAL_MS:.0f} ms at {human(large)} ({m_large:,.1f} ms)", m_large < GOAL_MS))
        if large > small:
            ratio = m_large / medians[small][k]
            print(goal(f"{label} grows < {GOAL_RATIO:.0f}x {human(small)}->{human(large)} ({ratio:.2f}x)",
                       ratio < GOAL_RATIO))
    if large < GOAL_SIZE and len(measured) >= 2:
        a, b = measured[-2], measured[-1]
        print(f"  projection to {human(GOAL_SIZE)} (NOT measured; power law through {human(a)} and {human(b)}):")
        for k, label in (("api summary", "summary"), ("api unit+month", "group_by=unit&trend=month")):
            ta, tb = medians[a][k], medians[b][k]
            slope = math.log(tb / ta) / math.log(b / a) if ta > 0 and tb > 0 else float("nan")
            proj = tb * (GOAL_SIZE / b) ** slope
            print(f"    {label}: ~{proj:,.0f} ms at {human(GOAL_SIZE)} (~{proj / medians[small][k]:.1f}x "
                  f"{human(small)}); time ~ size^{slope:.2f}")


if __name__ == "__main__":
    sys.exit(main())
