"""routing_model and routing_suggestion: the unit-kind suggestion model learnt from dispatchers

Each trained model is one row (its parameters as JSON, one active at a time); each suggestion names the model
version that made it, the rule decision it was compared with, and whether it strongly disagreed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_model",
        sa.Column("version", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("from_events", sa.Integer(), nullable=False),
        sa.Column("from_corpus", sa.Integer(), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="false", nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_routing_model")),
    )
    op.create_index("uq_routing_model_active", "routing_model", ["active"], unique=True,
                    postgresql_where=sa.text("active"))
    op.create_table(
        "routing_suggestion",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("model_version", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=80), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=True),
        sa.Column("rule_kind", sa.String(length=32), nullable=True),
        sa.Column("disagrees", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_routing_suggestion_ticket_id_ticket"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["model_version"], ["routing_model.version"],
                                name=op.f("fk_routing_suggestion_model_version_routing_model"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_suggestion")),
        sa.UniqueConstraint("ticket_id", "model_version", name=op.f("uq_routing_suggestion_ticket_id")),
    )
    op.create_index("ix_routing_suggestion_disagrees", "routing_suggestion", ["id"], unique=False,
                    postgresql_where=sa.text("disagrees"))


def downgrade() -> None:
    op.drop_index("ix_routing_suggestion_disagrees", table_name="routing_suggestion",
                  postgresql_where=sa.text("disagrees"))
    op.drop_table("routing_suggestion")
    op.drop_index("uq_routing_model_active", table_name="routing_model", postgresql_where=sa.text("active"))
    op.drop_table("routing_model")
