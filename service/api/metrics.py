"""/metrics for Prometheus, and the HTTP latency middleware."""
from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import scrape
from service.gauges import render
from service.metrics import HTTP_SECONDS

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus exposition format, for the holder of the scrape token (HOTLINE_METRICS_TOKEN)."""
    scrape.check(authorization)
    return Response(await run_in_threadpool(render), media_type=CONTENT_TYPE_LATEST)


class LatencyMiddleware:
    """Time every request under its route template (never the raw path: labels carry no ids).

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware costs about a millisecond per request."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), {"code": 500}

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            HTTP_SECONDS.labels(scope["method"], template, str(status["code"])).observe(time.perf_counter() - started)
