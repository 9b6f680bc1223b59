"""Suggestions learnt from dispatchers: the stage after routing proposes a lead unit kind, it never routes.

The model is a multinomial naive Bayes over the project's own search tokens (service.domain.textsearch: CJK
bigrams and lower-cased words; title tokens count twice) and three field features (request type, category,
channel). Plain code rather than a library: training is counting, prediction is a sum of logarithms, the whole
model is a JSON document of counts stored with its version (routing_model.params), and training is deterministic
(fixed example order and folds, no random state) so a version can be rebuilt and explained. Two numbers are chosen
by cross-validation on the training examples: the smoothing (by accuracy) and a temperature that divides the
scores before the softmax (by log loss), so the confidence of the top kind is close to how often it is right.

Labels: every manual 派单, 改派 and approved 退单 that names a lead unit labels its ticket with the kind of the
last such unit; the corpus's dev split (routing_rules/cases/dev) adds its labelled cases. Each kind's remit
(models/reference/unit_kinds.yaml) is a prior example of that kind, weighted by cross-validation, so a kind no
ticket has reached yet can still be suggested. The test split is never read here.

A suggestion is stored for every ticket the rules leave to a dispatcher, and for every rule decision, flagged
when the model's top kind differs from the rule's with confidence of at least routing_disagree_confidence.
"""
from __future__ import annotations

import logging
import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert

from models import EventKind, RoutingModel, RoutingSuggestion, Ticket, TicketEvent, TicketStatus
from routing_rules import learnt
from routing_rules.learnt import Example  # a labelled problem: what the ticket says, the kind that should lead it
from service.config import get_settings
from service.domain.reference import reference
from service.domain.textsearch import tokens
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

FORMAT = 1
TITLE_WEIGHT = 2
ALPHAS = (0.05, 0.1, 0.3, 1.0)
TEMPERATURES = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)
FOLDS = 5
PRIOR_WEIGHTS = (1.0, 3.0, 10.0, 30.0)   # how many cases a kind's remit counts as (chosen by cross-validation)
CV_MAX_EXAMPLES = 3000        # cross-validation reads an evenly spaced sample of at most this many examples
DEFAULT_TEMPERATURE = 8.0     # too few examples to cross-validate
LABELLING_EVENTS = (EventKind.DISPATCHED, EventKind.TRANSFERRED, EventKind.REFUSAL_APPROVED)
CORPUS_DEV = Path(__file__).resolve().parents[2] / "routing_rules" / "cases" / "dev"


def features(title: str, description: str, request_type: str | None = None, category: str | None = None,
             channel: str | None = None) -> Counter[str]:
    """Token counts (title tokens weigh TITLE_WEIGHT) and one feature per known field; field features hold
    characters no token has, so they never collide with one."""
    out: Counter[str] = Counter()
    for tok in tokens(title or ""):
        out[tok] += TITLE_WEIGHT
    out.update(tokens(description or ""))
    for name, value in (("rt", request_type), ("cat", category), ("ch", channel)):
        if value:
            out[f"{name}={value}"] += 1
    return out


