"""Rules for the public-service, enforcement and judicial units, routed against the shipped unit catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from routing_rules import RuleSet, check

from .helpers import ticket

REFERENCE = Path(__file__).resolve().parents[2] / "models" / "reference"


def catalogue() -> frozenset[str]:
    """The unit codes of models/reference/units.yaml (the list production routes against)."""
    with open(REFERENCE / "units.yaml", encoding="utf-8") as fh:
        return frozenset(item["code"] for item in yaml.safe_load(fh)["items"])


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return RuleSet.load(known_units=catalogue())


def test_shipped_rules_are_valid_against_the_catalogue() -> None:
    assert check(known_units=catalogue()) == []


def test_every_unit_kind_is_the_lead_of_some_rule(shipped: RuleSet) -> None:
    with open(REFERENCE / "unit_kinds.yaml", encoding="utf-8") as fh:
        kinds = {item["code"] for item in yaml.safe_load(fh)["items"]}
    leads = {t.value for r in shipped.rules for t in (r.lead,) if t.kind == "county_bureau"}
    leads |= {t.value.split(".", 1)[1] for r in shipped.rules for t in (r.lead,) if t.kind == "unit"}
    leads |= {"town_centre"} if any(r.lead.kind == "town_centre" for r in shipped.rules) else set()
    assert kinds - leads == set()


EXAMPLES = [
    # (facts, rule id, lead unit)
    (ticket("员工子女入学", "外地员工的小孩入学积分不够，今年秋季孩子上学怎么办", county="yueqing"),
     "staff-children-school", "yueqing.jyj"),
    (ticket("职业健康体检", "车间粉尘岗位要做职业健康体检，去哪里备案", county="ruian"),
     "occupational-health", "ruian.wjw"),
    (ticket("医保报销", "员工异地就医医保报销比例怎么算", county="ouhai"), "medical-insurance", "ouhai.ybj"),
    (ticket("缓缴社保和医保", "想了解社保和医保能否缓缴", county="ouhai"), "medical-insurance", "ouhai.ybj"),
    (ticket("公积金缓缴", "企业困难想申请住房公积金缓缴", county="yueqing"), "housing-provident-fund", "yueqing.gjj"),
    (ticket("店招被要求拆除", "城区门面店招店牌整改标准是什么", county="lucheng"), "urban-enforcement", "lucheng.zhzf"),
    (ticket("环卫不及时", "厂门口的垃圾清运不及时", county="lucheng"), "urban-sanitation-facilities", "lucheng.zhzf"),
    (ticket("外汇结汇", "出口货款收汇后结汇有什么要求", county="yueqing"), "forex-credit-pbc", "city.pbc"),
    (ticket("征信有误导致贷款被拒", "企业征信报告里有一笔错误记录", county="ruian"), "forex-credit-pbc", "city.pbc"),
    (ticket("规上入库", "今年产值过了两千万，规上入库要报什么材料", county="yongjia"), "statistics", "yongjia.tjj"),
    (ticket("厂区宽带", "园区宽带一直装不上，手机信号也差", county="pingyang"), "telecom-service", "city.txgl"),
    (ticket("数据出境", "海外母公司要调取员工数据，数据出境安全评估怎么申报", county="lucheng"),
     "cyberspace-data-export", "lucheng.wxb"),
    (ticket("一窗受理", "政务服务中心一窗受理后材料又被退回", county="cangnan"), "government-service-window", "cangnan.spj"),
    (ticket("判决后不执行", "货款纠纷法院判决一年了还没执行到位", county="ouhai"), "court-enforcement", "ouhai.court"),
    (ticket("取水许可", "工厂想从河里取水做冷却，取水许可怎么办", county="wencheng"), "water-permit", "wencheng.slj"),
    (ticket("原产地证", "出口东盟需要原产地证，在哪里办", county="ruian"), "certificate-of-origin", "ruian.ccpit"),
    (ticket("仓库被盗", "昨晚厂区仓库铜材被盗", county="longgang"), "public-security", "longgang.ga"),
]


@pytest.mark.parametrize(("facts", "rule_id", "lead"), EXAMPLES, ids=[e[1] + "-" + e[0].title for e in EXAMPLES])
def test_new_kinds_route_to_the_tickets_county(shipped: RuleSet, facts, rule_id, lead) -> None:
    decision = shipped.route(facts)
    assert (decision.rule_id, decision.lead_unit) == (rule_id, lead)
    assert shipped.explain(facts)[0] == decision


@pytest.mark.parametrize(
    ("facts", "lead"),
    [
        # 经开区 has no 教育局 or 贸促会 of its own; 鹿城 has no 公积金分中心 (the city centre serves it).
        (ticket("员工子女入学", county="jingkai"), "city.jyj"),
        (ticket("原产地证办理", county="yueqing"), "yueqing.ccpit"),
        (ticket("原产地证办理", county="wencheng"), "city.ccpit"),
        (ticket("公积金提取", county="lucheng"), "city.gjj"),
        (ticket("公积金提取"), "city.gjj"),
    ],
)
def test_county_without_the_body_falls_back_to_the_city_unit(shipped: RuleSet, facts, lead) -> None:
    assert shipped.route(facts).lead_unit == lead
