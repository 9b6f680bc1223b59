"""Every screen of the console, and /docs, as each role sees them: nothing is fetched from any host but the service
itself, every screen renders in Chinese at 1366×768 (a screenshot of each is kept under tests/artifacts/console/),
and the pages stay light."""
from __future__ import annotations

import re
import struct
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from models import Role
from service import db
from service.console.views import SCREENS, STATIC_DIR
from tests.console.conftest import SHOTS, user
from tests.factories import ticket_body
from workers import jobs


@pytest.fixture
def day(api, run_jobs):
    """A day's worth of tickets: one the rules could not place, one overdue under a red light, one resolved."""
    api.login("op", Role.OPERATOR)
    api.login("dispatcher", Role.DISPATCHER)
    api.login("admin", Role.ADMIN)
    api.login("yq-power", Role.HANDLER, "yueqing.power")
    api.post("admin", "knowledge", {"kind": "article", "title": "高新技术企业认定条件", "category": "policy",
                                    "body": "近一年高新技术产品（服务）收入占企业同期总收入的比例不低于60%；研发费用占比符合规定。"})
    made = {
        "unplaced": api.post("op", "tickets", ticket_body(title="企业想反映一些情况", town=None,
                                                          description="企业负责人希望有人联系了解具体情况。")),
        "late": api.post("op", "tickets", ticket_body(title="车间频繁跳闸停电", town="yueqing_hongqiao",
                                                      enterprise={"name": "乐清市虹桥某模具厂"},
                                                      description="车间这周频繁跳闸停电，影响生产。")),
        "done": api.post("op", "tickets", ticket_body(title="新生产线申请用电增容", enterprise={"name": "乐清市某电器有限公司"},
                                                      description="新上一条生产线，需要变压器增容。")),
    }
    run_jobs()
    late, done = made["late"]["id"], made["done"]["id"]
    api.post("yq-power", f"tickets/{late}/accept")
    api.post("yq-power", f"tickets/{done}/accept")
    api.post("yq-power", f"tickets/{done}/resolve", {"opinion": "已受理增容申请，安排现场勘查。"})
    with db.get_engine().begin() as conn:
        conn.execute(text("UPDATE ticket SET resolve_due_at = now() - interval '1 day' WHERE id = :id"), {"id": late})
    api.post("dispatcher", f"tickets/{late}/remind", {"note": "请尽快处理"})
    api.post("dispatcher", f"tickets/{late}/supervise", {"level": "red", "note": "红灯督办"})
    jobs.refresh_stats()
    return made


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_whole_console_makes_no_request_to_any_other_host(person, server, day):
    user("liushi", Role.HANDLER, "tc.yueqing_liushi")
    host = urlsplit(server).netloc
    tour = {  # who looks at which screens
        "op": ["/console/intake?phone=13800138000", "/console/search", f"/console/ticket?id={day['done']['id']}",
               "/console/feedback", "/console/queue", "/console/knowledge"],
        "dispatcher": ["/console/dispatch", "/console/dispatch?tab=overdue", f"/console/ticket?id={day['late']['id']}"],
        "yq-power": ["/console/queue"],
        "liushi": ["/console/intake", "/console/queue"],
    }
    shots = {"op": {"/console/search": "search", f"/console/ticket?id={day['done']['id']}": "ticket",
                    "/console/knowledge": "knowledge", "/console/intake?phone=13800138000": "intake-screen-pop"},
             "dispatcher": {"/console/dispatch": "dispatch", "/console/dispatch?tab=overdue": "dispatch-overdue",
                            f"/console/ticket?id={day['late']['id']}": "ticket-supervised"},
             "yq-power": {"/console/queue": "queue-power"}}
    requests: list[str] = []
    for who, paths in tour.items():
        c = person()
        if who == "op":
            c.open("/console/")
            c.page.wait_for_selector("#login:not([hidden])")
            c.shot("login")
        c.login(who, paths[0])
        for path in paths:
            if path != paths[0]:
                c.go(path)
            c.page.wait_for_timeout(400)  # the live panels and lists settle
            body = c.page.inner_text("body")
            assert re.search(r"[\u4e00-\u9fff]", body), path
            for code in ("pending_dispatch", "in_progress", "hotline_96666", "yueqing_liushi", "not_our_function"):
                assert code not in body, (path, code)  # codes are shown by their Chinese labels
            if path in shots.get(who, {}):
                c.shot(shots[who][path])
        if who == "op":
            c.go("/console/knowledge")
            c.page.click("#k-list .qitem")
            c.page.wait_for_selector("#k-view article")
            c.shot("knowledge-article")
        if who == "dispatcher":
            c.go("/console/dispatch?tab=to_dispatch")
            c.page.click(f"#qlist [data-ticket-id='{day['unplaced']['id']}']")
            c.page.wait_for_selector("#qdetail form[data-form='dispatch']")
            c.page.click("#qdetail .trace-box summary")
            c.page.wait_for_selector("#qdetail .trace .trace-list li")
            c.shot("dispatch-to-dispatch")
        assert c.errors == [], (who, c.errors)
        assert c.refused == [], (who, c.refused)  # every call the screens make is one the API accepts
        requests += c.requests

    docs = person()
    docs.open("/docs")
    docs.page.wait_for_selector(".opblock", timeout=20_000)
    assert "hotline" in docs.page.inner_text("body")
    docs.shot("docs")
    requests += docs.requests

    assert requests
    outside = [u for u in requests
               if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).netloc != host]
    assert outside == [], outside
    for name in ("login", "intake-screen-pop", "search", "ticket", "dispatch", "knowledge", "docs"):
        data = (SHOTS / f"{name}.png").read_bytes()
        assert png_size(data) == (1366, 768), name
        assert len(data) > 30_000, f"{name}.png looks blank ({len(data)} bytes)"


def test_each_page_is_light_and_served_with_its_type_and_policy(client):
    page = client.get("/console/intake")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe" not in csp
    total = len(page.content)
    for name in sorted(p.name for p in STATIC_DIR.iterdir()):
        r = client.get(f"/console/static/{name}")
        assert r.status_code == 200, name
        assert r.headers["x-content-type-options"] == "nosniff"
        body = r.text
        assert not re.search(r"https?://", body), name  # no CDN, no outside font, nothing outside
        assert not re.search(r"""(?:src|href)\s*=\s*["']//|url\(\s*["']?//|@import""", body), name
        total += len(r.content)
    assert total < 300_000, f"the console weighs {total} bytes"
    for screen in SCREENS:
        assert client.get(f"/console/{screen}").status_code == 200
    assert client.get("/console/nothing").status_code == 404
    assert client.get("/console/static/views.py").status_code == 404
    assert client.get("/console/static/..%2Fviews.py").status_code == 404
    assert client.get("/console", follow_redirects=False).status_code == 308


def test_docs_are_served_from_the_service_itself(client):
    page = client.get("/docs")
    assert page.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs and all(not r.startswith(("http:", "https:", "//")) for r in refs), refs
    assert "validatorUrl" in page.text and "cdn" not in page.text.lower()
    for ref in refs:
        r = client.get("/" + ref.lstrip("/"))
        assert r.status_code == 200, ref
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert client.get("/redoc").status_code == 404
