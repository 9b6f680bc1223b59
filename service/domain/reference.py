"""Reference data: read the versioned files in models/reference/ and load them into the database."""
from __future__ import annotations

import hashlib
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
    return Reference({name: read_file(name) for name in TABLES})


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
