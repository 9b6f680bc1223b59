"""The evaluation of a rule set on labelled cases: the report's figures, and the recorded dev accuracy."""

from __future__ import annotations

from pathlib import Path

import yaml

from routing_rules import RuleSet
from routing_rules.cases import DEFAULT_CASES_DIR, load_cases
from routing_rules.measure import HAND, evaluate_cases

from .helpers import known_units, write

REFERENCE = Path(__file__).resolve().parents[2] / "models" / "reference"


def test_report_on_a_tiny_case_set(tmp_path: Path) -> None:
    rules_dir, cases_dir = tmp_path / "rules", tmp_path / "dev"
    rules_dir.mkdir(), cases_dir.mkdir()
    write(rules_dir, "r.yaml", """
        rules:
          - {id: power, priority: 5, when: {keywords_any: [停电]}, route: {lead: {county_bureau: power}}}
          - {id: loan, priority: 7, when: {keywords_any: [贷款]}, route: {lead: {unit: city.jrj}}}
          - {id: tech-loan, priority: 1, when: {keywords_any: [技改贴息]}, route: {lead: {county_bureau: jxj}}}
    """)
    write(cases_dir, "c.yaml", """
        cases:
          - {id: dev-1, title: 厂区停电, description: 今天上午停电了, town: yueqing_liushi, lead: power}
          - {id: dev-2, title: 银行贷款, description: 想申请贷款, lead: jrj}
          - {id: dev-3, title: 咨询, description: 技改贴息贷款找哪个部门, county: ruian, lead: jxj}
          - {id: dev-4, title: 你好, description: 想问一下, lead: kjj}
          - {id: dev-5, title: 贷款问题, description: 我们的贷款, lead: jxj}
    """)
    ruleset = RuleSet.load(rules_dir, known_units=known_units())
    unit_kind = {code: code.split(".", 1)[1] for code in known_units()}
    report = evaluate_cases(ruleset, load_cases(cases_dir), unit_kind, {"yueqing_liushi": "yueqing"})
    assert (report.total, report.correct, report.hand_dispatch) == (5, 3, 1)
    assert report.accuracy == 0.6 and report.hand_dispatch_share == 0.2
    assert report.confusion == {"jrj": {"jrj": 1}, "jxj": {"jrj": 1, "jxj": 1}, "kjj": {HAND: 1}, "power": {"power": 1}}
    by_id = {m.case_id: m for m in report.misses}
    assert set(by_id) == {"dev-4", "dev-5"}
    assert (by_id["dev-4"].decided, by_id["dev-4"].rule_id, by_id["dev-4"].should_rule_id) == (HAND, None, None)
    miss = by_id["dev-5"]
    assert (miss.decided, miss.rule_id, miss.lead_unit, miss.should_rule_id) == ("jrj", "loan", "city.jrj", None)
    data = report.to_dict()
    assert data["accuracy"] == 0.6 and len(data["misses"]) == 2
    text = "\n".join(report.lines())
    assert "60.0%" in text and "dev-5" in text and "loan -> city.jrj" in text


def test_miss_names_the_rule_that_should_have_won(tmp_path: Path) -> None:
    rules_dir, cases_dir = tmp_path / "rules", tmp_path / "dev"
    rules_dir.mkdir(), cases_dir.mkdir()
    write(rules_dir, "r.yaml", """
        rules:
          - {id: patent, priority: 900, when: {keywords_any: [专利]}, route: {lead: {county_bureau: scjgj}}}
          - {id: coop, priority: 100, when: {keywords_any: [合作]}, route: {lead: {county_bureau: kjj}}}
    """)
    write(cases_dir, "c.yaml", """
        cases:
          - {id: dev-1, title: 专利, description: 合作研发的专利归属, county: ruian, lead: kjj}
    """)
    ruleset = RuleSet.load(rules_dir, known_units=known_units())
    unit_kind = {code: code.split(".", 1)[1] for code in known_units()}
    report = evaluate_cases(ruleset, load_cases(cases_dir), unit_kind, {})
    (miss,) = report.misses
    assert (miss.rule_id, miss.should_rule_id, miss.should_lead_unit) == ("patent", "coop", "ruian.kjj")
    assert miss.should_score < miss.score


def _reference_maps() -> tuple[dict[str, str], dict[str, str]]:
    units = yaml.safe_load((REFERENCE / "units.yaml").read_text(encoding="utf-8"))["items"]
    towns = yaml.safe_load((REFERENCE / "towns.yaml").read_text(encoding="utf-8"))["items"]
    return {u["code"]: u["kind"] for u in units}, {t["code"]: t["county"] for t in towns}


def test_dev_accuracy_does_not_drop_below_the_recorded_baseline() -> None:
    baseline = yaml.safe_load((DEFAULT_CASES_DIR.parent / "baseline.yaml").read_text(encoding="utf-8"))
    unit_kind, town_county = _reference_maps()
    ruleset = RuleSet.load(known_units=set(unit_kind))
    report = evaluate_cases(ruleset, load_cases(DEFAULT_CASES_DIR / "dev"), unit_kind, town_county)
    shown = "\n".join(report.lines())
    assert report.accuracy >= baseline["dev"]["accuracy"], shown
