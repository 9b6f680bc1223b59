"""The knowledge base (知识库): who writes articles and reply templates, every version kept, and citing one.

An entry is stale once its valid_until or its review_by day has passed (Beijing time): it is then never suggested
and cannot be cited, until an edit brings it up to date. Each write rewrites the entry's postings (the inverted
index search and suggestions read) and adjusts the document frequencies (knowledge_term) the suggestions weigh
tokens with, in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError
from sqlalchemy import delete, select, text

from models import ArticleKind, KnowledgeArticle, KnowledgeArticleVersion, KnowledgePosting, Role, User
from service.config import get_settings
from service.domain.bounds import is_id
from service.domain.textsearch import tokens
from service.errors import Conflict, Forbidden, NotFound, field_error, validation_detail
from service.schemas.knowledge import ArticleIn, ArticleUpdate
from service.unit_of_work import UnitOfWork

EXPIRED = "已过有效期"
REVIEW_OVERDUE = "已超过复核日期"
NOT_YET_VALID = "尚未生效"
TITLE_WEIGHT = 3  # a token of the title counts three times one of the body only

# Fields an entry and each of its versions share, as (column, ArticleIn field).
CONTENT = (("kind", "kind"), ("title", "title"), ("body", "body"), ("category_code", "category"),
           ("tags", "tags"), ("owner_unit_code", "owner_unit"), ("valid_from", "valid_from"),
           ("valid_until", "valid_until"), ("review_by", "review_by"))

_TERMS = text("""
    INSERT INTO knowledge_term AS k (token, df)
    SELECT t, d FROM unnest(CAST(:tokens AS text[]), CAST(:deltas AS bigint[])) AS x(t, d) ORDER BY t
    ON CONFLICT (token) DO UPDATE SET df = k.df + excluded.df""")
_POSTINGS = text("""
    INSERT INTO knowledge_posting (token, article_id, weight, category_code)
    SELECT t, :article_id, w, CAST(:category AS varchar)
    FROM unnest(CAST(:tokens AS text[]), CAST(:weights AS smallint[])) AS x(t, w)""")


def today() -> date:
    """The day in the service's time zone: validity and review dates are Beijing days."""
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def stale_reason(article, on: date | None = None) -> str | None:
    """已过有效期 or 已超过复核日期 when the entry is stale on that day (today by default), else None."""
    on = on or today()
    if article.valid_until is not None and article.valid_until < on:
        return EXPIRED
    if article.review_by is not None and article.review_by < on:
        return REVIEW_OVERDUE
    return None


def get(session: UnitOfWork, article_id: int, *, lock: bool = False) -> KnowledgeArticle:
    """The entry, or 404."""
    article = session.get(KnowledgeArticle, article_id, with_for_update=lock) if is_id(article_id) else None
    if article is None:
        raise NotFound(f"no knowledge article {article_id}")
    return article


def check_writer(user: User, owner_unit: str | None) -> None:
    """Admins write every entry; a handler only those of their own unit."""
    if user.role == Role.ADMIN.value:
        return
    if user.role != Role.HANDLER.value:
        raise Forbidden(f"role '{user.role}' may not write knowledge articles (admins and the owning unit's "
                        "handlers may)")
    if owner_unit != user.unit_code:
        owner = f"unit {owner_unit}" if owner_unit else "no unit (kept by the admins)"
        raise Forbidden(f"the entry belongs to {owner}; handlers of {user.unit_code} write only their unit's")


