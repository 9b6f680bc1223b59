"""Spreadsheets out of the one table: the ticket export, the 政企恳谈会 monthly report, and export jobs."""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.orm import Session

from models import RequestType, Role, Ticket, TicketStatus, Urgency, User
from models.export import ExportJob, ExportKind, ExportStatus
from service.config import get_settings
from service.errors import NotFound
from service.pipeline.bounds import is_id
from service.pipeline import audit
from service.pipeline.privacy import shown_phone
from service.pipeline.reference import reference
from service.pipeline.tickets import TicketFilter, visible_to
from service.pipeline.workflow import SATISFACTION

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH_ROWS = 1000
SUPERVISION = {"yellow": "黄灯督办", "red": "红灯督办"}
_BOLD, _FILL = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")


class ExportNotFound(NotFound):
    code = "export_not_found"


def local(dt: datetime | None) -> datetime | None:
    """An instant as Asia/Shanghai wall time (Excel cells carry no time zone)."""
    if dt is None:
        return None
    return dt.astimezone(ZoneInfo(get_settings().timezone)).replace(tzinfo=None, microsecond=0)


def cell(ws, value: Any, *, bold: bool = False) -> Any:
    """A safe cell value: no control characters, and text starting with '=' stays text, never a formula."""
    if isinstance(value, Cell):
        if bold:
            value.font = _BOLD
        return value
    if isinstance(value, datetime):
        value = local(value) if value.tzinfo else value
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not bold and not (isinstance(value, str) and value.startswith("=")):
        return value
    out = WriteOnlyCell(ws, value)
    out.data_type = "s" if isinstance(value, str) else out.data_type
    if bold:
        out.font, out.fill = _BOLD, _FILL
    return out


def append(ws, values: Iterable[Any], *, bold: bool = False) -> None:
    ws.append([cell(ws, v, bold=bold) for v in values])


def new_sheet(wb: Workbook, title: str, widths: Iterable[int], *, freeze: str | None = "A2"):
    """A write-only sheet with column widths set (they must precede the first row)."""
    ws = wb.create_sheet(title)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    if freeze:
        ws.freeze_panes = freeze
    return ws


def _ref(kind: str) -> Callable[[str | None], str | None]:
    return lambda code: reference().label(kind, code) or code


def _units(codes: list[str] | None) -> str:
    return "、".join(reference().label("units", c) or c for c in codes or [])


# (header, width, value of a row); rows are plain column tuples so memory stays flat.
COLUMNS: list[tuple[str, int, Callable[[Row], Any]]] = [
    ("工单编号", 18, lambda t: t.number),
    ("渠道", 14, lambda t: _ref("channels")(t.channel_code)),
    ("外部编号", 16, lambda t: t.external_id),
    ("企业名称", 28, lambda t: t.enterprise_name),
    ("统一社会信用代码", 21, lambda t: t.uscc),
    ("联系人", 10, lambda t: t.contact_name),
    ("联系电话", 15, lambda t: shown_phone(None, t, full=False)),  # as the user may see it: see _columns
    ("区县", 10, lambda t: _ref("counties")(t.county_code)),
    ("镇街", 11, lambda t: _ref("towns")(t.town_code)),
    ("诉求类型", 9, lambda t: RequestType(t.request_type).label),
    ("问题分类", 10, lambda t: _ref("categories")(t.category_code)),
    ("紧急程度", 9, lambda t: Urgency(t.urgency).label),
    ("标题", 30, lambda t: t.title),
    ("诉求内容", 50, lambda t: t.description),
    ("状态", 9, lambda t: TicketStatus(t.status).label),
    ("主办单位", 24, lambda t: _units([t.lead_unit_code] if t.lead_unit_code else [])),
    ("协办单位", 30, lambda t: _units(t.assisting_units)),
    ("登记单位", 20, lambda t: _units([t.registered_by_unit_code] if t.registered_by_unit_code else [])),
    ("签收时限", 18, lambda t: t.accept_due_at),
    ("办结时限", 18, lambda t: t.resolve_due_at),
    ("受理时间", 18, lambda t: t.received_at),
    ("签收时间", 18, lambda t: t.accepted_at),
    ("办结时间", 18, lambda t: t.resolved_at),
    ("办理意见", 40, lambda t: t.opinion),
    ("满意度", 9, lambda t: SATISFACTION.get(t.satisfaction) if t.satisfaction else None),
    ("是否解决", 9, lambda t: None if t.solved is None else ("是" if t.solved else "否")),
    ("重办次数", 9, lambda t: t.reopen_count),
    ("督办", 9, lambda t: SUPERVISION.get(t.supervision) if t.supervision else None),
]
HEADERS = [c[0] for c in COLUMNS]
_PHONE = HEADERS.index("联系电话")
_SELECTED = [getattr(Ticket, name) for name in (
    "id", "number", "channel_code", "external_id", "enterprise_name", "uscc", "contact_name", "contact_phone",
    "county_code", "town_code", "request_type", "category_code", "urgency", "title", "description", "status",
    "lead_unit_code", "assisting_units", "registered_by_unit_code", "accept_due_at", "resolve_due_at", "received_at",
    "accepted_at", "resolved_at", "opinion", "satisfaction", "solved", "reopen_count", "supervision")]


