"""What a request does when Redis hangs: one timeout, never a retry, then no Redis at all for a few seconds.

redis-py retries a timed-out command three times with backoff by default, so one call to a hung server cost
about four timeouts, and each request made several calls. The connections of the request path use the
retry policies below instead: no retry, and after a timeout every call fails at once (RedisSkipped, a
ConnectionError) until `redis_breaker_seconds` have passed. Callers already treat a Redis outage as "the
sweep will catch up", so skipping costs nothing but that delay."""
from __future__ import annotations

import logging
import socket
import time

import redis
import redis.asyncio.retry
import redis.retry
from redis.backoff import NoBackoff

from service.config import get_settings

log = logging.getLogger(__name__)


class RedisSkipped(redis.ConnectionError):
    """Redis timed out a moment ago; it is not asked again until the breaker closes."""


class Breaker:
    """Open for redis_breaker_seconds after a timeout (one per process: the loop and every thread share it)."""

    def __init__(self) -> None:
        self.open_until = 0.0

    def check(self) -> None:
        left = self.open_until - time.monotonic()
        if left > 0:
            raise RedisSkipped(f"Redis timed out recently; not asked for another {left:.1f}s")

    def trip(self, exc: BaseException) -> None:
        seconds = get_settings().redis_breaker_seconds
        if seconds > 0 and self.open_until <= time.monotonic():
            log.warning("Redis timed out (%s); skipping it for %.0fs", exc, seconds)
        self.open_until = time.monotonic() + seconds

    def reset(self) -> None:
        self.open_until = 0.0


BREAKER = Breaker()
_TIMEOUTS = (redis.TimeoutError, socket.timeout)


class NoRetry(redis.retry.Retry):
    """No retry (each would wait out the timeout again), and the breaker around every call."""

    def __init__(self) -> None:
        super().__init__(NoBackoff(), 0)

    def call_with_retry(self, do, fail, *args, **kwargs):
        BREAKER.check()
        try:
            return super().call_with_retry(do, fail, *args, **kwargs)
        except _TIMEOUTS as exc:
            BREAKER.trip(exc)
            raise


class AsyncNoRetry(redis.asyncio.retry.Retry):
    """NoRetry for redis.asyncio connections."""

    def __init__(self) -> None:
        super().__init__(NoBackoff(), 0)

    async def call_with_retry(self, do, fail, *args, **kwargs):
        BREAKER.check()
        try:
            return await super().call_with_retry(do, fail, *args, **kwargs)
        except _TIMEOUTS as exc:
            BREAKER.trip(exc)
            raise
