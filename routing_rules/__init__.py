"""Routing rules: YAML rule files and the engine that picks a ticket's lead and assisting units.

Pure Python on purpose (no database, nothing else from the project), so rules can be checked
in CI and replayed against old tickets anywhere.
"""

from __future__ import annotations

from .engine import Ranked, RuleSet, check
from .guards import DEFAULT_GUARDS_FILE
from .loader import DEFAULT_RULES_DIR
from .model import Decision, Rule, RuleError, RuleSetError, RuleTrace, Target, TicketFacts

__all__ = [
    "DEFAULT_GUARDS_FILE",
    "DEFAULT_RULES_DIR",
    "Decision",
    "Ranked",
    "Rule",
    "RuleError",
    "RuleSet",
    "RuleSetError",
    "RuleTrace",
    "Target",
    "TicketFacts",
    "check",
]
