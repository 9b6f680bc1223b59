"""Redis connections, the named queues, and enqueueing with fixed job ids."""
from __future__ import annotations

import asyncio
import logging
import re
import time
from contextlib import suppress
from functools import lru_cache

import redis
import redis.asyncio
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from service.aio import PerLoop
from service.config import get_settings

log = logging.getLogger(__name__)

ROUTING = "routing"
DEFAULT = "default"
QUEUES = (ROUTING, DEFAULT)


def redis_url() -> str:
    """The configured Redis URL, starting the embedded server when none is set."""
    settings = get_settings()
    if settings.redis_url:
        return settings.redis_url
    from service.embedded import ensure_redis

    return ensure_redis(settings.data_dir)


@lru_cache
def connection() -> redis.Redis:
    """Short timeouts: intake must answer even when Redis is down (the sweep catches up)."""
    timeout = get_settings().redis_timeout_seconds
    return redis.Redis.from_url(redis_url(), socket_connect_timeout=timeout, socket_timeout=timeout)


def worker_connection() -> redis.Redis:
    """A connection for blocking dequeues: no read timeout."""
    return redis.Redis.from_url(redis_url(), socket_connect_timeout=get_settings().redis_timeout_seconds)


def queue_name(name: str) -> str:
    return f"{get_settings().queue_prefix}:{name}"


def job_id(name: str) -> str:
    """A fixed job id under this deployment's prefix (RQ keeps jobs as rq:job:<id> in one namespace)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{get_settings().queue_prefix}-{name}")


def queue(name: str, conn: redis.Redis | None = None) -> Queue:
    """One of our queues, JSON-serialised (job arguments are ids only)."""
    return Queue(queue_name(name), connection=conn or connection(), serializer=JSONSerializer)


def _retry() -> Retry:
    return Retry(max=get_settings().job_retries, interval=[1, 5, 15, 60, 300])


def enqueue_route(ticket_id: int, conn: redis.Redis | None = None) -> None:
    """Ask a worker to route one ticket; the fixed id makes a repeat replace, not pile up."""
    queue(ROUTING, conn).enqueue(
        "workers.jobs.route_ticket", ticket_id, job_id=job_id(f"route-{ticket_id}"), retry=_retry(),
        result_ttl=0, failure_ttl=7 * 86400,  # the outcome is on the ticket; only failures are kept
    )


def _route_wanted_key() -> str:
    return f"{get_settings().queue_prefix}:route-wanted"


ROUTE_WANTED_SECONDS = 60


def request_routing(conn: redis.Redis | None = None) -> bool:
    """Ask a worker to route the tickets waiting in `new`. One waiting job serves every ticket committed before it
    starts (it clears the flag first, then reads the database), so a burst of intakes costs one flag write each
    and one job. The flag expires on its own: a lost job delays routing by a minute at most, then the next intake
    or the unrouted sweep sends another. Returns whether a job was enqueued."""
    conn = conn or connection()
    if not conn.set(_route_wanted_key(), 1, nx=True, ex=ROUTE_WANTED_SECONDS):
        return False
    _send_route_job(conn)
    return True


def _send_route_job(conn: redis.Redis | None = None) -> None:
    """The job the flag stands for (the flag is ours: we just set it)."""
    conn = conn or connection()
    try:
        queue(ROUTING, conn).enqueue("workers.jobs.route_new", retry=_retry(), result_ttl=0, failure_ttl=7 * 86400)
    except Exception:
        with suppress(*REDIS_DOWN):  # the flag must not outlive a job that was never sent
            conn.delete(_route_wanted_key())
        raise


async def request_routing_async() -> bool:
    """request_routing from the event loop, as safely: the flag is written on the loop, and only when a job is
    needed (rarely: once per burst) is it enqueued on a thread. A Redis outage is logged, not raised."""
    try:
        conn = await _async_connections.get()
        if not await conn.set(_route_wanted_key(), 1, nx=True, ex=ROUTE_WANTED_SECONDS):
            return False
    except REDIS_DOWN as exc:
        log.warning("could not enqueue routing of new tickets (%s); a sweep will pick it up", exc)
        return False
    return await asyncio.to_thread(_safely, "routing of new tickets", _send_route_job)


def routing_requested_clear(conn: redis.Redis | None = None) -> None:
    """Called by the job before it reads the `new` tickets: an intake committed after this enqueues the next job."""
    (conn or connection()).delete(_route_wanted_key())


REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)


def _safely(what: str, enqueue, *args) -> bool:
    """Enqueue, but a Redis outage is logged, not raised: the state is in the database and a sweep catches up."""
    try:
        enqueue(*args)
        return True
    except REDIS_DOWN as exc:
        log.warning("could not enqueue %s (%s); a sweep will pick it up", what, exc)
        return False


def enqueue_route_safely(ticket_id: int) -> bool:
    """enqueue_route; when Redis is down the ticket stays `new` for the unrouted sweep."""
    return _safely(f"routing of ticket {ticket_id}", enqueue_route, ticket_id)


def request_routing_safely() -> bool:
    """request_routing; when Redis is down the tickets stay `new` for the unrouted sweep."""
    return _safely("routing of new tickets", request_routing)


def enqueue_delivery(conn: redis.Redis | None = None) -> None:
    """Ask a worker to deliver the due notifications (one job drains the outbox)."""
    queue(DEFAULT, conn).enqueue("workers.jobs.deliver_notifications", job_id=job_id("deliver-notifications"),
                                 result_ttl=600, failure_ttl=86400)


def enqueue_delivery_safely() -> bool:
    """enqueue_delivery; a Redis outage only delays delivery (the scheduler enqueues it every tick)."""
    return _safely("notification delivery", enqueue_delivery)


STATS_REFRESH_EVERY = 2.0
_stats_asked_at = {"t": -STATS_REFRESH_EVERY}


def enqueue_stats_refresh_soon() -> None:
    """Refresh the statistics shortly after a change; at most one enqueue every two seconds across processes
    (a Redis key), and no Redis call at all while this process's own last request is that recent."""
    now = time.monotonic()
    if now - _stats_asked_at["t"] < STATS_REFRESH_EVERY:
        return
    try:
        conn = connection()
        if conn.set(f"{get_settings().queue_prefix}:stats-refresh-throttle", 1, nx=True, ex=int(STATS_REFRESH_EVERY)):
            queue(DEFAULT, conn).enqueue("workers.jobs.refresh_stats", job_id=job_id("stats-refresh"), result_ttl=60)
        _stats_asked_at["t"] = now
    except REDIS_DOWN as exc:
        log.warning("could not enqueue a statistics refresh (%s); the scheduler will", exc)


