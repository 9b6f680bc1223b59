"""Checks on the reference data YAML files in models/reference (pure Python, no project imports)."""

from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import yaml

REF = Path(__file__).resolve().parent.parent / "models" / "reference"
FILES = ["counties", "towns", "units", "unit_kinds", "channels", "categories", "chains", "tiers"]

COUNTY_KINDS = {
    "jxj", "kjj", "fgw", "scjgj", "rsj", "zrzyj", "sthjj", "zjj",
    "swj", "tax", "czj", "sfj", "yjglj", "jtj", "power",
}
NEW_KINDS = {
    "jyj", "wjw", "ybj", "gjj", "zhzf", "pbc", "tjj", "txgl", "wxb", "spj", "court", "slj", "ccpit", "ga",
}
CITY_KINDS = COUNTY_KINDS | NEW_KINDS | {
    "tzcj", "jrj", "jj", "crj", "customs", "sjj", "nyj", "gsl", "xf", "water", "gas",
}
VERTICAL_KINDS = {"tax", "customs", "pbc", "txgl"}
REQUIRED_COUNTIES = {
    "lucheng", "longwan", "ouhai", "dongtou", "ruian", "yueqing", "longgang",
    "yongjia", "pingyang", "cangnan", "wencheng", "taishun", "jingkai",
}
CHANNELS = {"hotline_96666", "bangqiyun", "town_centre", "liangwan", "zhitongche", "qijian", "kentanhui"}
CATEGORIES = {
    "policy", "appeal", "approval", "factor", "tech",
    "digital", "legal", "market", "investment", "exchange",
}
TIERS = {"innovative", "provincial_sxtx", "little_giant", "hidden_champion"}
CORE_CHAINS = {
    "electrical", "footwear", "apparel", "auto_parts", "pump_valve", "digital_economy",
    "smart_equipment", "life_health", "nev", "new_materials", "other",
}


