"""per-month statistics rollups

stat_monthly and stat_duration_monthly hold the same counters and histograms as stat_daily and
stat_duration, added up per calendar month (keyed by the month's first day). The refresh and the rebuild
write both in the same statements, so a month's row is always the sum of its days; the summary reads the
whole months of a period from them and only the days of the partial months at its edges from the daily
tables. Filled here from the daily tables, under the refresh's lock. An index on stat_daily (dim, day)
lets a grouped summary read one dimension's edge days without scanning all the days kept.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COUNTERS = ("received", "instant", "resolved", "resolved_on_time", "accepted", "accepted_on_time", "dispatched",
            "refused", "rated", "satisfied", "solved", "reopened", "repeats")
REFRESH_LOCK = 727_274_001  # service.pipeline.stats.rollup.REFRESH_LOCK


def upgrade() -> None:
    op.create_table(
        "stat_monthly",
        sa.Column("dim", sa.String(16), nullable=False), sa.Column("value", sa.String(80), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COUNTERS],
        sa.PrimaryKeyConstraint("dim", "value", "month", name="pk_stat_monthly"),
    )
    op.create_table(
        "stat_duration_monthly",
        sa.Column("dim", sa.String(16), nullable=False), sa.Column("value", sa.String(80), nullable=False),
        sa.Column("month", sa.Date(), nullable=False), sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False, server_default="0"),
        # n in the key's index: the histogram reads are index-only scans
        sa.PrimaryKeyConstraint("dim", "value", "month", "bucket", name="pk_stat_duration_monthly",
                                postgresql_include=["n"]),
    )
    # no refresh may apply a batch to the daily tables between the copy below and its commit
    op.execute(f"SELECT pg_advisory_xact_lock({REFRESH_LOCK})")
    cols = ", ".join(COUNTERS)
    sums = ", ".join(f"sum({c})" for c in COUNTERS)
    op.execute(f"""
        INSERT INTO stat_monthly (dim, value, month, {cols})
        SELECT dim, value, date_trunc('month', day::timestamp)::date, {sums}
        FROM stat_daily GROUP BY 1, 2, 3""")
    op.execute("""
        INSERT INTO stat_duration_monthly (dim, value, month, bucket, n)
        SELECT dim, value, date_trunc('month', day::timestamp)::date, bucket, sum(n)
        FROM stat_duration GROUP BY 1, 2, 3, 4""")
    op.execute("ALTER TABLE stat_duration_monthly SET (autovacuum_vacuum_scale_factor = 0.02, "
               "autovacuum_analyze_scale_factor = 0.02)")
    # a grouped summary reads every value of one dimension for the edge days only (not all the days kept)
    op.execute("CREATE INDEX ix_stat_daily_dim_day ON stat_daily (dim, day)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_stat_daily_dim_day")
    op.drop_table("stat_duration_monthly")
    op.drop_table("stat_monthly")