class KindModel:
    """Naive Bayes over feature counts; `params` is the whole model as JSON."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.kinds: list[str] = sorted(params["docs"])
        self.alpha: float = params["alpha"]
        self.temperature: float = params["temperature"]
        counts: dict[str, dict[str, float]] = params["counts"]
        vocab = {f for per_kind in counts.values() for f in per_kind}
        size = max(len(vocab), 1)
        total_docs = sum(params["docs"].values())
        # score(kind) = log prior + n_known * log(alpha / denominator) + sum over seen features of the lift.
        self._base = {}
        self._unseen = {}
        for kind in self.kinds:
            denominator = sum(counts.get(kind, {}).values()) + self.alpha * size
            self._base[kind] = math.log(params["docs"][kind] / total_docs)
            self._unseen[kind] = math.log(self.alpha / denominator)
        self._lift: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for kind in self.kinds:
            for feature, n in counts.get(kind, {}).items():
                self._lift[feature].append((kind, math.log((n + self.alpha) / self.alpha)))

    @classmethod
    def fit(cls, examples: Sequence[Example], *, weights: Sequence[float] | None = None,
            prior: Sequence[Example] = ()) -> KindModel | None:
        """Train on examples in the given order (deterministic); `prior` holds one description per kind (its
        remit), always trained on, never held out, with a weight chosen by cross-validation. None with fewer than
        two kinds to tell apart."""
        weights = list(weights) if weights is not None else [1.0] * len(examples)
        if len({e.kind for e in [*examples, *prior]}) < 2:
            return None
        feats = [features(e.title, e.description, e.request_type, e.category, e.channel) for e in examples]
        prior_feats = [features(e.title, e.description) for e in prior]
        alpha, prior_weight, temperature = _choose(examples, feats, weights, list(prior), prior_feats)
        params = _count([*prior, *examples], [*prior_feats, *feats], [prior_weight] * len(prior) + weights,
                        alpha, temperature)
        return cls({**params, "prior_weight": prior_weight, "prior_kinds": len(prior)})

    def scores(self, feats: Counter[str]) -> dict[str, float]:
        """Log joint score per kind (features never seen in training are left out)."""
        known = sum(n for f, n in feats.items() if f in self._lift)
        out = {k: self._base[k] + known * self._unseen[k] for k in self.kinds}
        for feature, n in feats.items():
            for kind, lift in self._lift.get(feature, ()):
                out[kind] += n * lift
        return out

    def predict_features(self, feats: Counter[str]) -> list[tuple[str, float]]:
        """(kind, probability) for every kind, most likely first (ties by code, so the order is fixed)."""
        return _softmax(self.scores(feats), self.temperature)

    def predict(self, title: str, description: str, request_type: str | None = None, category: str | None = None,
                channel: str | None = None) -> tuple[str, float]:
        """The most likely kind and its probability."""
        return self.predict_features(features(title, description, request_type, category, channel))[0]


def _softmax(scores: dict[str, float], temperature: float) -> list[tuple[str, float]]:
    top = max(scores.values())
    exp = {k: math.exp((s - top) / temperature) for k, s in scores.items()}
    total = sum(exp.values())
    return sorted(((k, v / total) for k, v in exp.items()), key=lambda kv: (-kv[1], kv[0]))


def _count(examples: Sequence[Example], feats: Sequence[Counter[str]], weights: Sequence[float], alpha: float,
           temperature: float) -> dict[str, Any]:
    counts: dict[str, dict[str, float]] = defaultdict(dict)
    docs: dict[str, float] = defaultdict(float)
    for example, f, w in zip(examples, feats, weights):
        docs[example.kind] += w
        per_kind = counts[example.kind]
        for feature, n in f.items():
            per_kind[feature] = per_kind.get(feature, 0) + n * w
    return {"format": FORMAT, "alpha": alpha, "temperature": temperature, "title_weight": TITLE_WEIGHT,
            "docs": dict(sorted(docs.items())),
            "counts": {k: dict(sorted(v.items())) for k, v in sorted(counts.items())}}


def _choose(examples: Sequence[Example], feats: Sequence[Counter[str]], weights: Sequence[float],
            prior: list[Example], prior_feats: list[Counter[str]]) -> tuple[float, float, float]:
    """Smoothing and the prior's weight by cross-validated accuracy, then the temperature by cross-validated log
    loss (held-out folds are taken from the examples only)."""
    n = len(examples)
    if n < 2 * FOLDS:
        return 0.1, PRIOR_WEIGHTS[len(PRIOR_WEIGHTS) // 2], DEFAULT_TEMPERATURE
    step = max(1, math.ceil(n / CV_MAX_EXAMPLES))
    sample = list(range(0, n, step))
    best: tuple | None = None
    for prior_weight in PRIOR_WEIGHTS if prior else (0.0,):
        for alpha in ALPHAS:
            held: list[tuple[str, dict[str, float]]] = []
            for fold in range(FOLDS):
                out = {i for j, i in enumerate(sample) if j % FOLDS == fold}
                keep = [i for i in range(n) if i not in out]
                train = [examples[i] for i in keep]
                if len({e.kind for e in [*train, *prior]}) < 2:
                    continue
                model = KindModel(_count([*prior, *train], [*prior_feats, *(feats[i] for i in keep)],
                                         [prior_weight] * len(prior) + [weights[i] for i in keep], alpha, 1.0))
                held.extend((examples[i].kind, model.scores(feats[i])) for i in sorted(out))
            if not held:
                continue
            right = sum(max(s, key=lambda k: (s[k], k)) == kind for kind, s in held)
            if best is None or right > best[0]:
                best = (right, alpha, prior_weight, held)
    if best is None:
        return 0.1, PRIOR_WEIGHTS[len(PRIOR_WEIGHTS) // 2], DEFAULT_TEMPERATURE
    _, alpha, prior_weight, held = best

    def loss(t: float) -> float:
        total = 0.0
        for kind, s in held:
            probs = dict(_softmax(s, t))
            total -= math.log(max(probs.get(kind, 0.0), 1e-12))
        return total

    return alpha, prior_weight, min(TEMPERATURES, key=lambda t: (loss(t), t))


# The database side.


@dataclass(frozen=True)
class Suggestion:
    """What the model proposes for one ticket."""

    ticket_id: int
    model_version: int
    kind: str
    unit_code: str | None
    confidence: float
    rule_id: str | None
    rule_kind: str | None
    disagrees: bool


def unit_kind(code: str | None) -> str | None:
    """The kind of a unit code (units.yaml `kind:`)."""
    if code is None:
        return None
    item = reference().files["units"].by_code().get(code)
    return item.get("kind") if item else None


def kind_label(kind: str | None) -> str | None:
    """The Chinese name of a unit kind: its label in unit_kinds.yaml, else the name of the city's unit."""
    if kind is None:
        return None
    files = reference().files
    if "unit_kinds" in files and (label := reference().label("unit_kinds", kind)):
        return label
    return _unit_index()["city"].get(kind, (None, kind))[1]


