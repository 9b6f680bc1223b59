"""check() reports every error at its file and line; load() refuses a set with any error."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing_rules import RuleError, RuleSet, RuleSetError, check

from .helpers import known_units, line_of, write

BAD = """
    rules:
      - id: unknown-rule-key
        priority: 10
        colour: red
        route: {lead: {unit: city.jxj}}
      - id: bad-when
        priority: 10
        when:
          category: food
          channel: [bangqiyun, fax]
          request_type: moan
          urgency: asap
          enterprise_tier: giant
          weather: rainy
          above_scale: maybe
          keywords_any: [停电, "  "]
          keywords_none: []
        route: {lead: {unit: city.jxj}}
      - id: bad-route
        priority: high
        route:
          lead: {unit: city.nowhere}
          assist: [{county_bureau: spaceport}]
          set_category: food-safety
          sla: {accept_hours: 0, resolve_days: -1}
          escalate: true
      - id: bad-target
        priority: 10
        route:
          lead: {town: true}
      - id: two-targets
        priority: 10
        route:
          lead: {unit: city.jxj, town_centre: true}
      - priority: 5
        route: {lead: {unit: city.jxj}}
      - id: no-priority
        route: {lead: {unit: city.jxj}}
      - id: no-route
        priority: 1
      - id: no-lead
        priority: 1
        route: {assist: [{unit: city.jxj}]}
    version: 2
