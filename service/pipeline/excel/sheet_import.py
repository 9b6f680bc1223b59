"""Spreadsheets into the one table: offices' problem lists become tickets, each row validated like the API.

What identifies a row: its channel and its content, the enterprise (its USCC, or its name in a row without one), the
title, the description and the received date. An office numbers its rows 1, 2, 3... every month, so a sheet's own
编号/序号 is kept only as a reference (`ref` in the answer), never as an identity. A row without a date gets a key
without one (never "now"), and is the same problem as a ticket of its channel with the same enterprise, title and
description. An id of another system (外部编号, 来源编号) is the identity when given; one that names a ticket with other content is a
rejected row, never a duplicate. Columns the import does not know are named in the answer, never dropped silently.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter
from pydantic import ValidationError
from sqlalchemy import and_, select

from models import RequestType, Role, Ticket, Urgency, User
from service.config import get_settings
from service.errors import DomainError, InvalidInput, field_detail, field_error, validation_detail
from service.domain.bounds import check_text
from service.pipeline.excel.reader import Sheet
from service.pipeline.intake import place, register
from service.domain.reference import lookup_code, lookup_enum, norm_label
from service.schemas.ticket import TicketCreate, check_code
from service.unit_of_work import UnitOfWork

FIELDS = ("external_id", "ref", "channel", "enterprise.name", "enterprise.uscc", "enterprise.chain", "enterprise.tier",
          "contact.name", "contact.phone", "county", "town", "request_type", "category", "urgency", "title",
          "description", "received_at")
REQUIRED = {"enterprise.name": "企业名称", "contact.name": "联系人",
            "contact.phone": "联系电话", "request_type": "诉求类型", "description": "诉求内容"}
_HEADERS = {
    "external_id": "外部编号 来源编号 原编号 诉求编号 系统编号 平台编号",
    "ref": "编号 序号 问题编号 行号",
    "channel": "渠道 来源渠道 受理渠道 来源",
    "enterprise.name": "企业名称 单位名称 企业 公司名称 企业全称",
    "enterprise.uscc": "统一社会信用代码 信用代码 社会信用代码 统一信用代码 统一代码",
    "enterprise.chain": "产业链", "enterprise.tier": "企业梯队 企业层级",
    "contact.name": "联系人 企业联系人 联系人姓名",
    "contact.phone": "联系电话 电话 手机 手机号码 联系方式 联系人电话",
    "county": "区县 县市区 所属区县 县市区名称",
    "town": "镇街 乡镇街道 乡镇 街道 所属镇街 镇街名称",
    "request_type": "诉求类型 诉求类别", "category": "问题分类 分类 问题类别 服务类别 服务类型",
    "urgency": "紧急程度 缓急程度 紧急度",
    "title": "标题 问题标题 诉求标题 事项名称",
    "description": "诉求内容 内容 问题描述 问题内容 具体问题 诉求描述 具体内容",
    "received_at": "受理时间 受理日期 登记时间 登记日期 来电时间 来电日期 反映时间 反映日期 提出时间 提出日期 收到时间 "
                   "收到日期 上报时间 上报日期 提交时间 提交日期 时间 日期",
}
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
HEADER_SCAN_ROWS = 10


_norm = norm_label
TITLE_CHARS = 30
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_PHONE_SEPARATORS = re.compile(r"\s*[/、,，;；]\s*")
_MOBILE = re.compile(r"(\+?86[ -]?)?1[3-9]\d{9}")


DEFAULT_MAPPING = {_norm(h): f for f, names in _HEADERS.items() for h in names.split()}


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    dry_run: bool = False
    rejected: list[dict] = field(default_factory=list)
    tickets: list[dict] = field(default_factory=list)  # {row, ref, id, number, created}; created tickets get routed
    unrecognised_columns: list[dict] = field(default_factory=list)  # {column, header}: read by no field
    notes: list[dict] = field(default_factory=list)  # {row, field, message}: what a row held that was not stored

    @property
    def created_ids(self) -> list[int]:
        return [t["id"] for t in self.tickets if t["created"] and t["id"] is not None]

    def report(self) -> dict:
        return {"rows": self.rows, "created": self.created, "duplicates": self.duplicates, "dry_run": self.dry_run,
                "rejected": self.rejected, "tickets": self.tickets,
                "unrecognised_columns": self.unrecognised_columns, "notes": self.notes}


class Rows(list):
    """The data rows of a sheet, (sheet row number, {field: value}), and the columns no field reads."""

    unrecognised_columns: list[dict]


def build_mapping(mapping: dict[str, str] | None) -> dict[str, str]:
    """The default header names, overridden by the caller's {header: field}; 422 naming `mapping`."""
    out = dict(DEFAULT_MAPPING)
    for header, target in (mapping or {}).items():
        if target not in FIELDS:
            raise field_error("mapping", f"header {header!r} maps to unknown field {target!r}; "
                                         f"fields: {', '.join(FIELDS)}")
        out[_norm(header)] = target
    return out