@lru_cache
def _unit_index() -> dict[str, dict]:
    city, county, town = {}, {}, {}
    for item in reference().files["units"].items:
        kind, code = item.get("kind"), item["code"]
        if kind == "town_centre" and item.get("town"):
            town[item["town"]] = code
        elif item.get("level") == "city":
            city[kind] = (code, item.get("name"))
        elif item.get("county"):
            county[(item["county"], kind)] = code
    return {"city": city, "county": county, "town": town}


def resolve_unit(kind: str, county: str | None, town: str | None) -> str | None:
    """The unit of a kind for a ticket: its town's centre (town_centre), its county's unit, else the city's."""
    index = _unit_index()
    if kind == "town_centre":
        return index["town"].get(town) if town else None
    if county is None and town:
        county = (reference().town(town) or {}).get("county")
    if county and (code := index["county"].get((county, kind))):
        return code
    city = index["city"].get(kind)
    return city[0] if city else None


def event_examples(uow: UnitOfWork, limit: int | None = None) -> list[Example]:
    """Tickets a dispatcher placed by hand (派单, 改派, 退单 approved with a new lead), labelled with the kind of
    the last unit so chosen; oldest first, at most `limit` (the most recent)."""
    limit = get_settings().routing_train_max_events if limit is None else limit
    last = (select(TicketEvent.ticket_id, TicketEvent.unit_code, TicketEvent.id)
            .where(TicketEvent.kind.in_(LABELLING_EVENTS), TicketEvent.unit_code.is_not(None))
            .distinct(TicketEvent.ticket_id).order_by(TicketEvent.ticket_id, TicketEvent.id.desc()).subquery())
    rows = uow.execute(
        select(Ticket.title, Ticket.description, Ticket.request_type, Ticket.category_code, Ticket.channel_code,
               last.c.unit_code)
        .join(last, last.c.ticket_id == Ticket.id).order_by(last.c.id.desc()).limit(limit)).all()
    out = []
    for r in reversed(rows):
        if kind := unit_kind(r.unit_code):
            out.append(Example(r.title, r.description, r.request_type, r.category_code, r.channel_code, kind))
    return out


