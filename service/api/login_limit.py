"""Failed-login limits per username and per client address, counted in Redis so they hold across API processes.

Redis unreachable: logins go ahead unlimited (logged), rather than nobody being able to log in."""
from __future__ import annotations

import hashlib
import logging
import math

import redis

from service.config import get_settings
from service.errors import TooManyAttempts
from service import queues

log = logging.getLogger(__name__)

REDIS_FAILED = (redis.RedisError, OSError)


def _digest(value: str) -> str:
    # Keys of a fixed length that do not spell out usernames or addresses in Redis.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _account_key(username: str) -> str:
    return f"{get_settings().queue_prefix}:login-failures:user:{_digest(username)}"


def _counters(username: str, address: str | None) -> list[tuple[str, int]]:
    """(key, limit) of each counter a failure of this login adds to."""
    s = get_settings()
    addr_key = f"{s.queue_prefix}:login-failures:addr:{_digest(address or 'unknown')}"
    return [(_account_key(username), s.login_max_failures_per_account),
            (addr_key, s.login_max_failures_per_address)]


def check(username: str, address: str | None) -> bool:
    """Raise TooManyAttempts while the username or the address is locked out. False when Redis could not be
    asked (the login goes ahead, and its outcome is not counted either)."""
    counters = _counters(username, address)
    try:
        pipe = queues.connection().pipeline(transaction=False)
        for key, _ in counters:
            pipe.get(key)
            pipe.pttl(key)
        replies = pipe.execute()
    except REDIS_FAILED as exc:
        log.warning("login limits not checked, Redis unavailable (%s): the login goes ahead", exc)
        return False
    waits = [ttl for (_, limit), count, ttl in zip(counters, replies[::2], replies[1::2], strict=True)
             if count is not None and int(count) >= limit]
    if waits:
        retry_after = max(1, math.ceil(max(waits) / 1000))
        raise TooManyAttempts(f"too many failed logins; try again in {retry_after} s", retry_after=retry_after)
    return True


def record_failure(username: str, address: str | None) -> None:
    """Count a failed login; each counter lives login_lockout_seconds after its last failure."""
    ttl_ms = max(1, int(get_settings().login_lockout_seconds * 1000))
    try:
        pipe = queues.connection().pipeline(transaction=True)
        for key, _ in _counters(username, address):
            pipe.incr(key)
            pipe.pexpire(key, ttl_ms)
        pipe.execute()
    except REDIS_FAILED as exc:
        log.warning("failed login not counted, Redis unavailable (%s)", exc)


def forget_failures(username: str) -> None:
    """A successful login clears its username's count (not its address's: one good password must not reset
    the count of guesses at other accounts)."""
    try:
        queues.connection().delete(_account_key(username))
    except REDIS_FAILED as exc:
        log.warning("failed logins of an account not cleared, Redis unavailable (%s)", exc)
