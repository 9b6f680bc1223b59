"""Redis connections, the named queues, and enqueueing with fixed job ids."""
from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from contextlib import suppress
from datetime import timedelta
from functools import lru_cache

import redis
import redis.asyncio
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from service.aio import PerLoop
from service.config import get_settings
from service.breaker import BREAKER, AsyncNoRetry, NoRetry

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
    """Short timeouts, no retries and the breaker: intake must answer even when Redis is down or hangs (the sweep
    catches up). Everything a request sends to Redis (flags, throttles, RQ enqueues) goes through this."""
    timeout = get_settings().redis_timeout_seconds
    return redis.Redis.from_url(redis_url(), socket_connect_timeout=timeout, socket_timeout=timeout,
                                retry=NoRetry())


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
    return Retry(max=get_settings().job_retries, interval=list(get_settings().job_retry_intervals))


def enqueue_route(ticket_id: int, conn: redis.Redis | None = None) -> None:
    """Ask a worker to route one ticket; the fixed id makes a repeat replace, not pile up."""
    queue(ROUTING, conn).enqueue(
        "workers.jobs.route_ticket", ticket_id, job_id=job_id(f"route-{ticket_id}"), retry=_retry(),
        result_ttl=0, failure_ttl=7 * 86400,  # the outcome is on the ticket; only failures are kept
    )


def _route_wanted_key() -> str:
    return f"{get_settings().queue_prefix}:route-wanted"


# Set the flag to "<job id> <ms>" and answer 1 (enqueue that job), unless it stands for a job that will still run:
# one waiting in the queue, or one the intake that set the flag is enqueueing right now. A standing flag whose job
# is gone from the queue although it never started routing (a worker killed after taking it, or an intake that
# died or timed out before enqueueing it) is replaced at once instead of blocking routing for its lifetime.
# Jobs clear the flag when they start, so a job that started and holds the flag is only a moment from clearing it.
_CLAIM_ROUTE_WANTED = """
local t = redis.call('TIME')
local ms = t[1] * 1000 + math.floor(t[2] / 1000)
local held = redis.call('GET', KEYS[1])
if held then
  local id, at = string.match(held, '^(%S+) (%d+)$')
  if id then
    if redis.call('EXISTS', ARGV[4] .. id) == 1 then
      if redis.call('LPOS', KEYS[2], id, 'RANK', -1, 'MAXLEN', 1000) then return 0 end
    elseif ms - tonumber(at) < tonumber(ARGV[3]) then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ms, 'EX', ARGV[2])
return 1
"""


def _claim_args(job: str) -> tuple[list[str], list]:
    """(keys, args) of _CLAIM_ROUTE_WANTED for a new job id."""
    keys = [_route_wanted_key(), Queue.redis_queue_namespace_prefix + queue_name(ROUTING)]
    settings = get_settings()  # a flag whose job is not created yet is being enqueued by the intake that set it,
    # unless it is older than route_wanted_sending_ms
    return keys, [job, settings.route_wanted_seconds, settings.route_wanted_sending_ms, Job.redis_job_namespace_prefix]


def _new_route_job_id() -> str:
    return job_id(f"route-new-{uuid.uuid4().hex[:16]}")


def request_routing(conn: redis.Redis | None = None) -> bool:
    """Ask a worker to route the tickets waiting in `new`. One waiting job serves every ticket committed before it
    starts (it clears the flag first, then reads the database), so a burst of intakes costs one flag write each
    and one job. The flag names its job: when that job is lost (its worker died), the next intake sends another.
    Returns whether a job was enqueued."""
    conn = conn or connection()
    job = _new_route_job_id()
    keys, args = _claim_args(job)
    if not conn.eval(_CLAIM_ROUTE_WANTED, len(keys), *keys, *args):
        return False
    _send_route_job(job, conn)
    return True


def _send_route_job(job: str, conn: redis.Redis | None = None) -> None:
    """The job the flag stands for (the flag is ours: we just set it)."""
    conn = conn or connection()
    try:
        queue(ROUTING, conn).enqueue("workers.jobs.route_new", job_id=job, retry=_retry(), result_ttl=0,
                                     failure_ttl=7 * 86400)
    except Exception:
        with suppress(*REDIS_DOWN):  # the flag must not outlive a job that was never sent
            conn.delete(_route_wanted_key())
        raise


async def request_routing_async() -> bool:
    """request_routing from the event loop, as safely: the flag is written on the loop, and only when a job is
    needed (rarely: once per burst) is it enqueued on a thread. A Redis outage is logged, not raised."""
    job = _new_route_job_id()
    keys, args = _claim_args(job)
    try:
        conn = await _async_connections.get()
        if not await conn.eval(_CLAIM_ROUTE_WANTED, len(keys), *keys, *args):
            return False
    except REDIS_DOWN as exc:
        log.warning("could not enqueue routing of new tickets (%s); a sweep will pick it up", exc)
        return False
    return await asyncio.to_thread(_safely, "routing of new tickets", _send_route_job, job)


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



def _stats_keys() -> tuple[str, str]:
    prefix = get_settings().queue_prefix
    return f"{prefix}:stats-refresh-wanted", f"{prefix}:stats-refresh-started"


