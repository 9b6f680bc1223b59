"""The one table as a spreadsheet: the ticket export, filtered to what its user may see."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, fields
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import Row, func, select

from models import RequestType, Ticket, TicketStatus, Urgency, User
from service.config import get_settings
from service.domain.privacy import shown_phone
from service.domain.tickets import TicketFilter, visible_to
from service.pipeline.excel.sheets import (BATCH_ROWS, append, fit_widths, label, local, new_sheet, print_setup,
                                          supervision, unit_names)
from service.pipeline.workflow import SATISFACTION
from service.unit_of_work import UnitOfWork


# (header, width, value of a row); rows are plain column tuples so memory stays flat.
COLUMNS: list[tuple[str, int, Callable[[Row], Any]]] = [
    ("工单编号", 18, lambda t: t.number),
    ("渠道", 14, lambda t: label("channels")(t.channel_code)),
    ("外部编号", 16, lambda t: t.external_id),
    ("企业名称", 28, lambda t: t.enterprise_name),
    ("统一社会信用代码", 21, lambda t: t.uscc),
    ("联系人", 10, lambda t: t.contact_name),
    ("联系电话", 15, lambda t: shown_phone(None, t, full=False)),  # as the user may see it: see _columns
    ("区县", 10, lambda t: label("counties")(t.county_code)),
    ("镇街", 11, lambda t: label("towns")(t.town_code)),
    ("诉求类型", 9, lambda t: RequestType(t.request_type).label),
    ("问题分类", 10, lambda t: label("categories")(t.category_code)),
    ("紧急程度", 9, lambda t: Urgency(t.urgency).label),
    ("标题", 30, lambda t: t.title),
    ("诉求内容", 50, lambda t: t.description),
    ("状态", 9, lambda t: TicketStatus(t.status).label),
    ("主办单位", 24, lambda t: unit_names([t.lead_unit_code] if t.lead_unit_code else [])),
    ("协办单位", 30, lambda t: unit_names(t.assisting_units)),
    ("登记单位", 20, lambda t: unit_names([t.registered_by_unit_code] if t.registered_by_unit_code else [])),
    ("签收时限", 18, lambda t: t.accept_due_at),
    ("办结时限", 18, lambda t: t.resolve_due_at),
    ("受理时间", 18, lambda t: t.received_at),
    ("签收时间", 18, lambda t: t.accepted_at),
    ("办结时间", 18, lambda t: t.resolved_at),
    ("办理意见", 40, lambda t: t.opinion),
    ("满意度", 9, lambda t: SATISFACTION.get(t.satisfaction) if t.satisfaction else None),
    ("是否解决", 9, lambda t: None if t.solved is None else ("是" if t.solved else "否")),
    ("重办次数", 9, lambda t: t.reopen_count),
    ("督办", 9, lambda t: supervision(t.supervision)),
]
HEADERS = [c[0] for c in COLUMNS]
_PHONE = HEADERS.index("联系电话")
_SELECTED = [getattr(Ticket, name) for name in (
    "id", "number", "channel_code", "external_id", "enterprise_name", "uscc", "contact_name", "contact_phone",
    "county_code", "town_code", "request_type", "category_code", "urgency", "title", "description", "status",
    "lead_unit_code", "assisting_units", "registered_by_unit_code", "accept_due_at", "resolve_due_at", "received_at",
    "accepted_at", "resolved_at", "opinion", "satisfaction", "solved", "reopen_count", "supervision")]


def count_at_most(session: UnitOfWork, flt: TicketFilter, user: User, limit: int) -> int:
    """How many tickets the export would hold, counting no further than limit."""
    matched = select(Ticket.id).where(visible_to(user), *flt.clauses(user)).limit(limit).subquery()
    return session.scalar(select(func.count()).select_from(matched))


def iter_tickets(session: UnitOfWork, flt: TicketFilter, user: User, *, batch: int = BATCH_ROWS) -> Iterator[Row]:
    """The tickets the user may see under the filter, newest first, fetched in keyset batches on id."""
    after: int | None = None
    while True:
        query = select(*_SELECTED).where(visible_to(user), *flt.clauses(user))
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


def write_tickets(session: UnitOfWork, flt: TicketFilter, user: User, out: IO[bytes], *, batch: int = BATCH_ROWS) -> int:
    """Write the one table (what the user may see, filtered) as XLSX to out; returns the row count."""
    wb = Workbook(write_only=True)
    ws = new_sheet(wb, "涉企问题一表通", fit_widths([c[1] for c in COLUMNS], HEADERS))
    append(ws, HEADERS, bold=True)
    count = 0
    columns = _columns(user)
    for row in iter_tickets(session, flt, user, batch=batch):
        append(ws, [fn(row) for fn in columns])
        count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    print_setup(ws, "涉企问题一表通 工单导出", _period(flt), rows="1:1", cols="A:A")
    wb.save(out)
    return count


def _period(flt: TicketFilter) -> str:
    """The export's period as printed in the page header: the 登记 dates filtered on, or the export time."""
    if flt.created_from is None and flt.created_to is None:
        return f"全部工单，导出于 {datetime.now(ZoneInfo(get_settings().timezone)):%Y-%m-%d %H:%M}"
    return f"登记时间：{_shown(flt.created_from, '最早')} 至 {_shown(flt.created_to, '现在')}"


def _shown(dt: datetime | None, otherwise: str) -> str:
    if dt is None:
        return otherwise
    try:
        return f"{local(dt) if dt.tzinfo else dt:%Y-%m-%d %H:%M}"  # naive: Beijing time
    except OverflowError:  # 9999-12-31 at -12:00 lies beyond what Beijing time can show
        return f"{dt:%Y-%m-%d %H:%M%z}"


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
