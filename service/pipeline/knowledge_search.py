"""Finding knowledge: the list with `?q=` (every word of the query, ranked by title hits) and the suggestions for a
ticket's title and description (the best few articles, never a stale one).

Both read tokens of service.domain.textsearch from the inverted index (knowledge_posting, knowledge_term; migration
0020), each in one statement.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy import select, text

from models import ArticleKind, KnowledgeArticle
from service.domain.bounds import is_id
from service.domain.textsearch import tokens
from service.errors import field_error
from service.pipeline.knowledge import TITLE_WEIGHT, today
from service.unit_of_work import UnitOfWork

QUERY_TOKENS = 64        # distinct tokens of `?q=` looked for (a query is at most 200 characters)
SUGGEST_TOKENS = 256     # distinct tokens of a ticket's title and description read, title first
SUGGEST_TERMS = 48       # of those, the most telling ones the articles are scored on
SUGGEST_POSTINGS = 10000  # and no more of them once this many postings are read
TICKET_TITLE_WEIGHT = 2  # a token of the ticket's title counts twice one of its description only
CATEGORY_BOOST = 1.5     # an article of the ticket's category scores this many times more
MIN_SCORE = 1.0          # below it a match rests on a stray common word or two: not suggested

_FRESH = ("(a.valid_until IS NULL OR a.valid_until >= :today) "
          "AND (a.review_by IS NULL OR a.review_by >= :today)")


@dataclass(frozen=True)
class Filter:
    q: str | None = None
    kind: str | None = None
    category: str | None = None
    unit: str | None = None
    tag: str | None = None
    include_stale: bool = False


def encode_cursor(score: int, article_id: int) -> str:
    return base64.urlsafe_b64encode(f"k:{score}:{article_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(score, id) a cursor points after; 422 naming `cursor` when it was not made by this list."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, score, article_id = raw.split(":")
        score_, id_ = int(score), int(article_id)
        if prefix != "k" or not 0 <= score_ <= 3 or not is_id(id_):
            raise ValueError
        return score_, id_
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error("cursor", "not a cursor returned by this endpoint",
                          zh="不是本列表返回的 cursor", code="cursor_invalid") from None


def search(session: UnitOfWork, flt: Filter, *, cursor: str | None, limit: int,
           on: date | None = None) -> tuple[list[tuple[KnowledgeArticle, int]], str | None]:
    """Entries holding every word of q (all entries without one), best first: those with every word in the title
    (score 3), then those with some (2), then the rest (1); ties newest first. Stale ones only with
    include_stale. The words are found in the posting lists (index-only scans), however common they are."""
    words = list(dict.fromkeys(tokens(flt.q or "")))[:QUERY_TOKENS]
    where, params = [], {"q": words, "words": len(words), "today": on or today(), "n": limit + 1}
    for column, name in (("kind", "kind"), ("category_code", "category"), ("owner_unit_code", "unit")):
        if getattr(flt, name) is not None:
            where.append(f"a.{column} = :{name}")
            params[name] = getattr(flt, name)
    if flt.tag is not None:
        where.append("a.tags @> CAST(ARRAY[:tag] AS varchar(40)[])")
        params["tag"] = flt.tag
    if not flt.include_stale:
        where.append(_FRESH)
    if cursor:
        params["after_score"], params["after_id"] = decode_cursor(cursor)
        where.append(f"({'h.score' if words else '0'}, a.id) < (:after_score, :after_id)")
    condition = " AND ".join(where) or "TRUE"
    if words:
        sql = f"""
            WITH h AS (
                SELECT p.article_id, CASE WHEN min(p.weight) = {TITLE_WEIGHT} THEN 3
                                          WHEN max(p.weight) = {TITLE_WEIGHT} THEN 2 ELSE 1 END AS score
                FROM knowledge_posting p WHERE p.token = ANY (CAST(:q AS text[]))
                GROUP BY p.article_id HAVING count(*) = :words)
            SELECT a.id, h.score FROM h JOIN knowledge_article a ON a.id = h.article_id
            WHERE {condition} ORDER BY h.score DESC, a.id DESC LIMIT :n"""
    else:
        sql = f"SELECT a.id, 0 AS score FROM knowledge_article a WHERE {condition} ORDER BY a.id DESC LIMIT :n"
    rows = session.execute(text(sql), params).all()
    found = _load(session, [r.id for r in rows[:limit]])
    page = [(found[r.id], r.score) for r in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].score, rows[limit - 1].id) if len(rows) > limit else None
    return page, next_cursor


@lru_cache
def _suggest_statement():
    """Score the articles sharing telling tokens with the ticket, in one statement that reads indexes only.

    A token's weight is its BM25 inverse document frequency, ln(1 + (N - df + 0.5) / (df + 0.5)), times 2 when
    it is in the ticket's title. The heaviest tokens are looked up (at most SUGGEST_TERMS, and no more once their
    postings reach SUGGEST_POSTINGS: a word in most articles says little and would read most of the index). An
    article scores the sum of its matched tokens' weights, each times 3 when it is in the article's title; times
    1.5 when the article is of the ticket's category. Best first, the articles in force and not stale are taken
    until `limit` are found (each looked up by its key, as the ranking reaches it)."""
    return text(f"""
        WITH n AS (SELECT count(*)::float8 AS n FROM knowledge_article),
        q AS (SELECT t, w FROM unnest(CAST(:tokens AS text[]), CAST(:weights AS int[])) AS x(t, w)),
        weighed AS (
            SELECT q.t, k.df, q.w * ln(1 + (n.n - k.df + 0.5) / (k.df + 0.5)) AS w
            FROM q JOIN knowledge_term k ON k.token = q.t CROSS JOIN n
            WHERE k.df > 0),
        terms AS (
            SELECT t, w FROM (SELECT t, w, sum(df) OVER (ORDER BY w DESC, t) - df AS before FROM weighed) x
            WHERE before < {SUGGEST_POSTINGS}
            ORDER BY w DESC, t LIMIT {SUGGEST_TERMS}),
        scored AS (
            SELECT p.article_id, sum(terms.w * p.weight)
                   * CASE WHEN bool_or(p.category_code = CAST(:category AS varchar)) THEN {CATEGORY_BOOST}
                          ELSE 1 END AS score
            FROM terms JOIN knowledge_posting p ON p.token = terms.t
            GROUP BY p.article_id),
        ranked AS (
            SELECT article_id, score FROM scored WHERE score >= {MIN_SCORE} ORDER BY score DESC, article_id)
        SELECT r.article_id AS id, r.score FROM ranked r
        WHERE EXISTS (SELECT FROM knowledge_article a
                      WHERE a.id = r.article_id AND a.kind = '{ArticleKind.ARTICLE.value}' AND {_FRESH}
                            AND (a.valid_from IS NULL OR a.valid_from <= :today))
        ORDER BY r.score DESC, r.article_id
        LIMIT :limit""")


def suggest(session: UnitOfWork, *, title: str, description: str, category: str | None, limit: int,
            on: date | None = None) -> list[tuple[KnowledgeArticle, float]]:
    """The articles that best answer a ticket of this title and description (in force, not stale), best first."""
    heading = list(dict.fromkeys(tokens(title)))
    words = list(dict.fromkeys([*heading, *tokens(description)]))[:SUGGEST_TOKENS]
    if not words:
        return []
    in_title = set(heading)
    rows = session.execute(_suggest_statement(), {
        "tokens": words, "weights": [TICKET_TITLE_WEIGHT if w in in_title else 1 for w in words],
        "category": category, "today": on or today(), "limit": limit}).all()
    found = _load(session, [r.id for r in rows])
    return [(found[r.id], round(float(r.score), 3)) for r in rows]


def _load(session: UnitOfWork, ids: list[int]) -> dict[int, KnowledgeArticle]:
    if not ids:
        return {}
    return {a.id: a for a in session.scalars(select(KnowledgeArticle).where(KnowledgeArticle.id.in_(ids)))}
