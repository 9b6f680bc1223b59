"""Leadership's numbers: rollups kept exact by incremental refresh, and the summary read from them.

The rollups are, at every commit, the sum over stat_ticket of what each ticket contributes: the facts of
the events listed in its `counted`, under the dimensions recorded beside them (events are append-only, so
a list always counts the same). Triggers queue a ticket, in the writer's own transaction, whenever it gets
an event or changes a dimension, so every committed event is either in its ticket's list or has a queue
row still waiting, and likewise every dimension change.

`refresh` (one at a time, under an advisory lock) deletes a batch of queue rows, then reads in ONE
statement, i.e. one snapshot, each batched ticket's dimensions and the ids of its events visible then
(`stat_now`). It subtracts what the old list counted for, adds what the new list counts for, and records
the new list and dimensions. Nothing is counted as "what is visible now", only through the lists, so:
- an event committing during the refresh is not in the new list, and its queue row (not seen when the
  batch was taken, so not deleted) brings it to the next refresh;
- an event whose id was drawn before a higher one that was already counted, but that committed later, is
  in no list yet, so it is added then, not taken for counted (as "the events up to the last id" would);
- a deleted queue row was seen, so its event had committed before the lists were read, and is in them.
`rebuild` truncates the queue (which waits for writers that already queued, and holds the others off
until it commits), then reads every ticket's list in one statement and counts from the lists alike.
`stats_verify` checks the rollups against a direct count. Both write the daily rollups and, in the same
statements, the monthly ones (a month = the sum of its days).
"""
from __future__ import annotations

from sqlalchemy import func, select, text

from models.stats import COUNTERS, DIMENSIONS, StatQueue
from models.enums import sql_list
from service.pipeline.stats.facts import COUNTED_KINDS, TICKET_DIMS, facts_sql, tz_param
from service.unit_of_work import UnitOfWork

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


def _apply(session: UnitOfWork, facts: str, fresh: bool = False) -> None:
    """Add the signed fact rows of `facts` into the daily rollups, and the same sums into the monthly ones.

    The facts are written once to a temporary table and analysed, so that the planner knows how few days
    and values there are and adds them up in one pass for all grouping sets. Each statement sums them per
    day and dimension value and writes those sums both to the day's rows and, added up per month, to the
    month's rows: a month always equals the sum of its days. `fresh`: the rollups are empty (rebuild)."""
    # text(): temporary tables, ANALYZE, GROUPING SETS and upserts from a CTE are beyond Core.
    session.execute(text(f"""
        CREATE TEMP TABLE stat_fact ON COMMIT DROP AS
        SELECT f.day, f.unit, f.county, f.town, f.channel, f.category, f.request_type, {_SIGNED},
               f.bucket, f.sign::smallint AS sign
        FROM ({facts}) f"""), tz_param())
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


# The events a ticket's contribution is computed from: the listed ones (before lists, those up to the last id).
_COUNTED = "(e.id = ANY(d.counted) OR (d.counted IS NULL AND e.id <= d.last_event_id))"
_AMENDS_COUNTED = _COUNTED.replace("e.id", "a.id")  # a 更正回访 replaces a 回访 once it is listed too
_KINDS = sql_list(COUNTED_KINDS)


def _lists(dims: str, every_ticket: bool = False) -> str:
    """SELECT of each ticket of `dims` with the ids of its counted events (one statement: one snapshot).
    A few tickets look their events up by index; every ticket (rebuild) reads the events once, grouped."""
    if every_ticket:
        events = f"""LEFT JOIN (SELECT ticket_id, array_agg(id) AS counted, max(id) AS last_event_id
            FROM ticket_event WHERE kind IN {_KINDS} GROUP BY ticket_id) e USING (ticket_id)"""
    else:
        events = f"""LEFT JOIN LATERAL (SELECT array_agg(e.id) AS counted, max(e.id) AS last_event_id
            FROM ticket_event e WHERE e.ticket_id = d.ticket_id AND e.kind IN {_KINDS}) e ON true"""
    return f"""
        SELECT d.*, coalesce(e.counted, '{{}}') AS counted, coalesce(e.last_event_id, 0) AS last_event_id
        FROM {dims} d {events}"""


