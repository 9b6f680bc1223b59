"""Serving the pages' own files (dashboard, console, offline API docs): a whitelist of names and types, an explicit
content type, and headers that let a page talk to this service only."""
from __future__ import annotations

import re
from pathlib import Path

from fastapi import Response

from service.errors import NotFound

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.[a-z]+$")

# A page may load its own assets and call this service's API; nothing else, and it may not be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def serve_file(directory: Path, name: str, what: str, headers: dict[str, str] = SECURITY_HEADERS) -> Response:
    """The file `name` of `directory`, if its name and type are allowed and it exists; else a 404 naming it."""
    suffix = Path(name).suffix
    path = directory / name
    if not _NAME.match(name) or suffix not in MEDIA_TYPES or not path.is_file():
        raise NotFound(f"no {what} asset {name!r}")
    return Response(path.read_bytes(), media_type=MEDIA_TYPES[suffix], headers=headers)
