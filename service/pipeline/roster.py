"""The city's enterprise roster (e.g. its 6,547 规上 enterprises) loaded from an .xlsx or .csv file.

Each row names an enterprise (企业名称, and 统一社会信用代码 when known) and its 所属镇街, 产业链, 企业梯队 and 是否规上.
It is matched as an intake matches: by the USCC, else (a code seen for the first time) a record known by that name
without a code takes it, else by the folded name; otherwise it is created. The record is put on the roster and takes
the roster's values (a blank cell keeps what is known); a known USCC under another name takes the roster's name.
Importing the same file again changes nothing (every row `unchanged`). A row that cannot be read, or that names an
enterprise an earlier row of the file named, is rejected with its row number, field and reason; the others load.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Enterprise
from service.config import get_settings
from service.domain.bounds import text_problem
from service.domain.reference import lookup_code, norm_label, reference
from service.errors import Conflict, FieldProblem, field_detail, field_error
from service.pipeline.excel.reader import Sheet
from service.schemas.ticket import check_code, validate_uscc

_HEADERS = {
    "name": "企业名称 单位名称 企业全称 公司名称 name",
    "uscc": "统一社会信用代码 信用代码 社会信用代码 统一信用代码 uscc",
    "town": "所属镇街 镇街 乡镇街道 所属乡镇 乡镇 街道 town",
    "county": "所属区县 区县 县市区 county",
    "chain": "产业链 所属产业链 chain",
    "tier": "企业梯队 梯队 企业层级 tier",
    "above_scale": "是否规上 规上 是否规上企业 规模以上 above_scale",
}
MAPPING = {norm_label(h).lower(): f for f, names in _HEADERS.items() for h in names.split()}
HEADER_SCAN_ROWS = 10
_YES = {"是", "规上", "y", "yes", "true", "1", "√"}
_NO = {"否", "规下", "非规上", "n", "no", "false", "0", "×"}
_KINDS = {"town": "towns", "county": "counties", "chain": "chains", "tier": "tiers"}
BATCH = 1000


@dataclass
class RosterResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict] = field(default_factory=list)

    def report(self) -> dict:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected}


class _Rejected(Exception):
    def __init__(self, field_name: str, message: str, zh: str, code: str):
        super().__init__(message)
        self.detail = field_detail(field_name, message, code=code, zh=zh)


def read_roster(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """Each data row of the file (an .xlsx workbook's first sheet, or CSV in UTF-8 or GB18030) as (row number,
    {field: value}); 422 naming `file` when it cannot be read, has no header row or holds too many rows."""
    rows = _xlsx(content) if content[:4] == b"PK\x03\x04" else _csv(content)
    limit = get_settings().roster_max_rows
    for i, (number, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        cols = {n: MAPPING[k] for n, cell in enumerate(cells) if (k := norm_label(cell).lower()) in MAPPING}
        if "name" in cols.values() and len(set(cols.values())) >= 2:
            out = []
            for number, cells in rows[i + 1:]:
                values = {f: cells[n] for n, f in cols.items() if n < len(cells) and _blank(cells[n]) is not None}
                if any(_blank(c) is not None for c in cells):
                    out.append((number, values))
            if len(out) > limit:
                raise field_error("file", f"more than {limit} rows (the limit, HOTLINE_ROSTER_MAX_ROWS); split the file")
            return out
    raise field_error("file", f"no header row in the first {HEADER_SCAN_ROWS} rows (expected 企业名称 and at least one "
                              "of 统一社会信用代码, 所属镇街, 产业链, 企业梯队, 是否规上)",
                      zh="前 10 行中没有表头（应有 企业名称 及 统一社会信用代码、所属镇街、产业链、企业梯队、是否规上 之一）")


def _xlsx(content: bytes) -> list[tuple[int, tuple]]:
    limit = get_settings().roster_max_rows + HEADER_SCAN_ROWS
    out = []
    with Sheet(content) as sheet:
        for number, values in sheet.rows():
            out.append((number, values))
            if len(out) > limit:
                raise field_error("file", f"more than {get_settings().roster_max_rows} rows (the limit, "
                                          "HOTLINE_ROSTER_MAX_ROWS); split the file")
    return out


def _csv(content: bytes) -> list[tuple[int, tuple]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            decoded = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise field_error("file", "neither an .xlsx workbook nor CSV text in UTF-8 or GB18030",
                          zh="文件既不是 .xlsx 工作簿，也不是 UTF-8 或 GB18030 编码的 CSV")
    if "\x00" in decoded:
        raise field_error("file", "contains a NUL character (U+0000): not a CSV text file", zh="文件含有 NUL 字符，不是 CSV 文本")
    limit, columns = get_settings().roster_max_rows + HEADER_SCAN_ROWS, get_settings().import_max_columns
    out = []
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(decoded, newline="")), start=1):
            if len(cells) > columns:
                raise field_error("file", f"row {number} has {len(cells)} columns; at most {columns} are read")
            out.append((number, tuple(cells)))
            if len(out) > limit:
                raise field_error("file", f"more than {get_settings().roster_max_rows} rows (the limit, "
                                          "HOTLINE_ROSTER_MAX_ROWS); split the file")
    except csv.Error as exc:
        raise field_error("file", f"not readable as CSV: {exc}", zh="无法按 CSV 读取") from None
    return out


def _blank(value: Any) -> str | None:
    """A cell as text, None when blank (a whole number typed into a number cell loses its '.0')."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _row(values: dict[str, Any]) -> dict[str, Any]:
    """A row's values checked and turned into codes; _Rejected naming the first field at fault."""
    cells = {f: _blank(v) for f, v in values.items()}
    for name, value in cells.items():
        if value is not None and (problem := text_problem(value)):
            raise _Rejected(name, problem, f"含有不可接受的字符（{problem}）", "text_invalid")
    name = cells.get("name")
    if name is None:
        raise _Rejected("name", "the enterprise name is missing", "缺少企业名称", "missing")
    if not 2 <= len(name) <= 200:
        raise _Rejected("name", "must be 2 to 200 characters", "企业名称应为 2 到 200 个字符", "string_length")
    out: dict[str, Any] = {"name": name, "uscc": None}
    at = "uscc"
    try:
        if cells.get("uscc"):
            out["uscc"] = validate_uscc(cells["uscc"])
        for at, kind in _KINDS.items():
            out[at] = check_code(kind, lookup_code(kind, cells[at])) if cells.get(at) else None
    except FieldProblem as exc:
        raise _Rejected(at, str(exc), exc.zh or str(exc), exc.code) from None
    if out["town"]:
        town_county = reference().town(out["town"])["county"]
        if out["county"] and out["county"] != town_county:
            raise _Rejected("county", f"town {out['town']!r} is in county {town_county!r}, not {out['county']!r}",
                            "所属区县与所属镇街不一致", "place_mismatch")
        out["county"] = town_county
    scale = cells.get("above_scale")
    out["above_scale"] = None
    if scale is not None:
        if scale.lower() in _YES:
            out["above_scale"] = True
        elif scale.lower() in _NO:
            out["above_scale"] = False
        else:
            raise _Rejected("above_scale", f"{scale!r} is neither yes nor no (是/否)", f"{scale!r} 应为 是 或 否",
                            "invalid")
    return out


