"""Guard vocabularies (routing_rules/guards.yaml): text signals such as "the town government owes money".

A signal holds when one sentence of the ticket names one of its parties and one of its cues. A party named only
as the one asked to help does not count: when a signal lists `asked` words (出面, 帮忙, 介入, ...) and one of
them follows the party within ASKED_GAP characters, with no clause mark or cue in between, that mention is an
appeal to the party (请商会或者政府出面协调), not a complaint about it or a claim on it. Another mention of a party in
the same sentence still counts (镇里说没钱付工程款，请县里出面). Rules may require signals
(`when: {signals: [...]}`); the engine's guards read two of them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Set
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from .model import RuleError

DEFAULT_GUARDS_FILE = Path(__file__).resolve().parent / "guards.yaml"
AGAINST_TOWN = "against_town_government"
REQUIRED_SIGNALS = (AGAINST_TOWN,)
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
ASKED_GAP = 4  # characters allowed between a party and the word that asks it to help (政府尽快出面, 镇里能不能帮忙)
_CLAUSE_MARKS = frozenset("，,、：:")


@dataclass(frozen=True)
class Signal:
    """A named text signal: some party and some cue in one sentence."""

    name: str
    description: str
    parties: tuple[str, ...]
    cues: tuple[str, ...]
    asked: tuple[str, ...] = ()  # words that, right after a party, ask it to help (see the module's notes)
    # The same words as sets, so that a ticket's found words are checked against them in one step.
    party_set: frozenset[str] = field(init=False, repr=False, compare=False)
    cue_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "party_set", frozenset(self.parties))
        object.__setattr__(self, "cue_set", frozenset(self.cues))

    def holds_in(self, sentence: str) -> bool:
        """Whether the (lower-cased) sentence names a party, other than only as the one asked to help, and a cue."""
        if not any(c in sentence for c in self.cues):
            return False
        if not self.asked:
            return any(p in sentence for p in self.parties)
        for party in self.parties:
            at = sentence.find(party)
            while at != -1:
                if not self._asked_at(sentence, at + len(party)):
                    return True
                at = sentence.find(party, at + 1)
        return False

    def _asked_at(self, sentence: str, end: int) -> bool:
        """Whether an `asked` word follows the party mention ending at `end`, within ASKED_GAP characters that hold
        no clause mark and no cue (镇里欠款不付，请县里协调: 镇里 is not asked, its gap holds a cue and a comma)."""
        for word in self.asked:
            at = sentence.find(word, end, end + ASKED_GAP + len(word))
            if at == -1:
                continue
            gap = sentence[end:at]
            if gap and (not _CLAUSE_MARKS.isdisjoint(gap) or any(c in gap for c in self.cues)):
                continue
            return True
        return False


@dataclass(frozen=True)
class Guards:
    """Every signal of the guards file, and the file's content digest (part of the rule-set version)."""

    signals: tuple[Signal, ...]
    digest: str

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.signals)

    @cached_property
    def words(self) -> frozenset[str]:
        """Every party and cue, lower-cased: the engine finds them in the same pass as rule keywords."""
        return frozenset(w for s in self.signals for w in (*s.parties, *s.cues))

    @cached_property
    def party_words(self) -> frozenset[str]:
        return frozenset(w for s in self.signals for w in s.parties)

    def detect(self, text: str, hits: Set[str]) -> frozenset[str]:
        """The signals that hold in the lower-cased text; `hits` (words found in it) lets most tickets skip the scan."""
        if not self.signals or hits.isdisjoint(self.party_words):
            return frozenset()
        sentences: list[str] | None = None
        found = set()
        for signal in self.signals:
            if hits.isdisjoint(signal.party_set) or hits.isdisjoint(signal.cue_set):
                continue
            if sentences is None:
                sentences = [s for s in _SENTENCE_END.split(text) if s]
            for sentence in sentences:
                if signal.holds_in(sentence):
                    found.add(signal.name)
                    break
        return frozenset(found)


def load_guards(path: str | Path | None = None) -> tuple[Guards, list[RuleError]]:
    """The guards file's signals, and every problem found in it (an empty Guards when it is unusable)."""
    file = Path(path) if path is not None else DEFAULT_GUARDS_FILE
    errors: list[RuleError] = []

    def error(message: str) -> None:
        errors.append(RuleError(str(file), 1, None, message))

    try:
        raw = file.read_bytes()
        doc = yaml.safe_load(raw.decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        error(f"cannot read guards file: {exc}".replace("\n", " "))
        return Guards((), ""), errors
    digest = hashlib.sha256(raw).hexdigest()
    items = doc.get("signals") if isinstance(doc, dict) else None
    if not isinstance(items, dict):
        error("guards file must be a mapping with a 'signals' mapping")
        return Guards((), digest), errors
    signals = []
    for name, body in items.items():
        if not isinstance(body, dict) or set(body) - {"description", "parties", "cues", "asked"}:
            error(f"signal {name!r}: expected a mapping with description, parties, cues and (optional) asked")
            continue
        lists = {}
        for key in ("parties", "cues", "asked"):
            words = body.get(key)
            if key == "asked" and words is None:
                lists[key] = ()
                continue
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
                error(f"signal {name!r}: {key} must be a non-empty list of words")
                break
            lists[key] = tuple(dict.fromkeys(w.strip().lower() for w in words))
        else:
            signals.append(Signal(str(name), str(body.get("description") or ""), lists["parties"], lists["cues"],
                                  lists["asked"]))
    missing = [n for n in REQUIRED_SIGNALS if n not in {s.name for s in signals}]
    if missing:
        error(f"missing signal(s) the engine's guards need: {', '.join(missing)}")
    return Guards(tuple(signals), digest), errors