def corpus_examples(path: Path = CORPUS_DEV) -> list[Example]:
    """The labelled cases of the corpus's dev split (none when it cannot be read)."""
    from routing_rules.cases import CaseError

    try:
        return learnt.corpus_examples(path)
    except CaseError as exc:
        log.warning("routing corpus not used for training: %s", exc)
        return []


def remit_examples() -> list[Example]:
    """One description per unit kind, its name and remit (models/reference/unit_kinds.yaml): what the model
    knows of a kind before any ticket was placed there."""
    files = reference().files
    if "unit_kinds" not in files:
        return []
    return [Example(item.get("label") or "", "，".join(item.get("remit") or []), None, None, None, item["code"])
            for item in files["unit_kinds"].items]


def train(uow: UnitOfWork, *, corpus: Path | None = CORPUS_DEV) -> RoutingModel | None:
    """Train on every dispatcher label, the dev corpus and the kinds' remits; store the model as the new active
    version. None (nothing stored) when the examples name fewer than two kinds."""
    events = event_examples(uow)
    cases = corpus_examples(corpus) if corpus is not None else []
    examples = cases + events
    weight = get_settings().routing_event_weight
    model = KindModel.fit(examples, weights=[1.0] * len(cases) + [weight] * len(events), prior=remit_examples())
    if model is None:
        log.warning("routing model not trained: %d examples name fewer than two unit kinds", len(examples))
        return None
    params = {**model.params, "event_weight": weight}
    uow.execute(update(RoutingModel).where(RoutingModel.active.is_(True)).values(active=False))
    row = RoutingModel(examples=len(examples), from_events=len(events), from_corpus=len(cases), params=params,
                       active=True)
    uow.add(row)
    uow.flush()
    log.info("routing model %s trained on %d examples (%d from dispatchers)", row.version, len(examples), len(events))
    return row


_models: dict[tuple[int, datetime], KindModel] = {}


def active_model(uow: UnitOfWork) -> tuple[int, KindModel] | None:
    """The active model's version and the model (built once per version in each process)."""
    found = uow.execute(select(RoutingModel.version, RoutingModel.trained_at)
                        .where(RoutingModel.active.is_(True))).first()
    if found is None:
        return None
    key = (found.version, found.trained_at)
    model = _models.get(key)
    if model is None:
        params = uow.scalar(select(RoutingModel.params).where(RoutingModel.version == found.version))
        model = KindModel(params)
        _models.clear()
        _models[key] = model
    return found.version, model


def suggest(uow: UnitOfWork, ticket: Ticket, *, rule_id: str | None = None,
            rule_unit: str | None = None) -> Suggestion | None:
    """Store and return the active model's suggestion for a ticket, beside the rule decision (if any); None
    without an active model. It changes nothing on the ticket."""
    found = active_model(uow)
    if found is None:
        return None
    version, model = found
    kind, confidence = model.predict(ticket.title, ticket.description, ticket.request_type, ticket.category_code,
                                     ticket.channel_code)
    rule_kind = unit_kind(rule_unit)
    disagrees = bool(rule_kind and kind != rule_kind and confidence >= get_settings().routing_disagree_confidence)
    s = Suggestion(ticket.id, version, kind, resolve_unit(kind, ticket.county_code, ticket.town_code),
                   round(confidence, 4), rule_id, rule_kind, disagrees)
    values = {"kind": s.kind, "unit_code": s.unit_code, "confidence": s.confidence, "rule_id": s.rule_id,
              "rule_kind": s.rule_kind, "disagrees": s.disagrees}
    stmt = insert(RoutingSuggestion).values(ticket_id=ticket.id, model_version=version, **values)
    uow.execute(stmt.on_conflict_do_update(index_elements=["ticket_id", "model_version"], set_=values))
    return s


def after_routing(uow: UnitOfWork, ticket: Ticket, decision) -> Suggestion | None:
    """The stage after route: a suggestion for the ticket, compared with the rule decision. A failure here is
    logged and undone (in a savepoint); routing stands either way."""
    try:
        with uow.begin_nested():
            return suggest(uow, ticket, rule_id=decision.rule_id if decision.matched else None,
                           rule_unit=decision.lead_unit if decision.matched else None)
    except Exception:
        log.exception("suggestion for ticket %s failed; routing is unaffected", ticket.id)
        return None


