"""/metrics for Prometheus, and the HTTP latency middleware."""
from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware

from service.metrics import HTTP_SECONDS, render

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus exposition format."""
    return Response(await run_in_threadpool(render), media_type=CONTENT_TYPE_LATEST)


class LatencyMiddleware(BaseHTTPMiddleware):
    """Time every request under its route template (never the raw path: labels carry no ids)."""

    async def dispatch(self, request: Request, call_next):
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_SECONDS.labels(request.method, template, str(status)).observe(time.perf_counter() - started)
