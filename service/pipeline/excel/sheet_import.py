"""Spreadsheets into the one table: offices' problem lists become tickets, each row validated like the API."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select

from models import RequestType, Role, Ticket, Urgency, User
from service.config import get_settings
from service.errors import DomainError, InvalidInput, field_error
from service.domain.bounds import check_text
from service.pipeline.excel.reader import Sheet
from service.pipeline.intake import place, register
from service.domain.reference import reference
from service.schemas.ticket import TicketCreate, check_code
from service.unit_of_work import UnitOfWork

FIELDS = ("external_id", "channel", "enterprise.name", "enterprise.uscc", "enterprise.chain", "enterprise.tier",
          "contact.name", "contact.phone", "county", "town", "request_type", "category", "urgency", "title",
          "description", "received_at")
REQUIRED = {"enterprise.name": "企业名称", "enterprise.uscc": "统一社会信用代码", "contact.name": "联系人",
            "contact.phone": "联系电话", "request_type": "诉求类型", "title": "标题", "description": "诉求内容"}
_HEADERS = {
    "external_id": "外部编号 来源编号 原编号 编号 诉求编号 问题编号",
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
    "received_at": "受理时间 登记时间 来电时间 反映时间 提出时间 收到时间 日期",
}
_NOISE = re.compile(r"[\s*＊:：()（）、/“”\"']")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
HEADER_SCAN_ROWS = 10


def _norm(header: Any) -> str:
    return _NOISE.sub("", str(header or ""))


DEFAULT_MAPPING = {_norm(h): f for f, names in _HEADERS.items() for h in names.split()}


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    dry_run: bool = False
    rejected: list[dict] = field(default_factory=list)
    tickets: list[dict] = field(default_factory=list)  # {row, id, number, created}; created tickets get routed

    @property
    def created_ids(self) -> list[int]:
        return [t["id"] for t in self.tickets if t["created"] and t["id"] is not None]

    def report(self) -> dict:
        return {"rows": self.rows, "created": self.created, "duplicates": self.duplicates, "dry_run": self.dry_run,
                "rejected": self.rejected, "tickets": self.tickets}


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


@lru_cache
def _lookup(kind: str) -> dict[str, str]:
    """Code, label, name, centre name, short name (乐清, 柳市) and, for categories, tags -> the item's code."""
    out: dict[str, str] = {}
    for item in reference().files[kind].items:
        for name in (item.get("label"), item.get("name"), item.get("centre_name")):
            if name:
                out[_norm(name)] = item["code"]
        for tag in item.get("tags") or []:
            out.setdefault(_norm(tag["label"]), item["code"])
            out.setdefault(tag["code"], item["code"])
        out[item["code"]] = item["code"]
    for item in reference().files[kind].items:
        short = re.sub(r"(市|区|县|镇|乡|街道)$", "", _norm(item.get("name") or ""))
        if len(short) >= 2:
            out.setdefault(short, item["code"])
    return out


def _code(kind: str, value: str | None) -> str | None:
    return None if value is None else _lookup(kind).get(_norm(value), value)


def _enum(enum, value: str | None) -> str | None:
    if value is None:
        return None
    return next((m.value for m in enum if value in (m.value, m.label)), value)


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


def _body(values: dict[str, Any], default_channel: str) -> dict:
    """The TicketCreate body of one row: labels turned into codes, blanks left out."""
    get = lambda f: _text(values.get(f))  # noqa: E731
    body: dict[str, Any] = {
        "channel": _code("channels", get("channel")) or default_channel,
        "enterprise": {"name": get("enterprise.name"), "uscc": (get("enterprise.uscc") or "").replace(" ", "").upper(),
                       "chain": _code("chains", get("enterprise.chain")),
                       "tier": _code("tiers", get("enterprise.tier"))},
        "contact": {"name": get("contact.name"), "phone": get("contact.phone")},
        "county": _code("counties", get("county")), "town": _code("towns", get("town")),
        "request_type": _enum(RequestType, get("request_type")), "category": _code("categories", get("category")),
        "urgency": _enum(Urgency, get("urgency")), "title": get("title"), "description": get("description"),
        "received_at": _received_at(values.get("received_at")), "external_id": get("external_id"),
    }
    for part in ("enterprise", "contact"):
        body[part] = {k: v for k, v in body[part].items() if v is not None}
    return {k: v for k, v in body.items() if v is not None}


def row_key(data: TicketCreate) -> str:
    """A stable external id for a row without one: the same problem in any file gives the same key."""
    received = data.received_at.astimezone(ZoneInfo(get_settings().timezone)).date().isoformat() \
        if data.received_at else ""
    parts = [data.enterprise.uscc, " ".join(data.title.split()), " ".join(data.description.split()), received]
    text = "\x1f".join(parts)
    return "xlsx-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _errors(row: int, exc: Exception) -> list[dict]:
    if isinstance(exc, ValidationError):
        out = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "enum":
                msg = f"unknown value {err['input']!r}; allowed: {err['ctx']['expected']}"
            out.append({"row": row, "field": ".".join(str(p) for p in err["loc"]) or "row", "message": msg})
        return out
    if isinstance(exc, DomainError) and isinstance(exc.detail, list):
        return [{"row": row, **d} for d in exc.detail]
    return [{"row": row, "field": "row", "message": str(getattr(exc, "detail", exc))}]


def _find_header(rows, mapping: dict[str, str]) -> tuple[int, dict[int, str]]:
    for number, values in rows:
        if number > HEADER_SCAN_ROWS:
            break
        cols = _columns(values, mapping)
        if len(set(cols.values())) >= 2:
            missing = [f"{label} ({f})" for f, label in REQUIRED.items() if f not in cols.values()]
            if missing:
                raise InvalidInput([{"field": "file", "message": f"row {number}: no column for {m}"} for m in missing])
            return number, cols
        if number >= HEADER_SCAN_ROWS:
            break
    raise field_error("file", f"no header row in the first {HEADER_SCAN_ROWS} rows (expected 企业名称, 统一社会信用代码, 标题 ...)")


def read_sheet(source: Path | str | bytes, *, mapping: dict[str, str] | None = None,
               max_rows: int | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Each data row as (sheet row number, {field: value}), the whole sheet read and checked before anything is
    imported: a malformed file, or one of more than max_rows (default import_max_rows) rows, is refused (422)."""
    max_rows = get_settings().import_max_rows if max_rows is None else max_rows
    out: list[tuple[int, dict[str, Any]]] = []
    with Sheet(source) as sheet:
        rows = sheet.rows()
        _, cols = _find_header(rows, build_mapping(mapping))
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
    result, seen = ImportResult(dry_run=dry_run, rows=len(rows)), set()
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


def _import_row(session: UnitOfWork, result: ImportResult, seen: set, number: int, values: dict, channel: str,
                user: User | None, unit: str | None) -> None:
    try:
        check_text(values)
        data = TicketCreate.model_validate(_body(values, channel))
        key = data.external_id or row_key(data)
        if result.dry_run:
            place(data)  # the county/town consistency the real import checks
            existing = session.execute(select(Ticket.id, Ticket.number).where(
                Ticket.channel_code == data.channel, Ticket.external_id == key)).first()
            created = existing is None and (data.channel, key) not in seen
            ticket_id, ticket_number = existing or (None, None)
            seen.add((data.channel, key))
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
    result.tickets.append({"row": number, "id": ticket_id, "number": ticket_number, "created": created})