def _columns(header: tuple, mapping: dict[str, str]) -> dict[int, str]:
    cols = {}
    for i, name in enumerate(header):
        key = _norm(name)
        target = mapping.get(key) or mapping.get(_norm(re.sub(r"[(（].*?[)）]", "", str(name or ""))))
        if target:
            cols[i] = target
    return cols


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed into a number cell
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return str(value).strip() or None


def _code(kind: str, value: str | None) -> str | None:
    return None if value is None else lookup_code(kind, value)


def _enum(enum, value: str | None) -> str | None:
    return None if value is None else lookup_enum(enum, value)


def _title(description: str | None) -> str | None:
    """A title for a row without one: the description's first sentence, at most TITLE_CHARS characters."""
    if not description:
        return None
    first = _SENTENCE_END.split(description.strip(), maxsplit=1)[0].strip()
    return (first if len(first) >= 2 else description.strip())[:TITLE_CHARS]


def _phones(value: Any) -> list[str]:
    """The numbers of a phone cell: "13800138000/0577-88888888", with 、 , ; or spaces between whole numbers."""
    text = _text(value)
    if text is None:
        return []
    out = []
    for part in _PHONE_SEPARATORS.split(text):
        pieces = part.split()
        whole = len(pieces) > 1 and all(sum(c.isdigit() for c in p) >= 7 for p in pieces)
        out.extend(pieces if whole else [part] if part else [])
    return out


def _phone(value: Any, notes: list[dict]) -> str | None:
    """The contact phone of a cell: its first mobile, else its first number. The other numbers are not stored (a
    description is shown unmasked to every role, the contact phone masked): a note of the answer names them."""
    numbers = _phones(value)
    if len(numbers) <= 1:
        return _text(value)
    chosen = next((n for n in numbers if _MOBILE.fullmatch(n.replace(" ", "").replace("-", ""))), numbers[0])
    others = [n for n in numbers if n is not chosen]
    notes.append({"field": "contact.phone", "message": f"{chosen} is the contact phone; not stored: {', '.join(others)}"})
    return chosen


