"""Leadership's numbers: rollups kept exact by incremental refresh, and the summary read from them.

A trigger queues a ticket whenever it gets an event or changes a dimension. `refresh` takes a batch
of the queue and, per ticket, subtracts what the ticket contributed last time (recomputed from the
append-only events up to the last one counted, under the dimensions it was counted under) and adds
what it contributes now. `rebuild` recomputes everything from scratch; both give the direct count.
Both write the daily rollups and, in the same statements, the monthly ones (a month = the sum of its days).
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from models.stats import COUNTERS, DIMENSIONS
from service.pipeline.stats_facts import TICKET_DIMS, facts_sql

REFRESH_LOCK = 727_274_001  # one refresher at a time: two would both subtract the same old contribution

# One pass over the facts adds them up for the whole city ('all') and per value of every dimension at once.
_DIM = "CASE " + " ".join(f"WHEN GROUPING(f.{d}) = 0 THEN '{d}'" for d in DIMENSIONS) + " ELSE 'all' END"
_VALUE = "CASE " + " ".join(f"WHEN GROUPING(f.{d}) = 0 THEN f.{d}" for d in DIMENSIONS) + " ELSE '' END"
_SIGNED = ", ".join(f"(f.{c} * f.sign)::smallint AS {c}" for c in COUNTERS)
_SUMS = ", ".join(f"sum(f.{c}) AS {c}" for c in COUNTERS)
_NONZERO = " OR ".join(f"sum({c}) <> 0" for c in COUNTERS)
_COLS = ", ".join(COUNTERS)
_MONTH = "date_trunc('month', day::timestamp)::date"  # calendar arithmetic, whatever the session's time zone


def _grouping_sets(*keys: str) -> str:
    """(keys), (keys, f.unit), (keys, f.county), ...: the city-wide cell and one per dimension value."""
    return ", ".join(f"({', '.join([*keys, *extra])})" for extra in ([], *([f"f.{d}"] for d in DIMENSIONS)))


def _signed(sql: str, sign: int) -> str:
    return f"SELECT q.*, {sign} AS sign FROM ({sql}) q"


def _upsert(table: str, key: str, fresh: bool) -> str:
    """The conflict clause adding a delta row into an existing one (none when the tables were just emptied)."""
    if fresh:
        return ""
    cols = ("n",) if "duration" in table else COUNTERS
    return f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in cols)


def _apply(session: Session, facts: str, fresh: bool = False) -> None:
    """Add the signed fact rows of `facts` into the daily rollups, and the same sums into the monthly ones.

    The facts are written once to a temporary table and analysed, so that the planner knows how few days
    and values there are and adds them up in one pass for all grouping sets. Each statement sums them per
    day and dimension value and writes those sums both to the day's rows and, added up per month, to the
    month's rows: a month always equals the sum of its days. `fresh`: the rollups are empty (rebuild)."""
    session.execute(text(f"""
        CREATE TEMP TABLE stat_fact ON COMMIT DROP AS
        SELECT f.day, f.unit, f.county, f.town, f.channel, f.category, f.request_type, {_SIGNED},
               f.bucket, f.sign::smallint AS sign
        FROM ({facts}) f"""))
    session.execute(text("ANALYZE stat_fact"))
    session.execute(text(f"""
        WITH delta AS MATERIALIZED (
            SELECT {_DIM} AS dim, {_VALUE} AS value, f.day, {_SUMS} FROM stat_fact f
            GROUP BY GROUPING SETS ({_grouping_sets("f.day")}) HAVING {_NONZERO}),
        daily AS (
            INSERT INTO stat_daily (dim, value, day, {_COLS})
            SELECT dim, value, day, {_COLS} FROM delta ORDER BY dim, value, day
            {_upsert("stat_daily", "dim, value, day", fresh)})
        INSERT INTO stat_monthly (dim, value, month, {_COLS})
        SELECT dim, value, {_MONTH}, {", ".join(f"sum({c})" for c in COUNTERS)} FROM delta
        GROUP BY 1, 2, 3 HAVING {_NONZERO}
        {_upsert("stat_monthly", "dim, value, month", fresh)}"""))
    session.execute(text(f"""
        WITH delta AS MATERIALIZED (
            SELECT {_DIM} AS dim, {_VALUE} AS value, f.day, f.bucket, sum(f.sign) AS n FROM stat_fact f
            WHERE f.bucket IS NOT NULL
            GROUP BY GROUPING SETS ({_grouping_sets("f.day", "f.bucket")}) HAVING sum(f.sign) <> 0),
        daily AS (
            INSERT INTO stat_duration (dim, value, day, bucket, n)
            SELECT dim, value, day, bucket, n FROM delta ORDER BY dim, value, day, bucket
            {_upsert("stat_duration", "dim, value, day, bucket", fresh)})
        INSERT INTO stat_duration_monthly (dim, value, month, bucket, n)
        SELECT dim, value, {_MONTH}, bucket, sum(n) FROM delta GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
        {_upsert("stat_duration_monthly", "dim, value, month, bucket", fresh)}"""))
    session.execute(text("DROP TABLE stat_fact"))


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
    session.execute(text("TRUNCATE stat_daily, stat_duration, stat_monthly, stat_duration_monthly, stat_ticket, "
                         "stat_queue"))
    _apply(session, _signed(facts_sql(TICKET_DIMS), 1), fresh=True)
    session.execute(text(f"""
        INSERT INTO stat_ticket (ticket_id, county, town, channel, category, request_type, last_event_id)
        SELECT d.ticket_id, d.county, d.town, d.channel, d.category, d.request_type, coalesce(e.last_event_id, 0)
        FROM {TICKET_DIMS} d LEFT JOIN (
            SELECT ticket_id, max(id) AS last_event_id FROM ticket_event GROUP BY ticket_id) e USING (ticket_id)"""))


def backlog(session: Session) -> int:
    """Queued refreshes not yet applied."""
    return session.scalar(text("SELECT count(*) FROM stat_queue"))
