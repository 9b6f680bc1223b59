"""Small factories shared by the routing_rules tests: the unit-code set and rule-file writers."""

from __future__ import annotations

import textwrap
from pathlib import Path

from routing_rules import TicketFacts

CITY_KINDS = (
    "jxj kjj fgw scjgj rsj zrzyj sthjj zjj swj tzcj tax jrj czj sfj yjglj jtj jj crj customs "
    "sjj nyj gsl xf power water gas jyj wjw ybj gjj zhzf pbc tjj txgl wxb spj court slj ccpit ga"
).split()
COUNTY_KINDS = "jxj kjj fgw scjgj rsj zrzyj sthjj zjj swj tax czj sfj yjglj jtj power".split()
COUNTIES = (
    "lucheng longwan ouhai dongtou ruian yueqing longgang yongjia pingyang cangnan wencheng "
    "taishun jingkai"
).split()
TOWNS = ("yueqing_liushi", "yueqing_beibaixiang", "ruian_tangxia", "yongjia_oubei", "ouhai_louqiao")


def known_units() -> frozenset[str]:
    """Every city, county and (a few) town-centre unit codes, built from the vocabulary lists."""
    units = {f"city.{kind}" for kind in CITY_KINDS}
    units |= {f"{county}.{kind}" for county in COUNTIES for kind in COUNTY_KINDS}
    units |= {f"tc.{town}" for town in TOWNS}
    return frozenset(units)


def write(directory: Path, name: str, text: str) -> Path:
    """Write one rule file (dedented) and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line of a file containing needle."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def ticket(title: str = "", description: str = "", **fields: object) -> TicketFacts:
    """Facts for a ticket with the given text and fields."""
    return TicketFacts(title=title, description=description, **fields)
