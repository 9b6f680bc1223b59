"""Value types shared by the loader and the engine: facts in, decisions and traces out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True, slots=True)
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


class ReadOnlyDict(dict):  # type: ignore[type-arg]
    """A dict that refuses changes. Parts of decision reasons that depend only on the evidence (which keywords a
    rule found, and where) are built once and shared by every decision with that evidence; copy to change."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("decision reasons are read-only; copy them to change them")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (dict(self),)

    def __copy__(self) -> ReadOnlyDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadOnlyDict:
        return self


class ReadOnlyList(list):  # type: ignore[type-arg]
    """A list that refuses changes (see ReadOnlyDict)."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("decision reasons are read-only; copy them to change them")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = sort = \
        reverse = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (list(self),)

    def __copy__(self) -> ReadOnlyList:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadOnlyList:
        return self


def plain(value: Any) -> Any:
    """A copy of a JSON-like value in plain dicts and lists (at every depth)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def read_only(value: Any) -> Any:
    """A read-only copy of a JSON-like value (dicts and lists, at every depth)."""
    if isinstance(value, dict):
        return ReadOnlyDict((k, read_only(v)) for k, v in value.items())
    if isinstance(value, list):
        return ReadOnlyList(read_only(v) for v in value)
    return value


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
    def deferred(cls, values: dict[str, Any], reasons: Callable[[], dict[str, Any]]) -> Decision:
        """A decision whose reasons are built on first read (the same dict, every time), so that routing does
        not pay for the score breakdowns until the decision is stored or shown. `values` holds every other
        field; the dict is taken over, not copied."""
        decision = cls.__new__(cls)
        values["_pending_reasons"] = reasons
        object.__setattr__(decision, "__dict__", values)
        return decision

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy (plain dicts and lists at every depth), for storing next to the ticket."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["assisting_units"] = list(self.assisting_units)
        out["sla"] = dict(self.sla) if self.sla is not None else None
        out["reasons"] = plain(self.reasons)
        return out


class _DeferredReasons:
    """Decision.reasons for a deferred decision: built on first read and kept in the instance, whose own value
    (set by __init__ or the first read) shadows this non-data descriptor from then on."""

    def __get__(self, decision: Decision | None, owner: type | None = None) -> Any:
        if decision is None:
            return self
        values = decision.__dict__
        pending = values.pop("_pending_reasons", None)
        if pending is None:
            raise AttributeError(f"{type(decision).__name__!r} object has no attribute 'reasons'")
        reasons = values["reasons"] = pending()
        return reasons


# Set after the dataclass is built, so that it is not taken for the field's default.
Decision.reasons = _DeferredReasons()  # type: ignore[assignment]


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
