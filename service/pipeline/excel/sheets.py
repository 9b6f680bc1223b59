"""Writing sheets: safe cells, write-only sheets, local times and reference labels, shared by every workbook."""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

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


def text_width(text: Any) -> int:
    """How many character widths a text takes in a cell: a Chinese (wide) character counts as two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text or ""))


def fit_widths(widths: Iterable[int], *texts: Iterable[Any]) -> list[int]:
    """The widths, each widened to fit the texts of its column (a header row, the longest label...) plus a margin."""
    out = list(widths)
    for row in texts:
        for i, text in enumerate(row):
            if i < len(out) and text is not None:
                out[i] = max(out[i], text_width(text) + 2)
    return out


def new_sheet(wb: Workbook, title: str, widths: Iterable[int], *, freeze: str | None = "A2"):
    """A write-only sheet with column widths set and printing fitted to the page width (both must precede the
    first row; print_setup adds the rest)."""
    ws = wb.create_sheet(title)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    if freeze:
        ws.freeze_panes = freeze
    return ws


PAGE_NUMBER = "第 &P 页 共 &N 页"
RIGHT = Alignment(horizontal="right")


def print_setup(ws, title: str, period: str, *, rows: str | None = "1:1", cols: str | None = "A:A") -> None:
    """Print on A4 landscape with every column fitted to the page width (as many pages down as it takes), the
    header rows and the label columns repeated on every page, and the title, period and 第 N 页 共 M 页 in the
    page header."""
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = Worksheet.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0  # with fitToPage, set by new_sheet
    ws.print_options.horizontalCentered = True
    ws.print_options.gridLines = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.8, bottom=0.5, header=0.3, footer=0.3)
    if rows:
        ws.print_title_rows = rows
    if cols:
        ws.print_title_cols = cols
    ws.oddHeader.left.text = f"&B{_header_text(title)}&B  {_header_text(period)}"
    ws.oddHeader.left.size = 10
    ws.oddHeader.right.text = PAGE_NUMBER
    ws.oddHeader.right.size = 10


def _header_text(text: str) -> str:
    return text.replace("&", "&&")  # a lone & starts a header code


def label(kind: str) -> Callable[[str | None], str | None]:
    """code -> its label in the reference list `kind` (the code itself when unknown)."""
    return lambda code: reference().label(kind, code) or code


def unit_names(codes: list[str] | None) -> str:
    return "、".join(reference().label("units", c) or c for c in codes or [])


def supervision(level: str | None) -> str | None:
    return SUPERVISION.get(level) if level else None