def _received_at(value: Any) -> datetime | None:
    tz = ZoneInfo(get_settings().timezone)
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tz)
    text = str(value).strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise field_error("received_at", f"not a date or time: {text!r} (use 2026-11-20 or 2026-11-20 09:30)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _body(values: dict[str, Any], default_channel: str, notes: list[dict] | None = None) -> dict:
    """The TicketCreate body of one row: labels turned into codes, blanks left out, a missing title taken from the
    description; what the row held but the ticket does not keep goes to `notes`."""
    get = lambda f: _text(values.get(f))  # noqa: E731
    body: dict[str, Any] = {
        "channel": _code("channels", get("channel")) or default_channel,
        "enterprise": {"name": get("enterprise.name"), "uscc": (get("enterprise.uscc") or "").replace(" ", "").upper(),
                       "chain": _code("chains", get("enterprise.chain")),
                       "tier": _code("tiers", get("enterprise.tier"))},
        "contact": {"name": get("contact.name"), "phone": _phone(values.get("contact.phone"), [] if notes is None else notes)},
        "county": _code("counties", get("county")), "town": _code("towns", get("town")),
        "request_type": _enum(RequestType, get("request_type")), "category": _code("categories", get("category")),
        "urgency": _enum(Urgency, get("urgency")), "title": get("title") or _title(get("description")),
        "description": get("description"),
        "received_at": _received_at(values.get("received_at")), "external_id": get("external_id"),
    }
    for part in ("enterprise", "contact"):
        body[part] = {k: v for k, v in body[part].items() if v is not None}
    return {k: v for k, v in body.items() if v is not None}


def row_key(data: TicketCreate) -> str:
    """A stable external id for a row without one: the same problem in any file gives the same key. A row without a
    date has a key without one: the key never depends on when the file is imported."""
    received = data.received_at.astimezone(ZoneInfo(get_settings().timezone)).date().isoformat() \
        if data.received_at else ""
    company = data.enterprise.uscc or "name:" + " ".join(data.enterprise.name.split())
    parts = [company, " ".join(data.title.split()), " ".join(data.description.split()), received]
    text = "\x1f".join(parts)
    return "xlsx-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _errors(row: int, exc: Exception) -> list[dict]:
    """A rejected row's problems, each as the API words a 422's detail (field, code, English and Chinese)."""
    if isinstance(exc, ValidationError):
        out = []
        for err in exc.errors():
            detail = validation_detail(err) | {"field": ".".join(str(p) for p in err["loc"]) or "row"}
            if err["type"] == "enum":
                detail["message"] = f"unknown value {err['input']!r}; allowed: {err['ctx']['expected']}"
            out.append({"row": row, **detail})
        return out
    if isinstance(exc, DomainError) and isinstance(exc.detail, list):
        return [{"row": row, **d} for d in exc.detail]
    return [{"row": row, **field_detail("row", str(getattr(exc, "detail", exc)))}]


def _unrecognised(header: tuple, cols: dict[int, str]) -> list[dict]:
    return [{"column": get_column_letter(i + 1), "header": str(name).strip()} for i, name in enumerate(header)
            if i not in cols and str(name or "").strip()]


def _find_header(rows, mapping: dict[str, str]) -> tuple[int, dict[int, str], list[dict]]:
    for number, values in rows:
        if number > HEADER_SCAN_ROWS:
            break
        cols = _columns(values, mapping)
        if len(set(cols.values())) >= 2:
            missing = [f"{label} ({f})" for f, label in REQUIRED.items() if f not in cols.values()]
            if missing:
                raise InvalidInput([{"field": "file", "message": f"row {number}: no column for {m}"} for m in missing])
            return number, cols, _unrecognised(values, cols)
        if number >= HEADER_SCAN_ROWS:
            break
    raise field_error("file", f"no header row in the first {HEADER_SCAN_ROWS} rows (expected 企业名称, 统一社会信用代码, 标题 ...)")


def read_sheet(source: Path | str | bytes, *, mapping: dict[str, str] | None = None,
               max_rows: int | None = None) -> Rows:
    """Each data row as (sheet row number, {field: value}), the whole sheet read and checked before anything is
    imported: a malformed file, or one of more than max_rows (default import_max_rows) rows, is refused (422).
    The header's columns that no field reads are listed in `unrecognised_columns`."""
    max_rows = get_settings().import_max_rows if max_rows is None else max_rows
    out = Rows()
    with Sheet(source) as sheet:
        rows = sheet.rows()
        _, cols, out.unrecognised_columns = _find_header(rows, build_mapping(mapping))
        for number, values in rows:
            if all(v is None or str(v).strip() == "" for v in values):
                continue
            if len(out) >= max_rows:
                raise field_error("file", f"more than {max_rows} rows (the limit, HOTLINE_IMPORT_MAX_ROWS); "
                                          "split the file")
            collected: dict[str, Any] = {}  # only the mapped columns are kept
            for i, target in cols.items():
                if i < len(values) and values[i] not in (None, "") and target not in collected:
                    collected[target] = values[i]
            out.append((number, collected))
    return out


def import_rows(session: UnitOfWork, rows: list[tuple[int, dict[str, Any]]], *, dry_run: bool = False,
                user: User | None = None, channel: str = "town_centre") -> ImportResult:
    """Import rows read by read_sheet: valid ones become tickets once (flushed, not committed); bad ones are reported."""
    result, seen = ImportResult(dry_run=dry_run, rows=len(rows)), {}
    result.unrecognised_columns = list(getattr(rows, "unrecognised_columns", []))
    unit = user.unit_code if user and user.role == Role.HANDLER.value and (user.unit_code or "").startswith("tc.") \
        else None
    for number, values in rows:
        _import_row(session, result, seen, number, values, channel, user, unit)
    return result


def import_tickets(session: UnitOfWork, source: Path | str | bytes, *, mapping: dict[str, str] | None = None,
                   dry_run: bool = False, user: User | None = None, channel: str = "town_centre",
                   max_rows: int | None = None) -> ImportResult:
    """Import the first sheet: read_sheet, then import_rows."""
    rows = read_sheet(source, mapping=mapping, max_rows=max_rows)
    return import_rows(session, rows, dry_run=dry_run, user=user, channel=channel)


def parse_mapping(raw: str | None) -> dict[str, str] | None:
    """The {header: field} JSON of an import; 422 naming `mapping` when it is not one."""
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise field_error("mapping", f"not JSON: {exc.msg}") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise field_error("mapping", 'must be a JSON object {"header": "field"}, e.g. {"单位": "enterprise.name"}')
    return mapping


def check_channel(channel: str) -> None:
    """The default channel of an import; 422 naming `channel` when it is not a known one."""
    try:
        check_code("channels", channel)
    except ValueError as exc:
        raise field_error("channel", str(exc)) from None


def import_file(session: UnitOfWork, path: str | Path, *, mapping_json: str | None = None, dry_run: bool = False,
                channel: str = "town_centre", username: str | None = None) -> ImportResult:
    """`hotline import FILE.xlsx`: the file's rows imported as `username` would (flushed, not committed); 422
    naming `username`, `channel`, `mapping` or `file` when one is wrong."""
    user = None
    if username:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise field_error("username", f"no user {username!r}")
    check_channel(channel)
    rows = read_sheet(Path(path), mapping=parse_mapping(mapping_json))
    return import_rows(session, rows, dry_run=dry_run, user=user, channel=channel)


def _content(uscc: str, title: str, description: str, received_at: datetime | None) -> tuple:
    """What a row says, as compared with the ticket its identity names (the date only when the row has one)."""
    day = received_at.astimezone(ZoneInfo(get_settings().timezone)).date() if received_at else None
    return uscc, " ".join(title.split()), " ".join(description.split()), day


def _differs(row: tuple, ticket: tuple) -> list[str]:
    names = ("enterprise.uscc", "title", "description", "received_at")
    return [name for name, mine, theirs in zip(names, row, ticket, strict=True)
            if mine != theirs and not (name == "received_at" and mine is None)]


def _existing(session: UnitOfWork, data: TicketCreate, key: str) -> tuple | None:
    """(id, number, content) of the ticket this row's identity names: (channel, key), or for a row without a date
    or an external id, a ticket of its channel with the same enterprise, title and description."""
    columns = (Ticket.id, Ticket.number, Ticket.uscc, Ticket.title, Ticket.description, Ticket.received_at)
    found = session.execute(select(*columns).where(Ticket.channel_code == data.channel, Ticket.external_id == key)).first()
    if found is None and data.received_at is None and not data.external_id:
        company = Ticket.uscc == data.enterprise.uscc if data.enterprise.uscc else \
            and_(Ticket.uscc.is_(None), Ticket.enterprise_name == data.enterprise.name)
        found = session.execute(select(*columns).where(
            Ticket.channel_code == data.channel, company, Ticket.title == data.title,
            Ticket.description == data.description).order_by(Ticket.id).limit(1)).first()
    return None if found is None else (found[0], found[1], _content(*found[2:]))


def _import_row(session: UnitOfWork, result: ImportResult, seen: dict, number: int, values: dict, channel: str,
                user: User | None, unit: str | None) -> None:
    notes: list[dict] = []
    try:
        check_text(values)
        data = TicketCreate.model_validate(_body(values, channel, notes))
        key = data.external_id or row_key(data)
        content = _content(data.enterprise.uscc, data.title, data.description, data.received_at)
        existing = _existing(session, data, key) or seen.get((data.channel, key))  # seen: rows of a dry run
        if existing is not None:
            ticket_id, ticket_number, theirs = existing
            if differs := _differs(content, theirs):
                raise field_error("external_id" if data.external_id else "row",
                                  f"{key!r} already names {ticket_number or 'an earlier row of this file'} with other "
                                  f"content ({', '.join(differs)} differ): not imported; give this row its own id")
            created = False
        elif result.dry_run:
            place(data)  # the county/town consistency the real import checks
            created, ticket_id, ticket_number = True, None, None
            seen[data.channel, key] = (None, None, content)
        else:
            with session.begin_nested():
                registered = register(session, data, channel=data.channel, external_id=key, user=user,
                                      registered_by_unit=unit, system="import")
            created, ticket_id, ticket_number = registered.created, registered.ticket.id, registered.ticket.number
    except (ValidationError, ValueError, DomainError) as exc:
        result.rejected.extend(_errors(number, exc))
        return
    result.created += created
    result.duplicates += not created
    result.notes.extend({"row": number, **note} for note in notes)
    result.tickets.append({"row": number, "ref": _text(values.get("ref")), "id": ticket_id, "number": ticket_number,
                           "created": created})
