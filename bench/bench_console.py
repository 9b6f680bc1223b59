#!/usr/bin/env python
"""Operator speed at the work console: a scripted operator (Playwright, Debian's chromium) registers tickets from
the phone system's screen-pop URL to the ticket number on screen.

    python bench/bench_console.py [--tickets 30] [--warmup 3] [--loads 5]

Starts the API (uvicorn) on the bench's servers (embedded PostgreSQL + Redis unless HOTLINE_DATABASE_URL /
HOTLINE_REDIS_URL are set; see bench/_stack.py) with no worker: registering does not wait for routing. Each known
caller has an earlier ticket under their phone number (registered by name, with no USCC), so the screen-pop finds
the enterprise and its contact.

One registration, as the operator lives it:
  1. the phone system opens /console/intake?phone=<caller> (the operator is logged in: the session keeps it);
  2. the page loads, looks the caller up, picks the enterprise and contact, and puts the cursor in the title;
  3. the operator types the title, Tab, the description, and clicks 登记;
  4. the ticket number appears, large.
System time is 2 + 4: what the operator waits for (their own typing is theirs); while they type, the live panels
(duplicates, routing preview, knowledge) are asked for in the background and are not waited for. Keystrokes and
clicks are counted as the script makes them.

Floor, in the same run: the same registration through the bare API, with no page: GET /api/v1/callers?phone= and
POST /api/v1/tickets with the same body, back to back.

Also: each console page's load time (navigation to the screen drawn with its data, median of --loads loads, with
the session's reference lists cached as a working day has them) and its weight (bytes the browser received on a
first visit: the page and its assets, then with the API's answers too).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _stack  # noqa: E402  (also puts the repository root on sys.path)

TITLES = [("车间突然停电影响生产", "今天上午车间变压器跳闸停电，生产线全部停工，请供电部门尽快抢修。"),
          ("稳岗补贴一直未到账", "去年申请的稳岗返还补贴至今没有到账，请人社部门帮助查询进度。"),
          ("园区道路积水严重", "工业园区东路下雨后积水严重，货车进出困难，希望镇里尽快疏通排水。"),
          ("外观设计专利被仿冒", "我司阀门外观设计专利被同行仿冒并在网上销售，请求帮助维权。"),
          ("出口退税进度咨询", "外贸企业出口退税审核时间较长，想了解目前的办理进度和加快办法。")]
# (screen, who opens it, path): 登记, 一表通查, one ticket, 我的工单, 派单台, 回访, 知识库
SCREENS = [("intake", "operator", "/console/intake"), ("search", "operator", "/console/search"),
           ("ticket", "operator", "/console/ticket?id={ticket}"), ("queue", "handler", "/console/queue"),
           ("dispatch", "dispatcher", "/console/dispatch"), ("feedback", "operator", "/console/feedback"),
           ("knowledge", "operator", "/console/knowledge")]
PASSWORD = "bench-console-pw"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=30, help="registrations measured (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="registrations before measuring (default 3)")
    parser.add_argument("--loads", type=int, default=5, help="loads of each page for its load time (default 5)")
    parser.add_argument("--chromium", default="/usr/bin/chromium",
                        help="the browser binary (default /usr/bin/chromium)")
    args = parser.parse_args(argv)
    if args.tickets <= 0 or args.warmup < 0 or args.loads <= 0:
        parser.error("--tickets and --loads must be positive, --warmup not negative")
    if not Path(args.chromium).is_file():
        parser.error(f"no browser at {args.chromium}: `make browser` installs Debian's chromium")
    _stack.install_signal_handlers()
    try:
        with _stack.Stack("console") as stack:
            return run(stack, args)
    except KeyboardInterrupt:
        print("\ninterrupted; everything started was stopped and removed", file=sys.stderr)
        return 130


def seed_people(stack: _stack.Stack) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from models import Role
    from service.security.users import create_user

    engine = create_engine(stack.db_url)
    try:
        with Session(engine) as session:
            create_user(session, username="bench-dispatcher", password=PASSWORD, role=Role.DISPATCHER)
            create_user(session, username="bench-power", password=PASSWORD, role=Role.HANDLER,
                        unit_code="yueqing.power")
            session.commit()
    finally:
        engine.dispose()


def body(i: int, phone: str, enterprise: str) -> dict:
    title, description = TITLES[i % len(TITLES)]
    return {"channel": "hotline_96666", "enterprise": {"name": enterprise},
            "contact": {"name": f"联系人{i}", "phone": phone}, "town": "yueqing_liushi", "request_type": "help",
            "title": title, "description": description}


def run(stack: _stack.Stack, args) -> int:
    import httpx
    from playwright.sync_api import sync_playwright

    print(f"console benchmark: {stack.mode} (PostgreSQL {stack.server_version}), set-up {stack.setup_seconds:.1f} s")
    seed_people(stack)
    proc, base = stack.start_api(name="api")
    try:
        token = stack.token(base)
        http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        total = args.warmup + args.tickets
        callers = []
        for i in range(2 * total):  # a known caller for each registration: the console's half, then the floor's
            phone = f"139{int(stack.run[:6], 16) % 10_000:04d}{i:04d}"
            name = f"乐清市测速{i:03d}电气有限公司"
            r = http.post("/api/v1/tickets", json=body(i, phone, name))
            r.raise_for_status()
            callers.append((phone, name, r.json()["id"]))
        print(f"  seeded {len(callers)} known callers (an earlier ticket each, registered by name, no USCC)")

        floor = measure_floor(http, callers[total:], args.warmup)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=[
                "--no-sandbox", "--disable-dev-shm-usage", "--lang=zh-CN",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
            try:
                console = measure_operator(browser, base, callers[:total], args.warmup)
                loads, weights = measure_pages(browser, base, callers[0][2], args.loads)
            finally:
                browser.close()
        http.close()
    finally:
        stack.stop(proc)
    return report(console, floor, loads, weights)


def login(page, base: str, username: str, password: str, path: str = "/console/") -> None:
    page.goto(base + path)
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_selector("body[data-ready='1']")


def measure_operator(browser, base: str, callers: list, warmup: int) -> dict:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    login(page, base, _stack.USERNAME, _stack.PASSWORD)
    out = {"system": [], "pop": [], "save": [], "keys": [], "clicks": [], "numbers": []}
    for i, (phone, name, _) in enumerate(callers):
        title, description = TITLES[(i + 1) % len(TITLES)]
        t0 = time.perf_counter()
        page.goto(f"{base}/console/intake?phone={phone}")
        page.wait_for_selector("#callers .caller.picked")
        page.wait_for_function("document.activeElement && document.activeElement.id === 'in-title'")
        t1 = time.perf_counter()
        assert page.input_value("#in-enterprise") == name
        page.keyboard.type(title)
        page.keyboard.press("Tab")
        page.keyboard.type(description)
        keys = len(title) + 1 + len(description)
        t2 = time.perf_counter()
        page.click("#btn-register")
        number = page.inner_text("#ticket-number")
        t3 = time.perf_counter()
        if i >= warmup:
            out["pop"].append((t1 - t0) * 1000)
            out["save"].append((t3 - t2) * 1000)
            out["system"].append((t1 - t0 + t3 - t2) * 1000)
            out["keys"].append(keys)
            out["clicks"].append(1)
            out["numbers"].append(number)
    context.close()
    return out


def measure_floor(http, callers: list, warmup: int) -> dict:
    out = {"system": []}
    for i, (phone, name, _) in enumerate(callers):
        t0 = time.perf_counter()
        http.get("/api/v1/callers", params={"phone": phone}).raise_for_status()
        b = body(i + 1, phone, name)
        http.post("/api/v1/tickets", json=b).raise_for_status()
        if i >= warmup:
            out["system"].append((time.perf_counter() - t0) * 1000)
    return out


def measure_pages(browser, base: str, ticket: int, loads: int) -> tuple[dict, dict]:
    """Each screen's load time (median of `loads`, reference lists cached as in a working session) and weight on
    a first visit (fresh browser context: nothing cached)."""
    people = {"operator": (_stack.USERNAME, _stack.PASSWORD), "dispatcher": ("bench-dispatcher", PASSWORD),
              "handler": ("bench-power", PASSWORD)}
    times: dict[str, list[float]] = {}
    weights: dict[str, tuple[int, int]] = {}
    for label, who, path in SCREENS:
        path = path.format(ticket=ticket)
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = context.new_page()
        login(page, base, *people[who])  # logs in on the home screen; its reference lists stay cached
        sizes = {"assets": 0, "api": 0}

        def count(response, sizes=sizes):
            try:
                n = len(response.body())
            except Exception:  # a redirect or an aborted request has no body
                return
            sizes["api" if "/api/" in response.url else "assets"] += n

        fresh = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        first = fresh.new_page()
        first.on("response", count)
        login(first, base, *people[who], path=path)  # the first visit: the login, then the screen and its data
        first.wait_for_load_state("networkidle")
        fresh.close()
        weights[label] = (sizes["assets"], sizes["assets"] + sizes["api"])
        times[label] = []
        for _ in range(loads):
            t0 = time.perf_counter()
            page.goto(base + path)
            page.wait_for_selector("body[data-ready='1']")
            times[label].append((time.perf_counter() - t0) * 1000)
        context.close()
    return times, weights


def report(console: dict, floor: dict, loads: dict, weights: dict) -> int:
    p = _stack.percentile

    def line(name: str, values: list[float]) -> list:
        return [name, statistics.median(values), p(values, 95), len(values)]

    rows = [line("console: screen-pop to number (system time)", console["system"]),
            line("  of which: page + caller lookup", console["pop"]),
            line("  of which: click to the number on screen", console["save"]),
            line("floor: bare API (callers lookup + POST tickets)", floor["system"])]
    _stack.print_table(["registration", "median ms", "p95 ms", "n"], rows, "operator speed")
    keys, clicks = statistics.median(console["keys"]), max(console["clicks"])
    print(f"  per ticket: {keys:.0f} keystrokes (title, Tab, description: all typing of the problem), "
          f"{clicks} click(s)")
    page_rows = [[label, statistics.median(ms), max(ms), weights[label][0] / 1024, weights[label][1] / 1024]
                 for label, ms in loads.items()]
    _stack.print_table(["page", "load median ms", "load max ms", "first visit: page+assets KB", "with API data KB"],
                       page_rows, "console pages (load: navigation to the screen drawn with its data)")
    heaviest = max(w[0] for w in weights.values())
    print()
    print(_stack.goal("under 2 s system time per ticket (p95)", p(console["system"], 95) < 2000))
    print(_stack.goal("no more than 3 clicks beyond typing the problem", clicks <= 3))
    print(_stack.goal("each page loads in under 1 s (slowest load)", max(max(ms) for ms in loads.values()) < 1000))
    print(_stack.goal("page weight under 300 KB (page + assets)", heaviest < 300 * 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
