"""Engine semantics on small hand-written rule sets: order, conditions, targets, explain, version."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing_rules import RuleSet

from .helpers import known_units, ticket, write


def load(directory: Path, units: frozenset[str] | None = None) -> RuleSet:
    return RuleSet.load(directory, known_units=units if units is not None else known_units())


def test_priority_ties_go_to_file_order_then_position(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", """
        rules:
          - {id: b-first, priority: 5, route: {lead: {unit: city.kjj}}}
          - {id: b-high, priority: 9, when: {category: tech}, route: {lead: {unit: city.sjj}}}
    """)
    write(tmp_path, "a.yaml", """
        rules:
          - {id: a-first, priority: 5, when: {category: policy}, route: {lead: {unit: city.jxj}}}
          - {id: a-second, priority: 5, route: {lead: {unit: city.fgw}}}
    """)
    rules = load(tmp_path)
    assert [r.id for r in rules.rules] == ["b-high", "a-first", "a-second", "b-first"]
    assert rules.route(ticket(category="policy")).rule_id == "a-first"
    assert rules.route(ticket(category="legal")).rule_id == "a-second"
    assert rules.route(ticket(category="tech")).rule_id == "b-high"


def test_town_centre_rule_without_town_falls_through(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", """
        rules:
          - id: local
            priority: 9
            when: {keywords_any: [积水]}
            route: {lead: {town_centre: true}}
          - id: next
            priority: 1
            route: {lead: {county_bureau: zjj}}
    """)
    rules = load(tmp_path)
    assert rules.route(ticket("积水", town="yueqing_liushi")).lead_unit == "tc.yueqing_liushi"
    for facts, why in [
        (ticket("积水", county="yueqing"), "lead: ticket has no town"),
        (ticket("积水", county="yueqing", town="yueqing_nowhere"), "lead: tc.yueqing_nowhere is not a known unit"),
    ]:
        decision, trace = rules.explain(facts)
        assert (decision.rule_id, decision.lead_unit) == ("next", "yueqing.zjj")
        assert trace[0].failed == why and not trace[0].matched
        assert rules.route(facts) == decision


def test_county_bureau_resolution_and_city_fallback(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", """
        rules:
          - {id: bureau, priority: 2, when: {category: policy}, route: {lead: {county_bureau: jrj}}}
          - {id: county-only, priority: 1, route: {lead: {county_bureau: special}}}
    """)
    units = known_units() | {"yueqing.special"}
    rules = load(tmp_path, units)
    # jrj exists only at city level, so a county ticket falls back to it too.
    assert rules.route(ticket(category="policy", county="ruian")).lead_unit == "city.jrj"
    assert rules.route(ticket(category="policy")).lead_unit == "city.jrj"
    assert rules.route(ticket(county="yueqing")).lead_unit == "yueqing.special"
    decision, trace = rules.explain(ticket(county="ruian"))
    assert not decision.matched
    assert trace[1].failed == "lead: no special unit for county ruian and city.special is not a known unit"


def test_assist_skips_lead_duplicates_and_unresolvable(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", """
        rules:
          - id: r
            priority: 1
            route:
              lead: {county_bureau: power}
              assist: [{unit: yueqing.power}, {town_centre: true}, {county_bureau: jxj}, {unit: yueqing.jxj}]
    """)
    rules = load(tmp_path)
    assert rules.route(ticket(county="yueqing")).assisting_units == ("yueqing.jxj",)
    assert rules.route(ticket(county="yueqing", town="yueqing_liushi")).assisting_units == (
        "tc.yueqing_liushi", "yueqing.jxj")


@pytest.mark.parametrize(("facts", "matched"), [
    (ticket("TRIP 跳闸", channel="bangqiyun", above_scale=True), True),
    (ticket("trip", channel="liangwan", above_scale=True), True),
    (ticket("trip", channel="qijian", above_scale=True), False),
    (ticket("trip", channel="liangwan", above_scale=False), False),
    (ticket("trip", channel="liangwan"), False),
    (ticket("trip 光伏", channel="liangwan", above_scale=True), False),
    (ticket("停电", channel="liangwan", above_scale=True), False),
    (ticket("Power", "问题", channel="liangwan", above_scale=True), False),
])
def test_conditions(tmp_path: Path, facts, matched: bool) -> None:
    write(tmp_path, "r.yaml", """
        rules:
          - id: r
            priority: 1
            when:
              channel: [bangqiyun, liangwan]
              above_scale: true
              keywords_all: [Trip]
              keywords_none: [光伏]
            route: {lead: {unit: city.power}}
    """)
    assert load(tmp_path).route(facts).matched is matched


def test_keywords_none_holds_for_a_ticket_without_text(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", """
        rules:
          - {id: r, priority: 1, when: {keywords_none: [光伏]}, route: {lead: {unit: city.power}}}
    """)
    assert load(tmp_path).route(ticket()).rule_id == "r"


def test_explain_traces_every_rule_and_agrees_with_route(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", """
        rules:
          - {id: cat, priority: 9, when: {category: factor}, route: {lead: {unit: city.power}}}
          - {id: any, priority: 8, when: {keywords_any: [停电, 断电]}, route: {lead: {unit: city.power}}}
          - {id: all, priority: 7, when: {keywords_all: [补助, 到账]}, route: {lead: {unit: city.czj}}}
          - {id: none, priority: 6, when: {keywords_none: [补助]}, route: {lead: {unit: city.jxj}}}
          - {id: hit, priority: 5, when: {category: [policy, tech], keywords_any: [补助, 奖励]},
             route: {lead: {unit: city.jxj}, set_category: policy, sla: {resolve_days: 2}}}
          - {id: later, priority: 1, route: {lead: {unit: city.fgw}}}
    """)
    rules = load(tmp_path)
    facts = ticket("补助申请", "资金", category="tech")
    decision, trace = rules.explain(facts)
    assert decision == rules.route(facts)
    assert [t.rule_id for t in trace] == [r.id for r in rules.rules]
    assert [t.failed for t in trace] == [
        "category: ticket has tech, rule wants factor",
        "keywords_any: none of [停电, 断电] in text",
        "keywords_all: missing [到账] in text",
        "keywords_none: found [补助] in text",
        None,
        None,
    ]
    assert [t.matched for t in trace] == [False, False, False, False, True, True]
    assert decision.rule_id == "hit" and decision.rule_file == "r.yaml" and decision.priority == 5
    assert {k: decision.reasons[k] for k in ("conditions", "keywords_hit")} == {
        "conditions": {"category": "tech", "keywords_any": ["补助"]},
        "keywords_hit": ["补助"],
    }
    # The winner's score and the runner-up's, part by part.
    score = decision.reasons["score"]
    # 补助 in the title (x2), two characters (x1), used by two rules (/sqrt 2).
    assert score["conditions"] == ["category"] and score["keywords"] == [
        {"keyword": "补助", "condition": "keywords_any", "in": "title", "weight": 1.4142}]
    assert score["total"] == round(score["priority"] + score["conditions_weight"] + 1.4142, 4)
    runner = decision.reasons["runner_up"]
    assert (runner["rule_id"], runner["lead_unit"]) == ("later", "city.fgw")
    assert runner["score"]["total"] < score["total"]
    assert [t.score is not None for t in trace] == [t.matched for t in trace]
    assert decision.sla == {"resolve_days": 2} and decision.set_category == "policy"
    assert trace[0].to_dict()["line"] == 2


def test_reasons_of_the_same_evidence_are_shared_read_only_and_copied_plain(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", """
        rules:
          - {id: outage, priority: 9, when: {keywords_any: [停电, 断电]}, route: {lead: {unit: city.power}}}
          - {id: any, priority: 1, when: {category: factor}, route: {lead: {unit: city.jxj}}}
    """)
    rules = load(tmp_path)
    first = rules.route(ticket("厂里停电", "整条线停了", category="factor"))
    second = rules.route(ticket("车间停电", "订单赶不出", category="factor"))
    assert first.reasons == second.reasons
    assert first.reasons["score"] is second.reasons["score"]
    with pytest.raises(TypeError):
        first.reasons["score"]["keywords"].append({"keyword": "x"})
    with pytest.raises(TypeError):
        first.reasons["runner_up"]["lead_unit"] = "city.fgw"
    # A stored copy is plain and may be changed without touching the decision.
    stored = first.to_dict()["reasons"]
    assert type(stored["score"]) is dict and type(stored["score"]["keywords"]) is list
    stored["score"]["total"] = 0
    assert first.reasons["score"]["total"] > 0
    # Another place of the same word is other evidence.
    assert rules.route(ticket("订单赶不出", "车间停电", category="factor")).reasons["score"]["keywords"] == [
        {"keyword": "停电", "condition": "keywords_any", "in": "description", "weight": 1.0}]


def test_unmatched_decision_lists_keywords_found(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", """
        rules:
          - {id: r, priority: 1, when: {category: factor, keywords_any: [停电, 断电]}, route: {lead: {unit: city.power}}}
    """)
    rules = load(tmp_path)
    decision = rules.route(ticket("断电又停电", category="policy"))
    assert not decision.matched
    assert decision.reasons["keywords_hit"] == ["停电", "断电"]
    assert rules.explain(ticket("断电又停电", category="policy"))[0] == decision


def test_version_tracks_content_only(tmp_path: Path) -> None:
    text = "rules:\n  - {id: r, priority: 1, route: {lead: {unit: city.jxj}}}\n"
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    write(one, "r.yaml", text)
    write(two, "r.yaml", text)
    first = load(one).version
    assert len(first) == 12 and first == load(one).version == load(two).version
    write(two, "r.yaml", text.replace("priority: 1", "priority: 2"))
    assert load(two).version != first
    write(two, "r.yaml", text)
    assert load(two).version == first
    (two / "r.yaml").rename(two / "s.yaml")
    assert load(two).version != first


def test_keywords_match_any_text_including_lone_surrogates(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", """
        rules:
          - {id: r, priority: 1, when: {keywords_any: [停电, İ, é]}, route: {lead: {unit: city.power}}}
    """)
    rules = load(tmp_path)
    for text, matched in [("\ud800停电\udfff", True), ("İSTANBUL", True), ("CAFÉ", True), ("停 电", False)]:
        decision = rules.route(ticket(text))
        assert decision.matched is matched, text
        assert rules.explain(ticket(text))[0] == decision
