"""Writing sheets: safe cells, write-only sheets, local times and reference labels, shared by every workbook."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from service.config import get_settings
from service.domain.reference import reference

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH_ROWS = 1000
SUPERVISION = {"yellow": "黄灯督办", "red": "红灯督办"}
_BOLD, _FILL = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")


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


def label(kind: str) -> Callable[[str | None], str | None]:
    """code -> its label in the reference list `kind` (the code itself when unknown)."""
    return lambda code: reference().label(kind, code) or code


def unit_names(codes: list[str] | None) -> str:
    return "、".join(reference().label("units", c) or c for c in codes or [])


def supervision(level: str | None) -> str | None:
    return SUPERVISION.get(level) if level else None