def import_roster(session: Session, rows: list[tuple[int, dict[str, Any]]]) -> RosterResult:
    """Load roster rows read by read_roster (flushed, not committed)."""
    result, valid = RosterResult(rows=len(rows)), []
    for number, values in rows:
        try:
            valid.append((number, _row(values)))
        except _Rejected as exc:
            result.rejected.append({"row": number, **exc.detail})
    keys = _name_keys(session, [v["name"] for _, v in valid])
    index = _Index(session, [v["uscc"] for _, v in valid if v["uscc"]], list(set(keys)))
    touched: dict[int, int] = {}  # id(record) -> the row that named it
    now = datetime.now(UTC)
    for (number, values), key in zip(valid, keys, strict=True):
        record, how = index.find(values, key)
        if id(record) in touched:
            at = "uscc" if values["uscc"] else "name"
            result.rejected.append({"row": number, **field_detail(
                at, f"names the same enterprise as row {touched[id(record)]}: not loaded twice",
                code="duplicate_row", zh=f"与第 {touched[id(record)]} 行是同一企业，未重复导入")})
            continue
        touched[id(record)] = number
        if how == "created":
            index.add(record, key)
            session.add(record)
        elif how == "filled":
            index.fill(record, values["uscc"])
        changed = _apply(record, values, renamed=how == "by_uscc")
        if how == "created":
            result.created += 1
        elif changed or how == "filled":
            result.updated += 1
        else:
            result.unchanged += 1
        if how == "created" or changed or how == "filled":
            record.roster_imported_at = now
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("an intake registered one of these enterprises while the roster was loading: nothing was "
                       "loaded; import the file again") from None
    result.rejected.sort(key=lambda r: r["row"])
    return result


