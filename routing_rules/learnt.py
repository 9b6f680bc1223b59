"""The corpus model: a second opinion on the rules' decision.

A multinomial naive Bayes over a ticket's words (every two adjacent characters of the lower-cased text that are
both CJK characters, letters or digits; title words counted TITLE_WEIGHT times) and three field features (request type, category, channel), built when the rule set is loaded
from files in the repository only: the labelled cases of the corpus's dev split (routing_rules/cases/dev) and each
unit kind's name and remit (models/reference/unit_kinds.yaml), which counts as `prior_weight` cases of its kind.
Training is counting in file order, so the same files always give the same model; the files' digest is part of
the rule-set version. The test split is never read.

When the engine asks it is set by learnt.yaml's `consult`: `weak`, only when the winning rule's evidence is weak
(see `weak`: the rule matched on no keyword at all, a catch-all by category or channel, or on a single keyword found
only in the description, a word that may be mentioned in passing); `contested`, also when every keyword the winning
rule found is only in the description and the runner-up rule leads another kind of unit; `always`, for every ticket a
rule routes (a ticket a town centre answered on the spot stays with it). If the model gives another unit kind a
probability of at least `threshold`, that kind leads, and the decision's reasons name the model, its probabilities,
the words that weighed most and the rule it overrode. Everything else stays with the rules; guards apply to the
model's choice as to a rule's. Smoothing and the temperature are chosen by cross-validation on dev (`hotline rules
cross-validate`); `consult`, the remit weight and the threshold on fresh rounds of dev cases, each left out of the
model in turn and measured before the rules were tuned on it (learnt.yaml says how).

This is not the suggestion model of service/pipeline/suggest.py, which also learns from dispatchers' corrections
and only ever suggests and flags; this one is fixed by the repository, so routing is reproducible.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import add, itemgetter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_LEARNT_FILE = Path(__file__).resolve().parent / "learnt.yaml"
# A title word counts as much as a description word: counted twice, the model did worse on each round of fresh
# cases left out of its training (leave one round out over rounds 1-7: 1,023 of 1,102 right, against 1,034).
TITLE_WEIGHT = 1
EVIDENCE_SHOWN = 6
_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff0-9a-z]{2}")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CONSULT = ("weak", "contested", "always")  # when the engine asks the model (learnt.yaml `consult`)
_FIELDS_SEEN = 4096  # remembered field combinations (see _Packed.fields)
_FIELD_BITS = 64  # one kind's share of a packed score (see _Packed)
_LONGEST = 1 << 24  # characters of a text the packed scorer reads (the rest are left out)
_BOUND_MARGIN = 1e-9  # in consult(): keeps the bound clear of the rounding of exp() and of the sum


class LearntError(Exception):
    """The model's settings or source files cannot be used."""


def pairs(text: str) -> Counter[str]:
    """Every two adjacent characters of the lower-cased text, counted (built in C: scoring a ticket is mostly
    this). Pairs with punctuation or spaces are counted too but are never features (see words())."""
    text = (text or "").lower()
    return Counter(map(add, text, text[1:]))


def words(text: str) -> Counter[str]:
    """The model's words of a text, counted: pairs of adjacent CJK characters, letters or digits."""
    return Counter({w: n for w, n in pairs(text).items() if _WORD.fullmatch(w)})


def fields_of(request_type: str | None, category: str | None, channel: str | None) -> list[str]:
    """One feature per known field; they hold '=', which no word has."""
    return [f"{name}={value}" for name, value in (("rt", request_type), ("cat", category), ("ch", channel)) if value]


@dataclass(frozen=True)
class Example:
    """A labelled text: title, description, fields and the unit kind that should lead."""

    title: str
    description: str
    request_type: str | None
    category: str | None
    channel: str | None
    kind: str

    def features(self) -> dict[str, float]:
        return features(self.title, self.description, self.request_type, self.category, self.channel)