"""

# (needle on the error's line, rule id, fragment of the message)
EXPECTED = [
    ("colour: red", "unknown-rule-key", "unknown key 'colour' in rule"),
    ("category: food", "bad-when", "unknown category 'food'"),
    ("channel: [bangqiyun, fax]", "bad-when", "unknown channel 'fax'"),
    ("request_type: moan", "bad-when", "unknown request_type 'moan'"),
    ("urgency: asap", "bad-when", "unknown urgency 'asap'"),
    ("enterprise_tier: giant", "bad-when", "unknown enterprise_tier 'giant'"),
    ("weather: rainy", "bad-when", "unknown key 'weather' in when"),
    ("above_scale: maybe", "bad-when", "above_scale must be true or false"),
    ("keywords_any:", "bad-when", "keywords_any: empty keyword"),
    ("keywords_none: []", "bad-when", "keywords_none: empty list"),
    ("priority: high", "bad-route", "priority must be an integer"),
    ("city.nowhere", "bad-route", "unknown unit code 'city.nowhere'"),
    ("spaceport", "bad-route", "unknown bureau kind 'spaceport'"),
    ("set_category: food-safety", "bad-route", "set_category 'food-safety' is not a category"),
    ("sla:", "bad-route", "sla.accept_hours must be a positive number"),
    ("sla:", "bad-route", "sla.resolve_days must be a positive number"),
    ("escalate: true", "bad-route", "unknown key 'escalate' in route"),
    ("lead: {town: true}", "bad-target", "unknown key 'town' in route.lead"),
    ("lead: {unit: city.jxj, town_centre", "two-targets", "needs exactly one of"),
    ("- priority: 5", None, "missing 'id'"),
    ("- id: no-priority", "no-priority", "missing 'priority'"),
    ("- id: no-route", "no-route", "missing 'route'"),
    ("route: {assist:", "no-lead", "route: missing 'lead'"),
    ("version: 2", None, "unknown key 'version' in top level"),
]


def test_every_error_is_reported_with_file_line_and_rule(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", BAD)
    errors = check(tmp_path, known_units=known_units())
    got = {(e.file, e.line, e.rule_id, e.message) for e in errors}
    for needle, rule_id, fragment in EXPECTED:
        line = line_of(path, needle)
        assert any(
            (f, ln, rid) == (str(path), line, rule_id) and fragment in msg for f, ln, rid, msg in got
        ), f"no error {fragment!r} at line {line} for {rule_id}: {sorted(got, key=lambda g: g[1])}"
    assert len(errors) == len(EXPECTED)
    with pytest.raises(RuleSetError) as raised:
        RuleSet.load(tmp_path, known_units=known_units())
    assert raised.value.errors == errors


def test_errors_in_several_files_are_reported_together(tmp_path: Path) -> None:
    first = write(tmp_path, "10_a.yaml", """
        rules:
          - id: shared
            priority: 1
            route: {lead: {unit: city.jxj}}
    """)
    second = write(tmp_path, "20_b.yaml", """
        rules:
          - id: other
            priority: 1
            route: {lead: {unit: city.jxj}}
          - id: shared
            priority: 2
            route: {lead: {unit: city.kjj}}
    """)
    broken = write(tmp_path, "30_c.yaml", """
        rules:
          - id: fine
            priority: [1
            route: {lead: {unit: city.jxj}}
    """)
    errors = check(tmp_path, known_units=known_units())
    assert [(e.file, e.rule_id) for e in errors] == [(str(second), "shared"), (str(broken), None)]
    duplicate, syntax = errors
    assert duplicate.line == line_of(second, "- id: shared")
    assert f"duplicate id 'shared' (first defined at {first}:{line_of(first, '- id: shared')})" in duplicate.message
    assert syntax.message.startswith("YAML syntax error")
    assert syntax.line in (line_of(broken, "priority: [1"), line_of(broken, "route:"))


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "file is empty"),
    ("- just a list\n", "top level must be a mapping"),
    ("{}\n", "missing top-level 'rules' list"),
    ("rules: {id: x}\n", "'rules' must be a list"),
    ("rules:\n  - just-a-string\n", "each rule must be a mapping"),
    ("rules:\n  - {id: r, priority: true, route: {lead: {unit: city.jxj}}}\n", "priority must be an integer"),
    ("rules:\n  - {id: r, priority: 1, when: {county: 12}, route: {lead: {unit: city.jxj}}}\n", "must be a string"),
    ("rules:\n  - {id: r, priority: 1, route: {lead: {town_centre: false}}}\n", "town_centre must be true"),
    ("rules:\n  - {id: r, priority: 1, route: {lead: {county_bureau: yueqing_liushi}}}\n", "unknown bureau kind"),
    ("rules:\n  - {id: r, priority: 1, route: {lead: {unit: city.jxj}, sla: {resolve_days: yes}}}\n", "positive number"),
    ("rules:\n  - {id: r, id: s, priority: 1, route: {lead: {unit: city.jxj}}}\n", "duplicate key 'id'"),
    ("rules:\n  - {id: '', priority: 1, route: {lead: {unit: city.jxj}}}\n", "id must be a non-empty string"),
    ("rules:\n  - {id: r, priority: 1, route: {lead: {unit: city.jxj}}}\n\xff", "YAML syntax error"),
])
def test_single_error_cases(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    errors = check(tmp_path, known_units=known_units())
    assert len(errors) == 1 and fragment in errors[0].message, errors


def test_unreadable_values_are_errors_not_exceptions(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - {id: r, priority: !weird 1, route: {lead: {unit: city.jxj}}}\n", encoding="utf-8"
    )
    (tmp_path / "s.yaml").write_bytes(b"rules: []\n# \xff\xfe not utf-8\n")
    errors = check(tmp_path, known_units=known_units())
    assert any("cannot read value" in e.message and e.line == 2 for e in errors), errors
    assert any(e.file.endswith("s.yaml") and "not valid UTF-8" in e.message and e.line == 2 for e in errors)


def test_missing_or_empty_directory_is_an_error(tmp_path: Path) -> None:
    assert "no *.yaml rule files" in check(tmp_path, known_units=known_units())[0].message
    assert "not found" in check(tmp_path / "nope", known_units=known_units())[0].message
    with pytest.raises(RuleSetError):
        RuleSet.load(tmp_path / "nope", known_units=known_units())


def test_rule_error_formats_like_a_compiler_message() -> None:
    assert str(RuleError("r/a.yaml", 7, "x", "boom")) == "r/a.yaml:7: [x] boom"
    assert str(RuleError("r/a.yaml", 1, None, "boom")) == "r/a.yaml:1: boom"
