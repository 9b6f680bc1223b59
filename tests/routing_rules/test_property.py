"""Property: the indexed route() decides exactly like evaluating every rule.

Random rule sets (many priority ties, overlapping and mixed-case keywords, unresolvable
targets) against random tickets; compared with explain() and with an oracle written here
that scores every rule from the documented formula and takes the best one.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing_rules import RuleSet, TicketFacts
from routing_rules.scoring import (
    CONDITION_WEIGHT, DESCRIPTION_WEIGHT, EXTRA_HIT_SHARE, PHRASE_CAP, PRIORITY_WEIGHT, TITLE_WEIGHT,
)

UNITS = frozenset({
    "city.jxj", "city.power", "yueqing.power", "ruian.power", "city.jrj", "yueqing.only",
    "yueqing.jxj", "tc.yueqing_liushi", "tc.ruian_tangxia",
})
FIELDS = {
    "channel": ["hotline_96666", "bangqiyun", "town_centre"],
    "category": ["policy", "factor", "legal"],
    "request_type": ["consult", "complaint"],
    "urgency": ["normal", "critical"],
    "county": ["yueqing", "ruian", "dongtou"],
    "town": ["yueqing_liushi", "ruian_tangxia", "dongtou_ghost"],
    "enterprise_tier": ["little_giant", "innovative"],
    "enterprise_chain": ["electrical", "pump_valve"],
}
KEYWORDS = ["停电", "电", "停", "ab", "B", "abc", "Ab", "积水", "水"]
TARGETS = [
    {"unit": "city.jxj"}, {"county_bureau": "power"}, {"county_bureau": "jrj"},
    {"county_bureau": "only"}, {"town_centre": True},
]

maybe = st.integers(0, 3).map(lambda n: n == 0)  # a condition is present about a quarter of the time
keyword_list = st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=3, unique=True)


# Strategies are built once: hypothesis spends most of its time re-validating fresh ones.
field_values = {
    key: st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True)
    for key, values in FIELDS.items()
}
field_or_none = {key: st.none() | st.sampled_from(values) for key, values in FIELDS.items()}
targets = st.sampled_from(TARGETS)
# Arbitrary unicode (surrogates, characters whose lower case is longer) mixed in now and then.
text = st.lists(
    st.sampled_from([*KEYWORDS, "x", "AB", "电费", "停水", " "]) | st.text(max_size=3), max_size=5
).map("".join)


@st.composite
def when_clauses(draw) -> dict:
    when: dict = {}
    for key, values in field_values.items():
        if draw(maybe):
            picked = draw(values)
            when[key] = picked[0] if len(picked) == 1 and draw(st.booleans()) else picked
    for flag in ("above_scale", "registered_by_town_centre", "answered_locally"):
        if draw(maybe):
            when[flag] = draw(st.booleans())
    for key in ("keywords_any", "keywords_all", "keywords_none"):
        if draw(maybe):
            when[key] = draw(keyword_list)
    return when


@st.composite
def rule_dicts(draw, rule_id: str) -> dict:
    route = {"lead": draw(targets)}
    if draw(maybe):
        route["assist"] = draw(st.lists(targets, max_size=3))
    return {"id": rule_id, "priority": draw(st.integers(0, 4)), "when": draw(when_clauses()), "route": route}


@st.composite
def rule_files(draw) -> list[list[dict]]:
    sizes = draw(st.lists(st.integers(0, 6), min_size=1, max_size=3))
    return [[draw(rule_dicts(f"f{f}-r{p}")) for p in range(size)] for f, size in enumerate(sizes)]


@st.composite
def facts(draw) -> TicketFacts:
    kwargs = {key: draw(strategy) for key, strategy in field_or_none.items()}
    return TicketFacts(
        **kwargs, above_scale=draw(st.none() | st.booleans()), title=draw(text), description=draw(text),
        registered_by_town_centre=draw(st.booleans()), answered_locally=draw(st.booleans()),
    )


def oracle_resolve(target: dict, f: TicketFacts) -> str | None:
    if "unit" in target:
        return target["unit"]
    if "town_centre" in target:
        return f"tc.{f.town}" if f.town and f"tc.{f.town}" in UNITS else None
    for code in (f"{f.county}.{target['county_bureau']}" if f.county else None, f"city.{target['county_bureau']}"):
        if code in UNITS:
            return code
    return None


def oracle_holds(when: dict, f: TicketFacts) -> bool:
    text = f"{f.title}\n{f.description}".lower()
    for key, wanted in when.items():
        wanted = wanted if isinstance(wanted, list) else [wanted]
        if key == "keywords_any" and not any(k.lower() in text for k in wanted):
            return False
        if key == "keywords_all" and not all(k.lower() in text for k in wanted):
            return False
        if key == "keywords_none" and any(k.lower() in text for k in wanted):
            return False
        if not key.startswith("keywords") and getattr(f, key) not in wanted:
            return False  # None is never in wanted
    return True


def oracle_score(rule: dict, f: TicketFacts, usage: Counter) -> float:
    """The documented score: priority prior + conditions + keyword evidence by place and specificity."""
    text = f"{f.title}\n{f.description}".lower()
    title = text[: len(f.title.lower())]

    def weight(word: str) -> float:
        spec = min(len(word), PHRASE_CAP) / 2 / math.sqrt(usage[word])
        return spec * (TITLE_WEIGHT if word in title else DESCRIPTION_WEIGHT)

    when = rule["when"]
    conditions = [key for key in when if not key.startswith("keywords")]
    total = rule["priority"] * PRIORITY_WEIGHT + CONDITION_WEIGHT * len(conditions)
    for word in dict.fromkeys(k.lower() for k in when.get("keywords_all", [])):
        total += weight(word)
    found = [weight(w) for w in dict.fromkeys(k.lower() for k in when.get("keywords_any", [])) if w in text]
    if found:
        total += max(found) + EXTRA_HIT_SHARE * (sum(found) - max(found))
    return round(total, 4)


def oracle(files: list[list[dict]], f: TicketFacts) -> tuple[str | None, str | None]:
    """(rule id, lead unit) of the best-scoring rule that matches; ties by priority, file, position.

    A ticket its own town centre registered and answered on the spot may only be led by that centre.
    """
    usage: Counter = Counter()
    for rules in files:
        for rule in rules:
            when = rule["when"]
            usage.update({k.lower() for k in (*when.get("keywords_all", []), *when.get("keywords_any", []))})
    own = f"tc.{f.town}" if f.town and f"tc.{f.town}" in UNITS else None
    stay_local = own is not None and f.registered_by_town_centre and f.answered_locally
    best = None
    for fi, rules in enumerate(files):
        for pos, rule in enumerate(rules):
            lead = oracle_resolve(rule["route"]["lead"], f)
            if not oracle_holds(rule["when"], f) or lead is None or (stay_local and lead != own):
                continue
            key = (-oracle_score(rule, f, usage), -rule["priority"], fi, pos)
            if best is None or key < best[0]:
                best = (key, rule["id"], lead)
    return (best[1], best[2]) if best else (None, None)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=rule_files(), tickets=st.lists(facts(), min_size=1, max_size=8))
def test_indexed_route_equals_exhaustive_evaluation(files: list[list[dict]], tickets: list[TicketFacts]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for index, rules in enumerate(files):
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
            text = yaml.dump({"rules": rules}, Dumper=dumper, allow_unicode=True, sort_keys=False)
            Path(tmp, f"{index:02d}.yaml").write_text(text, encoding="utf-8")
        ruleset = RuleSet.load(tmp, known_units=UNITS)
    for ticket in tickets:
        decision = ruleset.route(ticket)
        exhaustive, trace = ruleset.explain(ticket)
        assert decision == exhaustive
        assert len(trace) == len(ruleset.rules)
        assert (decision.rule_id, decision.lead_unit) == oracle(files, ticket)
        if decision.matched:
            assert decision.lead_unit not in decision.assisting_units
            assert len(set(decision.assisting_units)) == len(decision.assisting_units)
