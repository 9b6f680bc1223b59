"""Serve the dashboard page and its assets.

``GET /dashboard`` is the page; ``GET /dashboard/static/<file>`` its CSS, JavaScript and icons. Only
files that exist in ``static/`` with a known type are served, each with an explicit content type and
a Content-Security-Policy that lets the page talk to this service only.
"""
from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse

from service.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.[a-z]+$")

# The page may load its own assets and call this service's API; nothing else, and it may not be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _asset(name: str) -> Response:
    suffix = Path(name).suffix
    path = STATIC_DIR / name
    if not _NAME.match(name) or suffix not in MEDIA_TYPES or not path.is_file():
        raise NotFound(f"no dashboard asset {name!r}")
    return Response(path.read_bytes(), media_type=MEDIA_TYPES[suffix], headers=SECURITY_HEADERS)


@router.get("/dashboard", name="dashboard")
def page() -> Response:
    """涉企问题一表通管 · 领导驾驶舱 (log in with the same accounts as the API)."""
    return _asset("index.html")


@router.get("/dashboard/", name="dashboard_slash")
def page_slash() -> RedirectResponse:
    return RedirectResponse("../dashboard", status_code=308)  # relative: works behind a path prefix


@router.get("/dashboard/static/{name}", name="dashboard_asset")
def asset(name: str) -> Response:
    return _asset(name)
