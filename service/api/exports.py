"""Spreadsheets over HTTP: export the one table, request reports as jobs, import offices' problem lists."""
from __future__ import annotations

import io
import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Role, User
from models.export import EXPORT_STATUS_LABELS, ExportJob, ExportKind, ExportStatus
from models.import_job import IMPORT_STATUS_LABELS
from service.api.deps import CurrentUser, require
from service.api.openapi import errors
from service.config import get_settings
from service.db import SessionDep
from service.errors import Conflict, Forbidden, field_error
from service.domain import audit
from service.pipeline.excel import export as excel
from service.pipeline.excel import jobs as export_jobs
from service.pipeline.excel import report as excel_report
from service.pipeline.excel import import_job as excel_import_job
from service.pipeline.excel.sheet_import import check_channel, import_rows, parse_mapping, read_sheet
from service.pipeline.excel.sheets import XLSX_MIME
from service.api.filters import local_time, ticket_filter
from service.domain.tickets import TicketFilter
from service.schemas.common import Coded
from service.schemas.exports import ExportOut, ExportRequest, ImportJobOut, ImportReport

router = APIRouter(tags=["exports"])

Importer = Annotated[User, Depends(require(Role.OPERATOR, Role.DISPATCHER))]
REPORTERS = (Role.LEADER.value, Role.DISPATCHER.value, Role.ADMIN.value)
_XLSX = {200: {"content": {XLSX_MIME: {}}, "description": "the workbook"}}


def disposition(filename: str) -> str:
    """Content-Disposition with the Chinese name (RFC 6266 filename*) and an ASCII fallback."""
    fallback = "hotline-" + (re.sub(r"[^A-Za-z0-9.-]+", "", filename).lstrip(".-") or "export.xlsx")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def xlsx(content: bytes, filename: str) -> Response:
    return Response(content, media_type=XLSX_MIME, headers={"Content-Disposition": disposition(filename)})


def export_out(job: ExportJob) -> ExportOut:
    url = f"/api/v1/exports/{job.id}"
    return ExportOut(id=job.id, kind=job.kind, status=Coded(code=job.status, label=EXPORT_STATUS_LABELS[job.status]),
                     rows=job.rows, filename=job.filename, size_bytes=job.size_bytes, error=job.error,
                     created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
                     status_url=url, download_url=f"{url}/download")


def _queued(session: Session, user: User, kind: ExportKind, params: dict) -> JSONResponse:
    """Record the export and commit (its job is enqueued then); answer 202."""
    job = export_jobs.create_export(session, user, kind, params)
    session.commit()
    out = export_out(job)
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.status_url})


@router.get("/api/v1/exports/tickets.xlsx", response_class=Response,
            responses={**_XLSX, 202: {"model": ExportOut, "description": "too many rows: built by a job"}})
def export_tickets(session: SessionDep, user: CurrentUser, flt: Annotated[TicketFilter, Depends(ticket_filter)]):
    """The one table as XLSX (what the caller may see, under the list filters); large exports answer 202 and a job."""
    limit = get_settings().export_sync_max_rows
    if excel.count_at_most(session, flt, user, limit + 1) > limit:
        return _queued(session, user, ExportKind.TICKETS, excel.filter_params(flt))
    out = io.BytesIO()
    rows = excel.write_tickets(session, flt, user, out)
    audit.record_export(session, user, ExportKind.TICKETS.value, excel.filter_params(flt), rows)
    session.commit()
    return xlsx(out.getvalue(), excel.tickets_filename())


@router.post("/api/v1/exports", status_code=202, response_model=ExportOut, responses=errors(403))
def request_export(body: ExportRequest, session: SessionDep, user: CurrentUser):
    """Ask for a ticket export or the monthly report; poll status_url, then fetch download_url."""
    if body.kind == ExportKind.MONTHLY_REPORT:
        if user.role not in REPORTERS:
            raise Forbidden(f"role '{user.role}' may not request the monthly report (allowed: {', '.join(REPORTERS)})")
        if body.month is None:
            raise field_error("month", "required for a monthly_report, as YYYY-MM")
        excel_report.month_bounds(body.month)
        params = {"month": body.month}
    else:
        values = body.model_dump(exclude={"kind", "month"})
        values["created_from"], values["created_to"] = local_time(body.created_from), local_time(body.created_to)
        params = excel.filter_params(TicketFilter(**values))
    return _queued(session, user, body.kind, params)


