"""The leadership dashboard (/dashboard): served whole by the service, and in a real browser it shows what the API says.

The browser tests drive Debian's headless `chromium` through its command line (tests/support/browser.py) against a
real uvicorn on 127.0.0.1. Without chromium they fail and say how to install it; they are not skipped.
"""
from __future__ import annotations

import re
import struct
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import text
from starlette.routing import NoMatchFound

from models import Role
from service.dashboard.views import STATIC_DIR
from tests.factories import login, make_uscc, ticket_body
from tests.support.browser import ARTIFACTS, Dom, live_server, require_chromium
from workers import jobs

CONTENT_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml",
                 ".png": "image/png"}
COUNTS = ("received", "resolved", "instant_resolved")
RATES = ("instant_rate", "on_time_accept_rate", "on_time_resolve_rate", "satisfaction_rate", "solved_rate",
         "refusal_rate", "reopen_rate", "repeat_rate")
HOURS = ("duration_hours_median", "duration_hours_p90")


def registered(app) -> None:
    try:
        assert app.url_path_for("dashboard") == "/dashboard"
    except NoMatchFound:
        pytest.fail("the dashboard is not registered: create_app() in service/app.py must include "
                    "service.dashboard.router", pytrace=False)


# ---------------------------------------------------------------- served, offline-ready


def test_page_and_assets_are_served_with_their_types_and_name_no_outside_host(app, client):
    registered(app)
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "涉企问题一表通管" in page.text and "领导驾驶舱" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "script-src 'self'" in csp

    # what the page links resolves to our own assets, each served with its type
    refs = [r for r in re.findall(r'(?:src|href)="([^"]+)"', page.text) if not r.startswith(("data:", "#"))]
    assert {urlsplit(urljoin("http://testserver/dashboard", r)).path for r in refs} == {
        "/dashboard/static/dashboard.css", "/dashboard/static/dashboard.js"}
    bodies = {"/dashboard": page.text}
    files = sorted(p.name for p in STATIC_DIR.iterdir() if p.is_file())
    assert {"index.html", "dashboard.css", "dashboard.js"} <= set(files)
    for name in files:
        r = client.get(f"/dashboard/static/{name}")
        suffix = name[name.rindex("."):]
        assert r.status_code == 200, name
        assert r.headers["content-type"].split(";")[0] == CONTENT_TYPES[suffix], name
        assert r.headers["x-content-type-options"] == "nosniff"
        bodies[name] = r.text

    # no CDN, no outside font, no outside anything: not even a protocol-relative //host
    for name, body in bodies.items():
        assert not re.search(r"https?://", body, re.I), (name, re.findall(r"https?://[^\s\"')]+", body, re.I))
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']//|url\(\s*["']?//|@import""", body, re.I), name
        assert not re.search(r"""\bimport\s*\(|importScripts|<iframe""", body), name

    assert client.get("/dashboard/static/nothing.js").status_code == 404
    assert client.get("/dashboard/static/..%2Fviews.py").status_code == 404
    assert client.get("/dashboard/static/views.py").status_code == 404
    slash = client.get("/dashboard/", follow_redirects=False)
    assert slash.status_code == 308 and urljoin("http://testserver/dashboard/", slash.headers["location"]) == \
        "http://testserver/dashboard"


def test_the_page_needs_no_login_to_load_but_the_data_does(app, client):
    registered(app)
    assert client.get("/dashboard").status_code == 200
    assert client.get("/api/v1/stats/summary").status_code == 401


# ---------------------------------------------------------------- in a real browser


def browser(app):
    """Headless Chromium, or a failure saying how to install it (never a skip)."""
    registered(app)
    return require_chromium()


