"""ticket.tokens: each ticket's search tokens, stored once at intake

The duplicate check compares stored tokens and no longer tokenizes earlier tickets in SQL, so the SQL copy of the
tokenizer (migration 0008) is dropped: the tokenizer is service.domain.textsearch alone, and it fills the column
for the tickets registered before, in batches.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


BATCH = 2000


def upgrade() -> None:
    from service.config import get_settings
    from service.domain.textsearch import tokens

    op.add_column("ticket", sa.Column("tokens", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False))
    conn, cap, after = op.get_bind(), get_settings().dedupe_max_tokens, 0
    read = sa.text("SELECT id, title, description FROM ticket WHERE id > :after ORDER BY id LIMIT :n")
    write = sa.text("UPDATE ticket SET tokens = :tokens WHERE id = :id")
    while rows := conn.execute(read, {"after": after, "n": BATCH}).all():
        conn.execute(write, [{"id": r.id, "tokens": list(dict.fromkeys(tokens(f"{r.title} {r.description}")))[:cap]}
                             for r in rows])
        after = rows[-1].id
    op.execute("DROP FUNCTION IF EXISTS hotline_jaccard(text[], text[])")
    op.execute("DROP FUNCTION IF EXISTS hotline_tokens(text)")


def downgrade() -> None:
    spec = importlib.util.spec_from_file_location("token_functions", Path(__file__).with_name(
        "20261127_0008_token_functions.py"))
    functions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(functions)
    functions.upgrade()
    op.drop_column("ticket", "tokens")
