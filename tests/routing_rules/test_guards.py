"""Guard signals: a party counts when the text complains about it or claims money from it, not when it is only
named as the one asked to help."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing_rules import RuleSet, TicketFacts
from routing_rules.guards import AGAINST_TOWN, load_guards

from .helpers import known_units, write

ARREARS = "public_body_arrears"


@pytest.fixture(scope="module")
def shipped():
    guards, errors = load_guards()
    assert errors == []
    return guards


def _signals(guards, text: str) -> frozenset[str]:
    text = text.lower()
    return guards.detect(text, {w for w in guards.words if w in text})


@pytest.mark.parametrize("text", [
    # a private buyer owes; the government is only asked to speak up
    "大厂的货款说好三个月结，现在拖到一年，想请商会或者政府出面帮我们小企业说说话",
    # a foreign customer refused payment; the government is asked to help
    "出口的一柜货被客户拒付了，保险公司理赔很慢，政府能不能帮我们协调",
    # a few words between the party and the request
    "客户的尾款一直拖着不给，希望政府部门尽快出面督促一下",
])
def test_a_body_asked_to_help_is_not_the_debtor(shipped, text: str) -> None:
    assert ARREARS not in _signals(shipped, text)


@pytest.mark.parametrize("text", [
    "镇政府的道路工程我们做完了两年，工程款一直拖欠不付",
    # the town that owes is named again, besides the county body asked to help
    "镇里说没钱付工程款，只能请县里出面协调",
    # a cue between the party and the request word: the party owes, it is not asked
    "城投欠款协调了半年还没有结果",
    # the request is in another clause: the first mention is a claim on the party
    "街道欠我们的工程款，帮忙看看怎么办",
])
def test_a_body_that_owes_still_trips_the_signal(shipped, text: str) -> None:
    assert ARREARS in _signals(shipped, text)


def test_a_town_asked_to_help_is_not_complained_about(shipped) -> None:
    assert AGAINST_TOWN not in _signals(shipped, "客户欠了我们货款不给，希望镇里出面协调一下")
    assert AGAINST_TOWN in _signals(shipped, "镇里拖欠我们的工程款，希望镇里出面协调一下")


def test_the_engine_routes_by_the_signal_as_it_now_reads(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules, "r.yaml", """
        rules:
          - id: arrears
            priority: 800
            when: {signals: [public_body_arrears], keywords_any: [货款, 工程款]}
            route: {lead: {county_bureau: jxj}, assist: [{county_bureau: czj}]}
          - id: local
            priority: 700
            when: {keywords_any: [协调]}
            route: {lead: {town_centre: true}}
          - id: dispute
            priority: 600
            when: {keywords_any: [货款, 工程款]}
            route: {lead: {county_bureau: sfj}}
    """)
    rs = RuleSet.load(rules, known_units=known_units(), learnt=False)
    asked = TicketFacts(title="货款拖了一年", county="yueqing", town="yueqing_liushi",
                        description="大厂的货款一直拖着，想请商会或者政府出面帮我们说说话")
    assert rs.route(asked).rule_id == "dispute"
    owed = TicketFacts(title="工程款拖欠", county="yueqing", town="yueqing_liushi",
                       description="镇政府的道路工程款一直拖欠不付，希望县里出面协调")
    decision = rs.route(owed)
    assert (decision.rule_id, decision.lead_unit) == ("arrears", "yueqing.jxj")
    # the town that owes may not lead or assist its own complaint
    assert all(unit != "tc.yueqing_liushi" for unit in decision.assisting_units)
    assert {"guard": AGAINST_TOWN, "unit": "tc.yueqing_liushi", "effect": "may not lead or assist"} \
        in decision.reasons["guards"]
    # a town asked to help, with no complaint about it, may lead what is local
    local = TicketFacts(title="厂门口被堵", county="yueqing", town="yueqing_liushi",
                        description="隔壁村民说我们欠了他们青苗补偿，天天堵在厂门口，希望镇里出面协调")
    assert rs.route(local).lead_unit == "tc.yueqing_liushi"
    for facts in (asked, owed, local):
        assert rs.explain(facts)[0] == rs.route(facts)


@pytest.mark.parametrize("asked, message", [("asked: []", "asked must be a non-empty list"),
                                            ("asked: 出面", "asked must be a non-empty list"),
                                            ("helpers: [出面]", "optional) asked")])
def test_a_bad_asked_list_is_refused(tmp_path: Path, asked: str, message: str) -> None:
    path = write(tmp_path, "guards.yaml", f"""
        signals:
          against_town_government:
            parties: [镇里]
            cues: [欠]
            {asked}
    """)
    guards, errors = load_guards(path)
    assert any(message in e.message for e in errors), errors
