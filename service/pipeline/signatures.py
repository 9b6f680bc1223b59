"""HMAC-SHA256 request signatures (帮企云 pushes to us; we sign what we push out)."""
from __future__ import annotations

import hashlib
import hmac
import time

from service.errors import Unauthorized


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature of body at timestamp: hex HMAC-SHA256 over "<timestamp>." + body."""
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
    if abs((now if now is not None else time.time()) - ts) > max_skew:
        raise Unauthorized(f"stale signature timestamp (allowed skew {max_skew}s)")
    given = signature.removeprefix("sha256=")
    if not hmac.compare_digest(sign(secret, timestamp, body), given):
        raise Unauthorized("bad signature")
