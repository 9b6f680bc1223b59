"""Measure a rule set on labelled cases: accuracy of the lead unit kind, hand-dispatch share, confusions, misses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .cases import Case
from .engine import RuleSet

HAND = "-"  # the decided kind of a case no rule routed (left to a dispatcher)


@dataclass(frozen=True)
class Miss:
    """A case whose lead went to the wrong kind of unit (or to hand dispatch)."""

    case_id: str
    title: str
    expected: str
    decided: str  # a unit kind, or HAND
    lead_unit: str | None
    rule_id: str | None  # the rule that won
    score: float | None
    should_rule_id: str | None  # the best-scoring rule that holds and leads to the expected kind
    should_lead_unit: str | None
    should_score: float | None
    file: str


@dataclass(frozen=True)
class Report:
    """The evaluation of one rule set on one set of cases."""

    total: int
    correct: int
    hand_dispatch: int
    confusion: dict[str, dict[str, int]]  # expected kind -> decided kind (or HAND) -> cases
    misses: list[Miss] = field(default_factory=list)
    ruleset_version: str = ""

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def hand_dispatch_share(self) -> float:
        return self.hand_dispatch / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy."""
        return {
            "ruleset_version": self.ruleset_version,
            "cases": self.total,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 4),
            "hand_dispatch": self.hand_dispatch,
            "hand_dispatch_share": round(self.hand_dispatch_share, 4),
            "confusion": self.confusion,
            "misses": [asdict(m) for m in self.misses],
        }

    def lines(self) -> list[str]:
        """The report as plain text: summary, confusion table (rows: labelled kind), every miss."""
        out = [
            f"规则集版本 ruleset {self.ruleset_version}: {self.total} cases",
            f"准确率 accuracy: {self.accuracy:.1%} ({self.correct}/{self.total})",
            f"转人工派单 hand dispatch: {self.hand_dispatch_share:.1%} ({self.hand_dispatch}/{self.total})",
            "",
            "混淆表 confusion (row: labelled lead kind; columns: decided kind, - = hand dispatch):",
        ]
        for expected in sorted(self.confusion):
            row = self.confusion[expected]
            n = sum(row.values())
            ok = row.get(expected, 0)
            wrong = ", ".join(f"{k} {c}" for k, c in sorted(row.items(), key=lambda kv: (-kv[1], kv[0]))
                              if k != expected)
            out.append(f"  {expected:<12} {ok:>3}/{n:<3} {wrong}")
        out += ["", f"未命中 misses ({len(self.misses)}):"]
        for m in self.misses:
            won = f"{m.rule_id} -> {m.lead_unit} ({m.score})" if m.rule_id else "no rule (hand dispatch)"
            should = (f"{m.should_rule_id} -> {m.should_lead_unit} ({m.should_score})" if m.should_rule_id
                      else "no rule leads there")
            out.append(f"  {m.case_id} [{m.expected} <- {m.decided}] {m.title}")
            out.append(f"      won: {won}; should have: {should}")
        return out


def evaluate_cases(
    ruleset: RuleSet, cases: Iterable[Case], unit_kind: Mapping[str, str], town_county: Mapping[str, str]
) -> Report:
    """Route every case and compare the decided lead's kind with the labelled one."""
    total = correct = hand = 0
    confusion: dict[str, Counter[str]] = {}
    misses: list[Miss] = []
    for case in cases:
        facts = case.facts(town_county)
        decision = ruleset.route(facts)
        decided = unit_kind.get(decision.lead_unit, decision.lead_unit) if decision.lead_unit else HAND
        total += 1
        hand += decided == HAND
        confusion.setdefault(case.lead, Counter())[decided] += 1
        if decided == case.lead:
            correct += 1
            continue
        should = next((r for r in ruleset.rank(facts) if unit_kind.get(r.lead, r.lead) == case.lead), None)
        misses.append(Miss(
            case_id=case.id, title=case.title, expected=case.lead, decided=decided,
            lead_unit=decision.lead_unit, rule_id=decision.rule_id,
            score=_score(decision) if decision.matched else None,
            should_rule_id=should.rule.id if should else None, should_lead_unit=should.lead if should else None,
            should_score=should.score if should else None, file=case.file,
        ))
    return Report(
        total=total, correct=correct, hand_dispatch=hand,
        confusion={kind: dict(sorted(row.items())) for kind, row in sorted(confusion.items())},
        misses=misses, ruleset_version=ruleset.version,
    )


def _score(decision: Any) -> float | None:
    """The winning rule's score, or the corpus model's confidence when the model decided."""
    reasons = decision.reasons
    if reasons.get("learnt"):
        return reasons["learnt"]["confidence"]
    return reasons["score"]["total"]