def count_at_most(session: Session, flt: TicketFilter, user: User, limit: int) -> int:
    """How many tickets the export would hold, counting no further than limit."""
    matched = select(Ticket.id).where(visible_to(user), *flt.clauses()).limit(limit).subquery()
    return session.scalar(select(func.count()).select_from(matched))


def iter_tickets(session: Session, flt: TicketFilter, user: User, *, batch: int = BATCH_ROWS) -> Iterator[Row]:
    """The tickets the user may see under the filter, newest first, fetched in keyset batches on id."""
    after: int | None = None
    while True:
        query = select(*_SELECTED).where(visible_to(user), *flt.clauses())
        if after is not None:
            query = query.where(Ticket.id < after)
        rows = session.execute(query.order_by(Ticket.id.desc()).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


def _columns(user: User) -> list[Callable[[Row], Any]]:
    """The value of each column for `user`: the phone in full only where its role needs it (as in the API)."""
    columns = [fn for _, _, fn in COLUMNS]
    columns[_PHONE] = lambda t: shown_phone(user, t)
    return columns


def write_tickets(session: Session, flt: TicketFilter, user: User, out: IO[bytes], *, batch: int = BATCH_ROWS) -> int:
    """Write the one table (what the user may see, filtered) as XLSX to out; returns the row count."""
    wb = Workbook(write_only=True)
    ws = new_sheet(wb, "涉企问题一表通", [c[1] for c in COLUMNS])
    append(ws, HEADERS, bold=True)
    count = 0
    columns = _columns(user)
    for row in iter_tickets(session, flt, user, batch=batch):
        append(ws, [fn(row) for fn in columns])
        count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    wb.save(out)
    return count


def today_stamp() -> str:
    return datetime.now(ZoneInfo(get_settings().timezone)).strftime("%Y%m%d")


def tickets_filename() -> str:
    return f"涉企问题一表通_{today_stamp()}.xlsx"


def filter_params(flt: TicketFilter) -> dict:
    """A filter as JSON (kept with the export job)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(flt).items()
            if v not in (None, [], "")}


def filter_from_params(params: dict) -> TicketFilter:
    names = {f.name for f in fields(TicketFilter)}
    values = {k: v for k, v in params.items() if k in names}
    for key in ("created_from", "created_to"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    return TicketFilter(**values)


# Export jobs: the row is the state; the job claims it, builds the file, stores it with status done.

def create_export(session: Session, user: User, kind: ExportKind, params: dict) -> ExportJob:
    """Record a requested export (queued); the edge enqueues the job after the commit."""
    if kind == ExportKind.MONTHLY_REPORT:
        filename = f"政企恳谈会月报_{params['month']}.xlsx"
    else:
        filename = tickets_filename()
    job = ExportJob(user_id=user.id, kind=kind.value, params=params, filename=filename)
    session.add(job)
    session.flush()
    return job


def get_export(session: Session, export_id: int, user: User) -> ExportJob:
    """The export, for the user who asked or an admin/leader; 404 for anyone else."""
    job = session.get(ExportJob, export_id) if is_id(export_id) else None
    if job is None or (job.user_id != user.id and user.role not in (Role.ADMIN.value, Role.LEADER.value)):
        days = get_settings().export_retention_days
        raise ExportNotFound(f"export {export_id} not found (finished exports are kept {days} days; ask again)")
    return job


def purge_exports(session: Session) -> int:
    """Delete the exports (and their files) finished more than export_retention_days ago; how many."""
    cutoff = datetime.now(UTC) - timedelta(days=get_settings().export_retention_days)
    return len(session.scalars(delete(ExportJob).where(
        ExportJob.status.in_([ExportStatus.DONE.value, ExportStatus.FAILED.value]), ExportJob.finished_at < cutoff,
    ).returning(ExportJob.id)).all())


def stale_before() -> datetime:
    """Jobs started before this are taken to have lost their worker."""
    return datetime.now(UTC) - timedelta(minutes=get_settings().export_stale_minutes)


def claim_job(session: Session, model: Any, job_id: int) -> bool:
    """Mark a queued (or crashed, long-running) export or import as running; False when there is nothing to do."""
    claimed = session.scalar(
        update(model)
        .where(model.id == job_id, or_(model.status == ExportStatus.QUEUED.value,
                                       (model.status == ExportStatus.RUNNING.value)
                                       & (model.started_at < stale_before())))
        .values(status=ExportStatus.RUNNING.value, started_at=func.now(), attempts=model.attempts + 1, error=None)
        .returning(model.id))
    return claimed is not None


def claim_export(session: Session, export_id: int) -> bool:
    """Mark a queued (or crashed, long-running) export as running; False when there is nothing to do."""
    return claim_job(session, ExportJob, export_id)


def build_export(session: Session, export_id: int) -> ExportJob:
    """Build the file of a claimed export and store it with status done (flushed, not committed)."""
    job = session.get(ExportJob, export_id, populate_existing=True)
    user = session.get(User, job.user_id)
    with tempfile.TemporaryFile() as out:
        if job.kind == ExportKind.MONTHLY_REPORT.value:
            from service.pipeline.excel_report import write_monthly_report  # the report builds on this module

            job.rows = write_monthly_report(session, job.params["month"], out)
        else:
            job.rows = write_tickets(session, filter_from_params(job.params), user, out)
        out.seek(0)
        job.content = out.read()
    # Audited when built, in the same transaction as the file: a failed build exported nothing.
    audit.record_export(session, user, job.kind, job.params, job.rows, export_id=job.id)
    job.size_bytes, job.status, job.finished_at = len(job.content), ExportStatus.DONE.value, func.now()
    session.flush()
    return job


def fail_export(session: Session, export_id: int, error: str) -> None:
    """Record a failed attempt: queued again while retries remain, failed after the last."""
    job = session.get(ExportJob, export_id, populate_existing=True)
    last = job.attempts > get_settings().job_retries
    job.status = ExportStatus.FAILED.value if last else ExportStatus.QUEUED.value
    job.error, job.finished_at = error[:2000], func.now() if last else None
    session.flush()


def stale_export_ids(session: Session) -> list[int]:
    """Exports whose job was lost (never enqueued, or its worker died): the sweep enqueues them again."""
    cutoff = stale_before()
    return list(session.scalars(select(ExportJob.id).where(or_(
        (ExportJob.status == ExportStatus.QUEUED.value) & (ExportJob.created_at < cutoff),
        (ExportJob.status == ExportStatus.RUNNING.value) & (ExportJob.started_at < cutoff)))))