@router.get("/api/v1/exports/{export_id:int}", response_model=ExportOut)
def export_status(export_id: int, session: SessionDep, user: CurrentUser) -> ExportOut:
    """Where a requested export stands (its owner, admins and leaders only)."""
    return export_out(export_jobs.get_export(session, export_id, user))


@router.get("/api/v1/exports/{export_id:int}/download", response_class=Response, responses={**_XLSX, **errors(403, 409)})
def export_download(export_id: int, session: SessionDep, user: CurrentUser) -> Response:
    """The finished file; 409 while it is still being built."""
    job = export_jobs.get_export(session, export_id, user)
    if job.kind == ExportKind.TICKETS.value and job.user_id != user.id:
        # The file holds the phones as its requester may see them; others ask for their own export.
        raise Forbidden(f"export {export_id} holds another user's contact data; request your own export")
    if job.status != ExportStatus.DONE.value:
        raise Conflict(f"export {export_id} is {job.status}; download it once status is done", status=job.status)
    return xlsx(session.scalar(select(ExportJob.content).where(ExportJob.id == export_id)), job.filename)


def import_out(job) -> ImportJobOut:
    return ImportJobOut(id=job.id, status=Coded(code=job.status, label=IMPORT_STATUS_LABELS[job.status]), rows=job.rows,
                        dry_run=job.params.get("dry_run", False), filename=job.filename, size_bytes=job.size_bytes,
                        error=job.error, created_at=job.created_at, started_at=job.started_at,
                        finished_at=job.finished_at, status_url=f"/api/v1/imports/{job.id}",
                        report=ImportReport.model_validate(job.report) if job.report else None)


@router.post("/api/v1/imports/tickets", response_model=ImportReport, responses={
    202: {"model": ImportJobOut, "description": "more rows than HOTLINE_IMPORT_SYNC_MAX_ROWS: imported by a job"}})
def import_upload(session: SessionDep, user: Importer, file: Annotated[UploadFile, File(description=".xlsx")],
                  mapping: Annotated[str | None, Form(description='JSON {"表头": "field"}')] = None,
                  dry_run: Annotated[bool, Form()] = False,
                  channel: Annotated[str, Form(description="when the sheet has no 渠道 column")] = "town_centre",
                  ) -> ImportReport:
    """Import problems kept in a spreadsheet, each row validated like POST /tickets; nothing is created twice.
    The file is checked and its rows counted first; a large one answers 202 and is imported by a job."""
    settings = get_settings()
    limit = settings.max_import_bytes
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise field_error("file", f"over {limit} bytes; split the file")
    parsed = parse_mapping(mapping)
    check_channel(channel)
    rows = read_sheet(content, mapping=parsed)  # the whole sheet, checked and counted: 422 before any work
    if len(rows) > settings.import_sync_max_rows:
        name = re.sub(r"[\x00-\x1f\x7f]", "", file.filename or "").encode("utf-8", "replace").decode()
        job = excel_import_job.create_import(session, user, content, filename=name, rows=len(rows), mapping=parsed,
                                             channel=channel, dry_run=dry_run)
        session.commit()
        out = import_out(job)
        return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.status_url})
    result = import_rows(session, rows, dry_run=dry_run, user=user, channel=channel)
    if not dry_run:
        session.commit()  # then one job routes every created ticket
    return ImportReport.model_validate(result.report())


@router.get("/api/v1/imports/{import_id:int}", response_model=ImportJobOut)
def import_status(import_id: int, session: SessionDep, user: CurrentUser) -> ImportJobOut:
    """Where an import run by a job stands, and its report once done (the uploader and admins only)."""
    return import_out(excel_import_job.get_import(session, import_id, user))
