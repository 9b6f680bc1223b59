"""The console's browser tests: one real server and one headless Chromium (through Playwright) per module.

Playwright drives Debian's chromium (`/usr/bin/chromium`, or HOTLINE_TEST_CHROMIUM); no browser is downloaded.
Every host but 127.0.0.1 resolves to nothing, as on a network with no internet access, and every request a page
makes is recorded (`Console.requests`) so a test can show that none left the service.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from models import Role
from service import db
from tests.factories import PASSWORD, add_user
from tests.support.browser import ARTIFACTS, INSTALL_HINT, find_chromium, live_server

SHOTS = ARTIFACTS / "console"
VIEWPORT = {"width": 1366, "height": 768}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def server(app) -> Iterator[str]:
    with live_server(app) as base:
        yield base


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extras install it
        pytest.fail("playwright is needed for the console's browser tests: `pip install -e '.[dev]'`", pytrace=False)
    binary = find_chromium()
    if binary is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=zh-CN",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        yield browser
        browser.close()


class Console:
    """One person at one browser window (its own sessionStorage): log in, go to a screen, take screenshots."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        # Script errors, and answers of 500 and above; a 4xx is the API speaking to the user (shown on the screen),
        # which Chromium also logs as "Failed to load resource".
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        self.refused: list[str] = []  # API answers of 400 to 499: what the console asked and the API refused
        self.page.on("response", lambda r: self.refused.append(f"{r.status} {r.request.method} {r.url}")
                     if 400 <= r.status < 500 and "/api/" in r.url else None)

    def open(self, path: str) -> Console:
        self.page.goto(self.base + path)
        return self

    def login(self, username: str, path: str = "/console/") -> Console:
        """Open `path` and log in through the form, as a person does."""
        self.open(path)
        page = self.page
        page.fill("#login-username", username)
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        self.ready()
        return self

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-ready='1']")

    def go(self, path: str) -> Console:
        self.page.goto(self.base + path)
        self.ready()
        return self

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def person(chromium, server):
    """A factory of Console windows, closed after the test."""
    made: list[Console] = []

    def make() -> Console:
        c = Console(chromium, server)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def user(username: str, role: Role, unit: str | None = None) -> str:
    add_user(username, role, unit)
    return username


def row(sql: str, **params) -> dict:
    """One row of the database as a dict (what the console's actions left there)."""
    with db.get_engine().connect() as conn:
        found = conn.execute(text(sql), params).mappings().first()
    assert found is not None, f"no row for {sql} {params}"
    return dict(found)


def rows(sql: str, **params) -> list[dict]:
    with db.get_engine().connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


NUMBER = re.compile(r"^\d{8}-\d{7}$")


class Api:
    """The public API over real HTTP on the test's server: what the data a scenario starts from is made with."""

    def __init__(self, base: str):
        import httpx

        self.http = httpx.Client(base_url=base, timeout=30)
        self.tokens: dict[str, str] = {}

    def login(self, username: str, role: Role | None = None, unit: str | None = None) -> str:
        if role is not None:
            add_user(username, role, unit)
        r = self.http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.tokens[username] = r.json()["access_token"]
        return self.tokens[username]

    def call(self, who: str, method: str, path: str, expect: int | tuple[int, ...] = (200, 201), **kw) -> dict:
        r = self.http.request(method, "/api/v1/" + path.lstrip("/"),
                              headers={"Authorization": f"Bearer {self.tokens[who]}"}, **kw)
        assert r.status_code in ((expect,) if isinstance(expect, int) else expect), (path, r.status_code, r.text)
        return r.json()

    def post(self, who: str, path: str, body: dict | None = None, **kw) -> dict:
        return self.call(who, "POST", path, json=body or {}, **kw)

    def get(self, who: str, path: str, **kw) -> dict:
        return self.call(who, "GET", path, **kw)


@pytest.fixture
def api(server) -> Iterator[Api]:
    a = Api(server)
    yield a
    a.http.close()
