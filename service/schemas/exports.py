"""Request and response models of exports (XLSX out) and imports (XLSX in)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from models.export import ExportKind
from service.schemas.common import Coded, Instant


class ExportRequest(BaseModel):
    """What to export: the one table under the filters of GET /api/v1/tickets, or a month's report."""

    model_config = ConfigDict(extra="forbid")
    kind: ExportKind
    month: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = Field(
        None, description="monthly_report: the month, YYYY-MM", examples=["2026-11"])
    status: list[str] = []
    channel: list[str] = []
    county: list[str] = []
    town: list[str] = []
    unit: str | None = None
    category: list[str] = []
    request_type: list[str] = []
    urgency: list[str] = []
    uscc: str | None = None
    created_from: datetime | None = Field(None, description="without a zone: Asia/Shanghai time")
    created_to: datetime | None = None
    q: Annotated[str, StringConstraints(max_length=200)] | None = None
    overdue: bool | None = None
    supervision: list[Literal["yellow", "red"]] = []


class ExportOut(BaseModel):
    id: int
    kind: ExportKind
    status: Coded
    rows: int | None = Field(description="tickets in the file; for a monthly report, the month's 受理量")
    filename: str
    size_bytes: int | None
    error: str | None
    created_at: Instant
    started_at: Instant | None
    finished_at: Instant | None
    status_url: str
    download_url: str = Field(description="answers 409 until status is done")


class RejectedRow(BaseModel):
    row: int = Field(description="the row number in the sheet (the header is usually row 1)")
    field: str
    code: str = Field("invalid", description="what is wrong, for machines (as in a 422's detail)")
    message: str
    message_zh: str = Field("", description="the same in Chinese")


class ImportedRow(BaseModel):
    row: int
    ref: str | None = Field(None, description="the sheet's own 编号/序号: a reference, never the row's identity")
    id: int | None = Field(description="null in a dry run for a row that would be created")
    number: str | None
    created: bool = Field(description="false: already imported (same channel and content, or same external id)")


class UnrecognisedColumn(BaseModel):
    column: str = Field(description="the column's letter, e.g. K")
    header: str = Field(description="its header, read by no field: its values are not imported")


class ImportReport(BaseModel):
    rows: int = Field(description="non-blank data rows read")
    created: int = Field(description="tickets created (in a dry run: that would be created)")
    duplicates: int = Field(description="rows already imported before, or repeated in the file (same content, or "
                                        "same external id and content; an id naming other content is rejected)")
    dry_run: bool
    rejected: list[RejectedRow]
    tickets: list[ImportedRow]
    unrecognised_columns: list[UnrecognisedColumn] = Field(
        [], description="header columns no field reads (add a mapping to import them)")
    notes: list[RejectedRow] = Field([], description="what an imported row held but its ticket does not keep, e.g. "
                                                     "the second number of a phone cell")


class ImportJobOut(BaseModel):
    """An import run by a worker (uploads of more than HOTLINE_IMPORT_SYNC_MAX_ROWS rows)."""

    id: int
    status: Coded
    rows: int = Field(description="data rows in the file")
    dry_run: bool
    filename: str
    size_bytes: int
    error: str | None
    created_at: Instant
    started_at: Instant | None
    finished_at: Instant | None
    status_url: str
    report: ImportReport | None = Field(description="once status is done: what a small upload answers at once")
