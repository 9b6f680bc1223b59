"""vacuum the ticket table sooner

The sweep flags rows through partial indexes; until VACUUM removes the replaced row versions those
indexes keep pointing at them and every later sweep visits them (seconds at a million open tickets
instead of milliseconds). With the default scale factor autovacuum waits for 20% of the table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""
from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE ticket SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000)")


def downgrade() -> None:
    op.execute("ALTER TABLE ticket RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)")
