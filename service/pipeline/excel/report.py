"""The 政企恳谈会 monthly report: 汇总, 分类统计, 突出问题 and 超期清单 for one month."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet.pagebreak import Break
from sqlalchemy import Select, case, distinct, func, select, true

from models import EventKind, Ticket, TicketEvent, TicketStatus
from models.stats import COUNTERS
from service.config import get_settings
from service.errors import field_error
from service.pipeline.stats import query as stats_query
from service.pipeline.excel.sheets import (BATCH_ROWS, RIGHT, append, fit_widths, label, local, new_sheet, print_setup,
                                          supervision, unit_names)
from service.domain.reference import NO_CATEGORY, blank_label, reference
from service.domain.tickets import open_counts, overdue
from service.unit_of_work import UnitOfWork


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of 'YYYY-MM' in Asia/Shanghai; 422 naming `month`."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=ZoneInfo(get_settings().timezone))
    except (TypeError, ValueError):
        raise field_error("month", f"expected YYYY-MM such as 2026-11, got {month!r}") from None
    if start > datetime.now(UTC):
        raise field_error("month", f"{month} lies in the future")
    return start, (start + timedelta(days=32)).replace(day=1)


ZERO = {**dict.fromkeys(COUNTERS, 0), "on_time": 0}


def _counts(session: UnitOfWork, start: datetime, end: datetime, group: str | None = None) -> dict[str, dict]:
    """The month's counters, per value of a ticket column (or one '' row), by the statistics' own counting
    rules (service/pipeline/stats/facts.py), so the report agrees with the dashboard to the ticket."""
    dim = {"category_code": "category", "county_code": "county", "town_code": "town", None: None}[group]
    cells = stats_query.direct(session, start=local(start).date(), end=local(end - timedelta(days=1)).date(),
                               unit=None, group_dim=dim, trend=None)
    return {k: {**c, "on_time": c["resolved_on_time"]} for k, c in cells.counters.items()}


def _open(session: UnitOfWork, now: datetime, group: str | None = None) -> dict[str, tuple[int, int]]:
    """(open, overdue) tickets now, per value of a ticket column: the count the dashboard and summary show."""
    dim = {"category_code": "category", "county_code": "county", "town_code": "town", None: None}[group]
    return open_counts(session, now, dim)


def _rate(ws, num: int, den: int) -> Any:
    if not den:
        out = WriteOnlyCell(ws, "—")
        out.alignment = RIGHT  # aligned with the figures above and below it
        return out
    out = WriteOnlyCell(ws, num / den)
    out.number_format = "0.0%"
    return out


def _summary(session: UnitOfWork, wb: Workbook, month: str, start: datetime, end: datetime, now: datetime) -> int:
    c = _counts(session, start, end).get("", dict(ZERO))
    ytd = _counts(session, start.replace(month=1), end).get("", {}).get("resolved", 0)
    open_now, overdue = _open(session, now).get("", (0, 0))
    ws = new_sheet(wb, "汇总", [22, 12, 70], freeze=None)
    append(ws, [f"{month} 涉企问题一表通管月报（政企恳谈会）"], bold=True)
    append(ws, [f"统计周期：{local(start):%Y-%m-%d} 至 {local(end - timedelta(days=1)):%Y-%m-%d}（北京时间）；"
                f"生成时间：{local(now):%Y-%m-%d %H:%M}"])
    append(ws, [])
    append(ws, ["指标", "数值", "口径"], bold=True)
    for row in [
        ("受理量", c["received"], "本月登记的工单（含其后并单的）"),
        ("办结量", c["resolved"], "本月首次办结（含即时办结）的工单；重办后再次办结不重复计"),
        ("即时办结量", c["instant"], "受理时当场答复办结"), ("即时办结率", _rate(ws, c["instant"], c["received"]), "即时办结量 ÷ 受理量"),
        ("按期办结量", c["on_time"], "办结时未超过当时有效的办结时限（批准延期的按新时限）"),
        ("按期办结率", _rate(ws, c["on_time"], c["resolved"]), "按期办结量 ÷ 办结量"),
        ("签收量", c["accepted"], "本月签收（含驳回退单视同签收）"), ("按时签收量", c["accepted_on_time"], "在签收时限内签收"),
        ("按时签收率", _rate(ws, c["accepted_on_time"], c["accepted"]), "按时签收量 ÷ 签收量"),
        ("派单量", c["dispatched"], "规则派单、人工派单、改派、退单后改派"), ("退单量", c["refused"], "承办单位申请退单"),
        ("回退率", _rate(ws, c["refused"], c["dispatched"]), "退单量 ÷ 派单量"),
        ("回访量", c["rated"], "本月回访"), ("满意量", c["satisfied"], "满意 + 基本满意"),
        ("满意率", _rate(ws, c["satisfied"], c["rated"]), "满意量 ÷ 回访量"), ("解决量", c["solved"], "企业确认已解决"),
        ("解决率", _rate(ws, c["solved"], c["rated"]), "解决量 ÷ 回访量"), ("重办量", c["reopened"], "回访不满意或未解决后重办"),
        ("重办率", _rate(ws, c["reopened"], c["resolved"]), "重办量 ÷ 办结量"),
        ("本年累计办结量", ytd, "1月1日至本月末首次办结的工单"),
        ("当前未办结", open_now, "生成时仍在受理、待派单、待签收、退单审核或办理中的工单"),
        ("当前超期未办结", overdue, "其中已超过办结时限的（明细见“超期清单”）"),
    ]:
        append(ws, row)
    return c["received"]


_GROUP_HEADERS = ["受理量", "办结量", "即时办结", "按期办结", "按期办结率", "回访量", "满意量", "满意率", "当前未办结", "当前超期"]


def _group_rows(ws, title: str, kind: str, counts: dict, opened: dict) -> None:
    append(ws, [title, *_GROUP_HEADERS], bold=True)
    keys = [item["code"] for item in reference().files[kind].items]
    keys += sorted(k for k in set(counts) | set(opened) if k not in keys)
    total = dict(ZERO)
    total_open = [0, 0]
    for key in keys:
        c, (n, late) = counts.get(key, dict(ZERO)), opened.get(key, (0, 0))
        name = blank_label(kind) if key == "" else (reference().label(kind, key) or key)
        append(ws, [name, c["received"], c["resolved"], c["instant"], c["on_time"],
                    _rate(ws, c["on_time"], c["resolved"]), c["rated"], c["satisfied"],
                    _rate(ws, c["satisfied"], c["rated"]), n, late])
        total = {k: total[k] + c[k] for k in ZERO}
        total_open = [total_open[0] + n, total_open[1] + late]
    append(ws, ["合计", total["received"], total["resolved"], total["instant"], total["on_time"],
                _rate(ws, total["on_time"], total["resolved"]), total["rated"], total["satisfied"],
                _rate(ws, total["satisfied"], total["rated"]), *total_open], bold=True)


def _breakdown(session: UnitOfWork, wb: Workbook, start: datetime, end: datetime, now: datetime) -> None:
    ws = new_sheet(wb, "分类统计", fit_widths([22] + [10] * len(_GROUP_HEADERS), ["", *_GROUP_HEADERS]), freeze=None)
    _group_rows(ws, "按问题分类", "categories", _counts(session, start, end, "category_code"),
                _open(session, now, "category_code"))
    append(ws, [])
    _group_rows(ws, "按区县", "counties", _counts(session, start, end, "county_code"), _open(session, now, "county_code"))


# Printed on every page: the header row and the label columns (突出问题 holds three tables, each starting a page
# under its own header).
_PRINT_TITLES = {"汇总": {"rows": "4:4", "cols": "A:A"}, "分类统计": {"rows": "1:1", "cols": "A:A"},
                 "突出问题": {"rows": None, "cols": "A:B"}, "超期清单": {"rows": "1:1", "cols": "A:B"}}
# The headers of the three tables of 突出问题, column by column.
_HOTSPOT_HEADERS = (["排名", "高频关键词（本月受理）", "件数"], ["排名", "问题最多的镇街", "区县", "受理量", "办结量", "当前未办结"],
                    ["排名", "重复反映的企业（本月2件及以上）", "统一社会信用代码", "件数", "涉及分类"])


def _created_in_month(query: Select, start: datetime, end: datetime) -> Select:
    """The query over the tickets registered in [start, end)."""
    return query.select_from(Ticket).join(TicketEvent, (TicketEvent.ticket_id == Ticket.id)
                                          & (TicketEvent.kind == EventKind.CREATED)
                                          & (TicketEvent.at >= start) & (TicketEvent.at < end))


def _hotspots(session: UnitOfWork, wb: Workbook, start: datetime, end: datetime, now: datetime) -> None:
    ws = new_sheet(wb, "突出问题", fit_widths([6, 30, 20, 10, 24, 12], *_HOTSPOT_HEADERS), freeze=None)
    append(ws, _HOTSPOT_HEADERS[0], bold=True)
    hit = Ticket.route_reasons["keywords_hit"]
    kw = func.jsonb_array_elements_text(case((func.jsonb_typeof(hit) == "array", hit), else_=func.jsonb_build_array())) \
        .table_valued("value").lateral("kw")
    keywords = session.execute(_created_in_month(select(kw.c.value, func.count()), start, end).join(kw, true())
                               .group_by(kw.c.value).order_by(func.count().desc(), kw.c.value).limit(20)).all()
    for rank, (word, n) in enumerate(keywords, start=1):
        append(ws, [rank, word, n])
    append(ws, [])
    rows = 2 + len(keywords)
    ws.row_breaks.append(Break(id=rows))  # each table (at most 21 rows) starts a page, under its own header
    append(ws, _HOTSPOT_HEADERS[1], bold=True)
    counts, opened = _counts(session, start, end, "town_code"), _open(session, now, "town_code")
    towns = sorted((k for k in counts if k and counts[k]["received"]), key=lambda k: (-counts[k]["received"], k))
    for rank, town in enumerate(towns[:20], start=1):
        county = (reference().town(town) or {}).get("county")
        append(ws, [rank, reference().label("towns", town) or town, reference().label("counties", county),
                    counts[town]["received"], counts[town]["resolved"], opened.get(town, (0, 0))[0]])
    append(ws, [])
    ws.row_breaks.append(Break(id=rows + 2 + len(towns[:20])))
    append(ws, _HOTSPOT_HEADERS[2], bold=True)
    repeats = session.execute(_created_in_month(select(
        func.max(Ticket.enterprise_name), func.max(Ticket.uscc), func.count(),
        func.array_agg(distinct(func.coalesce(Ticket.category_code, "")))), start, end)
        .group_by(Ticket.enterprise_id).having(func.count() >= 2)
        .order_by(func.count().desc(), Ticket.enterprise_id).limit(20))
    for rank, (name, uscc, n, cats) in enumerate(repeats, start=1):
        append(ws, [rank, name, uscc, n, "、".join(reference().label("categories", c) or NO_CATEGORY for c in cats)])


_OVERDUE = ["序号", "工单编号", "企业名称", "标题", "问题分类", "区县", "镇街", "主办单位", "状态", "受理时间", "办结时限",
            "超期天数", "督办"]


def _overdue(session: UnitOfWork, wb: Workbook, now: datetime) -> None:
    ws = new_sheet(wb, "超期清单", fit_widths([6, 18, 28, 30, 10, 8, 10, 24, 8, 18, 18, 9, 9], _OVERDUE))
    append(ws, _OVERDUE, bold=True)
    query = (select(Ticket.number, Ticket.enterprise_name, Ticket.title, Ticket.category_code, Ticket.county_code,
                    Ticket.town_code, Ticket.lead_unit_code, Ticket.status, Ticket.received_at, Ticket.resolve_due_at,
                    Ticket.supervision)
             .where(overdue(now)).order_by(Ticket.resolve_due_at, Ticket.id)
             .execution_options(yield_per=BATCH_ROWS))
    for i, t in enumerate(session.execute(query), start=1):
        days = -((t.resolve_due_at - now) // timedelta(days=1))  # whole calendar days, a part day counts as one
        append(ws, [i, t.number, t.enterprise_name, t.title, label("categories")(t.category_code),
                    label("counties")(t.county_code), label("towns")(t.town_code), unit_names([t.lead_unit_code] if
                    t.lead_unit_code else []), TicketStatus(t.status).label, t.received_at, t.resolve_due_at, days,
                    supervision(t.supervision)])


def write_monthly_report(session: UnitOfWork, month: str, out: IO[bytes], *, now: datetime | None = None) -> int:
    """The 政企恳谈会 workbook (汇总, 分类统计, 突出问题, 超期清单) for 'YYYY-MM'; returns the month's 受理量."""
    start, end = month_bounds(month)
    now = now or datetime.now(UTC)
    wb = Workbook(write_only=True)
    received = _summary(session, wb, month, start, end, now)
    _breakdown(session, wb, start, end, now)
    _hotspots(session, wb, start, end, now)
    _overdue(session, wb, now)
    title = f"{month} 涉企问题一表通管月报（政企恳谈会）"
    period = f"统计周期：{local(start):%Y-%m-%d} 至 {local(end - timedelta(days=1)):%Y-%m-%d}"
    for ws in wb.worksheets:
        print_setup(ws, f"{title} · {ws.title}", period, **_PRINT_TITLES[ws.title])
    wb.save(out)
    return received
