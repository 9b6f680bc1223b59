"""RQ jobs: thin, idempotent wrappers over pipeline functions; each job is the edge of its units of work."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from service import db
from service.config import get_settings
from service.metrics import timed_job
from service.pipeline import notify, route, suggest, sweeps
from service.security import egress
from service.pipeline.excel import jobs as excel
from service.pipeline.stats import rollup as stats
from service.pipeline.stats import verify as stats_verify
from service.pipeline.stats.verify import report_stats_drift
from service.errors import DomainError
from service.pipeline.excel import import_job as excel_import_job
from service import queues

log = logging.getLogger(__name__)


@timed_job("route_ticket")
def route_ticket(ticket_id: int) -> dict:
    """Route one ticket by the rules; a ticket already routed is left as it is."""
    decision = _route_one(ticket_id)
    if decision is None:
        return {"ticket_id": ticket_id, "skipped": True}
    return {"ticket_id": ticket_id, "matched": decision.matched, "rule_id": decision.rule_id,
            "lead_unit": decision.lead_unit}


@timed_job("route_new")
def route_new() -> dict:
    """Route the tickets waiting in `new`, oldest first, one transaction each, until none is left (or
    route_max_per_job, then the next job goes on). Tickets another worker holds are skipped; a ticket whose
    routing fails gets a job of its own, with retries."""
    queues.routing_requested_clear()
    routed, skipped, failed, after = 0, 0, [], 0
    settings = get_settings()
    while routed + skipped + len(failed) < settings.route_max_per_job:
        with db.unit() as session:
            ids = route.new_ticket_ids(session, limit=settings.route_batch_size, after=after)
        if not ids:
            break
        for ticket_id in ids:
            try:
                decision = _route_one(ticket_id, skip_locked=True)
            except Exception:
                log.exception("routing ticket %s failed; it gets a job of its own", ticket_id)
                failed.append(ticket_id)
                queues.enqueue_route_safely(ticket_id)
                continue
            routed += decision is not None
            skipped += decision is None
        after = ids[-1]
    else:
        queues.request_routing_safely()  # more than one job's worth: the next job goes on
    return {"routed": routed, "skipped": skipped, "failed": failed}


def _route_one(ticket_id: int, *, skip_locked: bool = False):
    with db.unit() as session:
        decision = route.route_ticket(session, ticket_id, skip_locked=skip_locked)
        session.commit()
    return decision


@timed_job("sweep_unrouted")
def sweep_unrouted() -> dict:
    """Re-enqueue tickets left `new` (their job was lost, or Redis was down at intake)."""
    with db.unit() as session:
        ids = route.unrouted_ticket_ids(session)
    for ticket_id in ids:
        queues.enqueue_route(ticket_id)
    if ids:
        log.info("sweep re-enqueued %d unrouted tickets", len(ids))
    return {"enqueued": len(ids)}


@timed_job("raise_flags")
def raise_flags() -> dict:
    """The 催办 / 督办 sweep (safe to run twice or on two schedulers)."""
    with db.unit() as session:
        counts = sweeps.raise_flags(session)
        session.commit()  # then the notifications it queued are delivered
    return counts


@timed_job("deliver_notifications")
def deliver_notifications(batch: int | None = None, max_batches: int | None = None) -> dict:
    """Drain the due outbox rows; a receiver that is down only pushes its rows' next attempt back."""
    delivered = failed = 0
    settings = get_settings()
    batch, max_batches = batch or settings.webhook_batch_size, max_batches or settings.webhook_max_batches
    timeout = settings.webhook_timeout_seconds
    with egress.client(timeout) as client:  # connects only to checked, public addresses
        for _ in range(max_batches):
            with db.unit() as session:
                rows = notify.due_batch(session, batch)
                for n in rows:
                    if notify.deliver_one(session, n, client):
                        delivered += 1
                    else:
                        failed += 1
                session.commit()
            if len(rows) < batch:
                break
        with db.unit() as session:
            wait = notify.next_due_in(session)
    if wait is not None:  # come back when the next retry is due
        queues.queue(queues.DEFAULT).enqueue_in(timedelta(seconds=max(1.0, wait)), "workers.jobs.deliver_notifications",
                                                job_id=queues.job_id("deliver-notifications-retry"))
    return {"delivered": delivered, "failed_attempts": failed}


@timed_job("refresh_stats")
def refresh_stats(max_batches: int | None = None) -> dict:
    """Apply queued changes to the statistics rollups, one transaction per batch. A refresh already running
    elsewhere is waited for, not skipped: it may have read the queue before the changes this job is for."""
    queues.stats_refresh_started()
    refreshed = 0
    for _ in range(max_batches or get_settings().stats_refresh_max_batches):
        with db.unit() as session:
            n = stats.refresh(session, wait=True)
            session.commit()
        refreshed += n
        if n == 0:
            break
    return {"tickets": refreshed}


@timed_job("verify_stats")
def verify_stats(start: str | None = None, end: str | None = None) -> dict:
    """Check the rollups against a direct count over [start, end] (ISO dates; open ends: all of history)."""
    with db.unit() as session:
        drifts = stats_verify.verify(session, start and date.fromisoformat(start), end and date.fromisoformat(end))
    report_stats_drift(drifts)
    return {"drift_cells": len(drifts), "cells": [str(d) for d in drifts[:100]]}


