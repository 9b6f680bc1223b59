"""Rule evaluation shared by the indexed route() and the exhaustive explain()."""

from __future__ import annotations

from collections.abc import Collection, Set
from typing import Any

from .model import Decision, Rule, Target, TicketFacts
from .vocab import CITY_PREFIX, TOWN_CENTRE_PREFIX


def holds(rule: Rule, facts: TicketFacts, hits: Set[str], signals: Set[str] = frozenset()) -> bool:
    """Whether every condition of the rule holds; hits are the lower-cased keywords in the text."""
    for key, allowed in rule.field_sets:
        value = getattr(facts, key)
        if value is None or value not in allowed:
            return False
    if rule.signal_set and not rule.signal_set <= signals:
        return False
    if rule.all_lower and not rule.all_lower <= hits:
        return False
    if rule.any_lower and rule.any_lower.isdisjoint(hits):
        return False
    return not (rule.none_lower and not rule.none_lower.isdisjoint(hits))


def first_failure(rule: Rule, facts: TicketFacts, hits: Set[str], signals: Set[str] = frozenset()) -> str | None:
    """Why the rule's conditions do not hold (the first failing one), or None if they do."""
    for key, wanted in rule.fields:
        value = getattr(facts, key)
        if value is None:
            return f"{key}: ticket has no {key}"
        if value not in wanted:
            want = _show(wanted[0]) if len(wanted) == 1 else f"one of [{', '.join(map(_show, wanted))}]"
            return f"{key}: ticket has {_show(value)}, rule wants {want}"
    absent = [s for s in rule.signals if s not in signals]
    if absent:
        return f"signals: [{', '.join(absent)}] not in text"
    missing = [k for k in rule.keywords_all if k.lower() not in hits]
    if missing:
        return f"keywords_all: missing [{', '.join(missing)}] in text"
    if rule.keywords_any and rule.any_lower.isdisjoint(hits):
        return f"keywords_any: none of [{', '.join(rule.keywords_any)}] in text"
    found = [k for k in rule.keywords_none if k.lower() in hits]
    if found:
        return f"keywords_none: found [{', '.join(found)}] in text"
    return None


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def resolve(target: Target, facts: TicketFacts, known_units: Collection[str]) -> tuple[str | None, str]:
    """(unit code, "") for this ticket, or (None, why the target has no unit)."""
    if target.kind == "unit":
        return target.value, ""
    if target.kind == "town_centre":
        if not facts.town:
            return None, "ticket has no town"
        code = TOWN_CENTRE_PREFIX + facts.town
        return (code, "") if code in known_units else (None, f"{code} is not a known unit")
    if facts.county:
        code = f"{facts.county}.{target.value}"
        if code in known_units:
            return code, ""
    city = CITY_PREFIX + target.value
    if city in known_units:
        return city, ""
    county = f"county {facts.county}" if facts.county else "a ticket without county"
    return None, f"no {target.value} unit for {county} and {city} is not a known unit"


def no_match(version: str, hits: Set[str], extra: dict[str, Any] | None = None) -> Decision:
    """The decision when no rule matched; it lists every rule keyword found, for the dispatcher."""
    return Decision(
        matched=False, rule_id=None, rule_file=None, priority=None, lead_unit=None,
        assisting_units=(), set_category=None, sla=None, ruleset_version=version,
        reasons={"conditions": {}, "keywords_hit": sorted(hits), **(extra or {})},
    )