def features(title: str, description: str, request_type: str | None = None, category: str | None = None,
             channel: str | None = None) -> dict[str, float]:
    """Feature counts of a ticket (title words count TITLE_WEIGHT)."""
    out: dict[str, float] = {}
    for word, n in words(title).items():
        out[word] = out.get(word, 0) + TITLE_WEIGHT * n
    for word, n in words(description).items():
        out[word] = out.get(word, 0) + n
    for feature in fields_of(request_type, category, channel):
        out[feature] = out.get(feature, 0) + 1
    return out


class CorpusModel:
    """Naive Bayes over feature counts. Scoring adds, per feature of the ticket that training saw, that feature's
    lift for the kinds it was seen with; features never seen are left out."""

    def __init__(self, kinds: Sequence[str], docs: Sequence[float], counts: Sequence[dict[str, float]],
                 alpha: float, temperature: float, max_kinds: int | None = None) -> None:
        self.kinds = tuple(kinds)
        self.alpha = alpha
        self.temperature = temperature
        vocabulary = {f for per_kind in counts for f in per_kind}
        size = max(len(vocabulary), 1)
        total_docs = sum(docs)
        self._base = [math.log(d / total_docs) for d in docs]
        self._unseen = [math.log(alpha / (sum(c.values()) + alpha * size)) for c in counts]
        lifts: dict[str, list[tuple[int, float]]] = {}
        for index, per_kind in enumerate(counts):
            for feature, n in per_kind.items():
                lifts.setdefault(feature, []).append((index, math.log((n + alpha) / alpha)))
        # A word seen with more than max_kinds kinds (我们, 企业, 怎么, ...) tells little and would cost the most
        # to score (it is in nearly every ticket): it is left out. Field features are kept.
        self._lifts = {f: tuple(found) for f, found in lifts.items()
                       if max_kinds is None or len(found) <= max_kinds or "=" in f}
        self._index = {kind: i for i, kind in enumerate(self.kinds)}
        self._packed: _Packed | None = None

    @classmethod
    def fit(cls, examples: Sequence[Example], weights: Sequence[float], alpha: float,
            temperature: float, feats: Sequence[dict[str, float]] | None = None,
            max_kinds: int | None = None) -> CorpusModel:
        """Count the examples in order (deterministic)."""
        feats = feats if feats is not None else [e.features() for e in examples]
        kinds = sorted({e.kind for e in examples})
        at = {k: i for i, k in enumerate(kinds)}
        docs = [0.0] * len(kinds)
        counts: list[dict[str, float]] = [{} for _ in kinds]
        for example, f, weight in zip(examples, feats, weights):
            i = at[example.kind]
            docs[i] += weight
            per_kind = counts[i]
            for feature, n in f.items():
                per_kind[feature] = per_kind.get(feature, 0) + n * weight
        return cls(kinds, docs, counts, alpha, temperature, max_kinds)

    def scores(self, feats: dict[str, float]) -> list[float]:
        """Log joint score per kind (in self.kinds order)."""
        total = list(self._base)
        lifts = self._lifts
        known = 0.0
        for feature, n in feats.items():
            pairs = lifts.get(feature)
            if pairs is not None:
                known += n
                for i, lift in pairs:
                    total[i] += n * lift
        if known:
            total = [t + known * u for t, u in zip(total, self._unseen)]
        return total

    def consult(self, text: str, title: str, request_type: str | None, category: str | None, channel: str | None,
                threshold: float, other_than: str | None) -> tuple[str, float, list[float]] | None:
        """(kind, probability, the ticket's log score per kind, each shifted by one constant) when the most likely
        kind is not `other_than` and its probability is at least `threshold`; else None. `text` is the lower-cased
        title, a newline and the lower-cased description (the engine has it so), `title` the lower-cased title. The
        engine asks this on every ticket a rule routes, so the usual answer (the rule's own kind is the most likely)
        costs one pass of an automaton over the text, one sum of integers and one comparison."""
        packed = self._packed_scorer()
        q = packed.unpack(self._packed_sum(text, title, request_type, category, channel))
        best = max(q)
        at = q.index(best)
        kind = self.kinds[at]
        if kind == other_than:
            return None
        others = q[:at] + q[at + 1:]
        if not others:  # a model of one kind
            return kind, 1.0, packed.floats_of(q)
        # Another kind within bound units of the best keeps the best's probability below the threshold.
        bound = packed.bound(self.temperature, threshold)
        if bound is not None and best - max(others) < bound:
            return None
        # Kinds more than 69.1 temperatures below the best add less than 1e-30 each to the sum: left out.
        t = self.temperature * packed.scale
        floor = best - 69.1 * t
        confidence = 1.0 / (1.0 + sum(math.exp((v - best) / t) for v in others if v > floor))
        if confidence < threshold:
            return None
        return kind, confidence, packed.floats_of(q)

    def _packed_sum(self, text: str, title: str, request_type: str | None, category: str | None,
                    channel: str | None) -> int:
        """The packed scores of a ticket: its text (title, newline, description; no word spans the newline) and,
        when title words count more than once, its title again."""
        packed = self._packed_scorer()
        total = packed.sum(text, packed.base + packed.fields(request_type, category, channel))
        if TITLE_WEIGHT != 1 and title:
            total += (TITLE_WEIGHT - 1) * packed.sum(title, 0)
        return total

    def _packed_scorer(self) -> _Packed:
        """The packed scorer, built on first use (Learnt.load builds it with the model)."""
        scorer = self._packed
        if scorer is None:
            scorer = self._packed = _Packed(self)
        return scorer

    def _known_pairs(self, text: str) -> Counter[str]:
        """The lower-cased text's pairs of adjacent characters that are features, counted, in order of appearance."""
        return Counter(filter(self._lifts.__contains__, map(add, text, text[1:])))

    def ticket_features(self, title: str, description: str, request_type: str | None, category: str | None,
                        channel: str | None) -> dict[str, float]:
        """features() of a ticket (lower-cased texts) restricted to the features the model knows, in the same
        order: all that evidence() weighs."""
        out: dict[str, float] = {}
        for weight, text in ((TITLE_WEIGHT, title), (1, description)):
            for word, n in self._known_pairs(text).items():
                out[word] = out.get(word, 0) + weight * n
        for feature in fields_of(request_type, category, channel):
            if feature in self._lifts:
                out[feature] = out.get(feature, 0) + 1
        return out

    def top(self, scores: list[float]) -> tuple[str, float]:
        """The most likely kind (the first code among equals, as in probabilities()) and its probability."""
        best = max(scores)
        at = scores.index(best)
        t = self.temperature
        return self.kinds[at], 1.0 / sum(math.exp((s - best) / t) for s in scores)

    def probabilities(self, scores: list[float], temperature: float | None = None) -> list[tuple[str, float]]:
        """(kind, probability) for every kind, most likely first (ties by code)."""
        t = temperature if temperature is not None else self.temperature
        top = max(scores)
        exp = [math.exp((s - top) / t) for s in scores]
        total = sum(exp)
        return sorted(((k, e / total) for k, e in zip(self.kinds, exp)), key=lambda kv: (-kv[1], kv[0]))

    def evidence(self, feats: dict[str, float], kind: str, against: str | None) -> list[dict[str, Any]]:
        """The features that weighed most for `kind` over `against` (the overridden rule's kind), strongest first."""
        i, j = self._index.get(kind), self._index.get(against) if against else None
        if i is None:
            return []
        shown = []
        for feature, n in feats.items():
            pairs = dict(self._lifts.get(feature, ()))
            gain = n * (pairs.get(i, 0.0) - (pairs.get(j, 0.0) if j is not None else 0.0))
            if gain > 0:
                shown.append((-gain, feature))
        return [{"feature": f, "weight": round(-g, 2)} for g, f in sorted(shown)[:EVIDENCE_SHOWN]]


