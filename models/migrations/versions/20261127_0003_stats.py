"""statistics rollups and their refresh queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COUNTERS = ("received", "instant", "resolved", "resolved_on_time", "accepted", "accepted_on_time", "dispatched",
            "refused", "rated", "satisfied", "solved", "reopened", "repeats")


def upgrade() -> None:
    op.create_table(
        "stat_daily",
        sa.Column("dim", sa.String(16), nullable=False), sa.Column("value", sa.String(80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COUNTERS],
        sa.PrimaryKeyConstraint("dim", "value", "day", name="pk_stat_daily"),
    )
    op.create_table(
        "stat_duration",
        sa.Column("dim", sa.String(16), nullable=False), sa.Column("value", sa.String(80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False), sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("dim", "value", "day", "bucket", name="pk_stat_duration"),
    )
    op.create_table(
        "stat_ticket",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("county", sa.String(32), nullable=False), sa.Column("town", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False), sa.Column("category", sa.String(32), nullable=False),
        sa.Column("request_type", sa.String(16), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_stat_ticket"),
    )
    op.create_table(
        "stat_queue",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stat_queue"),
    )
    # Every new event, and every change of a dimension a ticket is counted under, queues the ticket
    # for a refresh; a queue row per change (not per ticket) so that no commit order can lose one.
    op.execute("""
        CREATE FUNCTION stat_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_TABLE_NAME = 'ticket' THEN
                INSERT INTO stat_queue (ticket_id) VALUES (NEW.id);
            ELSE
                INSERT INTO stat_queue (ticket_id) VALUES (NEW.ticket_id);
            END IF;
            RETURN NULL;
        END $$;
    """)
    op.execute("""CREATE TRIGGER stat_enqueue_event AFTER INSERT ON ticket_event
                  FOR EACH ROW EXECUTE FUNCTION stat_enqueue()""")
    op.execute("""CREATE TRIGGER stat_enqueue_ticket AFTER UPDATE OF county_code, town_code, channel_code,
                  category_code, request_type ON ticket FOR EACH ROW
                  WHEN (OLD.county_code IS DISTINCT FROM NEW.county_code OR OLD.town_code IS DISTINCT FROM NEW.town_code
                        OR OLD.channel_code IS DISTINCT FROM NEW.channel_code
                        OR OLD.category_code IS DISTINCT FROM NEW.category_code
                        OR OLD.request_type IS DISTINCT FROM NEW.request_type)
                  EXECUTE FUNCTION stat_enqueue()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS stat_enqueue_ticket ON ticket")
    op.execute("DROP TRIGGER IF EXISTS stat_enqueue_event ON ticket_event")
    op.execute("DROP FUNCTION IF EXISTS stat_enqueue()")
    for table in ("stat_queue", "stat_ticket", "stat_duration", "stat_daily"):
        op.drop_table(table)
