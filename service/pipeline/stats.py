"""Leadership's numbers: rollups kept exact by incremental refresh, and the summary read from them.

A trigger queues a ticket whenever it gets an event or changes a dimension. `refresh` takes a batch
of the queue and, per ticket, subtracts what the ticket contributed last time (recomputed from the
append-only events up to the last one counted, under the dimensions it was counted under) and adds
what it contributes now. `rebuild` recomputes everything from scratch; both give the direct count.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from models.stats import COUNTERS, DIMENSIONS
from service.pipeline.stats_facts import TICKET_DIMS, facts_sql

REFRESH_LOCK = 727_274_001  # one refresher at a time: two would both subtract the same old contribution

_EXPLODE = "CROSS JOIN LATERAL (VALUES ('all', '')" + "".join(f", ('{d}', f.{d})" for d in DIMENSIONS) + ") AS x(dim, value)"
_SUMS = ", ".join(f"sum(f.{c} * f.sign) AS {c}" for c in COUNTERS)
_NONZERO = " OR ".join(f"sum(f.{c} * f.sign) <> 0" for c in COUNTERS)
_ADD = ", ".join(f"{c} = stat_daily.{c} + excluded.{c}" for c in COUNTERS)
_COLS = ", ".join(COUNTERS)


def _signed(sql: str, sign: int) -> str:
    return f"SELECT q.*, {sign} AS sign FROM ({sql}) q"


def _apply(session: Session, facts: str) -> None:
    """Add the signed fact rows of `facts` into the rollups."""
    session.execute(text(f"""
        INSERT INTO stat_daily (dim, value, day, {_COLS})
        SELECT x.dim, x.value, f.day, {_SUMS} FROM ({facts}) f {_EXPLODE}
        GROUP BY x.dim, x.value, f.day HAVING {_NONZERO}
        ON CONFLICT (dim, value, day) DO UPDATE SET {_ADD}"""))
    session.execute(text(f"""
        INSERT INTO stat_duration (dim, value, day, bucket, n)
        SELECT x.dim, x.value, f.day, f.bucket, sum(f.sign) FROM ({facts}) f {_EXPLODE}
        WHERE f.bucket IS NOT NULL
        GROUP BY x.dim, x.value, f.day, f.bucket HAVING sum(f.sign) <> 0
        ON CONFLICT (dim, value, day, bucket) DO UPDATE SET n = stat_duration.n + excluded.n"""))


def refresh(session: Session, batch: int = 2000) -> int:
    """Bring the rollups up to date for one batch of queued tickets; returns how many tickets."""
    if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK}):
        return 0
    session.execute(text("CREATE TEMP TABLE stat_batch (ticket_id bigint PRIMARY KEY) ON COMMIT DROP"))
    session.execute(text("""
        WITH picked AS (DELETE FROM stat_queue WHERE id IN (
            SELECT id FROM stat_queue ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING ticket_id)
        INSERT INTO stat_batch SELECT DISTINCT ticket_id FROM picked"""), {"n": batch})
    count = session.scalar(text("SELECT count(*) FROM stat_batch"))
    if not count:
        return 0
    session.execute(text(f"""
        CREATE TEMP TABLE stat_now ON COMMIT DROP AS
        SELECT d.*, (SELECT max(id) FROM ticket_event WHERE ticket_id = d.ticket_id) AS last_event_id
        FROM {TICKET_DIMS} d JOIN stat_batch b USING (ticket_id)"""))
    new = facts_sql("stat_now", "true")
    old = facts_sql("(SELECT s.* FROM stat_ticket s JOIN stat_batch b USING (ticket_id))",
                    "e.id <= d.last_event_id")
    _apply(session, f"{_signed(new, 1)} UNION ALL {_signed(old, -1)}")
    session.execute(text("""
        INSERT INTO stat_ticket (ticket_id, county, town, channel, category, request_type, last_event_id)
        SELECT ticket_id, county, town, channel, category, request_type, coalesce(last_event_id, 0) FROM stat_now
        ON CONFLICT (ticket_id) DO UPDATE SET county = excluded.county, town = excluded.town,
            channel = excluded.channel, category = excluded.category, request_type = excluded.request_type,
            last_event_id = excluded.last_event_id"""))
    return count


def rebuild(session: Session) -> None:
    """Recompute every rollup from the whole event history (after a bulk load, or to repair)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK})
    session.execute(text("TRUNCATE stat_daily, stat_duration, stat_ticket, stat_queue"))
    _apply(session, _signed(facts_sql(TICKET_DIMS), 1))
    session.execute(text(f"""
        INSERT INTO stat_ticket (ticket_id, county, town, channel, category, request_type, last_event_id)
        SELECT d.ticket_id, d.county, d.town, d.channel, d.category, d.request_type,
               coalesce((SELECT max(id) FROM ticket_event WHERE ticket_id = d.ticket_id), 0)
        FROM {TICKET_DIMS} d"""))


def backlog(session: Session) -> int:
    """Queued refreshes not yet applied."""
    return session.scalar(text("SELECT count(*) FROM stat_queue"))
