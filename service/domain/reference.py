"""Reference data: read the versioned files in models/reference/ and load them into the database."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import Category, Chain, Channel, County, ReferenceVersion, Tier, Town, Unit

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "models" / "reference"

# file name -> (table, columns taken from each item); order matters for foreign keys.
TABLES = {
    "counties": (County, {"code": "code", "name": "name", "kind": "kind"}),
    "towns": (Town, {"code": "code", "name": "name", "county_code": "county", "centre_name": "centre_name"}),
    "units": (Unit, {"code": "code", "name": "name", "level": "level", "kind": "kind",
                     "county_code": "county", "town_code": "town"}),
    "channels": (Channel, {"code": "code", "label": "label", "description": "description"}),
    "categories": (Category, {"code": "code", "label": "label", "description": "description", "tags": "tags"}),
    "chains": (Chain, {"code": "code", "label": "label"}),
    "tiers": (Tier, {"code": "code", "label": "label"}),
}
# Files read from disk only, with no table: unit kinds (label, levels, remit) label units and validate them.
FILE_ONLY = ("unit_kinds",)
LISTS = (*TABLES, *FILE_ONLY)

# What tables, the dashboard and the monthly report call a ticket without a category, or
# without a unit, county or town: one wording each, used everywhere.
NO_CATEGORY = "未分类"
NOT_GIVEN = "未指定"


def blank_label(kind: str) -> str:
    """The label of the empty code in the reference list `kind`."""
    return NO_CATEGORY if kind == "categories" else NOT_GIVEN


@dataclass(frozen=True)
class RefFile:
    name: str
    version: str
    content_hash: str
    items: tuple[dict, ...]

    @cached_property
    def index(self) -> dict[str, dict]:
        return {item["code"]: item for item in self.items}

    def by_code(self) -> dict[str, dict]:
        """Items by code (built once: labels are looked up for every field of every ticket shown)."""
        return self.index


def read_file(name: str, directory: Path = REFERENCE_DIR) -> RefFile:
    """Parse one reference file."""
    raw = (directory / f"{name}.yaml").read_bytes()
    doc = yaml.safe_load(raw)
    return RefFile(name, str(doc["version"]), hashlib.sha256(raw).hexdigest(), tuple(doc["items"]))


@dataclass(frozen=True)
class Reference:
    """All reference data in memory: validation and labels without a database round trip."""

    files: dict[str, RefFile]

    def codes(self, name: str) -> set[str]:
        return set(self.files[name].index)

    def label(self, name: str, code: str | None) -> str | None:
        if code is None:
            return None
        item = self.files[name].by_code().get(code)
        return (item.get("label") or item.get("name")) if item else None

    def town(self, code: str) -> dict | None:
        return self.files["towns"].by_code().get(code)


@lru_cache
def reference() -> Reference:
    """The reference files shipped with this release (cached)."""
    return Reference({name: read_file(name) for name in LISTS})


_NOISE = re.compile(r"[\s*＊:：()（）、/“”\"']")


def norm_label(text: object) -> str:
    """A label or header as compared: without spaces, brackets, colons, quotes or the required-field star."""
    return _NOISE.sub("", str(text or ""))


@lru_cache
def _labels(kind: str) -> dict[str, str]:
    """Code, label, name, centre name, short name (乐清, 柳市) and, for categories, tags -> the item's code."""
    out: dict[str, str] = {}
    for item in reference().files[kind].items:
        for name in (item.get("label"), item.get("name"), item.get("centre_name")):
            if name:
                out[norm_label(name)] = item["code"]
        for tag in item.get("tags") or []:
            out.setdefault(norm_label(tag["label"]), item["code"])
            out.setdefault(tag["code"], item["code"])
        out[item["code"]] = item["code"]
    for item in reference().files[kind].items:
        short = re.sub(r"(市|区|县|镇|乡|街道)$", "", norm_label(item.get("name") or ""))
        if len(short) >= 2:
            out.setdefault(short, item["code"])
    return out


def lookup_code(kind: str, value):
    """The code a person means by `value` in reference file `kind` (柳市镇, 柳市 -> yueqing_liushi; 求助类 ->
    the 求助 item): the one lookup of the spreadsheet import and the API. Anything else comes back unchanged, for
    the validator to refuse with the allowed values."""
    if not isinstance(value, str):
        return value
    labels, key = _labels(kind), norm_label(value)
    return labels.get(key) or labels.get(key.removesuffix("类")) or value


def lookup_enum(enum, value):
    """The member value of `enum` (RequestType, Urgency) a person means: its code or its Chinese label, with or
    without a 类 suffix (求助, 求助类 -> help); anything else unchanged."""
    if not isinstance(value, str):
        return value
    key = norm_label(value)
    for candidate in (key, key.removesuffix("类")):
        for member in enum:
            if candidate in (member.value, member.label):
                return member.value
    return value


def known_unit_codes() -> set[str]:
    """Every unit code in the reference data; the rule engine validates targets against it."""
    return reference().codes("units")


def seed_reference(session: Session) -> dict[str, int]:
    """Upsert every reference file whose content changed; idempotent. Returns rows written per file."""
    loaded = dict(session.execute(select(ReferenceVersion.name, ReferenceVersion.content_hash)).all())
    written: dict[str, int] = {}
    for name, (table, columns) in TABLES.items():
        ref = reference().files[name]
        if loaded.get(name) == ref.content_hash:
            continue
        rows = [{col: item.get(key) for col, key in columns.items()} for item in ref.items]
        for row in rows:
            for col in ("description",):
                if col in row and row[col] is None:
                    row[col] = ""
            if "tags" in row and row["tags"] is None:
                row["tags"] = []
        stmt = insert(table).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["code"], set_={col: stmt.excluded[col] for col in columns if col != "code"}
        )
        session.execute(stmt)
        session.execute(
            insert(ReferenceVersion)
            .values(name=name, version=ref.version, content_hash=ref.content_hash)
            .on_conflict_do_update(index_elements=["name"], set_={"version": ref.version, "content_hash": ref.content_hash})
        )
        written[name] = len(rows)
    session.flush()
    return written
