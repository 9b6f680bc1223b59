"""Turn one rule file into Rule objects, reporting every problem with its line number.

Walks the composed YAML node tree instead of the constructed dicts, because only nodes keep
the marks an operator needs to find a mistake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import vocab
from .model import Rule, RuleError, Target

_NOT_SCALAR = object()
# libyaml's loader is several times faster and keeps the same node marks; fall back when absent.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class ParsedRule:
    """A rule's id and line (kept even when invalid, for duplicate checks) and the rule if valid."""

    rule_id: str | None
    line: int
    rule: Rule | None


@dataclass
class FileContext:
    """Per-file state: where errors go and what the rules may refer to."""

    path: str
    name: str
    known_units: frozenset[str]
    kinds: frozenset[str]
    signals: frozenset[str] = frozenset()
    errors: list[RuleError] = field(default_factory=list)
    constructor: SafeConstructor = field(default_factory=SafeConstructor)

    def error(self, at: Node | int, rule_id: str | None, message: str) -> None:
        """Record one error at a node (its first line) or an explicit line."""
        line = at if isinstance(at, int) else at.start_mark.line + 1
        self.errors.append(RuleError(self.path, line, rule_id, message))

    def scalar(self, node: Node) -> Any:
        """The typed value of a scalar node, or _NOT_SCALAR for lists and mappings."""
        if not isinstance(node, ScalarNode):
            return _NOT_SCALAR
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:  # e.g. an unknown tag such as `!python/object`
            self.error(node, None, f"cannot read value {node.value!r}: {getattr(exc, 'problem', exc)}")
            return _NOT_SCALAR


def parse_file(ctx: FileContext, text: str) -> list[ParsedRule]:
    """Parse one file's text; errors accumulate on ctx."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        ctx.error(mark.line + 1 if mark else 1, None, f"YAML syntax error: {exc.problem or exc}")
        return []
    except yaml.YAMLError as exc:
        ctx.error(1, None, f"YAML syntax error: {exc}")
        return []
    if root is None:
        ctx.error(1, None, "file is empty: expected a mapping with a 'rules' list")
        return []
    if not isinstance(root, MappingNode):
        ctx.error(root, None, "top level must be a mapping with a 'rules' list")
        return []
    rules_node = _entries(root, ctx, None, "top level", vocab.TOP_KEYS).get("rules")
    if rules_node is None:
        ctx.error(root, None, "missing top-level 'rules' list")
        return []
    if not isinstance(rules_node, SequenceNode):
        ctx.error(rules_node, None, "'rules' must be a list of rules")
        return []
    return [_rule(node, pos, ctx) for pos, node in enumerate(rules_node.value)]


def _entries(
    node: MappingNode, ctx: FileContext, rule_id: str | None, where: str, allowed: tuple[str, ...]
) -> dict[str, Node]:
    """The known keys of a mapping node; unknown and repeated keys are reported."""
    out: dict[str, Node] = {}
    for key_node, value_node in node.value:
        key = ctx.scalar(key_node)
        if not isinstance(key, str):
            ctx.error(key_node, rule_id, f"keys in {where} must be strings, got {key_node.value!r}")
        elif key in out:
            ctx.error(key_node, rule_id, f"duplicate key '{key}' in {where}")
        elif key not in allowed:
            ctx.error(key_node, rule_id, f"unknown key '{key}' in {where} (expected one of: {', '.join(allowed)})")
        else:
            out[key] = value_node
    return out


def _peek_id(node: MappingNode, ctx: FileContext) -> str | None:
    """The rule's id if it is a usable string, so every error of the rule can name it."""
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == "id":
            value = ctx.scalar(value_node)
            return value if isinstance(value, str) and value.strip() else None
    return None


