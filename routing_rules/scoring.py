"""Evidence score of a rule whose conditions hold: the highest score among the rules that hold decides.

score = priority prior + field and signal conditions + keyword evidence, where each positive keyword found
counts `specificity x place`:
- place: the title counts TITLE_WEIGHT, the description DESCRIPTION_WEIGHT;
- specificity: a longer phrase counts more (length / 2, capped at PHRASE_CAP characters) and a keyword that
  many rules share counts less (divided by the square root of the number of rules using it);
- every keywords_all word counts in full (they all had to be found); of the keywords_any words found the
  strongest counts in full and each further one EXTRA_HIT_SHARE of its weight;
- each field condition (category, channel, request_type, county, town, ...) and each signal counts
  CONDITION_WEIGHT, so a rule whose several conditions hold beats one that matched a single word;
- the priority is a prior (PRIORITY_WEIGHT per point) and, with the file order, the tie-breaker.
keywords_none stays a veto: a rule with an excluded word does not hold and is never scored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from .model import Rule

TITLE_WEIGHT = 2.0
DESCRIPTION_WEIGHT = 1.0
PHRASE_CAP = 6
EXTRA_HIT_SHARE = 0.5
CONDITION_WEIGHT = 1.0
PRIORITY_WEIGHT = 0.01
DIGITS = 4


@dataclass(frozen=True, slots=True)
class RuleWeights:
    """A rule's precomputed parts of the score: what does not depend on the ticket, and each keyword's specificity."""

    prior: float
    conditions: tuple[str, ...]
    fixed: float
    prior_shown: float
    conditions_shown: float
    all_words: tuple[tuple[str, float], ...]
    any_words: tuple[tuple[str, float], ...]
    # Derived, so that scoring a ticket only adds: the score of a rule without positive keywords, and per
    # keyword (word, value in the title, value in the description) and the rounded weights a breakdown shows.
    plain: float | None = field(init=False, repr=False, compare=False)
    all_values: tuple[tuple[str, float, float], ...] = field(init=False, repr=False, compare=False)
    any_values: tuple[tuple[str, float, float], ...] = field(init=False, repr=False, compare=False)
    all_shown: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...] = field(init=False, repr=False, compare=False)
    # per keywords_any word: (word, title full, title part, description full, description part), rounded
    any_shown: tuple[tuple[str, float, float, float, float], ...] = field(init=False, repr=False, compare=False)
    any_index: dict[str, int] = field(init=False, repr=False, compare=False)
    any_set: frozenset[str] = field(init=False, repr=False, compare=False)
    any_map: dict[str, tuple[float, float]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def values(words: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float, float], ...]:
            return tuple((w, spec * TITLE_WEIGHT, spec * DESCRIPTION_WEIGHT) for w, spec in words)

        setattr_ = object.__setattr__
        setattr_(self, "plain", None if self.all_words or self.any_words else round(self.fixed, DIGITS))
        setattr_(self, "all_values", values(self.all_words))
        setattr_(self, "any_values", values(self.any_words))
        setattr_(self, "any_index", {w: at for at, (w, _) in enumerate(self.any_words)})
        setattr_(self, "any_set", frozenset(self.any_index))
        setattr_(self, "any_map", {w: (t, d) for w, t, d in self.any_values})
        setattr_(self, "all_shown", tuple(
            (w, _keyword(w, "keywords_all", True, round(t, DIGITS)), _keyword(w, "keywords_all", False, round(d, DIGITS)))
            for w, t, d in self.all_values))
        setattr_(self, "any_shown", tuple(
            (w, round(t, DIGITS), round(t * EXTRA_HIT_SHARE, DIGITS), round(d, DIGITS), round(d * EXTRA_HIT_SHARE, DIGITS))
            for w, t, d in self.any_values))


def _keyword(word: str, condition: str, in_title: bool, weight: float) -> dict[str, Any]:
    return {"keyword": word, "condition": condition, "in": "title" if in_title else "description", "weight": weight}


def specificity(keyword: str, rules_using: int) -> float:
    """How much one found keyword says, before its place in the ticket is counted."""
    return min(len(keyword), PHRASE_CAP) / 2 / math.sqrt(max(rules_using, 1))


def rule_weights(rules: Sequence[Rule]) -> list[RuleWeights]:
    """Weights of every rule, in order; keyword rarity is counted over the whole set."""
    usage: Counter[str] = Counter()
    positive = []
    for rule in rules:
        words_all = tuple(dict.fromkeys(k.lower() for k in rule.keywords_all))
        words_any = tuple(dict.fromkeys(k.lower() for k in rule.keywords_any))
        positive.append((words_all, words_any))
        usage.update(set(words_all) | set(words_any))
    out = []
    for rule, (words_all, words_any) in zip(rules, positive):
        conditions = tuple(key for key, _ in rule.fields) + tuple(f"signal:{s}" for s in rule.signals)
        prior = rule.priority * PRIORITY_WEIGHT
        out.append(RuleWeights(
            prior=prior,
            conditions=conditions,
            fixed=prior + CONDITION_WEIGHT * len(conditions),
            prior_shown=round(prior, DIGITS),
            conditions_shown=round(CONDITION_WEIGHT * len(conditions), DIGITS),
            all_words=tuple((w, specificity(w, usage[w])) for w in words_all),
            any_words=tuple((w, specificity(w, usage[w])) for w in words_any),
        ))
    return out


def score(weights: RuleWeights, hits: Set[str], title: str) -> float:
    """The rule's score for a ticket whose found keywords are `hits`; `title` is the lower-cased title."""
    if weights.plain is not None:
        return weights.plain
    total = weights.fixed
    for word, in_title, in_description in weights.all_values:
        total += in_title if word in title else in_description
    if weights.any_values:
        found = weights.any_set.intersection(hits)
        if len(found) == 1:
            # One word found: it is the best and nothing is added in part.
            for word in found:
                in_title, in_description = weights.any_map[word]
                return round(total + (in_title if word in title else in_description), DIGITS)
        values = weights.any_values
        best = added = 0.0
        for at in sorted(map(weights.any_index.__getitem__, found)):
            word, in_title, in_description = values[at]
            value = in_title if word in title else in_description
            added += value
            if value > best:
                best = value
        total += best + EXTRA_HIT_SHARE * (added - best)
    return round(total, DIGITS)