def do(client, who, tid, action, **body):
    r = client.post(f"/api/v1/tickets/{tid}/{action}", json=body, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def board(client, run_jobs, session):
    """Five tickets: two resolved and rated, one 即时办结, one accepted and overdue, one waiting to be signed."""
    op = login(client, "op")
    power = login(client, "power", Role.HANDLER, "yueqing.power")
    rsj = login(client, "rsj", Role.HANDLER, "yueqing.rsj")
    post = lambda **kw: client.post("/api/v1/tickets", json=ticket_body(**kw), headers=op)  # noqa: E731
    tickets = {
        "outage": post(),
        "subsidy": post(title="稳岗补贴一直未到账", description="去年申请的稳岗补贴至今没有到账，请帮忙查询。",
                        enterprise={"name": "乐清市测试电子有限公司", "uscc": make_uscc(2)}),
        "consult": post(request_type="consult", title="研发费用加计扣除政策", description="研发费用加计扣除比例是多少",
                        enterprise={"name": "乐清市某开关厂", "uscc": make_uscc(3)}, instant_answer="按100%加计扣除。"),
        "late": post(title="车间频繁跳闸停电", description="车间这周频繁跳闸停电，影响生产。", town="yueqing_hongqiao",
                     enterprise={"name": "乐清市虹桥某模具厂", "uscc": make_uscc(4)}),
        "capacity": post(title="新生产线申请用电增容", description="新上一条生产线，需要变压器增容。",
                         enterprise={"name": "乐清市某电器有限公司", "uscc": make_uscc(5)}),
    }
    for name, r in tickets.items():
        assert r.status_code == 201, (name, r.text)
    t = {name: r.json() for name, r in tickets.items()}
    run_jobs()
    leads = {name: client.get(f"/api/v1/tickets/{x['id']}", headers=op).json()["lead_unit"] for name, x in t.items()}
    assert leads["outage"]["code"] == leads["late"]["code"] == leads["capacity"]["code"] == "yueqing.power"
    assert leads["subsidy"]["code"] == "yueqing.rsj"
    do(client, power, t["outage"]["id"], "accept")
    do(client, power, t["outage"]["id"], "resolve", opinion="已恢复供电")
    do(client, op, t["outage"]["id"], "feedback", satisfaction="satisfied", solved=True)
    do(client, rsj, t["subsidy"]["id"], "accept")
    do(client, rsj, t["subsidy"]["id"], "resolve", opinion="已协调发放")
    do(client, op, t["subsidy"]["id"], "feedback", satisfaction="unsatisfied", solved=False)
    do(client, power, t["late"]["id"], "accept")
    session.execute(text("UPDATE ticket SET resolve_due_at = now() - interval '1 day' WHERE id = :id"),
                    {"id": t["late"]["id"]})
    session.commit()
    jobs.raise_flags()  # the 督办 sweep lights the overdue ticket yellow
    jobs.refresh_stats()
    return {"tickets": t, "power": power, "leader": login(client, "boss", Role.LEADER)}


def token(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def shown(dom: Dom) -> dict:
    """data-metric -> (data-value, text) of every number on the page; each metric appears once."""
    out = {}
    for e in dom.find_all(data_metric=True):
        name = e.get("data-metric")
        assert name not in out, f"data-metric={name!r} appears twice"
        out[name] = (e.get("data-value"), e.text)
    return out


def assert_same_number(shown_value: str, api_value) -> None:
    if api_value is None:
        assert shown_value == ""
    else:
        assert float(shown_value) == api_value


def _children(dom: Dom, list_id: str) -> list:
    """The <li> rows of the list with this id (the reader keeps document order, so take those inside it)."""
    start = dom.elements.index(dom.by_id(list_id))
    out = []
    for e in dom.elements[start + 1:]:
        if e.tag in ("ol", "ul", "section"):
            break
        if e.tag == "li" and "empty-list" not in (e.get("class") or ""):
            out.append(e)
    return out


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_dashboard_in_chromium_shows_what_the_api_says(app, client, board):
    chromium = browser(app)
    leader = board["leader"]
    api = client.get("/api/v1/stats/summary", headers=leader).json()
    totals = api["totals"]
    assert totals["received"] == 5 and totals["resolved"] == 3 and totals["instant_resolved"] == 1
    units = {g["key"]: g for g in client.get("/api/v1/stats/summary?group_by=unit", headers=leader).json()["groups"]}
    by_town = client.get("/api/v1/stats/summary?group_by=town", headers=leader).json()
    towns = {g["key"]: g for g in by_town["groups"]}
    open_now = {g["key"]: g["open"] for g in by_town["open_now"]["groups"]}
    late = board["tickets"]["late"]

    url_path = f"/dashboard#token={token(leader)}"  # kiosk/test login: the page moves it to sessionStorage
    with live_server(app) as base:
        dom = Dom(chromium.dump_dom(base + url_path))
        console = chromium.console
        shot = chromium.screenshot(base + url_path, ARTIFACTS / "dashboard.png", size=(1920, 1080))

    body = dom.one("body")
    assert body.get("data-state") == "ready", f"the page did not finish loading: data-state={body.get('data-state')}"
    assert body.get("data-scope") == "all"
    assert console == [], f"the page logged errors (a refused asset, a CSP violation, a failed call): {console}"
    assert dom.by_id("login").get("hidden") is not None and dom.by_id("app").get("hidden") is None
    numbers = shown(dom)

    # the headline: counts as the API gives them, rates as percentages with one decimal, hours as they are
    for key in COUNTS:
        assert numbers[key] == (str(totals[key]), f"{totals[key]:,}"), key
    for key in RATES:
        value, txt = numbers[key]
        assert_same_number(value, totals[key])
        assert txt == ("—" if totals[key] is None else f"{totals[key] * 100:.1f}%"), key
    for key in HOURS:
        assert_same_number(numbers[key][0], totals[key])
    assert totals["instant_rate"] == 0.2 and numbers["instant_rate"][1] == "20.0%"
    assert totals["satisfaction_rate"] == 0.5 and numbers["satisfaction_rate"][1] == "50.0%"
    assert numbers["open"] == ("2", "2")
    assert dom.by_id("period-text").get("data-period-from") == api["period"]["from"]
    assert dom.by_id("period-text").get("data-period-to") == api["period"]["to"]

    # the rankings show the units' rates and Chinese names
    on_time = {li.get("data-unit"): li for li in _children(dom, "rank-on-time")}
    assert set(on_time) == {k for k, g in units.items() if k and g["metrics"]["on_time_resolve_rate"] is not None}
    for key, li in on_time.items():
        assert_same_number(li.get("data-value"), units[key]["metrics"]["on_time_resolve_rate"])
        assert units[key]["label"] in li.text
    satisfaction = {li.get("data-unit"): li for li in _children(dom, "rank-satisfaction")}
    assert satisfaction["yueqing.power"].get("data-value") == "1" and "100.0%" in satisfaction["yueqing.power"].text
    assert satisfaction["yueqing.rsj"].get("data-value") == "0" and "0.0%" in satisfaction["yueqing.rsj"].text
    assert "国网乐清市供电公司" in satisfaction["yueqing.power"].text

    # where problems pile up: towns by received, with the open remainder
    piles = {li.get("data-key"): li for li in _children(dom, "pile-towns")}
    for key, g in towns.items():
        m = g["metrics"]
        if m["received"]:
            assert piles[key].get("data-received") == str(m["received"]) and g["label"] in piles[key].text
            assert piles[key].get("data-open") == str(open_now.get(key, 0))  # open now, not 受理 minus 办结
    assert piles["yueqing_liushi"].get("data-received") == "4" and piles["yueqing_hongqiao"].get("data-received") == "1"
    assert _children(dom, "pile-categories"), "the categories panel is empty"

    # the overdue list names the overdue ticket, its lead unit and its yellow 督办 light
    rows = {tr.get("data-ticket-number"): tr for tr in dom.find_all("tr", data_ticket_number=True)}
    assert list(rows) == [late["number"]]
    assert late["number"] in rows[late["number"]].text and "国网乐清市供电公司" in rows[late["number"]].text
    assert "黄灯督办" in rows[late["number"]].text
    assert numbers["overdue_listed"][0] == "1"

    # the trend: one bucket per month of the period, and as many received as the totals
    chart = dom.by_id("trend-chart")
    assert chart.get("data-received-total") == str(totals["received"])
    assert int(chart.get("data-buckets")) == int(api["period"]["to"][5:7])

    assert dom.by_id("last-refresh").get("data-refreshed-at")
    data = shot.read_bytes()
    assert png_size(data) == (1920, 1080)
    assert len(data) > 60_000, f"the screenshot looks blank ({len(data)} bytes)"


def test_a_handler_sees_its_own_unit_and_no_group_panels(app, client, board):
    chromium = browser(app)
    power = board["power"]
    mine = client.get("/api/v1/stats/summary", headers=power).json()["totals"]
    assert client.get("/api/v1/stats/summary?group_by=unit", headers=power).status_code == 403
    with live_server(app) as base:
        dom = Dom(chromium.dump_dom(f"{base}/dashboard#token={token(power)}"))
    body = dom.one("body")
    assert body.get("data-state") == "ready" and body.get("data-scope") == "unit"
    numbers = shown(dom)
    for key in ("resolved", "dispatched", "accepted"):
        assert numbers[key][0] == str(mine[key]), key
    assert mine["dispatched"] == 3 and mine["resolved"] == 1
    assert_same_number(numbers["on_time_accept_rate"][0], mine["on_time_accept_rate"])
    assert "国网乐清市供电公司" in dom.by_id("scope-label").text
    for panel in dom.find_all(data_needs_groups=True):
        assert panel.get("hidden") is not None, f"{panel.get('id')} should be hidden for a handler"
    assert [tr.get("data-ticket-number") for tr in dom.find_all("tr", data_ticket_number=True)] == \
        [board["tickets"]["late"]["number"]]


def test_a_rejected_token_returns_to_the_login_form(app):
    chromium = browser(app)
    with live_server(app) as base:
        dom = Dom(chromium.dump_dom(f"{base}/dashboard#token=not-a-valid-token"))
    assert dom.one("body").get("data-state") == "login"
    assert dom.by_id("login").get("hidden") is None and dom.by_id("app").get("hidden") is not None
    assert "重新登录" in dom.by_id("login-error").text
    form = dom.by_id("login-form")
    assert form.get("action") == "api/v1/auth/token" and form.get("method") == "post"
