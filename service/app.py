"""The FastAPI application."""
from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import dashboard
from service.api import actions, auth, exports, health, intake, metrics, reference, routing, stats, tickets, units
from service.api.deps import document_security
from service.config import get_settings
from service.errors import install_handlers


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


def create_app() -> FastAPI:
    """Build the app: routers, error handlers, body limit."""
    app = FastAPI(title="hotline", version="0.1.0",
                  description="涉企问题一表通管: one table for every enterprise problem, from every channel.")
    install_handlers(app)
    routers = [module.router for module in (health, metrics, auth, tickets, actions, intake, routing, reference,
                                            units, stats, dashboard, exports)]
    for router in routers:
        app.include_router(router)
    settings = get_settings()
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       per_path={"/api/v1/imports/tickets": settings.max_import_bytes})
    app.add_middleware(metrics.LatencyMiddleware)
    document_security(app, routers)
    return app


app = create_app()