async def enqueue_stats_refresh_soon_async() -> None:
    """enqueue_stats_refresh_soon from the event loop: nothing at all while this process asked recently, else the
    same on a thread."""
    if time.monotonic() - _stats_asked_at["t"] >= STATS_REFRESH_EVERY:
        await asyncio.to_thread(enqueue_stats_refresh_soon)


def reset_stats_throttle() -> None:
    """Forget this process's last statistics request (tests, settings changes)."""
    _stats_asked_at["t"] = -STATS_REFRESH_EVERY


def enqueue_export(export_id: int, conn: redis.Redis | None = None) -> None:
    """Ask a worker to build one requested export (fixed id: a repeat replaces, the job body skips a done one)."""
    queue(DEFAULT, conn).enqueue(
        "workers.jobs.run_export", export_id, job_id=job_id(f"export-{export_id}"), retry=_retry(),
        job_timeout=get_settings().export_job_timeout_seconds, result_ttl=3600, failure_ttl=7 * 86400,
    )


def enqueue_export_safely(export_id: int) -> bool:
    """enqueue_export; when Redis is down the export stays queued in the database for the stale-export sweep."""
    return _safely(f"export {export_id}", enqueue_export, export_id)


def _async_connection() -> redis.asyncio.Redis:
    timeout = get_settings().redis_timeout_seconds
    return redis.asyncio.Redis.from_url(redis_url(), socket_connect_timeout=timeout, socket_timeout=timeout)


_async_connections: PerLoop[redis.asyncio.Redis] = PerLoop(_async_connection, redis.asyncio.Redis.aclose)


async def close_async_connection() -> None:
    """Close the running loop's Redis connections (the app's shutdown)."""
    await _async_connections.close_current()


def reset_connections() -> None:
    connection.cache_clear()
    _async_connections.reset()
