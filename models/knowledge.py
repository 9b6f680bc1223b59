"""The knowledge base: articles operators answer from and units' reply templates, each version kept."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Identity, Index, Integer, SmallInteger, String, Text,
    func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, coded
from models.enums import ArticleKind

_KINDS = ", ".join(f"'{k.value}'" for k in ArticleKind)


class KnowledgeArticle(Base):
    """An article or a reply template as it reads now (its earlier versions: KnowledgeArticleVersion)."""

    __tablename__ = "knowledge_article"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind_known"),
        CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from", name="valid_range"),
        Index("uq_knowledge_article_key", "key", unique=True, postgresql_where=text("key IS NOT NULL")),
        Index("ix_knowledge_article_tags", "tags", postgresql_using="gin"),
        Index("ix_knowledge_article_owner_unit_id", "owner_unit_code", "id"),
        Index("ix_knowledge_article_category_id", "category_code", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # The starter data's own name of an entry, so that loading it again finds the entry it made.
    key: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[ArticleKind] = mapped_column(coded(ArticleKind, 16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    owner_unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    review_by: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_by: Mapped[str] = mapped_column(String(64))


class KnowledgeArticleVersion(Base):
    """One version of an entry, with its whole content, who wrote it and when. Rows are only ever added."""

    __tablename__ = "knowledge_article_version"

    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_article.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ArticleKind] = mapped_column(coded(ArticleKind, 16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    owner_unit_code: Mapped[str | None] = mapped_column(String(80))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    review_by: Mapped[date | None] = mapped_column(Date)
    edited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    edited_by: Mapped[str] = mapped_column(String(64))


class KnowledgePosting(Base):
    """The inverted index search and suggestions read: an entry holding a token (service.domain.textsearch) in its
    title, tags or body, weighted 3 in its title, else 1, with the entry's category. Rewritten with every version
    of the entry. Its primary key includes weight and category (migration 0020): both read the index alone."""

    __tablename__ = "knowledge_posting"
    __table_args__ = (Index("ix_knowledge_posting_article_id", "article_id"),)

    token: Mapped[str] = mapped_column(Text, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_article.id"), primary_key=True)
    weight: Mapped[int] = mapped_column(SmallInteger)
    category_code: Mapped[str | None] = mapped_column(String(32))


class KnowledgeTerm(Base):
    """How many entries hold a token (its document frequency): a rare token says more about a match."""

    __tablename__ = "knowledge_term"

    token: Mapped[str] = mapped_column(Text, primary_key=True)
    df: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
