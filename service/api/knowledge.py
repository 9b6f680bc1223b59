"""The knowledge base over HTTP: articles operators answer from and units' reply templates (知识库).

Everyone logged in reads, searches and asks for suggestions; admins and the owning unit's handlers write.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BeforeValidator
from starlette.convertors import Convertor, register_url_convertor

from models import ArticleKind, KnowledgeArticle, KnowledgeArticleVersion, Role, User
from service.api import present
from service.api.deps import CurrentUser, require
from service.api.openapi import errors
from service.config import get_settings
from service.db import SessionDep
from service.domain.reference import lookup_enum
from service.errors import field_error
from service.pipeline import knowledge, knowledge_search
from service.schemas.common import Coded, Page
from service.schemas.knowledge import (
    MAX_VERSION, ArticleIn, ArticleOut, ArticleUpdate, ArticleVersionOut, SuggestIn, SuggestionOut, UnitCode,
)
from service.schemas.ticket import CategoryCode


class ArticleIdConvertor(Convertor[str]):
    """An entry's id in a path: any segment but `suggest` (FastAPI then says what is wrong with one), so that a
    method /suggest does not have (PUT) answers 405, not a complaint about an id."""

    regex = "(?!suggest$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("article_id", ArticleIdConvertor())
router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])
Writer = Annotated[User, Depends(require(Role.ADMIN, Role.HANDLER))]
Kind = Annotated[ArticleKind, BeforeValidator(lambda v: lookup_enum(ArticleKind, v))]


def article_out(article: KnowledgeArticle, on: date) -> ArticleOut:
    reason = knowledge.stale_reason(article, on)
    return ArticleOut(
        id=article.id, kind=Coded(code=article.kind, label=ArticleKind(article.kind).label), title=article.title,
        body=article.body, category=present.coded("categories", article.category_code), tags=list(article.tags),
        owner_unit=present.unit(article.owner_unit_code), valid_from=article.valid_from,
        valid_until=article.valid_until, review_by=article.review_by, version=article.version,
        stale=reason is not None, stale_reason=reason, updated_at=article.updated_at, updated_by=article.updated_by)


def version_out(v: KnowledgeArticleVersion) -> ArticleVersionOut:
    return ArticleVersionOut(
        version=v.version, kind=Coded(code=v.kind, label=ArticleKind(v.kind).label), title=v.title, body=v.body,
        category=present.coded("categories", v.category_code), tags=list(v.tags),
        owner_unit=present.unit(v.owner_unit_code), valid_from=v.valid_from, valid_until=v.valid_until,
        review_by=v.review_by, edited_at=v.edited_at, edited_by=v.edited_by)


def _limit(limit: int | None) -> int:
    settings = get_settings()
    return min(limit or settings.page_size_default, settings.page_size_max)


@router.get("", response_model=Page[ArticleOut])
def list_(
    session: SessionDep, _: CurrentUser,
    q: Annotated[str | None, Query(max_length=200, description="every word must occur (title, tags or body)")] = None,
    kind: Kind | None = None,
    category: CategoryCode | None = None,
    unit: Annotated[UnitCode | None, Query(description="the owning unit")] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    include_stale: Annotated[bool, Query(description="also entries past valid_until or review_by")] = False,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Page[ArticleOut]:
    """Articles and reply templates: with q, those holding every word of it, title hits first; else newest first.
    Stale entries are left out unless include_stale=true. Follow next_cursor."""
    limit, on = _limit(limit), knowledge.today()
    flt = knowledge_search.Filter(q=q or None, kind=kind.value if kind else None, category=category, unit=unit,
                                  tag=tag or None, include_stale=include_stale)
    rows, next_cursor = knowledge_search.search(session, flt, cursor=cursor or None, limit=limit, on=on)
    return Page[ArticleOut](items=[article_out(a, on) for a, _ in rows], next_cursor=next_cursor, limit=limit)


@router.get("/suggest", response_model=list[SuggestionOut])
def suggest(
    session: SessionDep, _: CurrentUser,
    title: Annotated[str, Query(max_length=200, description="the ticket's title")] = "",
    description: Annotated[str, Query(max_length=20000, description="the ticket's description")] = "",
    category: CategoryCode | None = None,
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
) -> list[SuggestionOut]:
    """The articles that best answer a ticket of this title and description, best first: in force and never
    stale. Title hits count more than body hits, rare words more than common ones; the category boosts. (A
    description too long for a URL: POST the same fields.)"""
    return _suggest(session, SuggestIn.model_construct(title=title, description=description, category=category,
                                                       limit=limit))


@router.post("/suggest", response_model=list[SuggestionOut])
def suggest_posted(body: SuggestIn, session: SessionDep, _: CurrentUser) -> list[SuggestionOut]:
    """GET /api/v1/knowledge/suggest with the ticket's text in a JSON body (descriptions of any length)."""
    return _suggest(session, body)


def _suggest(session, ask: SuggestIn) -> list[SuggestionOut]:
    if not ask.title.strip() and not ask.description.strip():
        raise field_error("title", "give the ticket's title or description (or both)",
                          zh="请提供工单标题或描述", code="missing")
    on = knowledge.today()
    found = knowledge_search.suggest(session, title=ask.title, description=ask.description, category=ask.category,
                                     limit=ask.limit, on=on)
    return [SuggestionOut(article=article_out(a, on), score=score) for a, score in found]


@router.get("/{article_id:article_id}", response_model=ArticleOut)
def detail(article_id: int, session: SessionDep, _: CurrentUser) -> ArticleOut:
    """One entry as it reads now (stale ones too, marked so)."""
    return article_out(knowledge.get(session, article_id), knowledge.today())


@router.get("/{article_id:article_id}/versions", response_model=Page[ArticleVersionOut])
def versions(article_id: int, session: SessionDep, _: CurrentUser,
             cursor: Annotated[int | None, Query(ge=2, le=MAX_VERSION,
                                                 description="next_cursor of the last page")] = None,
             limit: Annotated[int | None, Query(ge=1)] = None) -> Page[ArticleVersionOut]:
    """Every version of the entry with its whole content, who wrote it and when, newest first."""
    limit = _limit(limit)
    rows = knowledge.versions(session, article_id, before=cursor, limit=limit)
    next_cursor = str(rows[limit - 1].version) if len(rows) > limit else None
    return Page[ArticleVersionOut](items=[version_out(v) for v in rows[:limit]], next_cursor=next_cursor, limit=limit)


@router.post("", response_model=ArticleOut, status_code=status.HTTP_201_CREATED)
def create(body: ArticleIn, session: SessionDep, user: Writer) -> ArticleOut:
    """A new entry (admin; a handler for their own unit, the owner by default)."""
    article = knowledge.create(session, body, user)
    session.commit()
    return article_out(article, knowledge.today())


@router.put("/{article_id:article_id}", response_model=ArticleOut, responses=errors(409))
def update(article_id: int, body: ArticleUpdate, session: SessionDep, user: Writer) -> ArticleOut:
    """The entry's whole new content, from `version` (409 when someone else's edit came first); the earlier
    version stays readable under /versions (admin; a handler of the owning unit)."""
    article = knowledge.update(session, article_id, body, user)
    session.commit()
    return article_out(article, knowledge.today())
