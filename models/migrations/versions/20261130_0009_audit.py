"""audit events: full contact reads and exports

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.CheckConstraint("action IN ('export', 'read_contact')", name=op.f("ck_audit_event_action_known")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_audit_event_user_id_app_user"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at", "id"], unique=False)
    op.create_index("ix_audit_event_user_id", "audit_event", ["user_id", "id"], unique=False)
    op.create_index("ix_audit_event_ticket_id", "audit_event", ["ticket_id", "id"], unique=False,
                    postgresql_where=sa.text("ticket_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_audit_event_ticket_id", table_name="audit_event",
                  postgresql_where=sa.text("ticket_id IS NOT NULL"))
    op.drop_index("ix_audit_event_user_id", table_name="audit_event")
    op.drop_index("ix_audit_event_at", table_name="audit_event")
    op.drop_table("audit_event")