def _name_keys(session: Session, names: list[str]) -> list[str]:
    """The folded names (hotline_name_key), in order, computed by the database as every record's is."""
    out: list[str] = []
    for i in range(0, len(names), BATCH):
        out += session.scalars(text("SELECT hotline_name_key(n) FROM unnest(CAST(:names AS text[])) WITH ORDINALITY "
                                    "AS x(n, i) ORDER BY i"), {"names": names[i:i + BATCH]}).all()
    return out


class _Index:
    """The records the file may name, by USCC and by folded name; records created for earlier rows join them."""

    def __init__(self, session: Session, usccs: list[str], keys: list[str]):
        self.by_uscc: dict[str, Enterprise] = {}
        self.by_key: dict[str, list[Enterprise]] = {}
        self.by_id: dict[int, Enterprise] = {}
        for i in range(0, max(len(usccs), len(keys)), BATCH):
            found = session.scalars(select(Enterprise).where(
                Enterprise.uscc.in_(usccs[i:i + BATCH]) | Enterprise.name_key.in_(keys[i:i + BATCH])))
            for ent in found:
                self.add(ent, ent.name_key)
        targets = {e.merged_into_id for e in self.by_id.values() if e.merged_into_id} - set(self.by_id)
        if targets:
            for ent in session.scalars(select(Enterprise).where(Enterprise.id.in_(targets))):
                self.by_id[ent.id] = ent

    def add(self, ent: Enterprise, key: str) -> None:
        if ent.id is not None:
            self.by_id[ent.id] = ent
        if ent.uscc:
            self.by_uscc[ent.uscc] = ent
        self.by_key.setdefault(key, []).append(ent)

    def fill(self, ent: Enterprise, uscc: str) -> None:
        ent.uscc = uscc
        self.by_uscc[uscc] = ent

    def _target(self, ent: Enterprise) -> Enterprise:
        return self.by_id[ent.merged_into_id] if ent.merged_into_id else ent

    def find(self, values: dict, key: str) -> tuple[Enterprise, str]:
        """(record, how): the intake's matching rules, in memory; how is by_uscc, filled (a record known by the
        name takes the code), by_name or created (a new record, not added yet)."""
        named = sorted(self.by_key.get(key, []), key=lambda e: (e.merged_into_id is not None, e.uscc is None,
                                                               e.id is None, e.id or 0))
        if values["uscc"]:
            if values["uscc"] in self.by_uscc:
                return self.by_uscc[values["uscc"]], "by_uscc"
            unidentified = [t for t in map(self._target, named) if t.uscc is None]
            if unidentified:
                return min(unidentified, key=lambda e: (e.id is None, e.id or 0)), "filled"
        elif named:
            return self._target(named[0]), "by_name"
        return Enterprise(uscc=values["uscc"], name=values["name"], on_roster=True), "created"


def _apply(ent: Enterprise, values: dict, *, renamed: bool) -> bool:
    """Put the record on the roster with the row's values (a blank keeps what is known); whether anything changed."""
    changes = {"on_roster": True}
    if renamed:
        changes["name"] = values["name"]
    if values["town"]:
        changes["town_code"], changes["county_code"] = values["town"], values["county"]
    elif values["county"]:
        changes["county_code"] = values["county"]
        if ent.town_code and (reference().town(ent.town_code) or {}).get("county") != values["county"]:
            changes["town_code"] = None
    for column in ("chain", "tier"):
        if values[column]:
            changes[f"{column}_code"] = values[column]
    if values["above_scale"] is not None:
        changes["above_scale"] = values["above_scale"]
    changed = [c for c, v in changes.items() if getattr(ent, c) != v]
    for column in changed:
        setattr(ent, column, changes[column])
    return bool(changed)
