"""Print setup of the monthly report and the ticket export: A4 landscape, every column on the page width, the
header rows and label columns on every page, title, period and page numbers in the page header."""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from models import Role
from service.domain.tickets import TicketFilter
from service.pipeline.excel.export import write_tickets
from service.pipeline.excel.report import write_monthly_report
from service.pipeline.excel.sheets import text_width
from service.schemas.ticket import TicketCreate
from service.security.users import create_user
from tests.factories import create_ticket, make_uscc, ticket_body


def test_text_width_counts_chinese_twice():
    assert text_width("abc") == 3 and text_width("满意率") == 6 and text_width("A4 横向") == 7


@pytest.fixture
def workbooks(session):
    user = create_user(session, username="op", password="secret-pw", role=Role.OPERATOR)
    for n in range(3):
        create_ticket(session, TicketCreate.model_validate(ticket_body(
            enterprise={"name": f"乐清市测试{n}电气有限公司", "uscc": make_uscc(n + 1)}, category="factor")),
            channel="hotline_96666", external_id=None, user=None)
    session.commit()
    report, export = io.BytesIO(), io.BytesIO()
    now = datetime.now(UTC)
    write_monthly_report(session, f"{now:%Y-%m}", report, now=now)
    write_tickets(session, TicketFilter(), user, export)
    return {"report": load_workbook(io.BytesIO(report.getvalue())), "export": load_workbook(io.BytesIO(export.getvalue()))}


def _headers(ws) -> list:
    """The table's header row: the first row whose cells are all text and more than one."""
    for row in ws.iter_rows(values_only=True):
        if sum(1 for v in row if v is not None) > 1 and all(isinstance(v, str) for v in row if v is not None):
            return list(row)
    return []


@pytest.mark.parametrize("which", ["report", "export"])
def test_every_sheet_prints_on_a4_landscape_fitted_to_width(workbooks, which):
    wb = workbooks[which]
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.orientation == "landscape" and int(setup.paperSize) == 9, ws.title  # 9: A4
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0) and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_cols and ws.print_title_cols.startswith("$A:"), ws.title
        assert ws.oddHeader.right.text == "第 &P 页 共 &N 页"
        head = ws.oddHeader.left.text
        assert ("月报" in head and "统计周期" in head and ws.title in head) if which == "report" else "工单导出" in head
        for i, header in enumerate(_headers(ws), start=1):
            if header:
                assert ws.column_dimensions[get_column_letter(i)].width >= text_width(header), (ws.title, header)
        assert max(d.width for d in ws.column_dimensions.values()) <= 70, ws.title  # no column wider than its text
    repeated = {ws.title: ws.print_title_rows for ws in wb.worksheets}
    if which == "report":
        assert repeated == {"汇总": "$4:$4", "分类统计": "$1:$1", "突出问题": None, "超期清单": "$1:$1"}
        assert len(wb["突出问题"].row_breaks.brk) == 2  # its three tables each start a page under their header
    else:
        assert repeated == {"涉企问题一表通": "$1:$1"}


def test_a_missing_rate_is_aligned_like_the_figures(workbooks):
    ws = workbooks["report"]["分类统计"]
    dashes = [c for row in ws.iter_rows() for c in row if c.value == "—"]
    assert dashes and all(c.alignment.horizontal == "right" for c in dashes)