def _rule(node: Node, position: int, ctx: FileContext) -> ParsedRule:
    """Validate one rule mapping."""
    line = node.start_mark.line + 1
    if not isinstance(node, MappingNode):
        ctx.error(node, None, "each rule must be a mapping with id, priority, when and route")
        return ParsedRule(None, line, None)
    before = len(ctx.errors)
    rid = _peek_id(node, ctx)
    e = _entries(node, ctx, rid, "rule", vocab.RULE_KEYS)
    if "id" not in e:
        ctx.error(node, None, "missing 'id'")
    elif rid is None:
        ctx.error(e["id"], None, f"id must be a non-empty string, got {e['id'].value!r}")
    priority = _priority(e, node, ctx, rid)
    description = ""
    if "description" in e:
        description = ctx.scalar(e["description"])
        if not isinstance(description, str):
            ctx.error(e["description"], rid, "description must be a string")
    when = _when(e["when"], ctx, rid) if "when" in e else ((), (), (), (), ())
    if "route" not in e:
        ctx.error(node, rid, "missing 'route'")
        return ParsedRule(rid, line, None)
    route = _route(e["route"], ctx, rid)
    if len(ctx.errors) > before or route is None:
        return ParsedRule(rid, line, None)
    fields, kw_all, kw_any, kw_none, signals = when
    lead, assist, set_category, sla = route
    rule = Rule(
        id=rid, priority=priority, description=description, file=ctx.name, line=line,
        position=position, fields=fields, keywords_all=kw_all, keywords_any=kw_any,
        keywords_none=kw_none, lead=lead, assist=assist, set_category=set_category, sla=sla, signals=signals,
    )
    return ParsedRule(rid, line, rule)


def _priority(e: dict[str, Node], node: Node, ctx: FileContext, rid: str | None) -> int:
    """The rule's integer priority (0 after reporting an error)."""
    if "priority" not in e:
        ctx.error(node, rid, "missing 'priority'")
        return 0
    value = ctx.scalar(e["priority"])
    if type(value) is not int:  # bool is an int subclass; `priority: yes` is a mistake
        ctx.error(e["priority"], rid, f"priority must be an integer, got {e['priority'].value!r}")
        return 0
    return value


def _when(node: Node, ctx: FileContext, rid: str | None) -> tuple:
    """Conditions: (fields, keywords_all, keywords_any, keywords_none, signals)."""
    if not isinstance(node, MappingNode):
        ctx.error(node, rid, "'when' must be a mapping of conditions")
        return (), (), (), (), ()
    e = _entries(node, ctx, rid, "when", vocab.WHEN_KEYS)
    fields: list[tuple[str, tuple[Any, ...]]] = []
    keywords: dict[str, tuple[str, ...]] = {k: () for k in vocab.KEYWORD_KEYS}
    signals: tuple[str, ...] = ()
    for key in vocab.WHEN_KEYS:
        if key not in e:
            continue
        if key == vocab.SIGNALS_KEY:
            signals = _values(e[key], ctx, rid, key, ctx.signals)
        elif key in vocab.FIELD_VOCAB:
            fields.append((key, _values(e[key], ctx, rid, key, vocab.FIELD_VOCAB[key])))
        elif key in vocab.BOOL_FIELDS:
            value = ctx.scalar(e[key])
            if not isinstance(value, bool):
                ctx.error(e[key], rid, f"{key} must be true or false, got {e[key].value!r}")
            fields.append((key, (value,)))
        else:
            keywords[key] = _values(e[key], ctx, rid, key, None)
    return tuple(fields), keywords["keywords_all"], keywords["keywords_any"], keywords["keywords_none"], signals


def _values(
    node: Node, ctx: FileContext, rid: str | None, key: str, allowed: frozenset[str] | None
) -> tuple[str, ...]:
    """A string or a list of strings, each non-empty and, if a vocabulary is given, in it."""
    items = node.value if isinstance(node, SequenceNode) else [node]
    if not items:
        ctx.error(node, rid, f"{key}: empty list")
    what = "keyword" if key.startswith("keywords") else "value"
    out: list[str] = []
    for item in items:
        value = ctx.scalar(item)
        if value is _NOT_SCALAR:
            ctx.error(item, rid, f"{key}: each {what} must be a plain string")
        elif not isinstance(value, str):
            ctx.error(item, rid, f"{key}: {what} {item.value!r} must be a string (quote it)")
        elif not value.strip():
            ctx.error(item, rid, f"{key}: empty {what}")
        elif allowed is not None and value not in allowed:
            choices = ", ".join(sorted(allowed))
            ctx.error(item, rid, f"{key}: unknown {key} '{value}' (expected one of: {choices})")
        elif value not in out:
            out.append(value)
    return tuple(out)


