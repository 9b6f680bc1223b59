"""Imports too large for a request: the upload is stored with its state; a worker claims it, imports, stores the report."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select

from models import Role, User
from models.export import ExportStatus
from models.import_job import ImportJob
from service.config import get_settings
from service.effects import RunImport
from service.errors import DomainError, NotFound
from service.pipeline.excel.jobs import claim_job, stale_before
from service.pipeline.excel.sheet_import import ImportResult, import_tickets
from service.unit_of_work import UnitOfWork


class ImportNotFound(NotFound):
    code = "import_not_found"


def create_import(session: UnitOfWork, user: User, content: bytes, *, filename: str, rows: int, mapping: dict | None,
                  channel: str, dry_run: bool) -> ImportJob:
    """Record an upload to import (queued); its job is enqueued once the unit commits."""
    job = ImportJob(user_id=user.id, content=content, size_bytes=len(content), filename=(filename or "import.xlsx")[:200],
                    rows=rows, params={"mapping": mapping, "channel": channel, "dry_run": dry_run})
    session.add(job)
    session.flush()
    session.add_effect(RunImport(job.id))
    return job


def get_import(session: UnitOfWork, import_id: int, user: User) -> ImportJob:
    """The import, for the user who uploaded it or an admin; 404 for anyone else."""
    job = session.get(ImportJob, import_id)
    if job is None or (job.user_id != user.id and user.role != Role.ADMIN.value):
        days = get_settings().export_retention_days
        raise ImportNotFound(f"import {import_id} not found (finished imports are kept {days} days)")
    return job


def claim_import(session: UnitOfWork, import_id: int) -> bool:
    """Mark a queued (or crashed, long-running) import as running; False when there is nothing to do."""
    return claim_job(session, ImportJob, import_id)


def run_claimed_import(session: UnitOfWork, import_id: int) -> ImportResult:
    """Import a claimed upload and store its report with status done, in the same transaction as the tickets."""
    job = session.get(ImportJob, import_id, populate_existing=True)
    user = session.get(User, job.user_id)
    params = job.params
    result = import_tickets(session, job.content, mapping=params.get("mapping"),
                            dry_run=params.get("dry_run", False), user=user, channel=params["channel"],
                            max_rows=get_settings().import_max_rows)
    job.report, job.rows, job.status = result.report(), result.rows, ExportStatus.DONE.value
    job.content, job.finished_at = None, func.now()  # the report is what stays; the uploaded data goes
    session.flush()
    return result


def describe(exc: DomainError) -> str:
    """A refusal as one line: "file: more than 5000 rows ..."."""
    if isinstance(exc.detail, list):
        return "; ".join(f"{d.get('field')}: {d.get('message')}" if isinstance(d, dict) else str(d) for d in exc.detail)
    return str(exc.detail)


def fail_import(session: UnitOfWork, import_id: int, error: str, *, final: bool = False) -> None:
    """Record a failed attempt: queued again while retries remain (and the failure may pass), failed after."""
    job = session.get(ImportJob, import_id, populate_existing=True)
    last = final or job.attempts > get_settings().job_retries
    job.status = ExportStatus.FAILED.value if last else ExportStatus.QUEUED.value
    job.error, job.finished_at = error[:2000], func.now() if last else None
    if last:
        job.content = None
    session.flush()


def stale_import_ids(session: UnitOfWork) -> list[int]:
    """Imports whose job was lost (never enqueued, or its worker died): the sweep enqueues them again."""
    cutoff = stale_before()
    return list(session.scalars(select(ImportJob.id).where(or_(
        (ImportJob.status == ExportStatus.QUEUED.value) & (ImportJob.created_at < cutoff),
        (ImportJob.status == ExportStatus.RUNNING.value) & (ImportJob.started_at < cutoff)))))


def purge_imports(session: UnitOfWork) -> int:
    """Delete the imports finished more than export_retention_days ago; how many."""
    cutoff = datetime.now(UTC) - timedelta(days=get_settings().export_retention_days)
    return len(session.scalars(delete(ImportJob).where(
        ImportJob.status.in_([ExportStatus.DONE.value, ExportStatus.FAILED.value]), ImportJob.finished_at < cutoff,
    ).returning(ImportJob.id)).all())
