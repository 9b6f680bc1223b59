"""The corpus model: it decides only where the winning rule's evidence is weak, says so in the reasons, and is
rebuilt identically from the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing_rules import RuleSet, TicketFacts
from routing_rules.cases import load_cases
from routing_rules.learnt import Learnt, LearntError, corpus_examples, cross_validate, load_settings, weak

from .helpers import known_units, write

REMITS = Path(__file__).resolve().parents[2] / "models" / "reference" / "unit_kinds.yaml"

RULES = """
    rules:
      - {id: money-late, priority: 500, when: {keywords_any: [没到账]}, route: {lead: {county_bureau: czj}}}
      - {id: fallback-factor, priority: 100, when: {category: factor}, route: {lead: {county_bureau: jxj}}}
"""
CASES = """
    cases:
      - {id: dev-1, title: 生育津贴没领到, description: 女员工生小孩的生育津贴一直没领到人事天天被问, lead: ybj}
      - {id: dev-2, title: 住院报销太少, description: 工人住院花了十几万医保报销比例太低家属来闹, lead: ybj}
      - {id: dev-3, title: 异地看病报销, description: 员工家属在外地看病住院想直接结算不用垫钱报销, lead: ybj}
      - {id: dev-4, title: 生小孩的津贴, description: 产假结束了生育津贴和住院报销都还没办下来, lead: ybj}
      - {id: dev-5, title: 奖励资金没拨付, description: 去年评上的奖励资金财政一直没拨付下来, lead: czj}
      - {id: dev-6, title: 补助资金拖着, description: 技改补助公示过了资金一直没有拨付财政说在走流程, lead: czj}
      - {id: dev-7, title: 政府采购保证金, description: 投标保证金半年没退政府采购代理机构推给财政, lead: czj}
      - {id: dev-8, title: 专项资金, description: 专项资金下达了县财政还没拨到企业账户, lead: czj}
      - {id: dev-9, title: 设备更新补助, description: 买了新设备想申请技改补助要什么条件, lead: jxj}
      - {id: dev-10, title: 小升规奖励, description: 今年小升规有什么奖励经信怎么申报, lead: jxj}