def enqueue_daily_stats_verify(now: datetime | None = None) -> bool:
    """At the first scheduler tick after stats_verify_hour (local time), once a day however many schedulers run:
    check the statistics against a direct count. Returns whether the job was enqueued."""
    settings = get_settings()
    local = now or datetime.now(ZoneInfo(settings.timezone))
    if local.hour < settings.stats_verify_hour:
        return False
    conn = queues.connection()
    if not conn.set(f"{settings.queue_prefix}:stats-verify-day:{local.date()}", 1, nx=True, ex=2 * 86400):
        return False
    queues.queue(queues.DEFAULT, conn).enqueue(
        "workers.jobs.verify_stats", job_id=queues.job_id(f"stats-verify-{local.date()}"),
        job_timeout=settings.stats_verify_timeout_seconds, result_ttl=7 * 86400, failure_ttl=7 * 86400)
    return True


@timed_job("run_export")
def run_export(export_id: int) -> dict:
    """Build one requested export; one finished, or running in another worker, is left alone."""
    with db.unit() as session:
        if not excel.claim_export(session, export_id):
            return {"export_id": export_id, "skipped": True}
        session.commit()  # pollers see `running`; a crash from here on is retried by the stale sweep
        try:
            job = excel.build_export(session, export_id)
            session.commit()
        except Exception as exc:
            session.rollback()
            excel.fail_export(session, export_id, f"{type(exc).__name__}: {exc}")
            session.commit()
            raise
    return {"export_id": export_id, "rows": job.rows, "bytes": job.size_bytes}


@timed_job("requeue_stale_exports")
def requeue_stale_exports() -> dict:
    """Enqueue again the exports whose job was lost (never enqueued, or its worker died)."""
    with db.unit() as session:
        ids = excel.stale_export_ids(session)
    for export_id in ids:
        queues.enqueue_export(export_id)
    return {"enqueued": len(ids)}


@timed_job("purge_exports")
def purge_exports() -> dict:
    """Delete the files of exports older than the retention period."""
    with db.unit() as session:
        n = excel.purge_exports(session)
        session.commit()
    if n:
        log.info("deleted %d expired exports", n)
    return {"deleted": n}


@timed_job("run_import")
def run_import(import_id: int) -> dict:
    """Run one stored import: its tickets and its report commit together, so a worker that dies loses nothing (the
    stale sweep enqueues it again, and rows already imported would not be created twice)."""
    with db.unit() as session:
        if not excel_import_job.claim_import(session, import_id):
            return {"import_id": import_id, "skipped": True}
        session.commit()
        try:
            result = excel_import_job.run_claimed_import(session, import_id)
            session.commit()  # then one job routes every created ticket
        except DomainError as exc:  # the file itself is refused: another attempt would fare no better
            session.rollback()
            excel_import_job.fail_import(session, import_id, excel_import_job.describe(exc), final=True)
            session.commit()
            return {"import_id": import_id, "failed": True}
        except Exception as exc:
            session.rollback()
            excel_import_job.fail_import(session, import_id, f"{type(exc).__name__}: {exc}")
            session.commit()
            raise
    return {"import_id": import_id, "rows": result.rows, "created": result.created}


@timed_job("requeue_stale_imports")
def requeue_stale_imports() -> dict:
    """Enqueue again the imports whose job was lost (never enqueued, or its worker died)."""
    with db.unit() as session:
        ids = excel_import_job.stale_import_ids(session)
    for import_id in ids:
        queues.enqueue_import(import_id)
    return {"enqueued": len(ids)}


@timed_job("purge_imports")
def purge_imports() -> dict:
    """Delete the imports (and their reports) finished longer ago than the retention period."""
    with db.unit() as session:
        n = excel_import_job.purge_imports(session)
        session.commit()
    return {"deleted": n}


@timed_job("periodic")
def periodic() -> dict:
    """What the scheduler runs every tick: unrouted sweep, flags, delivery, statistics (and once a day their
    verification), stale and expired exports and imports."""
    out = {"unrouted": sweep_unrouted(), "flags": raise_flags(), "stats": refresh_stats(),
           "exports": requeue_stale_exports(), "expired_exports": purge_exports(),
           "imports": requeue_stale_imports(), "expired_imports": purge_imports()}
    queues.enqueue_delivery()
    out["stats_verify_enqueued"] = enqueue_daily_stats_verify()  # once a day, after the verify hour
    out["routing_retrain_enqueued"] = enqueue_daily_retrain()  # once a day, after the retrain hour
    return out


@timed_job("retrain_routing_model")
def retrain_routing_model() -> dict:
    """Train the suggestion model on every dispatcher label and the dev corpus, make it the active version, then
    give the tickets waiting for dispatch its suggestion."""
    with db.unit() as session:
        model = suggest.train(session)
        session.commit()
        if model is None:
            return {"trained": False}
        out = {"trained": True, "version": model.version, "examples": model.examples,
               "from_events": model.from_events, "from_corpus": model.from_corpus}
    with db.unit() as session:
        out["suggested"] = suggest.suggest_waiting(session)
        session.commit()
    return out


def enqueue_daily_retrain(now: datetime | None = None) -> bool:
    """At the first scheduler tick after routing_retrain_hour (local time), once a day however many schedulers
    run: retrain the suggestion model. Returns whether the job was enqueued."""
    settings = get_settings()
    local = now or datetime.now(ZoneInfo(settings.timezone))
    if local.hour < settings.routing_retrain_hour:
        return False
    if not queues.connection().set(f"{settings.queue_prefix}:routing-retrain-day:{local.date()}", 1, nx=True,
                                   ex=2 * 86400):
        return False
    suggest.queue_retrain(f"routing-retrain-{local.date()}")
    return True
