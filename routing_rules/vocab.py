"""Codes the engine validates rule files against, and the keys a rule file may use."""

from __future__ import annotations

CHANNELS = frozenset(
    {"hotline_96666", "bangqiyun", "town_centre", "liangwan", "zhitongche", "qijian", "kentanhui"}
)
CATEGORIES = frozenset(
    {
        "policy", "appeal", "approval", "factor", "tech",
        "digital", "legal", "market", "investment", "exchange",
    }
)
REQUEST_TYPES = frozenset({"consult", "help", "complaint", "report", "suggestion"})
URGENCIES = frozenset({"normal", "urgent", "critical"})
ENTERPRISE_TIERS = frozenset({"innovative", "provincial_sxtx", "little_giant", "hidden_champion"})

# Fields whose values are checked against a vocabulary; county, town and chain are free strings
# because their lists change more often than the engine does.
FIELD_VOCAB: dict[str, frozenset[str] | None] = {
    "channel": CHANNELS,
    "category": CATEGORIES,
    "request_type": REQUEST_TYPES,
    "urgency": URGENCIES,
    "county": None,
    "town": None,
    "enterprise_tier": ENTERPRISE_TIERS,
    "enterprise_chain": None,
}
BOOL_FIELDS = ("above_scale", "registered_by_town_centre", "answered_locally")
KEYWORD_KEYS = ("keywords_all", "keywords_any", "keywords_none")
# Text signals named in routing_rules/guards.yaml (all listed must hold).
SIGNALS_KEY = "signals"
# Evaluation and trace order: field conditions first (cheap), keyword conditions last.
WHEN_KEYS = (*FIELD_VOCAB, *BOOL_FIELDS, SIGNALS_KEY, *KEYWORD_KEYS)

TOP_KEYS = ("rules",)
RULE_KEYS = ("id", "priority", "description", "when", "route")
ROUTE_KEYS = ("lead", "assist", "set_category", "sla")
TARGET_KEYS = ("unit", "county_bureau", "town_centre")
SLA_KEYS = ("accept_hours", "resolve_days")

TOWN_CENTRE_PREFIX = "tc."
CITY_PREFIX = "city."


def bureau_kinds(known_units: frozenset[str]) -> frozenset[str]:
    """Kinds usable in `county_bureau:`: the suffix of every known non-town-centre unit code."""
    # tc.* codes end in a town code, not a bureau kind; counting them would let a typo such as
    # `county_bureau: yueqing_liushi` validate and then never resolve.
    return frozenset(
        code.rsplit(".", 1)[1]
        for code in known_units
        if "." in code and not code.startswith(TOWN_CENTRE_PREFIX)
    )
