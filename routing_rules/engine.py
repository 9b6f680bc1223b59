"""The rule set: load once, then route tickets through an index instead of scanning every rule.

Among the rules whose conditions hold, the best evidence wins (see scoring.py); guards keep a complaint
against a town government away from that town's centre and keep what a centre answered on the spot with it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick

from .evaluate import decide, first_failure, holds, no_match, resolve
from .guards import AGAINST_TOWN, Guards, load_guards
from .loader import DEFAULT_RULES_DIR, load_directory
from .model import (
    Decision,
    Rule,
    RuleError,
    RuleSetError,
    RuleTrace,
    Target,
    TicketFacts,
)
from .scoring import breakdown, rule_weights, score
from .vocab import TOWN_CENTRE_PREFIX


def check(
    directory: str | Path | None = None, *, known_units: Collection[str], guards_file: str | Path | None = None
) -> list[RuleError]:
    """Every error in a rule directory and the guards file (empty list when both are valid)."""
    path = Path(directory) if directory is not None else DEFAULT_RULES_DIR
    guards, errors = load_guards(guards_file)
    return errors + load_directory(path, frozenset(known_units), guards).errors


@dataclass(frozen=True)
class Ranked:
    """A rule that holds for a ticket and may lead it (after the guards), with its score and lead unit."""

    rule: Rule
    score: float
    lead: str


@dataclass(frozen=True)
class _Guarding:
    """What the guards say about one ticket."""

    signals: frozenset[str]
    own_centre: str | None  # the ticket's own town centre, when it is a known unit
    against_town: bool  # the text complains about (or claims money from) that town's government
    stay_local: bool  # registered and answered on the spot by that centre

    def refuses(self, lead: str) -> str | None:
        """Why a guard keeps this lead from deciding the ticket, or None."""
        if self.against_town and lead == self.own_centre:
            return f"guard {AGAINST_TOWN}: the ticket complains about its own town government, so {lead} may not lead it"
        if self.stay_local and lead != self.own_centre:
            return f"guard answered_locally: the ticket stays with {self.own_centre}, which answered it on the spot"
        return None

    def notes(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.against_town:
            out.append({"guard": AGAINST_TOWN, "unit": self.own_centre, "effect": "may not lead or assist"})
        if self.stay_local:
            out.append({"guard": "answered_locally", "unit": self.own_centre, "effect": "only this unit may lead"})
        return out


class RuleSet:
    """A validated, ordered set of routing rules with a content version."""

    def __init__(
        self, rules: list[Rule], version: str, known_units: frozenset[str], directory: Path,
        guards: Guards | None = None,
    ) -> None:
        self.rules = rules
        self.version = version
        self.known_units = known_units
        self.directory = directory
        self.guards = guards if guards is not None else Guards((), "")
        self.weights = rule_weights(rules)
        # The lead of a rule that names a fixed unit, which needs no resolving per ticket.
        self._fixed_leads = tuple(r.lead.value if r.lead.kind == "unit" else None for r in rules)
        # The unit a county_bureau lead resolves to, per (ticket county, bureau kind), for every county of the
        # unit list and for no county; resolve() decides the rest.
        counties = {None, *(code.split(".", 1)[0] for code in known_units if "." in code)}
        kinds = {r.lead.value for r in rules if r.lead.kind == "county_bureau"}
        self._bureau_leads: dict[tuple[str | None, str], str] = {}
        for county in counties:
            for kind in kinds:
                unit, _ = resolve(Target("county_bureau", kind), TicketFacts(county=county), known_units)
                if unit is not None:
                    self._bureau_leads[county, kind] = unit
        self._plans = tuple(
            (r.field_sets, r.signal_set, r.all_lower, r.any_lower, r.none_lower, w) for r, w in zip(rules, self.weights)
        )
        self._party_words = self.guards.party_words if self.guards.signals else frozenset()
        self._build_index()

    @classmethod
    def load(
        cls, directory: str | Path | None = None, *, known_units: Collection[str],
        guards_file: str | Path | None = None,
    ) -> RuleSet:
        """Load and validate a rule directory and the guards file; raises RuleSetError listing every error."""
        path = Path(directory) if directory is not None else DEFAULT_RULES_DIR
        known = frozenset(known_units)
        guards, errors = load_guards(guards_file)
        result = load_directory(path, known, guards)
        errors += result.errors
        if errors:
            raise RuleSetError(errors)
        return cls(result.rules, result.version, known, path, guards)

    def __len__(self) -> int:
        return len(self.rules)

    def route(self, facts: TicketFacts) -> Decision:
        """The best-scoring rule's decision, scoring only the rules the index nominates."""
        text = facts.text()
        hits = self._hits(text)
        title = text[: len(facts.title.lower())] if facts.title else ""
        # Most tickets name no guard party and were not answered locally: no guard applies.
        if hits.isdisjoint(self._party_words) and not (facts.answered_locally and facts.registered_by_town_centre):
            guarding = None
            signals = _NO_SIGNALS
        else:
            guarding = self._guarding(facts, text, hits)
            signals = guarding.signals if guarding else _NO_SIGNALS
        # holds() and score(), inlined over per-rule tuples: this loop is most of a decision's cost.
        plans = self._plans
        ranked = []
        for ordinal in self._candidates(facts, hits, signals):
            fields, wanted, all_words, any_words, none_words, weights = plans[ordinal]
            for key, allowed in fields:
                value = getattr(facts, key)
                if value is None or value not in allowed:
                    break
            else:
                if (wanted and not wanted <= signals) or (all_words and not all_words <= hits) \
                        or (any_words and any_words.isdisjoint(hits)) or (none_words and not none_words.isdisjoint(hits)):
                    continue
                plain = weights.plain
                ranked.append((-(plain if plain is not None else score(weights, hits, title)), ordinal))
        return self._decide(ranked, facts, hits, title, guarding)

    def rank(self, facts: TicketFacts) -> list[Ranked]:
        """Every rule that holds and may lead the ticket, best first (the first one is route()'s decision)."""
        text = facts.text()
        hits = self._hits(text)
        title = text[: len(facts.title.lower())] if facts.title else ""
        guarding = self._guarding(facts, text, hits)
        out = []
        for neg, ordinal in sorted(
            (-score(self.weights[o], hits, title), o)
            for o in self._candidates(facts, hits, guarding.signals if guarding else _NO_SIGNALS)
            if holds(self.rules[o], facts, hits, guarding.signals if guarding else _NO_SIGNALS)
        ):
            lead, _ = resolve(self.rules[ordinal].lead, facts, self.known_units)
            if lead is not None and (guarding is None or guarding.refuses(lead) is None):
                out.append(Ranked(self.rules[ordinal], -neg, lead))
        return out

    def explain(self, facts: TicketFacts) -> tuple[Decision, list[RuleTrace]]:
        """Evaluate every rule without the index; same decision as route(), plus a trace."""
        text = facts.text()
        # Plain substring tests rather than the automaton, so explain() doubles as the oracle
        # that route()'s index and automaton are checked against.
        hits = {k for k in self._words if k in text}
        title = text[: len(facts.title.lower())] if facts.title else ""
        guarding = self._guarding(facts, text, hits)
        traces: list[RuleTrace] = []
        ranked = []
        for ordinal, rule in enumerate(self.rules):
            failed = first_failure(rule, facts, hits, guarding.signals if guarding else frozenset())
            value = None
            if failed is None:
                value = score(self.weights[ordinal], hits, title)
                ranked.append((-value, ordinal))
                lead, why = resolve(rule.lead, facts, self.known_units)
                failed = f"lead: {why}" if lead is None else (guarding.refuses(lead) if guarding else None)
            traces.append(RuleTrace(rule.id, rule.file, rule.line, rule.priority, failed is None, failed,
                                    value if failed is None else None))
        return self._decide(ranked, facts, hits, title, guarding), traces

    def _decide(
        self, ranked: list[tuple[float, int]], facts: TicketFacts, hits: set[str], title: str,
        guarding: _Guarding | None,
    ) -> Decision:
        """The decision of the best rule that may lead, with its score and the runner-up's."""
        if len(ranked) > 1:
            ranked.sort()
        found: list[tuple[float, int, str]] = []
        rules, known, fixed_leads, bureau_leads = self.rules, self.known_units, self._fixed_leads, self._bureau_leads
        for neg, ordinal in ranked:
            lead = fixed_leads[ordinal]
            if lead is None:
                target = rules[ordinal].lead
                lead = bureau_leads.get((facts.county, target.value)) if target.kind == "county_bureau" else None
                if lead is None:
                    lead, _ = resolve(target, facts, known)
                    if lead is None:
                        continue
            if guarding is None or guarding.refuses(lead) is None:
                found.append((-neg, ordinal, lead))
                if len(found) == 2:
                    break
        if not found:
            notes = guarding.notes() if guarding else []
            return no_match(self.version, {h for h in hits if h in self._rule_words}, {"guards": notes})
        total, ordinal, lead = found[0]
        weights = self.weights

        def extra() -> dict[str, Any]:
            """The winner's score breakdown, the runner-up's and the guards' notes."""
            out: dict[str, Any] = {
                "score": breakdown(weights[ordinal], hits, title, total),
                "runner_up": None,
                "guards": guarding.notes() if guarding else [],
            }
            if len(found) > 1:
                other_total, other_at, other_lead = found[1]
                other = rules[other_at]
                out["runner_up"] = {
                    "rule_id": other.id, "rule_file": other.file, "priority": other.priority,
                    "lead_unit": other_lead, "score": breakdown(weights[other_at], hits, title, other_total),
                }
            return out

        exclude = guarding.own_centre if guarding and guarding.against_town else None
        return decide(rules[ordinal], lead, facts, hits, known, self.version, extra=extra, exclude=exclude)

    def _guarding(self, facts: TicketFacts, text: str, hits: set[str]) -> _Guarding | None:
        """What the guards say about the ticket; None (the common case) when nothing applies."""
        signals = self.guards.detect(text, hits)
        if not signals and not (facts.answered_locally and facts.registered_by_town_centre):
            return None
        own = TOWN_CENTRE_PREFIX + facts.town if facts.town else None
        if own is not None and own not in self.known_units:
            own = None
        against = own is not None and AGAINST_TOWN in signals
        stay = own is not None and not against and facts.registered_by_town_centre and facts.answered_locally
        return _Guarding(signals, own, against, bool(stay))

    def _build_index(self) -> None:
        """One automaton over every keyword; rules listed under the keywords that can trigger them."""
        triggers: dict[str, list[int]] = {}
        by_category: dict[str, list[int]] = {}
        gated: dict[str, list[int]] = {}
        always: list[int] = []
        words: set[str] = set()
        for ordinal, rule in enumerate(self.rules):
            words.update(rule.keywords)
            trigger = _trigger_keywords(rule)
            for word in trigger:
                triggers.setdefault(word, []).append(ordinal)
            if trigger:
                continue
            # Keyword-less rules are candidates for every ticket, except that a condition every ticket
            # does not meet narrows them: a category (the usual catch-all), a town-centre flag, a signal.
            fields = dict(rule.fields)
            categories = fields.get("category")
            flag = next((f for f in _GATE_FLAGS if fields.get(f) == (True,)), None)
            if categories:
                for category in categories:
                    by_category.setdefault(category, []).append(ordinal)
            elif flag is not None:
                gated.setdefault(flag, []).append(ordinal)
            elif rule.signals:
                gated.setdefault("signal:" + rule.signals[0], []).append(ordinal)
            else:
                always.append(ordinal)
        self._rule_words = frozenset(words)
        self._words = frozenset(words | self.guards.words)
        self._triggers = {word: tuple(ordinals) for word, ordinals in triggers.items()}
        self._gated = {key: tuple(ordinals) for key, ordinals in gated.items()}
        # Per category, the keyword-less candidates already merged, so a ticket costs one lookup.
        self._always = tuple(always)
        self._always_for = {
            cat: tuple(sorted({*ordinals, *always})) for cat, ordinals in by_category.items()
        }
        self._automaton = None
        if self._words:
            self._automaton = ahocorasick.Automaton()
            for word in self._words:
                self._automaton.add_word(_as_bytes(word), word)
            self._automaton.make_automaton()

    def _hits(self, text: str) -> set[str]:
        """Lower-cased words of the set (rule keywords and guard words) found in the (lower-cased) text: one pass."""
        if self._automaton is None:
            return set()
        return {word for _, word in self._automaton.iter(_as_bytes(text))}

    def _candidates(self, facts: TicketFacts, hits: set[str], signals: frozenset[str]) -> Collection[int]:
        """Ordinals of the rules that could match (in no particular order)."""
        always = self._always
        if facts.category is not None:
            always = self._always_for.get(facts.category, always)
        triggers = self._triggers
        lists = [triggers[word] for word in hits if word in triggers]
        gated = self._gated
        if gated:
            if facts.registered_by_town_centre is True and "registered_by_town_centre" in gated:
                lists.append(gated["registered_by_town_centre"])
            if facts.answered_locally is True and "answered_locally" in gated:
                lists.append(gated["answered_locally"])
            if signals:
                lists.extend(gated["signal:" + s] for s in signals if "signal:" + s in gated)
        if not lists:
            return always
        if len(lists) == 1 and not always:
            return lists[0]
        return set(always).union(*lists)


_GATE_FLAGS = ("registered_by_town_centre", "answered_locally")
_NO_SIGNALS: frozenset[str] = frozenset()


def _as_bytes(text: str) -> str:
    """The text's UTF-8 bytes, one character per byte, for the automaton."""
    # pyahocorasick scans a trie node's children linearly; over Chinese text the root has hundreds
    # of children (one per distinct first character) and is rescanned after every mismatch. Over
    # UTF-8 bytes no node has more than 256 children and the root only a handful (lead bytes), which
    # makes matching about twice as fast. UTF-8 is self-synchronising, so a byte match of a keyword
    # is always a character match; surrogatepass keeps lone surrogates from raising.
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def _trigger_keywords(rule: Rule) -> frozenset[str]:
    """Keywords whose presence makes the rule a candidate; empty when it has no positive keywords."""
    if rule.all_lower:
        # Every keywords_all word must be present, so one of them suffices as the trigger;
        # the longest is usually the rarest and nominates the rule least often.
        return frozenset({max(rule.all_lower, key=lambda w: (len(w), w))})
    return rule.any_lower
