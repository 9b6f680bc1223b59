"""RQ's worker and scheduler, kept running through Redis outages.

RQ runs the scheduler that re-enqueues jobs waiting for a retry (and every `enqueue_in`) in a child process of
the worker. That process ends at the first Redis error, and the worker only looks at it again in its maintenance
round, every ten minutes: after a Redis restart, retries did not fire. Here the scheduler waits for Redis to come
back instead, and the worker checks its scheduler every few seconds and starts it again if it ended anyway."""
from __future__ import annotations

import logging
import multiprocessing
import os
import stat
import time
from contextlib import suppress

import redis
from rq import SimpleWorker, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler

from service.config import get_settings

log = logging.getLogger(__name__)

REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


def _let_go_of_inherited_sockets() -> None:
    """A forked child holds copies of its parent's sockets. While it does, a parent killed in the middle of a
    transaction keeps its row locks (PostgreSQL sees no disconnect), and the dead parent's blocking dequeue
    still takes a job (Redis sees no disconnect). Each copy is pointed at /dev/null instead of closed, so that
    its number is not reused by a socket of the child's own that a stale object could later close."""
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:  # not Linux: nothing to look at
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in fds:
        with suppress(OSError):
            if fd > 2 and fd != devnull and stat.S_ISSOCK(os.fstat(fd).st_mode):  # stdio may be a log socket
                os.dup2(devnull, fd)
    os.close(devnull)


class ResilientScheduler(RQScheduler):
    """A Redis error does not end the scheduler: it waits a moment and carries on where it was. It holds none of
    its worker's connections, and it stops when its worker is gone (killed), releasing its locks."""

    _parent = None

    def work(self):
        if multiprocessing.parent_process() is not None:  # the worker's child, as RQ starts it
            self._parent = os.getppid()
            _let_go_of_inherited_sockets()
        while True:
            try:
                return super().work()
            except REDIS_ERRORS as exc:
                if self._stop_requested or self._orphaned():
                    return None
                wait = get_settings().worker_scheduler_retry_seconds
                self.log.warning("Scheduler lost Redis (%s); retrying in %.0fs", exc, wait)
                time.sleep(wait)

    def heartbeat(self):
        if self._orphaned():
            self.log.warning("Scheduler: its worker is gone; stopping")
            self.request_stop()
        super().heartbeat()

    def _orphaned(self) -> bool:
        return self._parent is not None and os.getppid() != self._parent


class KeepsScheduler:
    """Mixed into RQ's worker classes: its scheduler is a ResilientScheduler, checked at every heartbeat and
    started again when its process has ended (or taken over when another worker's scheduler has gone)."""

    _keep_scheduler = False
    _scheduler_checked = 0.0
    stop_asked = False
    # The scheduler's name, kept by the worker that replaces this one in the same process: its locks are ours.
    scheduler_name: str | None = None

    def request_stop(self, signum, frame):
        self.stop_asked = True
        super().request_stop(signum, frame)

    @property
    def dequeue_timeout(self) -> int:
        return min(super().dequeue_timeout, get_settings().worker_scheduler_check_seconds)

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT, log_format: str = DEFAULT_LOGGING_FORMAT):
        """RQ's own start, with the resilient scheduler."""
        self.scheduler = ResilientScheduler(
            self.queues, connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format, log_format=log_format, serializer=self.serializer, name=self.scheduler_name)
        self.scheduler.acquire_locks()
        if burst:  # a burst worker only moves what is due now, once
            if self.scheduler.acquired_locks:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            return
        self._keep_scheduler = True
        if self.scheduler.acquired_locks:
            self.scheduler.start()

    def heartbeat(self, *args, **kwargs):
        super().heartbeat(*args, **kwargs)
        self.keep_scheduler()

    def keep_scheduler(self) -> None:
        """Start the scheduler again if its process has ended; a worker without one tries to take the locks
        (they expire a minute after their holder stopped refreshing them)."""
        if not self._keep_scheduler or self._stop_requested or self.is_horse or \
                time.monotonic() - self._scheduler_checked < get_settings().worker_scheduler_check_seconds:
            return
        self._scheduler_checked = time.monotonic()
        process = self.scheduler._process
        if process is not None and process.is_alive():
            return
        if process is not None:
            log.warning("Worker %s: scheduler process %s ended (exit code %s); starting it again", self.name,
                        process.pid, process.exitcode)
            self.scheduler._process = None
        self.scheduler.acquire_locks(auto_start=True)


class HotlineWorker(KeepsScheduler, Worker):
    """A worker that forks a work horse per job."""


class HotlineSimpleWorker(KeepsScheduler, SimpleWorker):
    """A worker that runs jobs in its own process."""
