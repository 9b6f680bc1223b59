"""Who may scrape /metrics: whoever sends HOTLINE_METRICS_TOKEN as a bearer token; with no token set, nobody."""
from __future__ import annotations

import hashlib
import hmac
import os

from service.config import Settings, get_settings
from service.errors import Unauthorized


def check(authorization: str | None) -> None:
    """Raise 401 unless the Authorization header carries the configured scrape token (compared in constant time)."""
    token = get_settings().metrics_token
    if not token:
        raise Unauthorized("/metrics is closed: set HOTLINE_METRICS_TOKEN and scrape with it as a bearer token")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("send the scrape token: Authorization: Bearer <HOTLINE_METRICS_TOKEN>")


def use_embedded_token(settings: Settings) -> None:
    """`hotline up`: without an explicit token, derive one from the generated secret key (stable across runs,
    and it reveals nothing of the key); the environment hands it to the API process."""
    if settings.metrics_token or not settings.secret_key:
        return
    derived = hmac.new(settings.secret_key.encode(), b"hotline /metrics scrape token", hashlib.sha256).hexdigest()
    os.environ["HOTLINE_METRICS_TOKEN"] = derived
    get_settings.cache_clear()
