"""The corpus loader rejects bad files by file and case id, and the shipped corpus is consistent."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import pytest
import yaml

from routing_rules import TicketFacts
from routing_rules.cases import DEFAULT_CASES_DIR, Case, CaseError, load_cases

REFERENCE = Path(__file__).resolve().parents[2] / "models" / "reference"

# The unit kinds of the issue 11 catalogue; every lead and assist must be one of them.
KINDS = frozenset(
    {
        "jxj", "kjj", "fgw", "scjgj", "rsj", "zrzyj", "sthjj", "zjj", "swj", "tzcj", "tax", "jrj",
        "czj", "sfj", "yjglj", "jtj", "jj", "crj", "customs", "sjj", "nyj", "gsl", "xf", "power",
        "water", "gas", "town_centre", "jyj", "wjw", "ybj", "gjj", "zhzf", "pbc", "tjj", "txgl", "wxb",
        "spj", "court", "slj", "ccpit", "ga",
    }
)
COMMON_KINDS = ("power", "rsj", "tax", "scjgj", "jxj", "kjj", "jrj", "zrzyj", "zjj", "sthjj")

GOOD = """
cases:
  - id: dev-0001
    title: 厂区突然停电
    description: 今天上午我们厂区变压器跳闸，整条线停了，供电所电话打不通
    town: yueqing_liushi
    request_type: help
    category: factor
    lead: power
    assist: [jxj]
    note: 停电抢修归供电公司
  - id: dev-0002
    title: 技改政策
    description: 镇里企业服务中心登记的技改补助政策咨询，当场已答复
    town: ruian_tangxia
    channel: town_centre
    request_type: consult
    registered_by_town_centre: true
    answered_locally: true
    lead: town_centre
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(CaseError) as info:
        load_cases(path, kinds=KINDS)
    return info.value.errors


def test_loads_a_good_file_with_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path / "dev", "factor.yaml", GOOD)
    first, second = load_cases(path, kinds=KINDS)
    assert first == Case(
        id="dev-0001",
        title="厂区突然停电",
        description="今天上午我们厂区变压器跳闸，整条线停了，供电所电话打不通",
        town="yueqing_liushi",
        county=None,
        channel="hotline_96666",
        request_type="help",
        category="factor",
        registered_by_town_centre=False,
        answered_locally=False,
        lead="power",
        assist=("jxj",),
        note="停电抢修归供电公司",
        file=str(path),
        split="dev",
    )
    assert second.registered_by_town_centre and second.answered_locally and second.assist == ()


def test_facts_take_the_county_from_the_town(tmp_path: Path) -> None:
    case = load_cases(_write(tmp_path, "a.yaml", GOOD))[0]
    facts = case.facts({"yueqing_liushi": "yueqing"})
    assert isinstance(facts, TicketFacts)
    assert (facts.county, facts.town, facts.channel, facts.category) == (
        "yueqing",
        "yueqing_liushi",
        "hotline_96666",
        "factor",
    )
    assert facts.title == "厂区突然停电" and facts.request_type == "help"
    assert case.facts().county is None


def test_directory_is_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    _write(tmp_path / "test", "b.yaml", "cases:\n  - {id: test-2, title: t, description: d, lead: tax}\n")
    _write(tmp_path / "dev", "z.yaml", "cases:\n  - {id: dev-9, title: t, description: d, lead: rsj}\n")
    _write(tmp_path / "dev", "a.yaml", "cases:\n  - {id: dev-1, title: t, description: d, lead: jxj}\n")
    (tmp_path / "dev" / "notes.txt").write_text("not a case file")
    cases = load_cases(tmp_path)
    assert [c.id for c in cases] == ["dev-1", "dev-9", "test-2"]
    assert [c.split for c in cases] == ["dev", "dev", "test"]


BAD = """
cases:
  - id: dev-0101
    title: 缺描述
    lead: power
  - id: dev-0102
    description: 缺标题
    lead: power
  - id: dev-0103
    title: t
    description: d
  - id: dev-0104
    title: t
    description: d
    lead: power
    colour: red
  - id: dev-0105
    title: t
    description: d
    lead: nobody
    assist: [power, unknown_kind]
  - id: dev-0106
    title: t
    description: d
    lead: tax
    request_type: moan
    answered_locally: yes please
  - id: dev-0107
    title: t
    description: d
    lead: tax
    answered_locally: true
  - id: dev-0108
    title: t
    description: d
    lead: tax
    registered_by_town_centre: true
  - id: test-0109
    title: t
    description: d
    lead: tax
  - id: dev-0110
    title: "  "
    description: d
    lead: tax
    assist: jxj
  - id: Dev 0111
    title: t
    description: d
    lead: tax
  - title: no id
    description: d
    lead: tax
"""