def enqueue_stats_refresh_soon(conn: redis.Redis | None = None) -> bool:
    """Ask for a statistics refresh after a change. One waiting job serves every change committed before it
    starts (it clears the flag, then reads the queue), so a burst costs one SET NX per change and one job; a
    change committed while a job runs asks for the next one. Jobs start at most once every
    stats_refresh_interval_seconds: a job asked for sooner is scheduled for then, never dropped. A Redis outage
    is logged, not raised (the scheduler's tick refreshes too). Returns whether a job was enqueued."""
    try:
        conn = conn or connection()
        if not conn.set(_stats_keys()[0], 1, nx=True, ex=get_settings().stats_wanted_seconds):
            return False
        _send_stats_job(conn)
        return True
    except REDIS_DOWN as exc:
        log.warning("could not enqueue a statistics refresh (%s); the scheduler will", exc)
        return False


def _send_stats_job(conn: redis.Redis | None = None) -> None:
    """The job the flag stands for, now or when the last job started long enough ago."""
    conn = conn or connection()
    wanted, started = _stats_keys()
    try:
        last = conn.get(started)
        wait = float(last) + get_settings().stats_refresh_interval_seconds - time.time() if last else 0.0
        kw = {"result_ttl": 0, "failure_ttl": 86400}
        if wait > 0:
            queue(DEFAULT, conn).enqueue_in(timedelta(seconds=wait), "workers.jobs.refresh_stats", **kw)
        else:
            queue(DEFAULT, conn).enqueue("workers.jobs.refresh_stats", **kw)
    except Exception:
        with suppress(*REDIS_DOWN):  # the flag must not outlive a job that was never sent
            conn.delete(wanted)
        raise


async def enqueue_stats_refresh_soon_async() -> None:
    """enqueue_stats_refresh_soon from the event loop: the flag is written on the loop, and only when a job is
    needed (once per burst) is it enqueued on a thread."""
    try:
        conn = await _async_connections.get()
        if not await conn.set(_stats_keys()[0], 1, nx=True, ex=get_settings().stats_wanted_seconds):
            return
    except REDIS_DOWN as exc:
        log.warning("could not enqueue a statistics refresh (%s); the scheduler will", exc)
        return
    await asyncio.to_thread(_safely, "a statistics refresh", _send_stats_job)


async def request_routing_and_stats_async() -> None:
    """request_routing_async and enqueue_stats_refresh_soon_async in one round trip to Redis (what every intake
    asks for): both flags are written in one pipeline on the loop; a job is enqueued on a thread only for a flag
    that was not already up (once per burst). A Redis outage is logged, not raised."""
    job = _new_route_job_id()
    keys, args = _claim_args(job)
    try:
        conn = await _async_connections.get()
        route, stats = await (conn.pipeline(transaction=False)
                              .eval(_CLAIM_ROUTE_WANTED, len(keys), *keys, *args)
                              .set(_stats_keys()[0], 1, nx=True, ex=get_settings().stats_wanted_seconds)
                              .execute())
    except REDIS_DOWN as exc:
        log.warning("could not enqueue routing and a statistics refresh (%s); the sweep and the scheduler will", exc)
        return
    if route:
        await asyncio.to_thread(_safely, "routing of new tickets", _send_route_job, job)
    if stats:
        await asyncio.to_thread(_safely, "a statistics refresh", _send_stats_job)


def stats_refresh_started(conn: redis.Redis | None = None) -> None:
    """Called by the refresh job before it reads the queue: a change committed after this asks for the next job."""
    wanted, started = _stats_keys()
    try:
        (conn or connection()).pipeline().delete(wanted).set(started, repr(time.time()), ex=3600).execute()
    except REDIS_DOWN as exc:
        log.warning("could not clear the statistics refresh flag (%s); it expires on its own", exc)


def enqueue_export(export_id: int, conn: redis.Redis | None = None) -> None:
    """Ask a worker to build one requested export (fixed id: a repeat replaces, the job body skips a done one)."""
    queue(DEFAULT, conn).enqueue(
        "workers.jobs.run_export", export_id, job_id=job_id(f"export-{export_id}"), retry=_retry(),
        job_timeout=get_settings().export_job_timeout_seconds, result_ttl=3600, failure_ttl=7 * 86400,
    )


def enqueue_export_safely(export_id: int) -> bool:
    """enqueue_export; when Redis is down the export stays queued in the database for the stale-export sweep."""
    return _safely(f"export {export_id}", enqueue_export, export_id)


def enqueue_import(import_id: int, conn: redis.Redis | None = None) -> None:
    """Ask a worker to run one stored import (fixed id: a repeat replaces, the job body skips a finished one)."""
    queue(DEFAULT, conn).enqueue(
        "workers.jobs.run_import", import_id, job_id=job_id(f"import-{import_id}"), retry=_retry(),
        job_timeout=get_settings().export_job_timeout_seconds, result_ttl=3600, failure_ttl=7 * 86400,
    )


def enqueue_import_safely(import_id: int) -> bool:
    """enqueue_import; when Redis is down the import stays queued in the database for the stale sweep."""
    return _safely(f"import {import_id}", enqueue_import, import_id)


def _async_connection() -> redis.asyncio.Redis:
    timeout = get_settings().redis_timeout_seconds
    return redis.asyncio.Redis.from_url(redis_url(), socket_connect_timeout=timeout, socket_timeout=timeout,
                                        retry=AsyncNoRetry())


_async_connections: PerLoop[redis.asyncio.Redis] = PerLoop(_async_connection, redis.asyncio.Redis.aclose)


async def close_async_connection() -> None:
    """Close the running loop's Redis connections (the app's shutdown)."""
    await _async_connections.close_current()


def reset_connections() -> None:
    connection.cache_clear()
    _async_connections.reset()
    BREAKER.reset()
