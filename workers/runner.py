"""The worker and scheduler processes."""
from __future__ import annotations

import logging
import signal
import threading
import time

import redis
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from service.config import get_settings
from workers import jobs, queues

log = logging.getLogger(__name__)


def run_worker(burst: bool = False) -> None:
    """Sweep once (tickets left behind while no worker ran), then work the queues."""
    try:
        jobs.sweep_unrouted()
    except (redis.ConnectionError, OSError) as exc:
        log.warning("start-up sweep skipped: %s", exc)
    conn = queues.worker_connection()
    worker_class = Worker if get_settings().worker_fork else SimpleWorker
    worker = worker_class([queues.queue(name, conn) for name in queues.QUEUES], connection=conn,
                    serializer=JSONSerializer)
    worker.work(burst=burst, with_scheduler=True)


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