def _checked(data: ArticleIn, user: User | None) -> dict:
    """The entry's columns from the request, with the owner defaulted and the dates checked together."""
    values = {column: getattr(data, field) for column, field in CONTENT}
    values["kind"] = ArticleKind(data.kind)
    values["tags"] = list(dict.fromkeys(data.tags))
    if values["owner_unit_code"] is None and user is not None and user.role == Role.HANDLER.value:
        values["owner_unit_code"] = user.unit_code
    if values["kind"] == ArticleKind.REPLY_TEMPLATE and values["owner_unit_code"] is None:
        raise field_error("owner_unit", "a reply template belongs to a unit: name it",
                          zh="答复模板须指定所属单位", code="missing")
    if data.valid_from and data.valid_until and data.valid_until < data.valid_from:
        raise field_error("valid_until", f"lies before valid_from {data.valid_from}",
                          zh=f"有效期截止日早于生效日 {data.valid_from}", code="date_order")
    return values


def _reindex(session: UnitOfWork, article: KnowledgeArticle, *, new: bool) -> None:
    """The entry's postings as it now reads: every distinct token of its title, tags and body, 3 for those of the
    title; each token's document frequency moved by what the entry gained or lost."""
    title = set(tokens(article.title))
    now = title | set(tokens(" ".join(article.tags))) | set(tokens(article.body))
    before: set[str] = set()
    if not new:
        before = set(session.scalars(select(KnowledgePosting.token).where(KnowledgePosting.article_id == article.id)))
        session.execute(delete(KnowledgePosting).where(KnowledgePosting.article_id == article.id))
    ordered = sorted(now)
    session.execute(_POSTINGS, {"article_id": article.id, "tokens": ordered, "category": article.category_code,
                                "weights": [TITLE_WEIGHT if t in title else 1 for t in ordered]})
    changed = sorted(now ^ before)  # one statement in token order: concurrent writes lock the terms in one order
    if changed:
        session.execute(_TERMS, {"tokens": changed, "deltas": [1 if t in now else -1 for t in changed]})


def _keep_version(session: UnitOfWork, article: KnowledgeArticle) -> None:
    session.add(KnowledgeArticleVersion(
        article_id=article.id, version=article.version, edited_at=article.updated_at,
        edited_by_id=article.updated_by_id, edited_by=article.updated_by,
        **{column: getattr(article, column) for column, _ in CONTENT}))


def _actor(user: User | None, system: str) -> tuple[int | None, str]:
    return (user.id, user.username) if user is not None else (None, system)


def create(session: UnitOfWork, data: ArticleIn, user: User | None, *, key: str | None = None,
           system: str = "knowledge") -> KnowledgeArticle:
    """A new entry at version 1 (a handler's belongs to their unit). `user` None: written by the system."""
    values = _checked(data, user)
    if user is not None:
        check_writer(user, values["owner_unit_code"])
    by_id, by = _actor(user, system)
    now = datetime.now(UTC)
    article = KnowledgeArticle(key=key, version=1, created_at=now, updated_at=now, updated_by_id=by_id,
                               updated_by=by, **values)
    session.add(article)
    session.flush()
    _reindex(session, article, new=True)
    _keep_version(session, article)
    session.flush()
    return article


def update(session: UnitOfWork, article_id: int, data: ArticleUpdate, user: User | None, *,
           system: str = "knowledge") -> KnowledgeArticle:
    """A new version of the entry, from the version the editor saw (409 when another edit came first)."""
    article = get(session, article_id, lock=True)
    if user is not None:
        check_writer(user, article.owner_unit_code)
    if data.version != article.version:
        raise Conflict(f"knowledge article {article.id} is at version {article.version}, not {data.version}: "
                       "someone edited it meanwhile; read it again and reapply the change",
                       current_version=article.version)
    values = _checked(data, user)
    if user is not None:
        check_writer(user, values["owner_unit_code"])  # a handler cannot give the entry away
    for column, value in values.items():
        setattr(article, column, value)
    article.version += 1
    article.updated_at = datetime.now(UTC)
    article.updated_by_id, article.updated_by = _actor(user, system)
    _reindex(session, article, new=False)
    _keep_version(session, article)
    session.flush()
    return article


