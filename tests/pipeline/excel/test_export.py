"""Spreadsheets in and out on a real database: imports validated row by row, the monthly report's numbers."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from models import Enterprise, Role, Ticket, TicketEvent
from service.errors import InvalidInput
from service.pipeline.excel.export import HEADERS, write_tickets
from service.pipeline.excel.report import write_monthly_report
from service.pipeline.excel.sheet_import import import_tickets
from service.domain.reference import reference
from service.domain.tickets import TicketFilter
from service.security.users import create_user
from service.schemas.ticket import TicketCreate
from tests.factories import create_ticket, make_uscc, ticket_body

SH = ZoneInfo("Asia/Shanghai")
HEADER = ["序号", "单位名称", "信用代码", "联系人", "电话", "乡镇（街道）", "诉求类型", "问题标题", "问题描述", "紧急程度",
          "问题分类", "登记时间"]


def _row(n: int, **kw) -> list:
    values = {"单位名称": f"乐清市测试{n}电气有限公司", "信用代码": make_uscc(100 + n), "联系人": "王经理", "电话": 13800138000 + n,
              "乡镇（街道）": "柳市镇", "诉求类型": "求助", "问题标题": f"问题{n}：厂区用电扩容", "问题描述": f"第{n}家企业申请增容，请协调。",
              "紧急程度": "紧急", "问题分类": "要素对接", "登记时间": datetime(2026, 11, 2, 9, 30)}
    values.update(kw)
    return [n] + [values[h] for h in HEADER[1:]]


def _workbook(rows: list[list], header: list[str] = HEADER, title: str | None = "2026年11月企业问题台账") -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def operator(session):
    user = create_user(session, username="op", password="secret-pw", role=Role.OPERATOR)
    session.commit()
    return user


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_import_maps_chinese_labels_and_reports_bad_rows(session, operator):
    bad = _row(3, 信用代码="91330382MA2AB1C2D0")  # wrong check character
    data = _workbook([_row(1), _row(2, 诉求类型="consult", 紧急程度=None), bad, [None] * 12, _row(4, 诉求类型="催办")])
    result = import_tickets(session, data, user=operator, channel="town_centre")
    session.commit()
    assert (result.rows, result.created, result.duplicates) == (4, 2, 0)
    # Row numbers are the sheet's: title row 1, header row 2, so the third problem is row 5.
    assert result.rejected[0]["row"] == 5 and result.rejected[0]["field"] == "enterprise.uscc"
    assert "check character" in result.rejected[0]["message"]
    assert result.rejected[1]["row"] == 7 and result.rejected[1]["field"] == "request_type"
    assert "催办" in result.rejected[1]["message"]
    first, second = session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert (first.town_code, first.county_code, first.request_type, first.urgency, first.category_code) == \
        ("yueqing_liushi", "yueqing", "help", "urgent", "factor")
    assert first.channel_code == "town_centre" and first.contact_phone == "13800138001"
    assert first.received_at == datetime(2026, 11, 2, 9, 30, tzinfo=SH)
    assert first.external_id.startswith("xlsx-") and second.request_type == "consult" and second.urgency == "normal"
    assert [t["id"] for t in result.tickets] == [first.id, second.id]
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == first.id)).all()
    assert [(e.kind, e.actor) for e in events] == [("created", "op")]


def test_reimport_creates_nothing_twice(session, operator):
    data = _workbook([_row(1), _row(2)])
    assert import_tickets(session, data, user=operator).created == 2
    session.commit()
    # The same rows in another file, columns reordered and a title row dropped, are recognised.
    order = [0, 2, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    again = _workbook([[r[i] for i in order] for r in (_row(2), _row(1), _row(5))], [HEADER[i] for i in order], None)
    result = import_tickets(session, again, user=operator)
    session.commit()
    assert (result.created, result.duplicates) == (1, 2)
    assert _count(session, Ticket) == 3


def test_dry_run_writes_nothing(session, operator):
    data = _workbook([_row(1), _row(2), _row(2), _row(3, **{"乡镇（街道）": "不存在镇"})])
    result = import_tickets(session, data, user=operator, dry_run=True)
    session.rollback()
    assert result.dry_run and (result.rows, result.created, result.duplicates) == (4, 2, 1)
    assert [(r["row"], r["field"]) for r in result.rejected] == [(6, "town")] and result.rejected[0]["message"]
    assert result.rejected[0]["message_zh"]  # and in Chinese
    assert _count(session, Ticket) == 0 and _count(session, Enterprise) == 0


def test_external_id_column_and_custom_mapping(session, operator):
    header = ["外部编号", "单位", "统一社会信用代码", "联系人", "联系电话", "区县", "镇街", "诉求类型", "标题", "诉求内容", "渠道"]
    rows = [["BQY-1", "某某泵阀有限公司", make_uscc(7), "李总", "0577-88888888", "乐清", "柳市镇", "建议", "建议增设公交",
             "园区缺少公交线路。", "帮企云"]]
    result = import_tickets(session, _workbook(rows, header), mapping={"单位": "enterprise.name"}, user=operator)
    assert result.created == 1 and result.rejected == []
    ticket = session.scalar(select(Ticket))
    assert (ticket.external_id, ticket.channel_code, ticket.request_type) == ("BQY-1", "bangqiyun", "suggestion")
    with pytest.raises(InvalidInput) as exc:
        import_tickets(session, _workbook(rows, header), mapping={"单位": "enterprise.nickname"}, user=operator)
    assert exc.value.detail[0]["field"] == "mapping"


def test_missing_columns_and_bad_files_name_the_file(session, operator):
    with pytest.raises(InvalidInput) as exc:
        import_tickets(session, _workbook([_row(1)[:3]], HEADER[:3]), user=operator)
    assert {d["field"] for d in exc.value.detail} == {"file"}
    assert any("联系人" in d["message"] for d in exc.value.detail)
    with pytest.raises(InvalidInput) as exc:
        import_tickets(session, b"not a workbook", user=operator)
    assert exc.value.detail[0]["field"] == "file"


def _ticket(session, **kw) -> Ticket:
    ticket, _ = create_ticket(session, TicketCreate.model_validate(ticket_body(**kw)), channel="hotline_96666",
                              external_id=None, user=None)
    return ticket


def _event(session, ticket: Ticket, kind: str, at: datetime, to_status: str | None = None, **payload) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, kind=kind, actor="test", at=at, to_status=to_status, payload=payload))


def test_export_writes_labels_in_keyset_batches(session, operator):
    for n in range(5):
        _ticket(session, enterprise={"name": f"企业{n}", "uscc": make_uscc(n + 1)}, title=f"=HYPERLINK(\"x\",\"{n}\")")
    session.commit()
    out = io.BytesIO()
    assert write_tickets(session, TicketFilter(), operator, out, batch=2) == 5
    ws = load_workbook(io.BytesIO(out.getvalue())).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS and len(rows) == 6
    assert [r[3] for r in rows[1:]] == [f"企业{n}" for n in reversed(range(5))]  # newest first, none twice
    assert ws.cell(2, HEADERS.index("标题") + 1).data_type == "s"  # a formula-looking title stays text
    assert rows[1][HEADERS.index("渠道")] == "96666助企热线" and rows[1][HEADERS.index("状态")] == "受理"


def test_monthly_report_numbers(session):
    now = datetime.now(UTC)
    start = datetime(now.astimezone(SH).year, now.astimezone(SH).month, 1, tzinfo=SH)
    day = lambda n, h=10: start + timedelta(days=n, hours=h)  # noqa: E731
    t1 = _ticket(session, category="policy", title="政策咨询", enterprise={"name": "甲公司", "uscc": make_uscc(1)})
    t2 = _ticket(session, category="factor", enterprise={"name": "乙公司", "uscc": make_uscc(2)})
    t3 = _ticket(session, category="factor", title="再次停电", enterprise={"name": "乙公司", "uscc": make_uscc(2)})
    t4 = _ticket(session, category="approval", title="审批", enterprise={"name": "丙公司", "uscc": make_uscc(3)})
    t5 = _ticket(session, town="ruian_tangxia", title="用工", enterprise={"name": "丁公司", "uscc": make_uscc(4)})
    _event(session, t1, "instant_resolved", day(0), "resolved", first=True, on_time=True)
    _event(session, t1, "feedback", day(1), satisfaction="satisfied", solved=True)
    _event(session, t1, "feedback", start - timedelta(seconds=1), satisfaction="satisfied", solved=True)  # last month
    _event(session, t2, "routed", day(1), "assigned")
    _event(session, t2, "accepted", day(1, 11), "in_progress", on_time=True)
    _event(session, t2, "resolved", day(2), "resolved", first=True, on_time=True)
    _event(session, t2, "feedback", day(3), satisfaction="unsatisfied", solved=False)
    _event(session, t2, "reopened", day(3, 12), "in_progress")
    _event(session, t2, "resolved", day(4), "resolved", first=False, on_time=True)  # not counted again
    _event(session, t3, "routed", day(2), "assigned")
    _event(session, t3, "refused", day(2, 12), "refuse_review")
    _event(session, t4, "resolved", day(5), "resolved")  # no facts on the event: judged by the ticket's deadline
    t1.status, t2.status, t4.status, t5.status = "resolved", "resolved", "resolved", "in_progress"
    t3.status, t3.resolve_due_at, t3.lead_unit_code = "refuse_review", now - timedelta(days=2, hours=5), "yueqing.power"
    t4.resolve_due_at, t5.resolve_due_at = day(4), now + timedelta(days=3)
    t2.route_reasons, t3.route_reasons = {"keywords_hit": ["停电", "跳闸"]}, {"keywords_hit": ["停电"]}
    session.commit()

    out = io.BytesIO()
    assert write_monthly_report(session, f"{start:%Y-%m}", out, now=now) == 5
    wb = load_workbook(io.BytesIO(out.getvalue()))
    assert wb.sheetnames == ["汇总", "分类统计", "突出问题", "超期清单"]
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(values_only=True) if r and r[0]}
    assert {k: summary[k] for k in ("受理量", "办结量", "即时办结量", "按期办结量", "签收量", "按时签收量", "派单量", "退单量",
                                    "回访量", "满意量", "解决量", "重办量", "本年累计办结量", "当前未办结", "当前超期未办结")} == {
        "受理量": 5, "办结量": 3, "即时办结量": 1, "按期办结量": 2, "签收量": 1, "按时签收量": 1, "派单量": 2, "退单量": 1,
        "回访量": 2, "满意量": 1, "解决量": 1, "重办量": 1, "本年累计办结量": 3, "当前未办结": 2, "当前超期未办结": 1}
    assert summary["满意率"] == 0.5 and summary["回退率"] == 0.5 and summary["按期办结率"] == pytest.approx(2 / 3)

    by = {r[0]: r[1:] for r in wb["分类统计"].iter_rows(values_only=True) if r and r[0]}
    assert by["要素对接"][:4] == (2, 1, 0, 1) and by["未分类"][0] == 1 and by["政策推送"][:3] == (1, 1, 1)
    assert by["乐清市"][0] == 4 and by["瑞安市"][0] == 1 and by["合计"][0] == 5
    assert by["要素对接"][8:] == (1, 1)  # t3 is open and overdue

    hot = [r for r in wb["突出问题"].iter_rows(values_only=True) if r and r[0] is not None]
    assert (1, "停电", 2) == hot[1][:3] and (2, "跳闸", 1) == hot[2][:3]
    assert (1, "柳市镇", "乐清市", 4) == hot[4][:4]
    assert hot[7][1:4] == ("乙公司", make_uscc(2), 2)

    late = list(wb["超期清单"].iter_rows(values_only=True))
    assert len(late) == 2 and late[1][1] == t3.number and late[1][7] == reference().label("units", "yueqing.power")
    assert late[1][11] == 3 and late[1][8] == "退单审核"


def test_monthly_report_month_is_checked(session):
    for month in ("2026-13", "11/2026", "2999-01"):
        with pytest.raises(InvalidInput) as exc:
            write_monthly_report(session, month, io.BytesIO())
        assert exc.value.detail[0]["field"] == "month"