"""


def _setup(tmp_path: Path, threshold: float = 0.5, enabled: bool = True, consult: str | None = None
           ) -> tuple[Path, Path]:
    rules_dir, corpus = tmp_path / "rules", tmp_path / "dev"
    rules_dir.mkdir(exist_ok=True), corpus.mkdir(exist_ok=True)
    write(rules_dir, "r.yaml", RULES)
    write(corpus, "c.yaml", CASES)
    settings = write(tmp_path, "learnt.yaml", f"""
        enabled: {'true' if enabled else 'false'}
        corpus: dev
        remits: {REMITS}
        alpha: 0.3
        prior_weight: 3
        temperature: 2
        threshold: {threshold}
        max_kinds: 20
        consult: {consult or "weak"}
    """)
    return rules_dir, settings


def _load(rules_dir: Path, settings: Path, learnt: bool = True) -> RuleSet:
    return RuleSet.load(rules_dir, known_units=known_units(), learnt=learnt, learnt_file=settings)


SUBSIDY_IN_PASSING = TicketFacts(title="女工生小孩的钱", county="ruian", category="factor",
                                 description="女员工生小孩的生育津贴一直没到账，住院报销也没办下来")


def test_weak_evidence_is_no_keyword_or_one_found_only_in_the_description() -> None:
    assert weak(0, False) and weak(1, False)
    assert not weak(1, True) and not weak(2, False)


def test_the_model_leads_when_the_rule_found_one_word_in_passing(tmp_path: Path) -> None:
    rs = _load(*_setup(tmp_path))
    decision = rs.route(SUBSIDY_IN_PASSING)
    assert (decision.rule_id, decision.lead_unit) == ("learnt-ybj", "city.ybj")  # the test catalogue has no county ybj
    learnt = decision.reasons["learnt"]
    assert learnt["kind"] == "ybj" and learnt["confidence"] >= learnt["threshold"] == 0.5
    assert learnt["probabilities"][0]["kind"] == "ybj"
    assert learnt["evidence"] and all(e["weight"] > 0 for e in learnt["evidence"])
    overridden = decision.reasons["overridden"]
    assert (overridden["rule_id"], overridden["lead_unit"], overridden["kind"]) == ("money-late", "ruian.czj", "czj")
    assert overridden["score"]["keywords"] == [
        {"keyword": "没到账", "condition": "keywords_any", "in": "description", "weight": 1.5}]
    # explain() evaluates every rule without the index and decides the same, reasons included
    assert rs.explain(SUBSIDY_IN_PASSING)[0] == decision


def test_a_keyword_in_the_title_is_strong_evidence_and_the_rule_decides(tmp_path: Path) -> None:
    rs = _load(*_setup(tmp_path))
    facts = TicketFacts(title="生育津贴没到账", county="ruian", category="factor",
                        description="女员工生小孩的生育津贴，住院报销也没办下来")
    decision = rs.route(facts)
    assert (decision.rule_id, decision.lead_unit) == ("money-late", "ruian.czj")
    assert "learnt" not in decision.reasons


def test_asked_on_every_ticket_the_model_may_overrule_a_keyword_in_the_title(tmp_path: Path) -> None:
    facts = TicketFacts(title="生育津贴没到账", county="ruian", category="factor",
                        description="女员工生小孩的生育津贴，住院报销也没办下来")
    decision = _load(*_setup(tmp_path, consult="always")).route(facts)
    assert (decision.rule_id, decision.lead_unit) == ("learnt-ybj", "city.ybj")
    learnt = decision.reasons["learnt"]
    assert learnt["confidence"] >= learnt["threshold"] and "顺带" in learnt["why"] and "1 个关键词" in learnt["why"]
    assert decision.reasons["overridden"]["rule_id"] == "money-late"
    # where the model agrees with the rule, or is not sure enough, the rule decides
    agreeing = TicketFacts(title="奖励资金没到账", county="ruian", description="去年评上的奖励资金财政一直没拨付下来")
    assert _load(*_setup(tmp_path, consult="always")).route(agreeing).rule_id == "money-late"
    assert _load(*_setup(tmp_path, threshold=1.0, consult="always")).route(facts).rule_id == "money-late"


def test_contested_the_model_is_asked_when_every_keyword_is_in_the_description_and_the_runner_up_differs(
        tmp_path: Path) -> None:
    rules_dir, settings = _setup(tmp_path, consult="contested")
    write(rules_dir, "r.yaml", """
        rules:
          - {id: money-late, priority: 500, when: {keywords_any: [没到账, 没拨付]}, route: {lead: {county_bureau: czj}}}
          - {id: fallback-factor, priority: 100, when: {category: factor}, route: {lead: {county_bureau: jxj}}}
          - {id: money-paid, priority: 90, when: {keywords_any: [拨付]}, route: {lead: {county_bureau: czj}}}
    """)
    two_in_passing = TicketFacts(title="女工生小孩的钱", county="ruian", category="factor",
                                 description="女员工生小孩的生育津贴一直没到账也没拨付，住院报销也没办下来")
    decision = _load(rules_dir, settings).route(two_in_passing)
    assert (decision.rule_id, decision.lead_unit) == ("learnt-ybj", "city.ybj")
    assert "次优规则指向另一类单位" in decision.reasons["learnt"]["why"]
    assert decision.reasons["overridden"]["rule_id"] == "money-late"
    # two keywords are not weak evidence: asked only when weak, the model is not asked
    write(tmp_path, "learnt.yaml", settings.read_text(encoding="utf-8").replace("consult: contested", "consult: weak"))
    assert _load(rules_dir, settings).route(two_in_passing).rule_id == "money-late"
    write(tmp_path, "learnt.yaml", settings.read_text(encoding="utf-8").replace("consult: weak", "consult: contested"))
    contested = _load(rules_dir, settings)
    # a keyword in the title is not contested
    in_title = TicketFacts(title="生育津贴没到账", county="ruian", category="factor",
                           description="女员工生小孩的生育津贴一直没拨付，住院报销也没办下来")
    assert contested.route(in_title).rule_id == "money-late"
    # nor is a ticket whose runner-up leads the same kind of unit (no fallback by category here)
    same_kind = TicketFacts(title="女工生小孩的钱", county="ruian",
                            description="女员工生小孩的生育津贴一直没到账也没拨付，住院报销也没办下来")
    decision = contested.route(same_kind)
    assert decision.rule_id == "money-late" and decision.reasons["runner_up"]["rule_id"] == "money-paid"


def test_below_the_threshold_or_without_the_model_the_rule_decides(tmp_path: Path) -> None:
    rules_dir, settings = _setup(tmp_path, threshold=1.0)
    assert _load(rules_dir, settings).route(SUBSIDY_IN_PASSING).rule_id == "money-late"
    assert _load(rules_dir, settings, learnt=False).route(SUBSIDY_IN_PASSING).rule_id == "money-late"


def test_disabled_in_its_settings_the_model_is_not_built(tmp_path: Path) -> None:
    rules_dir, settings = _setup(tmp_path, enabled=False)
    rs = _load(rules_dir, settings)
    assert rs.learnt is None
    assert rs.version == _load(rules_dir, settings, learnt=False).version
    assert rs.route(SUBSIDY_IN_PASSING).rule_id == "money-late"


def test_the_same_files_give_the_same_model_and_the_corpus_is_part_of_the_version(tmp_path: Path) -> None:
    rules_dir, settings = _setup(tmp_path)
    first, second = _load(rules_dir, settings), _load(rules_dir, settings)
    assert first.version == second.version != _load(rules_dir, settings, learnt=False).version
    assert first.route(SUBSIDY_IN_PASSING).reasons == second.route(SUBSIDY_IN_PASSING).reasons
    with (tmp_path / "dev" / "c.yaml").open("a", encoding="utf-8") as f:
        f.write("  - {id: dev-11, title: 医保卡, description: 员工医保卡丢了怎么补办, lead: ybj}\n")
    assert _load(rules_dir, settings).version != first.version


def test_a_guard_keeps_the_model_from_moving_a_ticket_answered_on_the_spot(tmp_path: Path) -> None:
    rules_dir, settings = _setup(tmp_path)
    write(rules_dir, "s.yaml", """
        rules:
          - id: answered-locally
            priority: 900
            when: {registered_by_town_centre: true, answered_locally: true}
            route: {lead: {town_centre: true}}
    """)
    facts = TicketFacts(title="女工生小孩的钱", town="ruian_tangxia", county="ruian", category="factor",
                        description=SUBSIDY_IN_PASSING.description,
                        registered_by_town_centre=True, answered_locally=True)
    decision = _load(rules_dir, settings).route(facts)
    assert (decision.rule_id, decision.lead_unit) == ("answered-locally", "tc.ruian_tangxia")


@pytest.mark.parametrize("line, message", [("threshold: 2", "threshold"), ("alpha: 0", "alpha"),
                                           ("colour: red", "unknown keys"), ("consult: often", "consult")])
def test_bad_settings_are_refused(tmp_path: Path, line: str, message: str) -> None:
    _, settings = _setup(tmp_path)
    key = line.split(":")[0]
    text = settings.read_text(encoding="utf-8")
    kept = [row for row in text.splitlines() if not row.startswith(f"{key}:")]
    settings.write_text("\n".join([*kept, line]) + "\n", encoding="utf-8")
    with pytest.raises(LearntError, match=message):
        Learnt.load(settings)


def test_cross_validation_routes_each_held_out_case_with_the_other_folds_model(tmp_path: Path) -> None:
    rules_dir, settings = _setup(tmp_path)
    rs = _load(rules_dir, settings, learnt=False)
    cases = load_cases(tmp_path / "dev")
    kinds = {code: code.rsplit(".", 1)[-1] for code in known_units()}
    result = cross_validate(rs, cases, kinds, {}, load_settings(settings))
    assert result["cases"] == 10 and rs.learnt is None
    rows = result["by_threshold"]
    assert [r["threshold"] for r in rows] == sorted((r["threshold"] for r in rows), reverse=True)
    assert max(r["correct"] for r in rows) == next(r["correct"] for r in rows if r["threshold"] == result["threshold"])
    assert all(0 <= r["decided_by_model"] <= 10 and 0 <= r["correct"] <= 10 for r in rows)


def test_a_question_a_town_centre_answered_on_the_spot_does_not_teach_the_model(tmp_path: Path) -> None:
    """Its lead follows from the centre's flags, which the model does not read: learnt from, it would send policy
    questions asked at any desk to a town centre."""
    corpus = tmp_path / "dev"
    corpus.mkdir()
    write(corpus, "c.yaml", CASES + """
      - {id: dev-11, title: 稳岗返还怎么申请, description: 中心工作人员当场讲了稳岗返还的条件, town: ruian_tangxia,
         registered_by_town_centre: true, answered_locally: true, lead: town_centre}
      - {id: dev-12, title: 厂区门口路灯坏了, description: 园区道路的路灯坏了一个月, town: ruian_tangxia,
         registered_by_town_centre: true, lead: town_centre}
    """)
    examples = corpus_examples(corpus)
    assert [e.title for e in examples][-1] == "厂区门口路灯坏了" and len(examples) == 11
    assert "稳岗返还怎么申请" not in {e.title for e in examples}


def test_the_packed_scores_rank_and_weigh_kinds_as_the_plain_sums_do(tmp_path: Path) -> None:
    """The engine reads the model through integer sums (learnt._Packed); they must give the kinds the same order and
    the same probabilities as the model's own floating-point scores, whatever the text holds."""
    from routing_rules.learnt import features

    model = Learnt.load(_setup(tmp_path)[1]).model
    texts = [
        ("女工生小孩的钱", "女员工生小孩的生育津贴一直没到账，住院报销也没办下来", "help", "factor", "hotline_96666"),
        ("补助资金拖着", "技改补助公示过了资金一直没有拨付财政说在走流程" * 40, None, None, None),
        ("", "", None, None, None),
        ("x", "\x00生育\ud800津贴😀没到账\n\n报销", "consult", "nonexistent", None),
    ]
    for title, description, request_type, category, channel in texts:
        plain = model.probabilities(model.scores(features(title, description, request_type, category, channel)))
        text = f"{title.lower()}\n{description.lower()}"
        for other in (None, plain[0][0]):
            found = model.consult(text, title.lower(), request_type, category, channel, 0.0, other)
            if other == plain[0][0]:
                assert found is None  # the kind already leading is never "another" kind
                continue
            kind, confidence, scores = found
            assert kind == plain[0][0]
            assert confidence == pytest.approx(plain[0][1], abs=1e-9)
            packed = model.probabilities(scores)
            assert [k for k, _ in packed] == [k for k, _ in plain]
            assert [p for _, p in packed] == pytest.approx([p for _, p in plain], abs=1e-9)
        # below its probability the threshold lets the kind through; above it, not
        top, p = plain[0]
        assert model.consult(text, title.lower(), request_type, category, channel, max(p - 1e-6, 1e-6), None)
        if p < 1 - 1e-6:
            assert model.consult(text, title.lower(), request_type, category, channel, p + 1e-6, None) is None


def test_cross_validation_holds_out_whole_case_files() -> None:
    """Cases written together share their words: a file's cases are held out together, never split across folds."""
    from types import SimpleNamespace

    from routing_rules.learnt import fold_of

    cases = [SimpleNamespace(file=f"extra_{i // 3:02d}.yaml") for i in range(3 * 7)]
    fold = fold_of(cases, 5)
    for i in range(0, len(cases), 3):
        assert fold[i] == fold[i + 1] == fold[i + 2] == (i // 3) % 5
    assert sorted(set(fold)) == [0, 1, 2, 3, 4]
    # fewer files than folds: case by case
    assert fold_of([SimpleNamespace(file="c.yaml")] * 7, 5) == [0, 1, 2, 3, 4, 0, 1]
