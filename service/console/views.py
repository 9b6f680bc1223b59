"""Serve the work console and the offline API docs.

``GET /console/<screen>`` is the console (one page; its script shows the screen the path names);
``GET /console/static/<file>`` its CSS and JavaScript modules. Only files that exist in ``static/`` with a known
type are served, each with an explicit content type and a Content-Security-Policy that lets the page talk to this
service only. The console calls the public API with the same logins, and nothing else.

``GET /docs`` is Swagger UI over ``/openapi.json``, with its script and stylesheet served from ``docs_static/``
(swagger-ui-dist, Apache-2.0), so the page works on a network with no internet access.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse

from service.errors import NotFound
from service.static_files import SECURITY_HEADERS, serve_file

STATIC_DIR = Path(__file__).resolve().parent / "static"
DOCS_DIR = Path(__file__).resolve().parent / "docs_static"

# The screens of the console; each path serves the same page, whose script draws the screen.
SCREENS = ("intake", "search", "ticket", "queue", "dispatch", "feedback", "knowledge")

# Swagger UI starts from a short inline script (FastAPI's page); everything it loads comes from here.
DOCS_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                                "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
}

router = APIRouter(tags=["console"], include_in_schema=False)


def _file(directory: Path, name: str, headers: dict[str, str], what: str) -> Response:
    return serve_file(directory, name, what, headers)


@router.get("/console", name="console")
def console_root() -> RedirectResponse:
    """The console's home: the screen of the logged-in user's role."""
    return RedirectResponse("console/", status_code=308)  # relative: works behind a path prefix


@router.get("/console/", name="console_home")
def console_home() -> Response:
    return _file(STATIC_DIR, "index.html", SECURITY_HEADERS, "console")


@router.get("/console/static/{name}", name="console_asset")
def console_asset(name: str) -> Response:
    return _file(STATIC_DIR, name, SECURITY_HEADERS, "console")


@router.get("/console/{screen}", name="console_screen")
def console_screen(screen: str) -> Response:
    """登记, 一表通查, 工单, 我的工单, 派单台, 回访, 知识库."""
    if screen not in SCREENS:
        raise NotFound(f"no console screen {screen!r}; screens: {', '.join(SCREENS)}")
    return _file(STATIC_DIR, "index.html", SECURITY_HEADERS, "console")


@router.get("/docs", name="docs")
def docs() -> HTMLResponse:
    """Swagger UI over /openapi.json, every asset served by this service."""
    page = get_swagger_ui_html(
        openapi_url="openapi.json", title="hotline · API 文档",
        swagger_js_url="docs/static/swagger-ui-bundle.js", swagger_css_url="docs/static/swagger-ui.css",
        swagger_favicon_url="docs/static/favicon.png", oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
    )
    return HTMLResponse(page.body, headers=DOCS_HEADERS)


@router.get("/docs/oauth2-redirect", name="docs_oauth2_redirect")
def docs_oauth2_redirect() -> HTMLResponse:
    page = get_swagger_ui_oauth2_redirect_html()
    return HTMLResponse(page.body, headers=DOCS_HEADERS)


@router.get("/docs/static/{name}", name="docs_asset")
def docs_asset(name: str) -> Response:
    return _file(DOCS_DIR, name, {**DOCS_HEADERS, "Cache-Control": "max-age=86400"}, "docs")
