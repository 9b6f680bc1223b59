"""ticket.answered_locally: a town centre registered the ticket and answered it on the spot

Such a ticket stays with that centre: routing reads the flag (with registered_by_unit_code) and sends it there.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ticket", sa.Column("answered_locally", sa.Boolean(), server_default="false", nullable=False))


def downgrade() -> None:
    op.drop_column("ticket", "answered_locally")