def versions(session: UnitOfWork, article_id: int, *, before: int | None, limit: int) -> list[KnowledgeArticleVersion]:
    """The entry's versions, newest first, older than `before` when given (at most limit + 1: the caller pages)."""
    get(session, article_id)
    query = select(KnowledgeArticleVersion).where(KnowledgeArticleVersion.article_id == article_id)
    if before is not None:
        query = query.where(KnowledgeArticleVersion.version < before)
    return list(session.scalars(query.order_by(KnowledgeArticleVersion.version.desc()).limit(limit + 1)))


def citation(session: UnitOfWork, article_id: int | None, field: str) -> dict | None:
    """What an answer citing the entry records on its event: {article_id, article_version, article_title}; 422
    naming `field` for an unknown entry, a stale one, or one not in force yet."""
    if article_id is None:
        return None
    article = session.get(KnowledgeArticle, article_id) if is_id(article_id) else None
    if article is None:
        raise field_error(field, f"no knowledge article {article_id}", zh=f"知识库中没有编号为 {article_id} 的条目",
                          code="unknown_article")
    on = today()
    if reason := stale_reason(article, on):
        until = article.valid_until if reason == EXPIRED else article.review_by
        raise field_error(field, f"knowledge article {article_id} is stale ({reason}, {until}): it cannot be cited "
                                 "until it is brought up to date",
                          zh=f"知识条目 {article_id} {reason}（{until}），更新前不能引用", code="article_stale")
    if article.valid_from is not None and article.valid_from > on:
        raise field_error(field, f"knowledge article {article_id} is in force only from {article.valid_from}",
                          zh=f"知识条目 {article_id} {NOT_YET_VALID}（{article.valid_from} 起施行）",
                          code="article_not_in_force")
    return {"article_id": article.id, "article_version": article.version, "article_title": article.title}


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # edited by people since it was loaded: left as they wrote it

    def __str__(self) -> str:
        return (f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.kept} kept as edited")


LOADER = "knowledge-load"
STARTER = Path(__file__).resolve().parents[2] / "models" / "reference" / "knowledge_starter.yaml"


def load(session: UnitOfWork, path: Path | str = STARTER) -> LoadReport:
    """Load a file of entries (models/reference/knowledge_starter.yaml by default), matched on their `key`: a new
    key is created; an entry still as the loader last wrote it takes the file's content as a new version; one
    that people edited since is kept as they wrote it. Loading the same file again changes nothing. Every entry
    is checked first: an invalid one is a ValueError naming it, and nothing is written."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    checked: list[tuple[str, dict]] = []
    for n, item in enumerate(doc.get("articles") or [], 1):
        key = str((item or {}).get("key") or "")
        if not key or len(key) > 64:
            raise ValueError(f"{path}: entry {n} needs a key of 1 to 64 characters")
        fields = {k: v for k, v in item.items() if k != "key"}
        try:
            ArticleIn.model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(f"{d['field']}: {d['message']}" for d in map(validation_detail, exc.errors()))
            raise ValueError(f"{path}: entry {n} ({key}): {problems}") from None
        checked.append((key, fields))
    if len({key for key, _ in checked}) != len(checked):
        raise ValueError(f"{path}: two entries share a key")
    report = LoadReport()
    existing = {a.key: a for a in session.scalars(select(KnowledgeArticle).where(
        KnowledgeArticle.key.in_([key for key, _ in checked])))}
    for key, fields in checked:
        article = existing.get(key)
        if article is None:
            create(session, ArticleIn.model_validate(fields), None, key=key, system=LOADER)
            report.created += 1
            continue
        data = ArticleUpdate.model_validate({**fields, "version": article.version})
        if _checked(data, None) == {column: getattr(article, column) for column, _ in CONTENT}:
            report.unchanged += 1
        elif article.updated_by_id is None and article.updated_by == LOADER:
            update(session, article.id, data, None, system=LOADER)
            report.updated += 1
        else:
            report.kept += 1
    return report