def suggest_waiting(uow: UnitOfWork, limit: int | None = None) -> int:
    """Suggestions by the active model for the tickets waiting for a dispatcher (after a retrain)."""
    limit = get_settings().routing_suggest_waiting_max if limit is None else limit
    rows = uow.scalars(select(Ticket).where(Ticket.status == TicketStatus.PENDING_DISPATCH)
                       .order_by(Ticket.id.desc()).limit(limit)).all()
    return sum(suggest(uow, t) is not None for t in rows)


def latest(uow: UnitOfWork, ticket_ids: Iterable[int]) -> dict[int, RoutingSuggestion]:
    """The newest stored suggestion of each ticket."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    rows = uow.scalars(select(RoutingSuggestion).where(RoutingSuggestion.ticket_id.in_(ids))
                       .distinct(RoutingSuggestion.ticket_id)
                       .order_by(RoutingSuggestion.ticket_id, RoutingSuggestion.id.desc())).all()
    return {r.ticket_id: r for r in rows}


RETRAIN_TIMEOUT_SECONDS = 3600


def queue_retrain(name: str | None = None):
    """Queue a retrain (workers.jobs.retrain_routing_model): an admin's request, or the daily one. Returns the job."""
    from service import queues

    return queues.queue(queues.DEFAULT).enqueue(
        "workers.jobs.retrain_routing_model", job_id=queues.job_id(name or f"routing-retrain-{uuid.uuid4().hex}"),
        job_timeout=RETRAIN_TIMEOUT_SECONDS, result_ttl=7 * 86400, failure_ttl=7 * 86400)


_RULE_HEALTH = text("""
WITH routed AS (
    SELECT DISTINCT ON (e.ticket_id) e.ticket_id, e.id, e.payload->>'rule_id' AS rule_id
    FROM ticket_event e
    WHERE e.kind = :routed AND e.at >= :start AND e.at < :end
    ORDER BY e.ticket_id, e.id DESC
), moved AS (
    SELECT DISTINCT ON (o.ticket_id) o.ticket_id, o.unit_code
    FROM ticket_event o JOIN routed r ON r.ticket_id = o.ticket_id AND o.id > r.id
    WHERE o.kind IN :overriding
    ORDER BY o.ticket_id, o.id DESC
)
SELECT r.rule_id, m.ticket_id IS NOT NULL AS overridden, m.unit_code, count(*) AS n
FROM routed r LEFT JOIN moved m ON m.ticket_id = r.ticket_id
GROUP BY 1, 2, 3
""").bindparams(bindparam("overriding", expanding=True))


def rule_health(uow: UnitOfWork, start: datetime, end: datetime) -> list[dict]:
    """Per rule, the tickets it routed in [start, end), how many a dispatcher moved afterwards (改派, approved 退单,
    派单) and the kinds of the units they went to (None: back in the dispatch queue); most overridden first."""
    per_rule: dict[str, dict] = {}
    for row in uow.execute(_RULE_HEALTH, {"routed": EventKind.ROUTED.value, "start": start, "end": end,
                                          "overriding": [k.value for k in LABELLING_EVENTS]}):
        entry = per_rule.setdefault(row.rule_id or "", {"routed": 0, "overridden": 0, "went_to": Counter()})
        entry["routed"] += row.n
        if row.overridden:
            entry["overridden"] += row.n
            entry["went_to"][unit_kind(row.unit_code)] += row.n
    out = [{"rule_id": rule, "routed": e["routed"], "overridden": e["overridden"],
            "override_rate": round(e["overridden"] / e["routed"], 4),
            "went_to": sorted(e["went_to"].items(), key=lambda kv: (-kv[1], kv[0] or ""))}
           for rule, e in per_rule.items()]
    return sorted(out, key=lambda r: (-r["override_rate"], -r["overridden"], r["rule_id"]))