def _route(node: Node, ctx: FileContext, rid: str | None) -> tuple | None:
    """(lead, assist, set_category, sla), or None when the route is unusable."""
    if not isinstance(node, MappingNode):
        ctx.error(node, rid, "'route' must be a mapping with at least 'lead'")
        return None
    e = _entries(node, ctx, rid, "route", vocab.ROUTE_KEYS)
    lead = None
    if "lead" not in e:
        ctx.error(node, rid, "route: missing 'lead'")
    else:
        lead = _target(e["lead"], ctx, rid, "route.lead")
    assist: list[Target] = []
    if "assist" in e:
        if isinstance(e["assist"], SequenceNode):
            found = (_target(n, ctx, rid, "route.assist") for n in e["assist"].value)
            assist = [t for t in found if t is not None]
        else:
            ctx.error(e["assist"], rid, "route.assist must be a list of targets")
    set_category = None
    if "set_category" in e:
        set_category = ctx.scalar(e["set_category"])
        if not isinstance(set_category, str) or set_category not in vocab.CATEGORIES:
            choices = ", ".join(sorted(vocab.CATEGORIES))
            msg = f"set_category {e['set_category'].value!r} is not a category (expected one of: {choices})"
            ctx.error(e["set_category"], rid, msg)
    sla = _sla(e["sla"], ctx, rid) if "sla" in e else None
    return None if lead is None else (lead, tuple(assist), set_category, sla)


def _target(node: Node, ctx: FileContext, rid: str | None, where: str) -> Target | None:
    """One of {unit: code}, {county_bureau: kind} or {town_centre: true}."""
    if not isinstance(node, MappingNode):
        ctx.error(node, rid, f"{where} must be a mapping such as {{unit: city.power}}")
        return None
    e = _entries(node, ctx, rid, where, vocab.TARGET_KEYS)
    if len(e) != 1:
        if len(e) > 1 or not node.value:
            ctx.error(node, rid, f"{where} needs exactly one of: {', '.join(vocab.TARGET_KEYS)}")
        return None
    (kind, value_node), = e.items()
    value = ctx.scalar(value_node)
    if kind == "town_centre":
        if value is not True:
            ctx.error(value_node, rid, f"{where}: town_centre must be true")
            return None
        return Target("town_centre")
    if kind == "unit" and value not in ctx.known_units:
        ctx.error(value_node, rid, f"{where}: unknown unit code {value_node.value!r}")
        return None
    if kind == "county_bureau" and value not in ctx.kinds:
        ctx.error(value_node, rid, f"{where}: unknown bureau kind {value_node.value!r} in county_bureau")
        return None
    return Target(kind, value)


def _sla(node: Node, ctx: FileContext, rid: str | None) -> tuple[tuple[str, float], ...] | None:
    """SLA override: positive numbers for accept_hours and/or resolve_days."""
    if not isinstance(node, MappingNode) or not node.value:
        ctx.error(node, rid, "sla must be a mapping with accept_hours and/or resolve_days")
        return None
    out = []
    for key, value_node in _entries(node, ctx, rid, "sla", vocab.SLA_KEYS).items():
        value = ctx.scalar(value_node)
        ok = type(value) in (int, float) and math.isfinite(value) and value > 0
        if not ok:
            ctx.error(value_node, rid, f"sla.{key} must be a positive number, got {value_node.value!r}")
        else:
            out.append((key, value))
    return tuple(out)
