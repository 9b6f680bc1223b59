"""The rule set: load once, then route tickets through an index instead of scanning every rule."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import ahocorasick

from .evaluate import decide, first_failure, holds, no_match, resolve
from .loader import DEFAULT_RULES_DIR, load_directory
from .model import Decision, Rule, RuleError, RuleSetError, RuleTrace, TicketFacts


def check(directory: str | Path | None = None, *, known_units: Collection[str]) -> list[RuleError]:
    """Every error in a rule directory (empty list when it is valid)."""
    path = Path(directory) if directory is not None else DEFAULT_RULES_DIR
    return load_directory(path, frozenset(known_units)).errors


class RuleSet:
    """A validated, ordered set of routing rules with a content version."""

    def __init__(self, rules: list[Rule], version: str, known_units: frozenset[str], directory: Path) -> None:
        self.rules = rules
        self.version = version
        self.known_units = known_units
        self.directory = directory
        self._build_index()

    @classmethod
    def load(cls, directory: str | Path | None = None, *, known_units: Collection[str]) -> RuleSet:
        """Load and validate a rule directory; raises RuleSetError listing every error."""
        path = Path(directory) if directory is not None else DEFAULT_RULES_DIR
        known = frozenset(known_units)
        result = load_directory(path, known)
        if result.errors:
            raise RuleSetError(result.errors)
        return cls(result.rules, result.version, known, path)

    def __len__(self) -> int:
        return len(self.rules)

    def route(self, facts: TicketFacts) -> Decision:
        """The first matching rule's decision, evaluating only the rules the index nominates."""
        hits = self._hits(facts.text())
        rules = self.rules
        for ordinal in self._candidates(facts, hits):
            rule = rules[ordinal]
            if holds(rule, facts, hits):
                lead, _ = resolve(rule.lead, facts, self.known_units)
                if lead is not None:
                    return decide(rule, lead, facts, hits, self.known_units, self.version)
        return no_match(self.version, hits)

    def explain(self, facts: TicketFacts) -> tuple[Decision, list[RuleTrace]]:
        """Evaluate every rule in order without the index; same decision as route(), plus a trace."""
        text = facts.text()
        # Plain substring tests rather than the automaton, so explain() doubles as the oracle
        # that route()'s index and automaton are checked against.
        hits = {k for rule in self.rules for k in rule.keywords if k in text}
        decision: Decision | None = None
        traces: list[RuleTrace] = []
        for rule in self.rules:
            failed = first_failure(rule, facts, hits)
            lead = None
            if failed is None:
                lead, why = resolve(rule.lead, facts, self.known_units)
                failed = None if lead is not None else f"lead: {why}"
            traces.append(RuleTrace(rule.id, rule.file, rule.line, rule.priority, failed is None, failed))
            if lead is not None and decision is None:
                decision = decide(rule, lead, facts, hits, self.known_units, self.version)
        return decision or no_match(self.version, hits), traces

    def _build_index(self) -> None:
        """One automaton over every keyword; rules listed under the keywords that can trigger them."""
        triggers: dict[str, list[int]] = {}
        by_category: dict[str, list[int]] = {}
        always: list[int] = []
        words: set[str] = set()
        for ordinal, rule in enumerate(self.rules):
            words.update(rule.keywords)
            trigger = _trigger_keywords(rule)
            for word in trigger:
                triggers.setdefault(word, []).append(ordinal)
            if trigger:
                continue
            # Keyword-less rules are candidates for every ticket, except that a category
            # condition (the usual catch-all) narrows them to tickets of those categories.
            categories = dict(rule.fields).get("category")
            for category in categories or ():
                by_category.setdefault(category, []).append(ordinal)
            if not categories:
                always.append(ordinal)
        self._triggers = {word: tuple(ordinals) for word, ordinals in triggers.items()}
        # Per category, the keyword-less candidates already merged, so a ticket costs one lookup.
        self._always = tuple(always)
        self._always_for = {
            cat: tuple(sorted({*ordinals, *always})) for cat, ordinals in by_category.items()
        }
        self._automaton = None
        if words:
            self._automaton = ahocorasick.Automaton()
            for word in words:
                self._automaton.add_word(_as_bytes(word), word)
            self._automaton.make_automaton()

    def _hits(self, text: str) -> set[str]:
        """Lower-cased keywords of the whole set found in the (lower-cased) text: one pass."""
        if self._automaton is None:
            return set()
        return {word for _, word in self._automaton.iter(_as_bytes(text))}

    def _candidates(self, facts: TicketFacts, hits: set[str]) -> Sequence[int]:
        """Ordinals of the rules that could match, in evaluation order."""
        always = self._always
        if facts.category is not None:
            always = self._always_for.get(facts.category, always)
        triggers = self._triggers
        lists = [triggers[word] for word in hits if word in triggers]
        if not lists:
            return always
        if len(lists) == 1 and not always:
            return lists[0]
        return sorted(set(always).union(*lists))


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
