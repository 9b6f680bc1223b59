"""A real HTTP server and a real headless Chromium for the tests of pages.

`live_server(app)` runs the app under uvicorn on 127.0.0.1 and a free port, in a thread of the test
process: same app, same settings (the HOTLINE_* variables tests/conftest.py set), same database and Redis.

`Chromium` drives Debian's `chromium` through its command line only (no Selenium, no Playwright):
`dump_dom(url)` returns the DOM after the page's scripts ran, `screenshot(url, path)` writes a PNG.
Each call uses a fresh, throw-away profile, so sessionStorage starts empty every time. Every host but
127.0.0.1 resolves to nothing, as on a network with no internet access, and what the page wrote to its
console is kept in `Chromium.console` (one line per message) for the test to check.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import uvicorn

INSTALL_HINT = ("headless Chromium is needed for the browser tests and was not found: install it with "
                "`apt-get update && apt-get install -y chromium fonts-noto-cjk` (make test does this), "
                "or point HOTLINE_TEST_CHROMIUM at a chromium binary")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(app, *, timeout: float = 20.0) -> Iterator[str]:
    """Serve `app` on http://127.0.0.1:<free port> while the block runs; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"uvicorn on port {port} stopped before it started; see the log above")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn on port {port} did not start within {timeout} s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def find_chromium() -> str | None:
    """The chromium binary: HOTLINE_TEST_CHROMIUM, else chromium / chromium-browser on PATH."""
    explicit = os.environ.get("HOTLINE_TEST_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> Chromium:
    """A Chromium driver, or a test failure (not a skip) that says how to install it."""
    binary = find_chromium()
    if binary is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return Chromium(binary)


class Chromium:
    """Headless Chromium through its command line, with a throw-away profile per call."""

    FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio",
             "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=zh-CN",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no internet: only our server
             "--enable-logging=stderr", "--v=0")

    def __init__(self, binary: str):
        self.binary = binary
        self.console: list[str] = []

    def _run(self, url: str, extra: list[str], *, budget_ms: int, timeout: float) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory(prefix="hotline-chromium-") as profile:
            cmd = [self.binary, *self.FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
                   *extra, url]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                      env={**os.environ, "HOME": profile})
            except subprocess.TimeoutExpired as exc:
                raise AssertionError(f"chromium did not finish within {timeout} s: {' '.join(cmd)}") from exc
        if done.returncode != 0:
            raise AssertionError(f"chromium exited with {done.returncode}:\n{done.stderr[-3000:]}")
        self.console = [line.split(":CONSOLE", 1)[1] for line in done.stderr.splitlines() if ":CONSOLE" in line]
        return done

    def dump_dom(self, url: str, *, budget_ms: int = 8000, timeout: float = 90) -> str:
        """The serialised DOM once the page's scripts ran (and its fetches finished) in `budget_ms` virtual time."""
        return self._run(url, ["--dump-dom"], budget_ms=budget_ms, timeout=timeout).stdout

    def screenshot(self, url: str, path: Path, *, size: tuple[int, int] = (1920, 1080), budget_ms: int = 8000,
                   timeout: float = 90) -> Path:
        """A PNG of the page at `size` (CSS pixels)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self._run(url, [f"--screenshot={path}", f"--window-size={size[0]},{size[1]}"], budget_ms=budget_ms,
                  timeout=timeout)
        if not path.is_file():
            raise AssertionError(f"chromium wrote no screenshot at {path}")
        return path


class Element:
    """One element of a dumped DOM: its tag, attributes and text (with its descendants' text)."""

    def __init__(self, tag: str, attrs: dict[str, str | None]):
        self.tag, self.attrs, self.parts = tag, attrs, []

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs} {self.text!r}>"


class Dom(HTMLParser):
    """A tiny reader of dumped HTML: every element with its attributes and text, in document order."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for element in self._open:
            element.parts.append(data)

    def find_all(self, tag: str | None = None, **attrs: str | bool) -> list[Element]:
        """Elements with `tag` (any when None) whose attributes match: a string exactly, True when present.

        Attribute names use _ for -: find_all(data_metric="received").
        """
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [e for e in self.elements if (tag is None or e.tag == tag) and all(
            (name in e.attrs) if value is True else e.attrs.get(name) == value for name, value in wanted.items())]

    def one(self, tag: str | None = None, **attrs: str | bool) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one element {tag or '*'} {attrs}, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Element:
        return self.one(id=element_id)
