"""Chinese-aware tokens for search and duplicate detection, with no database extension needed.

A run of CJK characters becomes its overlapping bigrams (温州电气 -> 温州 州电 电气); a run of
letters or digits becomes one lower-cased word. PostgreSQL's 'simple' text search config then
indexes these tokens in a GIN index, which stays fast at millions of rows. Intake also stores each ticket's
distinct tokens (ticket.tokens), which the duplicate check compares; this module is the only tokenizer.
"""
from __future__ import annotations

import re

_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def tokens(text: str) -> list[str]:
    """The search tokens of text, in order, with repeats."""
    out: list[str] = []
    for run in _RUNS.findall(text or ""):
        if _CJK.match(run):
            out.extend([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)])
        else:
            out.append(run.lower())
    return out


def token_string(text: str) -> str:
    """Space-separated distinct tokens, the input of to_tsvector('simple', ...)."""
    return " ".join(dict.fromkeys(tokens(text)))

