"""The rollups checked cell by cell against a direct count of the events (`hotline ops verify-stats`, nightly).

It runs in one REPEATABLE READ snapshot, so it can run while tickets change: a ticket with a change still
queued for the refresh is expected to count as it was last counted (its `stat_ticket` list and dimensions),
every other ticket as a direct count of all its events under its current dimensions. Any other difference
is drift: a rollup cell that no longer equals the events."""
from __future__ import annotations

import logging

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from models.stats import COUNTERS
from service.metrics import record_stats_verification
from service.pipeline.stats.rollup import _AMENDS_COUNTED, _COUNTED, _DIM, _VALUE, _grouping_sets
from service.pipeline.stats.facts import TICKET_DIMS, facts_sql, tz_param
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

_PENDING = "EXISTS (SELECT FROM stat_queue q WHERE q.ticket_id = {}.ticket_id)"
_MONTH = "date_trunc('month', day::timestamp)::date"


@dataclass(frozen=True)
class Drift:
    """One rollup number that differs from the direct count."""

    table: str
    dim: str
    value: str
    period: date  # the day, or the month's first day
    item: str  # the counter, or the histogram bucket
    rollup: int
    direct: int

    def __str__(self) -> str:
        return (f"{self.table} {self.dim}={self.value!r} {self.period.isoformat()} {self.item}: "
                f"rollup {self.rollup}, direct {self.direct}")


def _compare(session: UnitOfWork, table: str, key: str, direct: str, where: str, params: dict,
             items: tuple[str, ...], bucket: bool) -> list[Drift]:
    """Rows of `table` (restricted by `where`) FULL JOINed with the direct rows, the differing items as Drifts."""
    keys = f"dim, value, {key}" + (", bucket" if bucket else "")
    differ = " OR ".join(f"coalesce(r.{c}, 0) <> coalesce(d.{c}, 0)" for c in items)
    pairs = ", ".join(f"coalesce(r.{c}, 0), coalesce(d.{c}, 0)" for c in items)
    # text(): a full outer join of a rollup with a temporary table of this transaction, over dynamic columns.
    rows = session.execute(text(f"""
        SELECT {keys}, {pairs} FROM (SELECT * FROM {table} WHERE {where}) r FULL JOIN ({direct}) d USING ({keys})
        WHERE {differ} ORDER BY {keys}"""), params).all()
    out = []
    for row in rows:
        head, values = row[:3], row[4 if bucket else 3:]
        for i, c in enumerate(items):
            if values[2 * i] != values[2 * i + 1]:
                item = f"bucket {row[3]}" if bucket else c
                out.append(Drift(table, head[0], head[1], head[2], item, values[2 * i], values[2 * i + 1]))
    return out


def verify(session: UnitOfWork, start: date | None = None, end: date | None = None,
           tz: str | None = None) -> list[Drift]:
    """Every cell of the days of [start, end] (open ends: all of history) and of the whole calendar months
    in it whose rollup differs from the direct count. Rolls back what the session had; reads one snapshot."""
    session.rollback()
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    params: dict = tz_param(tz)
    zone = ZoneInfo(params["tz"])
    at, day, month = ["true"], ["true"], ["true"]
    if start is not None:
        params["lo"], params["d0"] = datetime.combine(start, time(0), zone), start
        params["m0"] = start if start.day == 1 else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        at.append("e.at >= :lo"), day.append("day >= :d0"), month.append("month >= :m0")
    if end is not None:
        params["hi"], params["d1"] = datetime.combine(end + timedelta(days=1), time(0), zone), end
        params["m1"] = end + timedelta(days=1)  # a month ending before it is whole
        at.append("e.at < :hi"), day.append("day <= :d1"), month.append(
            "(month + interval '1 month')::date <= :m1")
    at_sql = " AND ".join(at)
    counted = facts_sql(f"(SELECT d.* FROM {TICKET_DIMS} d WHERE NOT {_PENDING.format('d')})", at_sql)
    as_last_counted = facts_sql(f"(SELECT s.* FROM stat_ticket s WHERE {_PENDING.format('s')})",
                                f"{_COUNTED} AND {at_sql}", _AMENDS_COUNTED)
    expect = f"{counted} UNION ALL {as_last_counted}"  # the facts are summed twice, never stored: all of history
    sums = ", ".join(f"sum(f.{c})::int AS {c}" for c in COUNTERS)
    # text(): the expected cells go to temporary tables (DDL from a query with GROUPING SETS).
    session.execute(text(f"""CREATE TEMP TABLE stat_expect_daily ON COMMIT DROP AS
        SELECT {_DIM} AS dim, {_VALUE} AS value, f.day, {sums} FROM ({expect}) f
        GROUP BY GROUPING SETS ({_grouping_sets("f.day")})"""), params)
    session.execute(text(f"""CREATE TEMP TABLE stat_expect_duration ON COMMIT DROP AS
        SELECT {_DIM} AS dim, {_VALUE} AS value, f.day, f.bucket, count(*)::int AS n FROM ({expect}) f
        WHERE f.bucket IS NOT NULL GROUP BY GROUPING SETS ({_grouping_sets("f.day", "f.bucket")})"""), params)
    day_sql, month_sql = " AND ".join(day), " AND ".join(month)
    monthly = ", ".join(f"sum({c})::int AS {c}" for c in COUNTERS)
    drifts = _compare(session, "stat_daily", "day", "SELECT * FROM stat_expect_daily", day_sql, params,
                      COUNTERS, False)
    drifts += _compare(session, "stat_monthly", "month",
                       f"SELECT * FROM (SELECT dim, value, {_MONTH} AS month, {monthly} FROM stat_expect_daily "
                       f"GROUP BY 1, 2, 3) m WHERE {month_sql}", month_sql, params, COUNTERS, False)
    drifts += _compare(session, "stat_duration", "day", "SELECT * FROM stat_expect_duration", day_sql, params,
                       ("n",), True)
    drifts += _compare(session, "stat_duration_monthly", "month",
                       f"SELECT * FROM (SELECT dim, value, {_MONTH} AS month, bucket, sum(n)::int AS n "
                       f"FROM stat_expect_duration GROUP BY 1, 2, 3, 4) m WHERE {month_sql}", month_sql, params,
                       ("n",), True)
    session.rollback()
    return drifts


def report_stats_drift(drifts: list) -> None:
    """A drift is a warning in the log and the hotline_stats_drift_cells gauge, never silent."""
    if drifts:
        log.warning("statistics drift: %d rollup cell(s) differ from a direct count, e.g. %s; "
                    "`hotline ops verify-stats` lists them, stats.rebuild repairs them",
                    len(drifts), "; ".join(str(d) for d in drifts[:5]))
    else:
        log.info("statistics verified: the rollups equal a direct count")
    record_stats_verification(len(drifts))
