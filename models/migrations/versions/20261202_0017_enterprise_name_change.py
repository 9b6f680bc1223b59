"""enterprise_name_change: a known USCC arriving under another company name is kept and flagged for an admin

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


# Every rename of an enterprise record keeps the name it had, whichever path renamed it.
RENAMED = """
CREATE FUNCTION hotline_enterprise_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO enterprise_name_change (enterprise_id, old_name, new_name) VALUES (OLD.id, OLD.name, NEW.name);
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "enterprise_name_change",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=False),
        sa.Column("old_name", sa.String(length=200), nullable=False),
        sa.Column("new_name", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_enterprise_name_change_pending", "enterprise_name_change", ["id"],
                    postgresql_where=sa.text("reviewed_at IS NULL"))
    op.create_index("ix_enterprise_name_change_enterprise", "enterprise_name_change", ["enterprise_id", "id"])
    op.execute(RENAMED)
    op.execute("CREATE TRIGGER enterprise_renamed AFTER UPDATE OF name ON enterprise FOR EACH ROW "
               "WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION hotline_enterprise_renamed()")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS enterprise_renamed ON enterprise")
    op.execute("DROP FUNCTION IF EXISTS hotline_enterprise_renamed()")
    op.drop_table("enterprise_name_change")
