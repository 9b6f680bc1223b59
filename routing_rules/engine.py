"""The rule set: load once, then route tickets through an index instead of scanning every rule.

Among the rules whose conditions hold, the best evidence wins (see scoring.py); guards keep a complaint
against a town government away from that town's centre and keep what a centre answered on the spot with it.
Where the winner's evidence is weak (no keyword, or one keyword found only in the description), where it is contested
too (learnt.yaml `consult: contested`: every keyword found only in the description, and the runner-up rule leading
another kind of unit), or on every ticket a rule routes (`consult: always`), the corpus model (learnt.py) may give
the lead to another unit kind it is confident of; the decision's reasons then say so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from functools import partial
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

import ahocorasick

from .evaluate import first_failure, holds, no_match, resolve
from .guards import AGAINST_TOWN, Guards, load_guards
from .learnt import DEFAULT_LEARNT_FILE, Learnt
from .learnt import as_bytes as _as_bytes
from .loader import DEFAULT_RULES_DIR, load_directory
from .model import (
    Decision,
    Rule,
    RuleError,
    RuleSetError,
    RuleTrace,
    Target,
    TicketFacts,
    read_only,
)
from .scoring import DIGITS, RuleWeights, found_at, rule_weights, score, scored
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


@dataclass(frozen=True, slots=True)
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
        guards: Guards | None = None, learnt: Learnt | None = None,
    ) -> None:
        self.rules = rules
        # The corpus model decides some tickets, so its sources are part of the version.
        self.learnt = learnt
        if learnt is not None:
            version = hashlib.sha256(f"{version}\0learnt\0{learnt.version}".encode()).hexdigest()[:12]
        self.version = version
        self.known_units = known_units
        self.directory = directory
        self.guards = guards if guards is not None else Guards((), "")
        self.weights = rule_weights(rules)
        # The lead of a rule that names a fixed unit, which needs no resolving per ticket, and the kind of a
        # county_bureau lead.
        self._fixed_leads = tuple(r.lead.value if r.lead.kind == "unit" else None for r in rules)
        self._bureau_kinds = tuple(r.lead.value if r.lead.kind == "county_bureau" else None for r in rules)
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
        self._plans = tuple((r.field_sets, r.signal_set, r.all_lower, r.any_lower, r.none_lower) for r in rules)
        self._party_words = self.guards.party_words if self.guards.signals else frozenset()
        # What a decision of each rule shows that does not depend on the ticket: its fixed fields (with the rule
        # when it has assisting units or time limits to add), and for its reasons the parts listed by _shown().
        self._decided = tuple(
            ({"matched": True, "rule_id": r.id, "rule_file": r.file, "priority": r.priority, "lead_unit": None,
              "assisting_units": (), "set_category": r.set_category, "sla": None, "ruleset_version": version},
             r if r.assist or r.sla else None)
            for r in rules
        )
        self._shown = tuple(_shown(r, w) for r, w in zip(rules, self.weights))
        self._named = tuple((r.id, r.file, r.priority) for r in rules)
        # Per ordinal: the ticket values its conditions read, as one C call (a part of the reasons' cache key).
        self._condition_values = tuple(attrgetter(*keys) if keys else None for keys, *_ in self._shown)
        # Per ordinal: whether the rule has no positive keyword (its evidence is always empty).
        self._no_words = tuple(not w.any_set and not w.all_values for w in self.weights)
        # Parts of reasons already built, by evidence (see _reasons).
        self._matched_parts: dict[Any, tuple[dict[str, Any], list[str], dict[str, Any]]] = {}
        self._runner_parts: dict[Any, dict[str, Any]] = {}
        self._assist_cache: dict[tuple[str, str | None, str | None, str, str | None], tuple[str, ...]] = {}
        # Per ordinal: how many keywords_all words the rule has (all found when it holds).
        self._all_counts = tuple(len(w.all_values) for w in self.weights)
        self._learnt_units: dict[tuple[str, str | None, str | None], str | None] = {}
        self._unit_kinds: dict[str, str] = {}
        self._build_index()

    @classmethod
    def load(
        cls, directory: str | Path | None = None, *, known_units: Collection[str],
        guards_file: str | Path | None = None, learnt: bool | None = None, learnt_file: str | Path | None = None,
    ) -> RuleSet:
        """Load and validate a rule directory and the guards file; raises RuleSetError listing every error.

        The corpus model (learnt_file, default routing_rules/learnt.yaml, when enabled there) is built for the
        shipped rule directory; `learnt` True or False builds it, or not, for any directory."""
        path = Path(directory) if directory is not None else DEFAULT_RULES_DIR
        known = frozenset(known_units)
        guards, errors = load_guards(guards_file)
        result = load_directory(path, known, guards)
        errors += result.errors
        if errors:
            raise RuleSetError(errors)
        if learnt is None:
            learnt = path.resolve() == DEFAULT_RULES_DIR.resolve()
        model = Learnt.load(learnt_file if learnt_file is not None else DEFAULT_LEARNT_FILE) if learnt else None
        return cls(result.rules, result.version, known, path, guards, model)

    def __len__(self) -> int:
        return len(self.rules)

    def route(self, facts: TicketFacts) -> Decision:
        """The best-scoring rule's decision, scoring only the rules the index nominates."""
        # facts.text(), with the lower-cased title kept: lower-casing the two apart gives the same text.
        title = facts.title.lower() if facts.title else ""
        text = f"{title}\n{(facts.description or '').lower()}"
        hits = self._hits(text)
        # Most tickets name no guard party and were not answered locally: no guard applies.
        if hits.isdisjoint(self._party_words) and not (facts.answered_locally and facts.registered_by_town_centre):
            guarding = None
            signals = _NO_SIGNALS
        else:
            guarding = self._guarding(facts, text, hits)
            signals = guarding.signals if guarding else _NO_SIGNALS
        # holds() and score(), inlined: this is most of a decision's cost. A rule with keywords_any only holds
        # once one of them is found; its posting under each word carries, for that word in the title and in the
        # description, the rule's score (negated, as ranked) and evidence when that word is the only one found,
        # the usual case; others are scored in full.
        postings = self._postings
        found: dict[int, tuple[float, frozenset[str], bool] | None] = {}
        for word in hits:
            posting = postings.get(word)
            if posting is not None:
                place = word in title
                for ordinal, in_title, in_description in posting:
                    found[ordinal] = None if ordinal in found else (in_title if place else in_description)
        if not self._excluded_by.isdisjoint(hits):  # a listed rule whose exclusion is found does not hold
            for ordinal, none_words in self._excluding.items():
                if ordinal in found and not none_words.isdisjoint(hits):
                    del found[ordinal]
        weights = self.weights
        ranked = []
        for ordinal, single in found.items():
            ranked.append((-score(weights[ordinal], hits, title) if single is None else single[0], ordinal))
        plans = self._plans
        for ordinal in self._candidates(facts, hits, signals):
            fields, wanted, all_words, any_words, none_words = plans[ordinal]
            for key, allowed in fields:
                value = getattr(facts, key)
                if value is None or value not in allowed:
                    break
            else:
                if (wanted and not wanted <= signals) or (all_words and not all_words <= hits) \
                        or (any_words and any_words.isdisjoint(hits)) or (none_words and not none_words.isdisjoint(hits)):
                    continue
                rule_weights = weights[ordinal]
                plain = rule_weights.plain
                ranked.append((-(plain if plain is not None else score(rule_weights, hits, title)), ordinal))
        return self._decide(ranked, facts, hits, title, guarding, found, text)

    def rank(self, facts: TicketFacts) -> list[Ranked]:
        """Every rule that holds and may lead the ticket, best first (the first one is route()'s decision)."""
        text = facts.text()
        hits = self._hits(text)
        title = text[: len(facts.title.lower())] if facts.title else ""
        guarding = self._guarding(facts, text, hits)
        signals = guarding.signals if guarding else _NO_SIGNALS
        out = []
        for neg, ordinal in sorted(
            (-score(self.weights[o], hits, title), o)
            for o, rule in enumerate(self.rules) if holds(rule, facts, hits, signals)
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
        return self._decide(ranked, facts, hits, title, guarding, text=text), traces

    def _decide(
        self, ranked: list[tuple[float, int]], facts: TicketFacts, hits: set[str], title: str,
        guarding: _Guarding | None, singles: dict[int, tuple[float, frozenset[str], bool] | None] | None = None,
        text: str = "",
    ) -> Decision:
        """The decision of the best rule that may lead; its reasons (with the winner's score breakdown and the
        runner-up's) are built on first read, from what this call found. `text` is the lower-cased text (title,
        newline, description) that the corpus model reads when it is asked."""
        if len(ranked) > 1:
            ranked.sort()
        first = runner = None
        fixed_leads, bureau_kinds, bureau_leads = self._fixed_leads, self._bureau_kinds, self._bureau_leads
        for neg, ordinal in ranked:
            lead = fixed_leads[ordinal]
            if lead is None:
                kind = bureau_kinds[ordinal]
                lead = bureau_leads.get((facts.county, kind)) if kind is not None else None
                if lead is None:
                    lead, _ = resolve(self.rules[ordinal].lead, facts, self.known_units)
                    if lead is None:
                        continue
            if guarding is not None and guarding.refuses(lead) is not None:
                continue
            if first is None:
                first = (-neg, ordinal, lead)
            else:
                runner = (-neg, ordinal, lead)
                break
        if first is None:
            notes = guarding.notes() if guarding else []
            return no_match(self.version, {h for h in hits if h in self._rule_words}, {"guards": notes})
        total, ordinal, lead = first
        # A ticket that stays with the centre that answered it cannot be moved by the model: only that centre may
        # lead it, and it is the rule's lead already.
        if self.learnt is not None and (guarding is None or not guarding.stay_local):
            # Weak evidence (learnt.weak): no keyword found, or one found only in the description. Checked here,
            # inline, because every decision pays for it; the model runs for weak ones, for contested ones too
            # (learnt.yaml consult: contested: every keyword in the description only, and the runner-up rule leads
            # another kind of unit), or for every one (consult: always).
            single = singles.get(ordinal, _ABSENT) if singles is not None else _ABSENT
            words = None
            if single is _ABSENT:
                words = self.weights[ordinal].any_set.intersection(hits)
                count = self._all_counts[ordinal] + len(words)
                weak_evidence = count == 0 or (count == 1 and not self._found_in_title(ordinal, words, title))
            else:
                count = 1
                weak_evidence = single is not None and not single[2]
            consult = self.learnt.consult
            why = "weak" if weak_evidence else "always" if consult == "always" else None
            if why is None and consult == "contested" and runner is not None:
                if single is None or single is _ABSENT:
                    if words is None:
                        words = self.weights[ordinal].any_set.intersection(hits)
                    in_title = self._found_in_title(ordinal, words, title)
                else:
                    in_title = single[2]
                if not in_title and self._unit_kind(runner[2]) != self._unit_kind(lead):
                    why = "contested"
            if why is not None:
                if single is None:  # found by several words: counted for the reasons
                    count = self._all_counts[ordinal] + len(self.weights[ordinal].any_set.intersection(hits))
                learnt = self._second_opinion(first, runner, facts, hits, title, text, guarding, singles, count, why)
                if learnt is not None:
                    return learnt
        decided, rule = self._decided[ordinal]
        fields = decided.copy()
        fields["lead_unit"] = lead
        if rule is not None:  # a rule with assisting units or its own time limits
            if rule.assist:
                exclude = guarding.own_centre if guarding is not None and guarding.against_town else None
                fields["assisting_units"] = self._assists(rule, facts, lead, exclude)
            if rule.sla:
                fields["sla"] = dict(rule.sla)
        return Decision.deferred(
            fields, partial(self._reasons, ordinal, total, runner, facts, hits, title, guarding, singles))

    def _unit_kind(self, unit: str) -> str:
        """_kind_of(unit), remembered (units are a short list)."""
        kind = self._unit_kinds.get(unit)
        if kind is None:
            if len(self._unit_kinds) >= _ASSIST_CACHE_SIZE:
                self._unit_kinds.clear()
            kind = self._unit_kinds[unit] = _kind_of(unit)
        return kind

    def _found_in_title(self, ordinal: int, words: Collection[str], title: str) -> bool:
        """Whether any keyword a rule found (`words`, of its keywords_any, or its keywords_all) is in the title."""
        return any(w in title for w in words) or any(w in title for w in self.rules[ordinal].all_lower)

    def _second_opinion(
        self, first: tuple[float, int, str], runner: tuple[float, int, str] | None, facts: TicketFacts,
        hits: set[str], title: str, text: str, guarding: _Guarding | None,
        singles: dict[int, tuple[float, frozenset[str], bool] | None] | None, found: int, why: str = "weak",
    ) -> Decision | None:
        """The corpus model's decision for a ticket (`found`: the keywords the winning rule found; `why` it is
        asked: "weak", 0 keywords or 1 in the description; "contested", every keyword in the description and the
        runner-up leading another kind; "always"), when the model is confident of another unit kind that
        may lead the ticket; None (the rule decides) otherwise. The model reads the lower-cased texts route() made."""
        total, ordinal, lead = first
        learnt = self.learnt
        model = learnt.model
        rule_kind = _kind_of(lead)
        top = model.consult(text, title, facts.request_type, facts.category, facts.channel, learnt.threshold,
                            rule_kind)
        if top is None:
            return None
        kind, confidence, scores = top
        description = text[len(title) + 1:]
        key = (kind, facts.county, facts.town)
        if key in self._learnt_units:
            unit = self._learnt_units[key]
        else:
            target = Target("town_centre") if kind == "town_centre" else Target("county_bureau", kind)
            unit, _ = resolve(target, facts, self.known_units)
            if len(self._learnt_units) >= _ASSIST_CACHE_SIZE:
                self._learnt_units.clear()
            self._learnt_units[key] = unit
        if unit is None or (guarding is not None and guarding.refuses(unit) is not None):
            return None
        fields = {"matched": True, "rule_id": f"{LEARNT_RULE_PREFIX}{kind}", "rule_file": DEFAULT_LEARNT_FILE.name,
                  "priority": 0, "lead_unit": unit, "assisting_units": (), "set_category": None, "sla": None,
                  "ruleset_version": self.version}
        return Decision.deferred(fields, partial(
            self._learnt_reasons, kind, confidence, scores, rule_kind, first, runner, facts, hits, title,
            description, guarding, singles, found, why))

    def _learnt_reasons(
        self, kind: str, confidence: float, scores: list[float], rule_kind: str,
        first: tuple[float, int, str], runner: tuple[float, int, str] | None, facts: TicketFacts, hits: set[str],
        title: str, description: str, guarding: _Guarding | None,
        singles: dict[int, tuple[float, frozenset[str], bool] | None] | None, found: int, why: str = "weak",
    ) -> dict[str, Any]:
        """Why the corpus model led: its confidence against the threshold, the words that weighed most for its
        kind over the rule's, and the rule it overrode with that rule's own reasons (score and runner-up)."""
        total, ordinal, lead = first
        learnt = self.learnt
        rule_id, rule_file, priority = self._named[ordinal]
        overridden = self._reasons(ordinal, total, runner, facts, hits, title, guarding, singles)
        probabilities = learnt.model.probabilities(scores)
        weakness = (("规则未命中任何关键词" if found == 0 else "规则只命中一个关键词，且只出现在描述中") if why == "weak"
                    else "规则命中的关键词都只出现在描述中，次优规则指向另一类单位" if why == "contested"
                    else "规则命中了关键词，但这些词可能只是顺带提到")
        feats = learnt.model.ticket_features(title, description, facts.request_type, facts.category, facts.channel)
        return {
            "conditions": {},
            "keywords_hit": list(overridden["keywords_hit"]),
            "learnt": {
                "kind": kind, "confidence": round(confidence, 4), "threshold": learnt.threshold,
                "model_version": learnt.version, "examples": learnt.examples,
                "why": f"{weakness}（{found} 个关键词）；语料模型判为 {kind} 的概率 {confidence:.2f}，"
                       f"不低于阈值 {learnt.threshold:g}",
                "probabilities": [{"kind": k, "p": round(p, 4)} for k, p in probabilities[:3]],
                "evidence": learnt.model.evidence(feats, kind, rule_kind),
            },
            "overridden": {"rule_id": rule_id, "rule_file": rule_file, "priority": priority, "lead_unit": lead,
                           "kind": rule_kind, **overridden},
            "runner_up": None,
            "guards": guarding.notes() if guarding is not None else [],
        }

    def _assists(self, rule: Rule, facts: TicketFacts, lead: str, exclude: str | None) -> tuple[str, ...]:
        """The rule's assisting units for this ticket: resolved, without the lead, repeats or `exclude`."""
        key = (rule.id, facts.county, facts.town, lead, exclude)
        assist = self._assist_cache.get(key)
        if assist is None:
            units: list[str] = []
            for target in rule.assist:
                unit, _ = resolve(target, facts, self.known_units)
                if unit is not None and unit != lead and unit not in units and unit != exclude:
                    units.append(unit)
            assist = tuple(units)
            if len(self._assist_cache) >= _ASSIST_CACHE_SIZE:
                self._assist_cache.clear()
            self._assist_cache[key] = assist
        return assist

    def _reasons(
        self, ordinal: int, total: float, runner: tuple[float, int, str] | None, facts: TicketFacts,
        hits: set[str], title: str, guarding: _Guarding | None,
        singles: dict[int, tuple[float, frozenset[str], bool] | None] | None = None,
    ) -> dict[str, Any]:
        """Why the rule decided: the ticket values and keywords that made it match, its score breakdown, the
        runner-up's and the guards' notes. The parts that depend only on the evidence (a rule, the keywords it
        found and where, the ticket values it checked) are built once, read-only, and shared. `singles` holds
        the evidence route() already has: rules found by one word."""
        single = singles.get(ordinal) if singles else None
        found, place = (single[1], single[2]) if single is not None else self._evidence(ordinal, hits, title)
        values = self._condition_values[ordinal]
        key = (ordinal, found, place, values(facts) if values is not None else ())
        matched = self._matched_parts.get(key)
        if matched is None:
            matched = self._remember(self._matched_parts, key, self._matched(ordinal, facts, hits, title, total))
        conditions, keywords_hit, score = matched
        runner_up = None
        if runner is not None:
            other_total, other_at, other_lead = runner
            single = singles.get(other_at) if singles else None
            other_found, other_place = (single[1], single[2]) if single is not None \
                else self._evidence(other_at, hits, title)
            key = (other_at, other_lead, other_found, other_place)
            runner_up = self._runner_parts.get(key)
            if runner_up is None:
                other_id, other_file, other_priority = self._named[other_at]
                other_weights = self.weights[other_at]
                runner_up = self._remember(self._runner_parts, key, read_only({
                    "rule_id": other_id, "rule_file": other_file, "priority": other_priority,
                    "lead_unit": other_lead, "score": scored(other_weights, other_found, title, other_total),
                }))
        return {
            "conditions": conditions,
            "keywords_hit": keywords_hit,
            "score": score,
            "runner_up": runner_up,
            "guards": guarding.notes() if guarding is not None else [],
        }

    def _evidence(self, ordinal: int, hits: set[str], title: str) -> tuple[frozenset[str], Any]:
        """The rule's keywords_any words found in the text, and where its found words are: whether the one found
        word is in the title, else the set of those in the title. With the rule, they decide its score."""
        if self._no_words[ordinal]:
            return _NO_WORDS, _NO_WORDS
        weights = self.weights[ordinal]
        found = weights.any_set.intersection(hits)
        words = found if not weights.all_values else (*(w for w, _, _ in weights.all_values), *found)
        if len(words) == 1:
            for word in words:
                return found, word in title
        return found, frozenset(filter(title.__contains__, words))

    def _matched(
        self, ordinal: int, facts: TicketFacts, hits: set[str], title: str, total: float,
    ) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
        """The winner's conditions (the ticket values and keywords that made it match), keywords hit and score
        breakdown, read-only."""
        keys, signals, words_all, origins, spelled = self._shown[ordinal]
        weights = self.weights[ordinal]
        conditions: dict[str, Any] = {key: getattr(facts, key) for key in keys}
        if signals:
            conditions["signals"] = list(signals)
        keywords_hit: list[str] = []
        if words_all:
            # The rule matched, so every keywords_all word is in the text.
            conditions["keywords_all"] = keywords_hit = list(words_all)
        found = weights.any_set.intersection(hits)
        if origins:
            at = found_at(weights, found)
            hit_any = list(spelled[at[0]]) if len(at) == 1 else \
                [w for _, w in sorted(p for a in at for p in origins[a])]
            conditions["keywords_any"] = hit_any
            keywords_hit = list(dict.fromkeys(keywords_hit + hit_any)) if keywords_hit else list(hit_any)
        return read_only(conditions), read_only(keywords_hit), read_only(scored(weights, found, title, total))

    @staticmethod
    def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
        """Keep a built part of reasons (a bounded cache: emptied when full) and return it."""
        if len(cache) >= _PARTS_CACHE_SIZE:
            cache.clear()
        cache[key] = value
        return value

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
        """One automaton over every keyword; rules listed under the keywords that can trigger them (a rule with
        keywords_any only, with each word's value: its postings)."""
        triggers: dict[str, list[int]] = {}
        gated: dict[str, list[int]] = {}
        keywordless: list[tuple[int, tuple[Any, ...] | None, tuple[Any, ...] | None]] = []
        words: set[str] = set()
        postings: dict[str, list[tuple[int, tuple[float, frozenset[str], bool], tuple[float, frozenset[str], bool]]]] = {}
        excluding: dict[int, frozenset[str]] = {}
        for ordinal, rule in enumerate(self.rules):
            words.update(rule.keywords)
            if rule.any_lower and not (rule.field_sets or rule.signal_set or rule.all_lower):
                # Holds as soon as one of its words is found (and none of its exclusions, checked in route()):
                # listed under each word with that word's value.
                if rule.none_lower:
                    excluding[ordinal] = frozenset(rule.none_lower)
                rule_weights = self.weights[ordinal]
                for word, in_title, in_description in rule_weights.any_values:
                    # Negated, as ranked: the score when this word is the only one found (see scoring.score).
                    alone = frozenset({word})
                    postings.setdefault(word, []).append((
                        ordinal, (-round(rule_weights.fixed + in_title, DIGITS), alone, True),
                        (-round(rule_weights.fixed + in_description, DIGITS), alone, False)))
                continue
            trigger = _trigger_keywords(rule)
            for word in trigger:
                triggers.setdefault(word, []).append(ordinal)
            if trigger:
                continue
            # Keyword-less rules are candidates for every ticket, except that a condition every ticket does not
            # meet narrows them: a town-centre flag or a signal; else the category and channel (the catch-alls).
            fields = dict(rule.fields)
            flag = next((f for f in _GATE_FLAGS if fields.get(f) == (True,)), None)
            if flag is not None:
                gated.setdefault(flag, []).append(ordinal)
            elif rule.signals:
                gated.setdefault("signal:" + rule.signals[0], []).append(ordinal)
            else:
                keywordless.append((ordinal, fields.get("category"), fields.get("channel")))
        self._rule_words = frozenset(words)
        self._words = frozenset(words | self.guards.words)
        self._triggers = {word: tuple(ordinals) for word, ordinals in triggers.items()}
        self._postings = {word: tuple(entries) for word, entries in postings.items()}
        self._excluding = excluding
        self._excluded_by = frozenset(word for words_ in excluding.values() for word in words_)
        self._gated = {key: tuple(ordinals) for key, ordinals in gated.items()}
        # Per (category, channel) that some keyword-less rule names (None: any other or none), those rules
        # already merged, so a ticket costs one lookup.
        self._gate_categories = frozenset(c for _, cats, _ in keywordless for c in cats or ())
        self._gate_channels = frozenset(c for _, _, chans in keywordless for c in chans or ())
        self._always_for = {
            (category, channel): tuple(
                o for o, cats, chans in keywordless
                if (cats is None or category in cats) and (chans is None or channel in chans))
            for category in (None, *self._gate_categories) for channel in (None, *self._gate_channels)
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
        return set(map(_second, self._automaton.iter(_as_bytes(text))))

    def _candidates(self, facts: TicketFacts, hits: set[str], signals: frozenset[str]) -> Collection[int]:
        """Ordinals of the rules, other than those listed in postings, that could match (in no particular order)."""
        category, channel = facts.category, facts.channel
        always = self._always_for[
            category if category in self._gate_categories else None,
            channel if channel in self._gate_channels else None,
        ]
        lists = []
        triggers = self._triggers
        for word in hits:
            ordinals = triggers.get(word)
            if ordinals is not None:
                lists.append(ordinals)
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


LEARNT_RULE_PREFIX = "learnt-"  # the rule id of a decision the corpus model made: learnt-<unit kind>
_GATE_FLAGS = ("registered_by_town_centre", "answered_locally")
_ASSIST_CACHE_SIZE = 4096
_second = itemgetter(1)  # the word of an automaton match (end, word)
_PARTS_CACHE_SIZE = 20000


def _shown(rule: Rule, weights: RuleWeights) -> tuple[
    tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[tuple[tuple[int, str], ...], ...], tuple[tuple[str, ...], ...]
]:
    """A rule's parts of a decision's reasons that do not depend on the ticket (see RuleSet._reasons): condition
    keys, signals, keywords_all and, per keywords_any word (lower-cased, in scoring order), its spellings in the
    rule with their places in the rule's list, and the spellings alone."""
    spellings: dict[str, list[tuple[int, str]]] = {}
    for place, (word, lower) in enumerate(rule.any_pairs):
        spellings.setdefault(lower, []).append((place, word))
    origins = tuple(tuple(spellings[word]) for word, _ in weights.any_words)
    spelled = tuple(tuple(word for _, word in pairs) for pairs in origins)
    return tuple(key for key, _ in rule.fields), rule.signals, rule.keywords_all, origins, spelled
_NO_SIGNALS: frozenset[str] = frozenset()
_NO_WORDS: frozenset[str] = frozenset()
_ABSENT = object()  # not among a route() call's single-word matches


def _kind_of(unit: str) -> str:
    """The kind of a unit code: town_centre for tc.*, else the part after the last dot (city.jxj, ruian.jxj)."""
    if unit.startswith(TOWN_CENTRE_PREFIX):
        return "town_centre"
    return unit.rsplit(".", 1)[-1]


def _trigger_keywords(rule: Rule) -> frozenset[str]:
    """Keywords whose presence makes the rule a candidate; empty when it has no positive keywords."""
    if rule.all_lower:
        # Every keywords_all word must be present, so one of them suffices as the trigger;
        # the longest is usually the rarest and nominates the rule least often.
        return frozenset({max(rule.all_lower, key=lambda w: (len(w), w))})
    return rule.any_lower
