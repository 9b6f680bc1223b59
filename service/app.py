"""The FastAPI application."""
from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import console, dashboard
from service.api import (
    actions, audit, auth, callers, enterprises, exports, health, intake, knowledge, metrics, queues, reference, routing,
    stats, tickets, units,
)
from service.api.deps import document_security
from service.api.hardening import InputGuard, known_query_only
from service.api.openapi import document_errors
from service.config import get_settings
from service.credentials import require_secrets
from service.db import dispose_async_engine
from service.errors import install_handlers
from service.queues import close_async_connection


class BodyLimit:
    """Refuse bodies over max_body_bytes with 413, whether or not Content-Length is declared.

    A path in per_path (e.g. the spreadsheet import) gets its own, larger allowance."""

    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None):
        self.app, self.max_bytes, self.per_path = app, max_bytes, per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.per_path.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._too_large(send, limit)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(send, limit)

    async def _too_large(self, send: Send, limit: int) -> None:
        import json

        body = json.dumps({"error": "payload_too_large",
                           "detail": f"request body over {limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


# Young-generation threshold of the garbage collector while serving (Python's default is 700). A request's
# objects live for the tens of milliseconds it is in flight; at the default the collector runs every few
# requests and promotes them all, so that the old generation grows by a quarter every second or so and the
# next full collection, over every object of the process, stalls every request for ~90 ms (the p99 of intake).
# Collecting young objects less often lets them die young. Measured by bench/bench_intake.py.
GC_THRESHOLDS = (50_000, 20, 10)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Settle the collector for serving; close the event loop's own database and Redis connections when the
    server stops."""
    thresholds = gc.get_threshold()
    # What exists now (modules, schemas, reference data) lives as long as the process: freezing it keeps full
    # collections from walking it again and again.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        await dispose_async_engine()
        await close_async_connection()


def create_app() -> FastAPI:
    """Build the app: routers, error handlers, body limit. Refuses (MissingSecrets) without secrets fit for
    production, whatever starts it, unless HOTLINE_DEV_MODE is on."""
    require_secrets(get_settings())
    app = FastAPI(title="hotline", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="涉企问题一表通管: one table for every enterprise problem, from every channel.",
                  dependencies=[Depends(known_query_only)])
    install_handlers(app)
    routers = [module.router for module in (health, metrics, auth, tickets, actions, intake, routing, reference,
                                            units, stats, dashboard, exports, audit, enterprises, console, knowledge,
                                            callers, queues)]
    for router in routers:
        app.include_router(router)
    settings = get_settings()
    # Inside BodyLimit: it reads bodies within the limit. The routes name a path parameter at fault.
    app.add_middleware(InputGuard, routes=[r for router in routers for r in router.routes])
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       per_path={"/api/v1/imports/tickets": settings.max_import_bytes,
                                 "/api/v1/enterprises/import": settings.max_import_bytes})
    app.add_middleware(metrics.LatencyMiddleware)
    document_security(app, routers)
    document_errors(app, routers)
    app.state.api_routes = [r for router in routers for r in router.routes]  # a 405's Allow lists them all
    return app


app = create_app()