def found_at(weights: RuleWeights, found: Set[str]) -> list[int]:
    """Positions, in the rule's order (the order the score adds them in), of the keywords_any words `found`."""
    if len(found) == 1:
        for word in found:
            return [weights.any_index[word]]
    return sorted(map(weights.any_index.__getitem__, found))


def scored(weights: RuleWeights, found: Set[str], title: str, total: float) -> dict[str, Any]:
    """The score (`total`, as score() gave it) and its parts, as stored in a decision's reasons, for a rule whose
    keywords_any words in the text are `found`. The keywords list the keywords_all words, then the found
    keywords_any words in the rule's order, each with its place and the weight it added: the strongest
    keywords_any word in full (the first one on a tie), the others in part."""
    keywords = [dict(t if word in title else d) for word, t, d in weights.all_shown] if weights.all_shown else []
    if len(found) == 1:
        for word in found:
            _, full_t, _, full_d, _ = weights.any_shown[weights.any_index[word]]
            if word in title:
                keywords.append({"keyword": word, "condition": "keywords_any", "in": "title", "weight": full_t})
            else:
                keywords.append({"keyword": word, "condition": "keywords_any", "in": "description", "weight": full_d})
    elif found:
        positions = found_at(weights, found)
        values, shown = weights.any_values, weights.any_shown
        best_at, best = -1, 0.0
        for at in positions:
            word, in_title, in_description = values[at]
            value = in_title if word in title else in_description
            if value > best:
                best_at, best = at, value
        for at in positions:
            word, full_t, part_t, full_d, part_d = shown[at]
            if word in title:
                keywords.append({"keyword": word, "condition": "keywords_any", "in": "title",
                                 "weight": full_t if at == best_at else part_t})
            else:
                keywords.append({"keyword": word, "condition": "keywords_any", "in": "description",
                                 "weight": full_d if at == best_at else part_d})
    return {
        "total": total,
        "priority": weights.prior_shown,
        "conditions": list(weights.conditions) if weights.conditions else [],
        "conditions_weight": weights.conditions_shown,
        "keywords": keywords,
    }


def comparison(reasons: dict[str, Any]) -> dict[str, Any] | None:
    """Why the winner beat the runner-up, part by part (None for a decision without a score)."""
    win = reasons.get("score")
    if not win:
        return None
    runner = reasons.get("runner_up") or {}
    other = runner.get("score") or {"total": None, "priority": 0.0, "conditions_weight": 0.0, "keywords": []}

    def parts(s: dict[str, Any]) -> dict[str, float]:
        return {"priority": s["priority"], "conditions": s["conditions_weight"],
                "keywords": round(sum(k["weight"] for k in s["keywords"]), DIGITS)}

    mine, theirs = parts(win), parts(other)
    win_words = {k["keyword"] for k in win["keywords"]}
    their_words = {k["keyword"] for k in other["keywords"]}
    return {
        "winner": {"total": win["total"], **mine},
        "runner_up": {"rule_id": runner.get("rule_id"), "lead_unit": runner.get("lead_unit"),
                      "total": other["total"], **theirs} if runner else None,
        "margin": round(win["total"] - other["total"], DIGITS) if runner else None,
        "difference": {k: round(mine[k] - theirs[k], DIGITS) for k in mine} if runner else None,
        "winner_only_keywords": sorted(win_words - their_words),
        "runner_up_only_keywords": sorted(their_words - win_words),
    }