class _Packed:
    """A model's scores as integers, one kind per 64 bits of a Python int, so that a ticket's scores for every kind
    are one sum of integers, found by one automaton pass over the text (the features are its words).

    A feature found adds, for each kind, round((lift + unseen + offset) * scale) units: the kind's lift (0 when the
    feature was never seen with it), the kind's log probability of an unseen feature (which scores() adds once per
    known feature, at the end) and an offset common to every kind that keeps each share non-negative. The base (log
    prior) is packed the same way. The offsets are the same for every kind, so the differences between kinds, all
    that the ranking and the probabilities read, are those of scores() to within one unit per feature. The scale is
    chosen so that a text of _LONGEST characters cannot carry a share past its 64 bits; longer texts are read up
    to that length."""

    def __init__(self, model: CorpusModel) -> None:
        import ahocorasick  # the rule engine's automaton, here over the model's words

        kinds = len(model.kinds)
        offset = -min(model._unseen, default=0.0)
        per_feature = [u + offset for u in model._unseen]
        largest = max((sum(lift for _, lift in found) for found in model._lifts.values()), default=0.0)
        widest = max(largest + max(per_feature, default=0.0), 1.0)
        # every share stays below 2**64 after _LONGEST + 3 features (a text and its three fields) plus the base
        self.scale = float(2 ** math.floor(math.log2((2 ** _FIELD_BITS - 1) / (widest * (_LONGEST + 4)))))
        self._struct = struct.Struct(f"<{kinds}Q")
        self._bytes = 8 * kinds
        plain = [round(v * self.scale) for v in per_feature]
        base_offset = -min(model._base, default=0.0)
        self.base = self._pack([round((b + base_offset) * self.scale) for b in model._base])
        self._values: dict[str, int] = {}
        automaton = ahocorasick.Automaton()
        for feature, found in model._lifts.items():
            shares = plain.copy()
            for i, lift in found:
                shares[i] = round((lift + per_feature[i]) * self.scale)
            value = self._values[feature] = self._pack(shares)
            if "=" not in feature:
                automaton.add_word(as_bytes(feature), value)
        self._automaton = automaton if len(automaton) else None
        if self._automaton is not None:
            automaton.make_automaton()
        self._fields_seen: dict[tuple[str | None, str | None, str | None], int] = {}
        self._bounds: dict[tuple[float, float], float | None] = {}

    def _pack(self, shares: list[int]) -> int:
        return int.from_bytes(self._struct.pack(*shares), "little")

    def sum(self, text: str, start: int) -> int:
        """`start` plus the packed shares of every feature found in the (lower-cased) text."""
        if self._automaton is None:
            return start
        return sum(map(_second, self._automaton.iter(as_bytes(text[:_LONGEST]))), start)

    def fields(self, request_type: str | None, category: str | None, channel: str | None) -> int:
        """The packed shares of a ticket's known field features, remembered per (request type, category, channel):
        the fields take values from short code lists."""
        key = (request_type, category, channel)
        found = self._fields_seen.get(key)
        if found is None:
            values = self._values
            found = sum(values[f] for f in fields_of(request_type, category, channel) if f in values)
            if len(self._fields_seen) >= _FIELDS_SEEN:
                self._fields_seen.clear()
            self._fields_seen[key] = found
        return found

    def bound(self, temperature: float, threshold: float) -> float | None:
        """In units: how far the best kind must lead the second for its probability to be able to reach the threshold
        (None for a threshold of one half or less, which no single other kind can keep the best from, or of 1 or more,
        which the sum decides alone). One other kind within temperature x log(threshold / (1 - threshold)) of the best
        keeps the best below the threshold; a margin keeps the rounding of exp() and of the sum out of it."""
        key = (temperature, threshold)
        found = self._bounds.get(key, _ABSENT)
        if found is _ABSENT:
            found = None if not 0.5 < threshold < 1.0 else \
                temperature * self.scale * (math.log(threshold / (1.0 - threshold)) - _BOUND_MARGIN)
            self._bounds[key] = found
        return found

    def unpack(self, total: int) -> tuple[int, ...]:
        """Each kind's share of a packed sum, in units."""
        return self._struct.unpack(total.to_bytes(self._bytes, "little"))

    def floats_of(self, shares: tuple[int, ...]) -> list[float]:
        """Shares as log scores (each shifted by the same constant)."""
        scale = self.scale
        return [v / scale for v in shares]