@cache
def load(name):
    with open(REF / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def items(name):
    return load(name)["items"]


def codes(name):
    return [item["code"] for item in items(name)]


def dupes(values):
    return sorted(v for v, n in Counter(values).items() if n > 1)


@pytest.mark.parametrize("name", FILES)
def test_file_has_version_and_items(name):
    data = load(name)
    assert set(data) == {"version", "items"}
    assert isinstance(data["version"], str) and data["version"]
    assert isinstance(data["items"], list) and data["items"]
    assert all(isinstance(item, dict) for item in data["items"])


@pytest.mark.parametrize("name", FILES)
def test_codes_unique_and_ascii(name):
    all_codes = codes(name)
    assert not dupes(all_codes)
    for code in all_codes:
        assert isinstance(code, str) and code.isascii() and code == code.lower(), code


def test_counties():
    counties = items("counties")
    assert REQUIRED_COUNTIES <= {c["code"] for c in counties}
    for c in counties:
        assert set(c) == {"code", "name", "kind"}
        assert c["kind"] in {"district", "city", "county", "zone"}
    assert {c["code"]: c["kind"] for c in counties}["jingkai"] == "zone"


def test_towns_reference_counties_and_follow_code_pattern():
    county_codes = set(codes("counties"))
    towns = items("towns")
    assert len(towns) >= 76
    for t in towns:
        assert set(t) == {"code", "name", "county", "centre_name"}
        assert t["county"] in county_codes, t
        assert t["code"].startswith(t["county"] + "_"), t
        assert t["name"].endswith(("镇", "街道", "乡")), t
        assert t["centre_name"].startswith(t["name"]), t
    assert not dupes([(t["county"], t["name"]) for t in towns])


def test_every_town_has_exactly_one_centre_unit():
    units = items("units")
    centres = [u for u in units if u["code"].startswith("tc.")]
    for u in centres:
        assert u["level"] == "town" and u["kind"] == "town_centre", u
    by_town = Counter(u["town"] for u in centres)
    for t in items("towns"):
        assert by_town[t["code"]] == 1, t["code"]
        unit = next(u for u in centres if u["town"] == t["code"])
        assert unit["code"] == f"tc.{t['code']}"
        assert unit["county"] == t["county"]
        assert unit["name"] == t["centre_name"]
    assert len(centres) == len(items("towns"))


def test_unit_fields_are_consistent():
    county_codes = set(codes("counties"))
    for u in items("units"):
        assert u["level"] in {"city", "county", "town"}, u
        assert u["name"], u
        if u["level"] == "city":
            assert u["code"] == f"city.{u['kind']}" and "county" not in u, u
        elif u["level"] == "county":
            assert u["county"] in county_codes, u
            assert u["code"] == f"{u['county']}.{u['kind']}", u
            assert "town" not in u, u
        else:
            assert u["county"] in county_codes, u


def test_every_county_has_all_county_kinds():
    units = items("units")
    for county in codes("counties"):
        kinds = {u["kind"] for u in units if u["level"] == "county" and u["county"] == county}
        assert COUNTY_KINDS <= kinds, (county, sorted(COUNTY_KINDS - kinds))


def test_all_city_kinds_exist():
    city_kinds = {u["kind"] for u in items("units") if u["level"] == "city"}
    assert CITY_KINDS <= city_kinds, sorted(CITY_KINDS - city_kinds)


def test_channels_exact():
    assert set(codes("channels")) == CHANNELS
    for c in items("channels"):
        assert c["label"] and c["description"]


def test_categories_exact_with_tags():
    assert set(codes("categories")) == CATEGORIES
    all_tags = []
    for c in items("categories"):
        assert c["label"] and c["description"]
        assert 4 <= len(c["tags"]) <= 8, c["code"]
        for tag in c["tags"]:
            assert set(tag) == {"code", "label"}
            assert tag["code"].isascii() and tag["code"] == tag["code"].lower()
        all_tags += [tag["code"] for tag in c["tags"]]
    assert not dupes(all_tags)
    factor = next(c for c in items("categories") if c["code"] == "factor")
    assert {"land", "power", "water", "gas", "labour", "finance", "logistics"} <= {
        t["code"] for t in factor["tags"]
    }


def test_chains_and_tiers():
    assert CORE_CHAINS <= set(codes("chains"))
    assert set(codes("tiers")) == TIERS
    for name in ("chains", "tiers"):
        for item in items(name):
            assert set(item) == {"code", "label"} and item["label"]


def test_unit_kinds_have_label_levels_and_remit():
    for k in items("unit_kinds"):
        assert set(k) == {"code", "label", "levels", "vertical", "remit"}, k
        assert k["label"] and not k["label"].isascii(), k
        assert k["levels"] and set(k["levels"]) <= {"city", "county", "town"}, k
        assert isinstance(k["vertical"], bool), k
        assert isinstance(k["remit"], list) and k["remit"], k
        assert all(isinstance(r, str) and r.strip() for r in k["remit"]), k
    assert {k["code"] for k in items("unit_kinds") if k["vertical"]} == VERTICAL_KINDS
    assert CITY_KINDS | {"town_centre"} <= set(codes("unit_kinds"))


def test_every_unit_has_a_registered_kind_at_a_listed_level():
    kinds = {k["code"]: k for k in items("unit_kinds")}
    levels_used: dict[str, set] = {}
    for u in items("units"):
        assert u["kind"] in kinds, u
        assert u["level"] in kinds[u["kind"]]["levels"], u
        levels_used.setdefault(u["kind"], set()).add(u["level"])
    # Every kind is staffed, and its declared levels are exactly where its units sit.
    assert {code: set(k["levels"]) for code, k in kinds.items()} == levels_used


def test_city_only_vertical_bodies():
    units = items("units")
    for kind in ("pbc", "txgl"):
        assert [u["code"] for u in units if u["kind"] == kind] == [f"city.{kind}"]
    assert next(u for u in units if u["code"] == "city.pbc")["name"] == "中国人民银行温州市分行"
    assert next(u for u in units if u["code"] == "city.customs")["name"] == "温州海关"
