"""statistics: the exact set of events each ticket was counted with

stat_ticket.counted lists the ids of the events a ticket's rollup contribution was computed from, so that
the refresh subtracts exactly that contribution, whatever committed since and in whatever order the
event ids were drawn. NULL (the rows of older releases) means "the events up to last_event_id"; the next
refresh of the ticket writes the list. Adding a nullable column rewrites nothing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stat_ticket", sa.Column("counted", postgresql.ARRAY(sa.BigInteger()), nullable=True))


def downgrade() -> None:
    op.drop_column("stat_ticket", "counted")
