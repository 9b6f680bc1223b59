"""The worker and scheduler processes."""
from __future__ import annotations

import logging
import signal
import threading
import time
import uuid

import redis
from rq.serializers import JSONSerializer

from service.config import get_settings
from workers import jobs
from service import queues
from workers.resilient import REDIS_ERRORS, HotlineSimpleWorker, HotlineWorker

log = logging.getLogger(__name__)


def run_worker(burst: bool = False) -> None:
    """Sweep once (tickets left behind while no worker ran), then work the queues. RQ ends a worker on some Redis
    errors (a timeout, a restart in the middle of a job): a new one takes its place, until a stop is asked for."""
    try:
        jobs.sweep_unrouted()
    except Exception as exc:  # Redis or the database down at start: the scheduler's sweeps catch up
        log.warning("start-up sweep skipped: %s", exc)
    worker_class = HotlineWorker if get_settings().worker_fork else HotlineSimpleWorker
    scheduler_name = uuid.uuid4().hex
    stop = threading.Event()  # asked for between two workers (each worker handles its own signals)
    while not stop.is_set():
        worker = None
        try:
            conn = queues.worker_connection()
            worker = worker_class([queues.queue(name, conn) for name in queues.QUEUES], connection=conn,
                                  serializer=JSONSerializer)
            worker.scheduler_name = scheduler_name
            if not stop.is_set():
                worker.work(burst=burst, with_scheduler=True)
        except REDIS_ERRORS as exc:
            log.warning("worker lost Redis: %s", exc)
        if burst or (worker is not None and worker.stop_asked):
            return
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        log.warning("the worker ended without being asked to; a new worker starts")
        stop.wait(1.0)


def run_scheduler(iterations: int | None = None) -> None:
    """Every sweep interval, enqueue the sweep job once per tick, however many schedulers run."""
    interval = get_settings().sweep_interval_seconds
    stop = threading.Event()  # SIGTERM ends the wait between ticks at once, not at the next tick
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    done = 0
    while not stop.is_set() and (iterations is None or done < iterations):
        tick = int(time.time() // interval)
        try:
            # SET NX on the tick: with two schedulers running, only the first enqueues this tick's sweep.
            claim = f"{get_settings().queue_prefix}:sweep-tick:{tick}"
            if queues.connection().set(claim, 1, nx=True, ex=interval * 2):
                queues.queue(queues.DEFAULT).enqueue("workers.jobs.periodic", job_id=queues.job_id(f"sweep-{tick}"),
                                                     result_ttl=3600, failure_ttl=86400)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.warning("scheduler could not reach Redis: %s", exc)
        done += 1
        if iterations is not None and done >= iterations:
            break
        stop.wait(max(0.0, (tick + 1) * interval - time.time()))
