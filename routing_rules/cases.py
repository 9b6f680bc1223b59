"""The labelled routing corpus: enterprise problems with the unit kind that should lead each one.

Cases live in routing_rules/cases/{dev,test}/*.yaml. `dev` may be used to tune rules and models;
`test` is only ever measured.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from .model import TicketFacts

DEFAULT_CASES_DIR = Path(__file__).resolve().parent / "cases"
SPLITS = ("dev", "test")
REQUEST_TYPES = ("consult", "help", "complaint", "report", "suggestion")
DEFAULT_CHANNEL = "hotline_96666"

_KEYS = frozenset(
    {
        "id",
        "title",
        "description",
        "town",
        "county",
        "channel",
        "request_type",
        "category",
        "registered_by_town_centre",
        "answered_locally",
        "lead",
        "assist",
        "note",
    }
)
_REQUIRED = ("id", "title", "description", "lead")
_ID = re.compile(r"^(dev|test)-[0-9a-z][0-9a-z_-]*$")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CaseError(Exception):
    """Raised when corpus files have errors; carries every one, each naming its file and case id."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        shown = "\n".join(self.errors[:30])
        more = f"\n... and {len(self.errors) - 30} more" if len(self.errors) > 30 else ""
        super().__init__(f"{len(self.errors)} error(s) in routing cases:\n{shown}{more}")


@dataclass(frozen=True)
class Case:
    """One labelled enterprise problem: what the ticket says and where it should go."""

    id: str
    title: str
    description: str
    town: str | None
    county: str | None
    channel: str
    request_type: str | None
    category: str | None
    registered_by_town_centre: bool
    answered_locally: bool
    lead: str
    assist: tuple[str, ...]
    note: str
    file: str
    split: str

    def facts(self, town_county: Mapping[str, str] | None = None) -> TicketFacts:
        """The ticket facts the engine sees; the county comes from the town when not given.

        Facts that TicketFacts does not (yet) declare, such as the town-centre flags, are left out.
        """
        county = self.county
        if county is None and self.town is not None and town_county is not None:
            county = town_county.get(self.town)
        values: dict[str, Any] = {
            "channel": self.channel,
            "category": self.category,
            "request_type": self.request_type,
            "county": county,
            "town": self.town,
            "title": self.title,
            "description": self.description,
            "registered_by_town_centre": self.registered_by_town_centre,
            "answered_locally": self.answered_locally,
        }
        declared = {f.name for f in fields(TicketFacts)}
        return TicketFacts(**{k: v for k, v in values.items() if k in declared})


def case_files(path: Path) -> list[Path]:
    """The corpus files under a path: the file itself, or every *.yaml below a directory, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*.yaml") if p.is_file())
    return [path]


def load_cases(path: str | Path = DEFAULT_CASES_DIR, *, kinds: Collection[str] | None = None) -> list[Case]:
    """Every case of one YAML file or a directory tree; raises CaseError listing all problems.

    With `kinds`, every lead and assist must be one of those unit kinds.
    """
    root = Path(path)
    if not root.exists():
        raise CaseError([f"{root}: not found"])
    files = case_files(root)
    if not files:
        raise CaseError([f"{root}: no *.yaml case files"])
    errors: list[str] = []
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for file in files:
        for case in _read_file(file, errors, kinds):
            if case.id in seen:
                errors.append(f"{file}: [{case.id}] duplicate id (first in {seen[case.id]})")
                continue
            seen[case.id] = str(file)
            cases.append(case)
    if errors:
        raise CaseError(errors)
    return cases


def _read_file(file: Path, errors: list[str], kinds: Collection[str] | None) -> list[Case]:
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        errors.append(f"{file}: cannot read: {exc}".replace("\n", " "))
        return []
    if not isinstance(data, dict) or set(data) != {"cases"} or not isinstance(data["cases"], list):
        errors.append(f"{file}: must be a mapping with a single key `cases` holding a list")
        return []
    split_dir = next((part for part in reversed(file.parent.parts) if part in SPLITS), None)
    out = []
    for index, item in enumerate(data["cases"]):
        case = _parse_case(file, index, item, split_dir, errors, kinds)
        if case is not None:
            out.append(case)
    return out


def _parse_case(
    file: Path,
    index: int,
    item: Any,
    split_dir: str | None,
    errors: list[str],
    kinds: Collection[str] | None,
) -> Case | None:
    if not isinstance(item, dict):
        errors.append(f"{file}: [case #{index + 1}] must be a mapping")
        return None
    raw_id = item.get("id")
    case_id = raw_id if isinstance(raw_id, str) and raw_id else f"case #{index + 1}"
    problems: list[str] = []

    def text(key: str) -> str | None:
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"`{key}` must be a non-empty string")
            return None
        return value.strip()

    def code(key: str, allowed: Collection[str] | None = None) -> str | None:
        value = text(key)
        if value is None:
            return None
        if not _CODE.match(value):
            problems.append(f"`{key}` {value!r} is not a code (lower-case letters, digits, _)")
        elif allowed is not None and value not in allowed:
            problems.append(f"`{key}` {value!r} is not one of the known values")
        return value

    def flag(key: str) -> bool:
        value = item.get(key, False)
        if not isinstance(value, bool):
            problems.append(f"`{key}` must be true or false")
            return False
        return value

    unknown = sorted(str(k) for k in item if k not in _KEYS)
    if unknown:
        problems.append(f"unknown key(s): {', '.join(unknown)}")
    for key in _REQUIRED:
        if key not in item:
            problems.append(f"missing `{key}`")
    ident = text("id")
    split = None
    if ident is not None:
        match = _ID.match(ident)
        if not match:
            problems.append("`id` must start with dev- or test- and use lower-case letters, digits, - or _")
        else:
            split = match.group(1)
            if split_dir is not None and split != split_dir:
                problems.append(f"id says split {split!r} but the file is under {split_dir}/")
    title = text("title")
    description = text("description")
    lead_kinds = set(kinds) if kinds is not None else None
    lead = code("lead", lead_kinds)
    assist_raw = item.get("assist", [])
    assist: list[str] = []
    if not isinstance(assist_raw, list):
        problems.append("`assist` must be a list of unit kinds")
    else:
        for value in assist_raw:
            if not isinstance(value, str) or not _CODE.match(value):
                problems.append(f"`assist` entry {value!r} is not a code")
            elif lead_kinds is not None and value not in lead_kinds:
                problems.append(f"`assist` {value!r} is not one of the known values")
            elif value == lead or value in assist:
                problems.append(f"`assist` {value!r} repeats the lead or another assist")
            else:
                assist.append(value)
    request_type = code("request_type", REQUEST_TYPES)
    channel = code("channel") or DEFAULT_CHANNEL
    town = code("town")
    county = code("county")
    category = code("category")
    registered = flag("registered_by_town_centre")
    local = flag("answered_locally")
    if registered and town is None:
        problems.append("`registered_by_town_centre` needs the `town` whose centre registered it")
    if local and not registered:
        problems.append("`answered_locally` needs `registered_by_town_centre: true`")
    note = item.get("note", "")
    if not isinstance(note, str):
        problems.append("`note` must be a string")
        note = ""
    if problems or ident is None or split is None or title is None or description is None or lead is None:
        errors.extend(f"{file}: [{case_id}] {p}" for p in problems)
        return None
    return Case(
        id=ident,
        title=title,
        description=description,
        town=town,
        county=county,
        channel=channel,
        request_type=request_type,
        category=category,
        registered_by_town_centre=registered,
        answered_locally=local,
        lead=lead,
        assist=tuple(assist),
        note=note.strip(),
        file=str(file),
        split=split,
    )
