"""ticket.feedback_attempts: unanswered 回访 calls on the current resolution

Archiving needs a 回访, or a recorded reason why none was possible; one such reason is that the enterprise
did not answer HOTLINE_FEEDBACK_MAX_ATTEMPTS calls. Each call is an event; the column keeps their count for
the state machine, and a 重办 sets it back to 0.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ticket", sa.Column("feedback_attempts", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("ticket", "feedback_attempts")