_RECORD_UPDATE = """ON CONFLICT (ticket_id) DO UPDATE SET county = excluded.county, town = excluded.town,
    channel = excluded.channel, category = excluded.category, request_type = excluded.request_type,
    last_event_id = excluded.last_event_id, counted = excluded.counted"""


def _record(session: UnitOfWork, fresh: bool) -> None:
    """Write stat_now's dimensions and lists as what its tickets are counted under."""
    # text(): stat_now is a temporary table of this transaction, with no mapped table to build on.
    session.execute(text(f"""
        INSERT INTO stat_ticket (ticket_id, county, town, channel, category, request_type, last_event_id, counted)
        SELECT ticket_id, county, town, channel, category, request_type, last_event_id, counted FROM stat_now
        {"" if fresh else _RECORD_UPDATE}"""))


def refresh(session: UnitOfWork, batch: int = 2000, wait: bool = False) -> int:
    """Bring the rollups up to date for one batch of queued tickets; returns how many tickets.

    Another refresh running: returns 0 at once, or with `wait` waits for it to commit, then goes on."""
    if wait:
        session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK)))
    elif not session.scalar(select(func.pg_try_advisory_xact_lock(REFRESH_LOCK))):
        return 0
    # text(): the batch lives in temporary tables of this transaction (DDL, DELETE ... RETURNING into one).
    session.execute(text("CREATE TEMP TABLE stat_batch (ticket_id bigint PRIMARY KEY) ON COMMIT DROP"))
    session.execute(text("""
        WITH picked AS (DELETE FROM stat_queue WHERE id IN (
            SELECT id FROM stat_queue ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING ticket_id)
        INSERT INTO stat_batch SELECT DISTINCT ticket_id FROM picked"""), {"n": batch})
    count = session.scalar(text("SELECT count(*) FROM stat_batch"))
    if not count:
        return 0
    session.execute(text(f"CREATE TEMP TABLE stat_now ON COMMIT DROP AS "
                         f"{_lists(f'(SELECT d.* FROM {TICKET_DIMS} d JOIN stat_batch b USING (ticket_id))')}"))
    new = facts_sql("stat_now", _COUNTED, _AMENDS_COUNTED)
    old = facts_sql("(SELECT s.* FROM stat_ticket s JOIN stat_batch b USING (ticket_id))", _COUNTED,
                    _AMENDS_COUNTED)
    _apply(session, f"{_signed(new, 1)} UNION ALL {_signed(old, -1)}")
    _record(session, fresh=False)
    session.execute(text("""DELETE FROM stat_ticket s USING stat_batch b WHERE s.ticket_id = b.ticket_id
                            AND NOT EXISTS (SELECT FROM stat_now n WHERE n.ticket_id = b.ticket_id)"""))
    return count


def rebuild(session: UnitOfWork) -> None:
    """Recompute every rollup from the whole event history (after a bulk load, or to repair)."""
    session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK)))
    # text(): TRUNCATE and a temporary table made from a query have no Core construct.
    session.execute(text("TRUNCATE stat_daily, stat_duration, stat_monthly, stat_duration_monthly, stat_ticket, "
                         "stat_queue"))
    # What the queue held is counted below: the lists are read after the truncation, in one snapshot.
    session.execute(text(f"CREATE TEMP TABLE stat_now ON COMMIT DROP AS {_lists(TICKET_DIMS, every_ticket=True)}"))
    _apply(session, _signed(facts_sql("stat_now", _COUNTED, _AMENDS_COUNTED), 1), fresh=True)
    _record(session, fresh=True)
    session.execute(text("DROP TABLE stat_now"))


def backlog(session: UnitOfWork) -> int:
    """Queued refreshes not yet applied."""
    return session.scalar(select(func.count()).select_from(StatQueue))
