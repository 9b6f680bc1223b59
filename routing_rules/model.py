"""Value types shared by the loader and the engine: facts in, decisions and traces out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TicketFacts:
    """What the rules may look at on a ticket; None means the ticket does not say."""

    channel: str | None = None
    category: str | None = None
    request_type: str | None = None
    urgency: str | None = None
    county: str | None = None
    town: str | None = None
    enterprise_tier: str | None = None
    enterprise_chain: str | None = None
    above_scale: bool | None = None
    title: str = ""
    description: str = ""
    # Registered by the ticket's own town centre, and marked by that centre as answered on the spot.
    registered_by_town_centre: bool = False
    answered_locally: bool = False

    def text(self) -> str:
        """The lower-cased text keyword conditions are matched against."""
        return f"{self.title or ''}\n{self.description or ''}".lower()


@dataclass(frozen=True)
class RuleError:
    """One problem in a rule file, located so an editor can jump to it."""

    file: str
    line: int
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: "
        return where + (f"[{self.rule_id}] " if self.rule_id else "") + self.message


class RuleSetError(Exception):
    """Raised when a rule set has errors; carries every one of them."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = list(errors)
        shown = "\n".join(str(e) for e in self.errors[:20])
        more = f"\n... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        super().__init__(f"{len(self.errors)} error(s) in rule set:\n{shown}{more}")


@dataclass(frozen=True)
class Target:
    """Where a rule sends a ticket: a fixed unit, the ticket's county bureau, or its town centre."""

    kind: str  # "unit" | "county_bureau" | "town_centre"
    value: str = ""  # unit code or bureau kind; empty for town_centre


@dataclass(frozen=True)
class Rule:
    """One validated rule, as the engine evaluates it."""

    id: str
    priority: int
    description: str
    file: str
    line: int
    position: int
    fields: tuple[tuple[str, tuple[Any, ...]], ...]
    keywords_all: tuple[str, ...]
    keywords_any: tuple[str, ...]
    keywords_none: tuple[str, ...]
    lead: Target
    assist: tuple[Target, ...] = ()
    set_category: str | None = None
    sla: tuple[tuple[str, float], ...] | None = None
    signals: tuple[str, ...] = ()
    # Derived lookup structures, so evaluation does no per-call conversion.
    field_sets: tuple[tuple[str, frozenset[Any]], ...] = field(init=False, repr=False, compare=False)
    all_lower: frozenset[str] = field(init=False, repr=False, compare=False)
    any_lower: frozenset[str] = field(init=False, repr=False, compare=False)
    none_lower: frozenset[str] = field(init=False, repr=False, compare=False)
    any_pairs: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    signal_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signal_set", frozenset(self.signals))
        object.__setattr__(self, "any_pairs", tuple((k, k.lower()) for k in self.keywords_any))
        object.__setattr__(self, "field_sets", tuple((k, frozenset(v)) for k, v in self.fields))
        object.__setattr__(self, "all_lower", frozenset(k.lower() for k in self.keywords_all))
        object.__setattr__(self, "any_lower", frozenset(k.lower() for k in self.keywords_any))
        object.__setattr__(self, "none_lower", frozenset(k.lower() for k in self.keywords_none))

    @property
    def keywords(self) -> tuple[str, ...]:
        """Every keyword of the rule, lower-cased, in the order written."""
        return tuple(k.lower() for k in (*self.keywords_all, *self.keywords_any, *self.keywords_none))


@dataclass(frozen=True)
class Decision:
    """The outcome of routing one ticket, with enough context to store and explain it."""

    matched: bool
    rule_id: str | None
    rule_file: str | None
    priority: int | None
    lead_unit: str | None
    assisting_units: tuple[str, ...]
    set_category: str | None
    sla: dict[str, float] | None
    ruleset_version: str
    reasons: dict[str, Any]

    @classmethod
    def deferred(cls, reasons: Callable[[], dict[str, Any]], **fields: Any) -> Decision:
        """A decision whose reasons are built on first read (the same dict, every time), so that routing does
        not pay for the score breakdowns until the decision is stored or shown."""
        decision = cls.__new__(cls)
        decision.__dict__.update(fields, _pending_reasons=reasons)
        return decision

    def __getattr__(self, name: str) -> Any:
        # Only reached for an attribute not yet set: the reasons of a deferred decision.
        pending = self.__dict__.get("_pending_reasons") if name == "reasons" else None
        if pending is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        reasons = self.__dict__.setdefault("reasons", pending())
        self.__dict__.pop("_pending_reasons", None)
        return reasons

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy, for storing next to the ticket."""
        out = asdict(self)
        out["assisting_units"] = list(self.assisting_units)
        return out


@dataclass(frozen=True)
class RuleTrace:
    """How one rule fared against one ticket; `failed` says why it did not match."""

    rule_id: str
    file: str
    line: int
    priority: int
    matched: bool
    failed: str | None
    score: float | None = None  # for a rule that matched and could lead: its evidence score

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy."""
        return asdict(self)