def as_bytes(text: str) -> str:
    """The text's UTF-8 bytes, one character per byte, for an automaton."""
    # pyahocorasick scans a trie node's children linearly; over Chinese text the root has hundreds
    # of children (one per distinct first character) and is rescanned after every mismatch. Over
    # UTF-8 bytes no node has more than 256 children and the root only a handful (lead bytes), which
    # makes matching about twice as fast. UTF-8 is self-synchronising, so a byte match of a keyword
    # is always a character match; surrogatepass keeps lone surrogates from raising.
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


_second = itemgetter(1)
_ABSENT = object()


@dataclass(frozen=True)
class Settings:
    """learnt.yaml: where the model's examples come from and the numbers chosen by cross-validation."""

    enabled: bool
    corpus: Path
    remits: Path
    alpha: float
    prior_weight: float
    temperature: float
    threshold: float
    max_kinds: int
    digest: str
    consult: str = "weak"


def load_settings(path: str | Path | None = None) -> Settings:
    """Read learnt.yaml (paths in it are relative to its folder)."""
    path = Path(path) if path is not None else DEFAULT_LEARNT_FILE
    try:
        data = path.read_bytes()
        raw = yaml.load(data, Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise LearntError(f"{path}: cannot read the corpus model settings: {exc}") from exc
    if not isinstance(raw, dict):
        raise LearntError(f"{path}: expected a mapping")
    required = {"enabled", "corpus", "remits", "alpha", "prior_weight", "temperature", "threshold", "max_kinds"}
    unknown = sorted(set(raw) - required - {"consult"})  # consult is optional (default weak)
    missing = sorted(required - set(raw))
    if unknown or missing:
        raise LearntError(f"{path}: unknown keys {unknown}, missing keys {missing}")
    if not isinstance(raw["enabled"], bool):
        raise LearntError(f"{path}: enabled must be true or false")
    for key in ("alpha", "prior_weight", "temperature"):
        if type(raw[key]) not in (int, float) or not raw[key] > 0:
            raise LearntError(f"{path}: {key} must be a positive number")
    if type(raw["threshold"]) not in (int, float) or not 0 < raw["threshold"] <= 1:
        raise LearntError(f"{path}: threshold must be a number in (0, 1]")
    if type(raw["max_kinds"]) is not int or raw["max_kinds"] < 1:
        raise LearntError(f"{path}: max_kinds must be a positive integer")
    consult = raw.get("consult", "weak")
    if consult not in CONSULT:
        raise LearntError(f"{path}: consult must be one of {', '.join(CONSULT)}")
    base = path.resolve().parent
    return Settings(raw["enabled"], (base / raw["corpus"]).resolve(), (base / raw["remits"]).resolve(),
                    float(raw["alpha"]), float(raw["prior_weight"]), float(raw["temperature"]),
                    float(raw["threshold"]), raw["max_kinds"], hashlib.sha256(data).hexdigest(), consult)


def teaches(case: Any) -> bool:
    """Whether a labelled case teaches the model: not one a town centre registered and answered on the spot. Its
    lead (that centre) follows from those two flags, which the model does not read, not from its words (policy
    questions, mostly): learnt from, it would send such questions to a town centre from any other desk. The engine
    never asks the model about such a ticket."""
    return not (getattr(case, "answered_locally", False) and getattr(case, "registered_by_town_centre", False))


def corpus_examples(directory: Path) -> list[Example]:
    """The labelled cases of a corpus folder that teach the model (see `teaches`), in file and case order."""
    from .cases import load_cases

    return [Example(c.title, c.description, c.request_type, c.category, c.channel, c.lead)
            for c in load_cases(directory) if teaches(c)]


def remit_examples(path: Path, kinds: Iterable[str] | None = None) -> list[Example]:
    """One example per unit kind: its name and remit (unit_kinds.yaml); only `kinds`, when given."""
    try:
        items = yaml.load(path.read_bytes(), Loader=_LOADER)["items"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise LearntError(f"{path}: cannot read unit kinds: {exc}") from exc
    wanted = set(kinds) if kinds is not None else None
    return [Example(item.get("label") or "", "，".join(item.get("remit") or []), None, None, None, item["code"])
            for item in items if wanted is None or item["code"] in wanted]


def source_digest(settings: Settings) -> str:
    """Digest of everything the model is built from: the settings, how a text is read, which cases teach, every
    corpus file, the remits."""
    digest = hashlib.sha256(settings.digest.encode())
    digest.update(f"title_weight={TITLE_WEIGHT}\0{_WORD.pattern}\0{teaches.__doc__}\0".encode())
    for path in sorted(settings.corpus.glob("*.y*ml")):
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode() + data)
    digest.update(settings.remits.read_bytes())
    return digest.hexdigest()


def build(settings: Settings, examples: Sequence[Example], prior: Sequence[Example]) -> CorpusModel:
    """The model of the examples (weight 1) and the remits (weight prior_weight)."""
    return CorpusModel.fit([*prior, *examples], [settings.prior_weight] * len(prior) + [1.0] * len(examples),
                           settings.alpha, settings.temperature, max_kinds=settings.max_kinds)


@dataclass(frozen=True)
class Learnt:
    """The built model with its settings and a digest of its sources (part of the rule-set version)."""

    model: CorpusModel
    threshold: float
    version: str
    examples: int
    consult: str = "weak"  # when the engine asks the model: weak, contested or always (see the module's doc)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Learnt | None:
        """Build the model learnt.yaml describes; None when it is disabled."""
        settings = load_settings(path)
        if not settings.enabled:
            return None
        try:
            examples = corpus_examples(settings.corpus)
        except Exception as exc:  # a CaseError names every broken case
            raise LearntError(f"corpus {settings.corpus}: {exc}") from exc
        prior = remit_examples(settings.remits)
        model = build(settings, examples, prior)
        model._packed_scorer()  # built now rather than on the first ticket it is asked about
        return cls(model, settings.threshold, source_digest(settings)[:12], len(examples), consult=settings.consult)


def weak(found: int, in_title: bool) -> bool:
    """Whether a winning rule's evidence is weak: no keyword at all, or one keyword found only in the description."""
    return found == 0 or (found == 1 and not in_title)


ALPHAS = (0.05, 0.1, 0.3, 1.0)
PRIOR_WEIGHTS = (1.0, 3.0, 10.0, 30.0)
TEMPERATURES = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
FOLDS = 5


def fold_of(cases: Sequence[Any], folds: int) -> list[int]:
    """Each case's fold: the i-th case file (in load order) goes whole to fold i mod `folds`, so that cases written
    together, which share their words, are never on both sides (holding out single cases would favour a model that
    memorises a round's wording); with fewer files than folds, the i-th case goes to fold i mod `folds`."""
    files = list(dict.fromkeys(getattr(case, "file", "") for case in cases))
    if len(files) < folds:
        return [i % folds for i in range(len(cases))]
    at = {name: i % folds for i, name in enumerate(files)}
    return [at[getattr(case, "file", "")] for case in cases]


def cross_validate(rules: Any, cases: Sequence[Any], unit_kind: dict[str, str], town_county: dict[str, str],
                   settings: Settings, folds: int = FOLDS) -> dict[str, Any]:
    """Choose the model's numbers on labelled cases (the dev split), deterministically: each case file is held
    out whole, the i-th file (in load order) in fold i mod `folds` (see fold_of), and the model of the other folds
    (and the remits) judges its cases. The smoothing and the remits'
    weight are chosen by the held-out model's accuracy, the temperature by its log loss, and the threshold by the
    accuracy of the rules with the model, routed by the engine itself (`rules`, a RuleSet, gets each fold's model
    in turn). Ties go to the first value listed (for the threshold: the highest, the least the model decides)."""
    examples = [Example(c.title, c.description, c.request_type, c.category, c.channel, c.lead) for c in cases]
    prior = remit_examples(settings.remits)
    feats = [e.features() for e in examples]
    prior_feats = [e.features() for e in prior]
    fold = fold_of(cases, folds)
    held_out = [[i for i in range(len(cases)) if fold[i] == f] for f in range(folds)]

    def fold_model(f: int, alpha: float, prior_weight: float, temperature: float) -> CorpusModel:
        keep = [i for i in range(len(cases)) if fold[i] != f and teaches(cases[i])]
        return CorpusModel.fit([*prior, *(examples[i] for i in keep)],
                               [prior_weight] * len(prior) + [1.0] * len(keep), alpha, temperature,
                               [*prior_feats, *(feats[i] for i in keep)], settings.max_kinds)

    grid = []
    for prior_weight in PRIOR_WEIGHTS:
        for alpha in ALPHAS:
            scored: list[tuple[str, list[float], tuple[str, ...]]] = []
            for f in range(folds):
                model = fold_model(f, alpha, prior_weight, 1.0)
                scored.extend((examples[i].kind, model.scores(feats[i]), model.kinds) for i in held_out[f]
                              if teaches(cases[i]))
            right = sum(kinds[max(range(len(s)), key=s.__getitem__)] == kind for kind, s, kinds in scored)
            grid.append((right, alpha, prior_weight, scored))
    best = max(grid, key=lambda g: g[0])  # max keeps the first of equals
    right, alpha, prior_weight, scored = best

    def loss(t: float) -> float:
        total = 0.0
        for kind, s, kinds in scored:
            top = max(s)
            exp = [math.exp((v - top) / t) for v in s]
            p = exp[kinds.index(kind)] / sum(exp) if kind in kinds else 0.0
            total -= math.log(max(p, 1e-12))
        return total

    temperature = min(TEMPERATURES, key=loss)
    models = [fold_model(f, alpha, prior_weight, temperature) for f in range(folds)]
    saved = rules.learnt
    by_threshold = []
    try:
        plain = [0] * len(cases)
        rules.learnt = None
        for i, case in enumerate(cases):
            decision = rules.route(case.facts(town_county))
            plain[i] = unit_kind.get(decision.lead_unit) == case.lead if decision.lead_unit else False
        for threshold in sorted(THRESHOLDS, reverse=True):
            correct = learnt_decided = 0
            for f in range(folds):
                rules.learnt = Learnt(models[f], threshold, "cv", len(cases) - len(held_out[f]),
                                      consult=settings.consult)
                for i in held_out[f]:
                    decision = rules.route(cases[i].facts(town_county))
                    learnt_decided += bool(decision.rule_id and decision.rule_id.startswith("learnt-"))
                    correct += bool(decision.lead_unit) and unit_kind.get(decision.lead_unit) == cases[i].lead
            by_threshold.append({"threshold": threshold, "correct": correct, "decided_by_model": learnt_decided})
    finally:
        rules.learnt = saved
    chosen = max(by_threshold, key=lambda r: r["correct"])
    return {
        "cases": len(cases), "folds": folds,
        "model_accuracy": [{"alpha": a, "prior_weight": w, "correct": r} for r, a, w, _ in grid],
        "alpha": alpha, "prior_weight": prior_weight, "model_correct": right, "temperature": temperature,
        "rules_alone_correct": sum(plain), "by_threshold": by_threshold, "threshold": chosen["threshold"],
    }
