"""knowledge base articles, their versions and reply templates

knowledge_article holds each entry as it reads now; knowledge_article_version every version's whole content,
editor and time; knowledge_posting (token, entry, weight, category) and knowledge_term (token, how many entries
hold it) are the inverted index that search and suggestions read. Posting lists rather than a GIN index over
each entry's token array: a common word would make PostgreSQL read and decompress every entry's array, while a
posting list is read from its index alone.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def _content() -> list[sa.Column]:
    """The columns an entry and each of its versions share."""
    return [
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=40)), server_default="{}", nullable=False),
        sa.Column("owner_unit_code", sa.String(length=80), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("review_by", sa.Date(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "knowledge_article",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=True),
        *_content(),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('article', 'reply_template')", name=op.f("ck_knowledge_article_kind_known")),
        sa.CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from",
                           name=op.f("ck_knowledge_article_valid_range")),
        sa.ForeignKeyConstraint(["category_code"], ["category.code"],
                                name=op.f("fk_knowledge_article_category_code_category")),
        sa.ForeignKeyConstraint(["owner_unit_code"], ["unit.code"],
                                name=op.f("fk_knowledge_article_owner_unit_code_unit")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["app_user.id"],
                                name=op.f("fk_knowledge_article_updated_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_article")),
    )
    op.create_index("uq_knowledge_article_key", "knowledge_article", ["key"], unique=True,
                    postgresql_where=sa.text("key IS NOT NULL"))
    op.create_index("ix_knowledge_article_tags", "knowledge_article", ["tags"], postgresql_using="gin")
    op.create_index("ix_knowledge_article_owner_unit_id", "knowledge_article", ["owner_unit_code", "id"])
    op.create_index("ix_knowledge_article_category_id", "knowledge_article", ["category_code", "id"])
    op.create_table(
        "knowledge_article_version",
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_content(),
        sa.Column("edited_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("edited_by_id", sa.BigInteger(), nullable=True),
        sa.Column("edited_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["knowledge_article.id"],
                                name=op.f("fk_knowledge_article_version_article_id_knowledge_article")),
        sa.ForeignKeyConstraint(["edited_by_id"], ["app_user.id"],
                                name=op.f("fk_knowledge_article_version_edited_by_id_app_user")),
        sa.PrimaryKeyConstraint("article_id", "version", name=op.f("pk_knowledge_article_version")),
    )
    op.create_table(
        "knowledge_posting",
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("weight", sa.SmallInteger(), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["knowledge_article.id"],
                                name=op.f("fk_knowledge_posting_article_id_knowledge_article")),
    )
    # Weight and category ride in the key's index: search and suggestions read index-only scans, never visiting the
    # heap, whose rows of one token lie scattered over as many pages as entries hold it.
    op.execute("ALTER TABLE knowledge_posting ADD CONSTRAINT pk_knowledge_posting "
               "PRIMARY KEY (token, article_id) INCLUDE (weight, category_code)")
    op.create_index("ix_knowledge_posting_article_id", "knowledge_posting", ["article_id"])
    op.create_table(
        "knowledge_term",
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("df", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_knowledge_term")),
    )


def downgrade() -> None:
    op.drop_table("knowledge_term")
    op.drop_index("ix_knowledge_posting_article_id", table_name="knowledge_posting")
    op.drop_table("knowledge_posting")
    op.drop_table("knowledge_article_version")
    for name in ("ix_knowledge_article_category_id", "ix_knowledge_article_owner_unit_id",
                 "ix_knowledge_article_tags", "uq_knowledge_article_key"):
        op.drop_index(name, table_name="knowledge_article")
    op.drop_table("knowledge_article")
