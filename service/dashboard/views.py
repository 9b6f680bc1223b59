"""Serve the dashboard page and its assets.

``GET /dashboard`` is the page; ``GET /dashboard/static/<file>`` its CSS, JavaScript and icons. Only
files that exist in ``static/`` with a known type are served, each with an explicit content type and
a Content-Security-Policy that lets the page talk to this service only.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse

from service.static_files import serve_file

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _asset(name: str) -> Response:
    return serve_file(STATIC_DIR, name, "dashboard")


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
