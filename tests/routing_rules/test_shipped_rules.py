"""The default rule set shipped in routing_rules/rules: it loads, covers the ten services, routes sensibly."""

from __future__ import annotations

import json
import re

import pytest

from routing_rules import DEFAULT_RULES_DIR, RuleSet, check
from routing_rules.vocab import CATEGORIES

from .helpers import known_units, ticket


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return RuleSet.load(known_units=known_units())


def test_shipped_set_is_valid_and_large_enough(shipped: RuleSet) -> None:
    assert check(known_units=known_units()) == []
    assert len(shipped.rules) >= 60
    assert len({path.name for path in DEFAULT_RULES_DIR.glob("*.yaml")}) >= 5


def test_every_category_has_rules_and_a_catch_all(shipped: RuleSet) -> None:
    catch_alls = set()
    mentioned = set()
    for rule in shipped.rules:
        fields = dict(rule.fields)
        mentioned.update(fields.get("category", ()))
        if rule.set_category:
            mentioned.add(rule.set_category)
        if set(fields) == {"category"} and not rule.keywords:
            catch_alls.update(fields["category"])
    assert mentioned == set(CATEGORIES)
    assert catch_alls == set(CATEGORIES)


def test_every_rule_has_a_chinese_description(shipped: RuleSet) -> None:
    for rule in shipped.rules:
        assert re.search(r"[\u4e00-\u9fff]", rule.description), rule.id


def test_keyword_rules_outrank_keywordless_rules(shipped: RuleSet) -> None:
    keyword_rules = [r.priority for r in shipped.rules if r.keywords_any or r.keywords_all]
    keywordless = [r.priority for r in shipped.rules if not (r.keywords_any or r.keywords_all)]
    assert min(keyword_rules) > max(keywordless)


def test_only_local_matters_go_to_town_centres(shipped: RuleSet) -> None:
    # Functional-department matters must not be pushed down to towns (DOMAIN.md).
    to_towns = [r for r in shipped.rules if r.lead.kind == "town_centre"]
    for rule in to_towns:
        assert rule.file == "80_local.yaml" or dict(rule.fields).get("channel") == ("town_centre",), rule.id


EXAMPLES = [
    # (facts, rule id, lead, assisting units)
    (ticket("车间突然停电", "整条产线停了", county="yueqing"), "power-outage", "yueqing.power", ()),
    (ticket("停电", county="yueqing", urgency="critical"), "critical-power-outage", "yueqing.power", ("yueqing.jxj",)),
    (ticket("新厂房需要电力增容", county="ouhai"), "power-capacity", "ouhai.power", ()),
    (ticket("我司专利侵权问题", "同行仿制我们的阀门", county="ruian"), "ip-infringement", "ruian.scjgj", ()),
    (ticket("园区道路积水", "下雨后货车进不来", county="yueqing", town="yueqing_liushi"),
     "park-roads-drainage", "tc.yueqing_liushi", ()),
    (ticket("技改补助资金至今未到账", county="yongjia", category="policy"), "subsidy-unpaid", "yongjia.czj", ("yongjia.jxj",)),
    (ticket("外籍员工签证即将到期", county="lucheng"), "foreign-staff-visa", "city.crj", ()),
    (ticket("出口货物报关很慢", county="longwan"), "customs-clearance", "city.customs", ()),
    (ticket("急需招工", "缺普工两百人", county="ruian"), "labour-recruit", "ruian.rsj", ()),
    (ticket("申请高新技术企业认定", county="longgang"), "high-tech-enterprise", "longgang.kjj", ()),
    (ticket("环评审批进度", county="pingyang"), "eia-permit", "pingyang.sthjj", ()),
    (ticket("银行抽贷", "原有贷款到期不续", county="cangnan"), "finance-loan", "city.jrj", ()),
    (ticket("创业担保贷款怎么申请", county="cangnan"), "startup-guarantee-loan", "cangnan.rsj", ()),
    (ticket("货车通行证办理", county="ouhai"), "truck-pass", "city.jj", ()),
    (ticket("研发费用加计扣除", county="ruian"), "tax-incentive", "ruian.tax", ()),
    (ticket("项目备案和能耗指标", county="yueqing"), "project-approval", "yueqing.fgw", ()),
    (ticket("厂区天然气供应不足"), "gas-supply", "city.gas", ()),
    (ticket("工业互联网平台建设", county="wencheng"), "digital-transformation", "wencheng.jxj", ()),
    (ticket("3c认证", county="yueqing", enterprise_chain="electrical"), "electrical-certification", "yueqing.scjgj", ()),
    (ticket("有什么新政策", county="taishun", category="policy"), "fallback-policy", "taishun.jxj", ()),
]


@pytest.mark.parametrize(("facts", "rule_id", "lead", "assist"), EXAMPLES, ids=[e[1] for e in EXAMPLES])
def test_examples_route_where_an_operator_expects(shipped, facts, rule_id, lead, assist) -> None:
    decision = shipped.route(facts)
    assert (decision.rule_id, decision.lead_unit, decision.assisting_units) == (rule_id, lead, assist)
    assert shipped.explain(facts)[0] == decision


def test_critical_outage_carries_a_tight_sla(shipped: RuleSet) -> None:
    decision = shipped.route(ticket("配电房跳闸", county="ruian", urgency="critical"))
    assert decision.sla == {"accept_hours": 0.25}
    assert decision.set_category == "factor"


def test_local_matter_without_town_is_not_guessed(shipped: RuleSet) -> None:
    facts = ticket("园区道路积水", county="yueqing")
    decision, trace = shipped.explain(facts)
    assert decision.rule_id != "park-roads-drainage"
    local = next(t for t in trace if t.rule_id == "park-roads-drainage")
    assert local.failed == "lead: ticket has no town"


def test_county_bureau_falls_back_to_city_without_county(shipped: RuleSet) -> None:
    assert shipped.route(ticket("厂区停电")).lead_unit == "city.power"


def test_unmatched_ticket_goes_to_the_dispatcher(shipped: RuleSet) -> None:
    decision = shipped.route(ticket("你好", "想问一下"))
    assert not decision.matched and decision.lead_unit is None
    assert decision.ruleset_version == shipped.version
    json.dumps(decision.to_dict(), ensure_ascii=False)


def test_decision_is_json_able_with_reasons(shipped: RuleSet) -> None:
    decision = shipped.route(ticket("停电了", county="yueqing", category="factor"))
    data = json.loads(json.dumps(decision.to_dict(), ensure_ascii=False))
    assert data["rule_id"] == "power-outage"
    assert data["reasons"]["keywords_hit"] == ["停电"]
    assert data["assisting_units"] == []


def test_sla_overrides_only_on_urgency_specific_rules(shipped: RuleSet) -> None:
    # A rule's sla replaces the time-limit table's per-urgency values, so a rule that also
    # matches critical tickets could only loosen them; overrides stay on urgent/critical rules.
    for rule in shipped.rules:
        if rule.sla:
            assert set(dict(rule.fields).get("urgency", ("normal",))) <= {"urgent", "critical"}, rule.id


def test_high_tech_question_mentioning_ip_goes_to_science_bureau(shipped):
    facts = ticket("高新技术企业认定咨询", "企业今年想申报高新技术企业，想了解研发费用占比和知识产权数量要求。",
                   channel="bangqiyun", request_type="consult", county="yueqing", town="yueqing_liushi")
    assert shipped.route(facts).lead_unit == "yueqing.kjj"
