"""HMAC-SHA256 request signatures (帮企云 pushes to us; we sign what we push out)."""
from __future__ import annotations

import hashlib
import hmac
import time

from service.errors import Unauthorized

# The one documented format of X-Signature: "sha256=<lowercase hex>".
PREFIX = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature of body at timestamp: hex HMAC-SHA256 over "<timestamp>." + body."""
    if not secret:  # an empty key signs nothing anyone could not sign too
        raise ValueError("no signing secret configured")
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, *, max_skew: int,
           now: float | None = None) -> None:
    """Raise Unauthorized unless the signature is right and the timestamp fresh (replays of old pushes fail)."""
    if not timestamp or not signature:
        raise Unauthorized("missing X-Signature-Timestamp or X-Signature header")
    try:
        ts = int(timestamp)
    except ValueError:
        raise Unauthorized("X-Signature-Timestamp must be unix seconds") from None
    if abs((now if now is not None else time.time()) - min(max(ts, -2**53), 2**53)) > max_skew:  # no float overflow
        raise Unauthorized(f"stale signature timestamp (allowed skew {max_skew}s)")
    if not signature.startswith(PREFIX):
        raise Unauthorized(f"X-Signature must be {PREFIX}<hex HMAC-SHA256>")
    if not secret or not hmac.compare_digest(sign(secret, timestamp, body).encode(),
                                             signature[len(PREFIX):].encode("utf-8", "surrogateescape")):
        raise Unauthorized("bad signature")
