"""What identifies an imported row (issue 12, items 1 and 2): the content, never the sheet's own 编号."""
from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from models import Role, Ticket
from service.pipeline.excel.sheet_import import import_tickets
from service.security.users import create_user
from tests.factories import make_uscc

SH = ZoneInfo("Asia/Shanghai")
HEADER = ["编号", "企业名称", "统一社会信用代码", "联系人", "联系电话", "镇街", "诉求类型", "标题", "诉求内容", "登记时间"]


def _book(header: list[str], rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _row(n: int, problem: str, day: datetime, company: int) -> list:
    return [n, f"乐清市{problem}电器有限公司", make_uscc(40 + company), "王经理", "13800138000", "柳市镇", "求助",
            f"{problem}问题", f"企业反映{problem}方面的困难，请协调解决。", day]


OCTOBER = [_row(1, "用电", datetime(2026, 10, 9, 9, 0), 1), _row(2, "用地", datetime(2026, 10, 20, 15, 0), 2)]
NOVEMBER = [_row(1, "招工", datetime(2026, 11, 3, 10, 0), 3), _row(2, "融资", datetime(2026, 11, 17, 11, 0), 4)]


@pytest.fixture
def operator(session):
    user = create_user(session, username="op", password="secret-pw", role=Role.OPERATOR)
    session.commit()
    return user


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket))


def test_a_sheets_own_numbers_are_no_identity(session, operator):
    october = import_tickets(session, _book(HEADER, OCTOBER), user=operator)
    session.commit()
    assert (october.created, october.duplicates, october.rejected) == (2, 0, [])
    november = import_tickets(session, _book(HEADER, NOVEMBER), user=operator)
    session.commit()
    # November's 编号 1 and 2 are new problems, not October's tickets.
    assert (november.created, november.duplicates, november.rejected) == (2, 0, [])
    assert _count(session) == 4
    assert [t["ref"] for t in november.tickets] == ["1", "2"]  # the sheet's 编号, reported back as a reference
    assert not {t["id"] for t in october.tickets} & {t["id"] for t in november.tickets}
    titles = set(session.scalars(select(Ticket.title)))
    assert {"招工问题", "融资问题", "用电问题", "用地问题"} == titles
    # The October sheet again is recognised row by row, whatever its 编号.
    again = import_tickets(session, _book(HEADER, [[9] + OCTOBER[1][1:], [8] + OCTOBER[0][1:]]), user=operator)
    assert (again.created, again.duplicates, again.rejected) == (0, 2, [])
    assert [t["id"] for t in again.tickets] == [t["id"] for t in october.tickets][::-1]


def test_an_external_id_naming_other_content_is_a_rejected_row(session, operator):
    header = ["外部编号"] + HEADER[1:]
    first = import_tickets(session, _book(header, [["BQY-7"] + OCTOBER[0][1:]]), user=operator)
    session.commit()
    assert first.created == 1
    for dry_run in (True, False):
        other = import_tickets(session, _book(header, [["BQY-7"] + NOVEMBER[0][1:], ["BQY-7"] + OCTOBER[0][1:]]),
                               user=operator, dry_run=dry_run)
        assert (other.created, other.duplicates) == (0, 1)
        assert [(r["row"], r["field"]) for r in other.rejected] == [(2, "external_id")]
        message = other.rejected[0]["message"]
        assert "BQY-7" in message and session.scalar(select(Ticket.number)) in message
        session.rollback()
    # Two rows of one file under one external id: the second, with other content, is refused.
    both = import_tickets(session, _book(header, [["BQY-8"] + NOVEMBER[0][1:], ["BQY-8"] + NOVEMBER[1][1:]]),
                          user=operator, dry_run=True)
    assert both.created == 1 and [(r["row"], r["field"]) for r in both.rejected] == [(3, "external_id")]


def test_renaming_the_date_column_creates_nothing_twice(session, operator):
    assert import_tickets(session, _book(HEADER, OCTOBER), user=operator).created == 2
    session.commit()
    renamed = import_tickets(session, _book(HEADER[:-1] + ["登记日期"], OCTOBER), user=operator)
    assert (renamed.created, renamed.duplicates, renamed.unrecognised_columns) == (0, 2, [])
    for header in ("受理日期", "受理时间", "来电时间", "反映时间"):
        assert import_tickets(session, _book(HEADER[:-1] + [header], OCTOBER), user=operator).duplicates == 2
    # A date column nobody recognises is named in the answer; the rows, without a date, are still found again.
    unknown = import_tickets(session, _book(HEADER[:-1] + ["办结时限", "备注"], [r + ["无"] for r in OCTOBER]),
                             user=operator, dry_run=True)
    assert unknown.unrecognised_columns == [{"column": "J", "header": "办结时限"}, {"column": "K", "header": "备注"}]
    assert (unknown.created, unknown.duplicates) == (0, 2)
    assert "unrecognised_columns" in unknown.report()
    session.commit()
    assert _count(session) == 2


def test_a_row_without_a_date_has_a_key_without_now(session, operator):
    header = HEADER[:-1]
    rows = [r[:-1] for r in NOVEMBER]
    first = import_tickets(session, _book(header, rows), user=operator)
    session.commit()
    again = import_tickets(session, _book(header, rows), user=operator)
    assert (first.created, again.created, again.duplicates) == (2, 0, 2)
    keys = set(session.scalars(select(Ticket.external_id)))
    assert len(keys) == 2 and all(k.startswith("xlsx-") for k in keys)


def test_title_from_description_request_type_with_suffix_and_two_phones(session, operator):
    header = ["企业名称", "统一社会信用代码", "联系人", "联系电话", "镇街", "诉求类型", "问题描述", "登记日期"]
    rows = [["乐清市甲电器有限公司", make_uscc(91), "王经理", "0577-88888888/13800138000", "柳市镇", "求助类",
             "园区道路破损严重。货车无法进出，请尽快修复。", datetime(2026, 11, 5, 9, 0)],
            ["乐清市乙电器有限公司", make_uscc(92), "李经理", "13900139000、0577-66666666", "柳市镇", "咨询类",
             "企业想了解今年技改补助政策的申报条件和截止时间以及需要准备的全部材料清单", datetime(2026, 11, 6, 9, 0)],
            ["乐清市丙电器有限公司", make_uscc(93), "赵经理", "13700137000 13600136000", "柳市镇", "建议",
             "建议增设公交线路", datetime(2026, 11, 7, 9, 0)]]
    result = import_tickets(session, _book(header, rows), user=operator)
    assert (result.created, result.rejected) == (3, [])
    first, second, third = session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert first.title == "园区道路破损严重" and first.request_type == "help"
    assert second.title == rows[1][6][:30] and second.request_type == "consult"
    assert len(second.title) == 30 and third.title == "建议增设公交线路"
    assert (first.contact_phone, second.contact_phone, third.contact_phone) == \
        ("13800138000", "13900139000", "13700137000")
    assert first.received_at == datetime(2026, 11, 5, 9, 0, tzinfo=SH)
    # The other numbers are not stored on the ticket (a description is shown unmasked); the answer names them.
    assert "0577" not in first.description
    notes = {(n["row"], n["field"]): n["message"] for n in result.notes}
    assert "0577-88888888" in notes[(2, "contact.phone")] and "13600136000" in notes[(4, "contact.phone")]