def test_bad_cases_are_named_by_file_and_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "dev", "bad.yaml", BAD)
    errors = _errors(path)
    joined = "\n".join(errors)
    expected = {
        "dev-0101": "missing `description`",
        "dev-0102": "missing `title`",
        "dev-0103": "missing `lead`",
        "dev-0104": "unknown key(s): colour",
        "dev-0105": "`lead` 'nobody' is not one of the known values",
        "dev-0106": "`request_type` 'moan'",
        "dev-0107": "`answered_locally` needs `registered_by_town_centre: true`",
        "dev-0108": "`registered_by_town_centre` needs the `town`",
        "test-0109": "id says split 'test' but the file is under dev/",
        "dev-0110": "`title` must be a non-empty string",
        "Dev 0111": "`id` must start with dev- or test-",
        "case #12": "missing `id`",
    }
    for case_id, message in expected.items():
        assert any(
            e.startswith(f"{path}: [{case_id}]") and message in e for e in errors
        ), f"{case_id}: {message!r} not in\n{joined}"
    assert any("[dev-0105]" in e and "'unknown_kind'" in e for e in errors)
    assert any("[dev-0106]" in e and "`answered_locally` must be true or false" in e for e in errors)
    assert any("[dev-0110]" in e and "`assist` must be a list" in e for e in errors)


def test_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    first = _write(tmp_path / "dev", "a.yaml", "cases:\n  - {id: dev-1, title: t, description: d, lead: jxj}\n")
    second = _write(tmp_path / "dev", "b.yaml", "cases:\n  - {id: dev-1, title: t, description: d, lead: kjj}\n")
    errors = _errors(tmp_path)
    assert errors == [f"{second}: [dev-1] duplicate id (first in {first})"]


@pytest.mark.parametrize(
    "text",
    ["cases: {id: dev-1}\n", "- id: dev-1\n", "cases: []\nextra: 1\n", "cases: [\n", "42\n"],
)
def test_malformed_files_are_named(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, "broken.yaml", text)
    errors = _errors(path)
    assert len(errors) == 1 and errors[0].startswith(f"{path}: ")


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    assert _errors(tmp_path / "nowhere")[0].endswith("not found")
    assert "no *.yaml" in _errors(tmp_path)[0]


def test_error_message_lists_every_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", BAD)
    with pytest.raises(CaseError) as info:
        load_cases(path)
    assert "[dev-0101]" in str(info.value) and str(path) in str(info.value)


# --- the shipped corpus -------------------------------------------------------------------


def _codes(name: str) -> set[str]:
    data = yaml.safe_load((REFERENCE / f"{name}.yaml").read_text(encoding="utf-8"))
    return {item["code"] for item in data["items"]}


def _town_county() -> dict[str, str]:
    data = yaml.safe_load((REFERENCE / "towns.yaml").read_text(encoding="utf-8"))
    return {item["code"]: item["county"] for item in data["items"]}


@pytest.fixture(scope="module")
def corpus() -> list[Case]:
    return load_cases(DEFAULT_CASES_DIR, kinds=KINDS)


def test_shipped_corpus_uses_only_known_codes(corpus: list[Case]) -> None:
    towns, counties = _town_county(), _codes("counties")
    channels, categories = _codes("channels"), _codes("categories")
    problems = []
    for case in corpus:
        where = f"{case.file}: [{case.id}]"
        if case.town is not None and case.town not in towns:
            problems.append(f"{where} unknown town {case.town}")
        if case.county is not None and case.county not in counties:
            problems.append(f"{where} unknown county {case.county}")
        if case.town in towns and case.county is not None and towns[case.town] != case.county:
            problems.append(f"{where} county {case.county} is not the county of {case.town}")
        if case.channel not in channels:
            problems.append(f"{where} unknown channel {case.channel}")
        if case.category is not None and case.category not in categories:
            problems.append(f"{where} unknown category {case.category}")
        if case.lead == "town_centre" and case.town is None:
            problems.append(f"{where} a town_centre lead needs the town")
    assert not problems, "\n".join(problems)


def test_shipped_corpus_size_and_split(corpus: list[Case]) -> None:
    splits = Counter(c.split for c in corpus)
    assert len(corpus) >= 420
    # dev grows with later rounds of cases (cases/README.md); test stays a sizeable, fixed held-out set
    assert splits["test"] >= 180
    assert splits["dev"] >= splits["test"]
    for case in corpus:
        assert Path(case.file).parent.name == case.split, case.id


def test_shipped_corpus_covers_every_kind_and_category(corpus: list[Case]) -> None:
    leads = Counter(c.lead for c in corpus)
    thin = {k: leads[k] for k in KINDS if leads[k] < 5}
    assert not thin, f"kinds with fewer than 5 cases: {thin}"
    assert all(leads[k] >= 12 for k in COMMON_KINDS), {k: leads[k] for k in COMMON_KINDS}
    for split in ("dev", "test"):
        part = [c for c in corpus if c.split == split]
        assert {c.category for c in part} >= _codes("categories"), split
        assert {c.request_type for c in part} >= {"consult", "help", "complaint", "report", "suggestion"}
        assert {c.lead for c in part} == set(KINDS), (split, set(KINDS) - {c.lead for c in part})


def test_shipped_corpus_follows_the_labelling_rules(corpus: list[Case]) -> None:
    for case in corpus:
        if case.answered_locally:
            assert case.lead == "town_centre", case.id
        if case.request_type == "complaint" and "拖欠" in case.description and "镇政府" in case.description:
            assert case.lead != "town_centre", case.id
    facts = [c.facts(_town_county()) for c in corpus if c.town]
    assert all(f.county for f in facts)
