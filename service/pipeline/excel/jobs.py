"""Export jobs: the row is the state; a worker claims it, builds the file (the ticket export or the monthly
report), and stores it with status done. Import jobs are claimed the same way."""
from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from models import Role, User
from models.export import ExportJob, ExportKind, ExportStatus
from service.config import get_settings
from service.effects import RunExport
from service.domain import audit
from service.domain.bounds import is_id
from service.errors import NotFound
from service.pipeline.excel import export
from service.pipeline.excel.report import write_monthly_report
from service.unit_of_work import UnitOfWork


class ExportNotFound(NotFound):
    code = "export_not_found"


def create_export(session: UnitOfWork, user: User, kind: ExportKind, params: dict) -> ExportJob:
    """Record a requested export (queued); its job is enqueued once the unit commits."""
    if kind == ExportKind.MONTHLY_REPORT:
        filename = f"政企恳谈会月报_{params['month']}.xlsx"
    else:
        filename = export.tickets_filename()
    job = ExportJob(user_id=user.id, kind=kind.value, params=params, filename=filename)
    session.add(job)
    session.flush()
    session.add_effect(RunExport(job.id))
    return job


def get_export(session: UnitOfWork, export_id: int, user: User) -> ExportJob:
    """The export, for the user who asked or an admin/leader; 404 for anyone else."""
    job = session.get(ExportJob, export_id) if is_id(export_id) else None
    if job is None or (job.user_id != user.id and user.role not in (Role.ADMIN.value, Role.LEADER.value)):
        days = get_settings().export_retention_days
        raise ExportNotFound(f"export {export_id} not found (finished exports are kept {days} days; ask again)")
    return job


def purge_exports(session: UnitOfWork) -> int:
    """Delete the exports (and their files) finished more than export_retention_days ago; how many."""
    cutoff = datetime.now(UTC) - timedelta(days=get_settings().export_retention_days)
    return len(session.scalars(delete(ExportJob).where(
        ExportJob.status.in_([ExportStatus.DONE.value, ExportStatus.FAILED.value]), ExportJob.finished_at < cutoff,
    ).returning(ExportJob.id)).all())


def stale_before() -> datetime:
    """Jobs started before this are taken to have lost their worker."""
    return datetime.now(UTC) - timedelta(minutes=get_settings().export_stale_minutes)


def claim_job(session: UnitOfWork, model: Any, job_id: int) -> bool:
    """Mark a queued (or crashed, long-running) export or import as running; False when there is nothing to do."""
    claimed = session.scalar(
        update(model)
        .where(model.id == job_id, or_(model.status == ExportStatus.QUEUED.value,
                                       (model.status == ExportStatus.RUNNING.value)
                                       & (model.started_at < stale_before())))
        .values(status=ExportStatus.RUNNING.value, started_at=func.now(), attempts=model.attempts + 1, error=None)
        .returning(model.id))
    return claimed is not None


def claim_export(session: UnitOfWork, export_id: int) -> bool:
    """Mark a queued (or crashed, long-running) export as running; False when there is nothing to do."""
    return claim_job(session, ExportJob, export_id)


def build_export(session: UnitOfWork, export_id: int) -> ExportJob:
    """Build the file of a claimed export and store it with status done (flushed, not committed)."""
    job = session.get(ExportJob, export_id, populate_existing=True)
    user = session.get(User, job.user_id)
    with tempfile.TemporaryFile() as out:
        if job.kind == ExportKind.MONTHLY_REPORT.value:
            job.rows = write_monthly_report(session, job.params["month"], out)
        else:
            job.rows = export.write_tickets(session, export.filter_from_params(job.params), user, out)
        out.seek(0)
        job.content = out.read()
    # Audited when built, in the same transaction as the file: a failed build exported nothing.
    audit.record_export(session, user, job.kind, job.params, job.rows, export_id=job.id)
    job.size_bytes, job.status, job.finished_at = len(job.content), ExportStatus.DONE.value, func.now()
    session.flush()
    return job


def fail_export(session: UnitOfWork, export_id: int, error: str) -> None:
    """Record a failed attempt: queued again while retries remain, failed after the last."""
    job = session.get(ExportJob, export_id, populate_existing=True)
    last = job.attempts > get_settings().job_retries
    job.status = ExportStatus.FAILED.value if last else ExportStatus.QUEUED.value
    job.error, job.finished_at = error[:2000], func.now() if last else None
    session.flush()


def stale_export_ids(session: UnitOfWork) -> list[int]:
    """Exports whose job was lost (never enqueued, or its worker died): the sweep enqueues them again."""
    cutoff = stale_before()
    return list(session.scalars(select(ExportJob.id).where(or_(
        (ExportJob.status == ExportStatus.QUEUED.value) & (ExportJob.created_at < cutoff),
        (ExportJob.status == ExportStatus.RUNNING.value) & (ExportJob.started_at < cutoff)))))
