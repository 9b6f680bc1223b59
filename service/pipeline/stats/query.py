"""The summary leadership reads: totals, groups and trends, from the rollups or (for checking) directly."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from models.stats import COUNTERS, DIMENSIONS
from service.pipeline.stats.facts import TICKET_DIMS, facts_sql, tz_param
from service.unit_of_work import UnitOfWork

TRENDS = ("day", "week", "month")
BUCKET_HOURS = 0.5
_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTERS)


def _ratio(a: int, b: int) -> float | None:
    return None if b == 0 else round(a / b, 4)


def _percentile(hist: dict[int, int], q: float) -> float | None:
    """An upper bound of the q-th percentile, exact to BUCKET_HOURS: the end of the half-hour bucket holding it.

    The histogram keeps no durations within a bucket, so the percentile is "at most" this many hours (a median
    of 0 h shows as ≤ 0.5 h), never a midpoint that may lie above or below the true value."""
    total = sum(hist.values())
    if total == 0:
        return None
    seen, rank = 0, q * total
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return (bucket + 1) * BUCKET_HOURS
    return None


def metrics(c: dict[str, int], hist: dict[int, int]) -> dict:
    """The metrics of DOMAIN.md from the counters of one cell."""
    return {
        "received": c["received"], "resolved": c["resolved"], "instant_resolved": c["instant"],
        "instant_rate": _ratio(c["instant"], c["received"]),
        "accepted": c["accepted"], "on_time_accept_rate": _ratio(c["accepted_on_time"], c["accepted"]),
        "dispatched": c["dispatched"], "refused": c["refused"], "refusal_rate": _ratio(c["refused"], c["dispatched"]),
        "on_time_resolve_rate": _ratio(c["resolved_on_time"], c["resolved"]),
        "rated": c["rated"], "satisfaction_rate": _ratio(c["satisfied"], c["rated"]),
        "solved_rate": _ratio(c["solved"], c["rated"]),
        "reopened": c["reopened"], "reopen_rate": _ratio(c["reopened"], c["resolved"]),
        "repeats": c["repeats"], "repeat_rate": _ratio(c["repeats"], c["received"]),
        "duration_hours_median": _percentile(hist, 0.5), "duration_hours_p90": _percentile(hist, 0.9),
        "duration_hours_precision": BUCKET_HOURS,  # the percentiles are upper bounds, exact to this
    }


class Cells:
    """Counters and duration histograms keyed by a group key."""

    def __init__(self):
        self.counters: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
        self.hist: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add_counters(self, key: str, values) -> None:
        """Add one row's counters, in the order of COUNTERS."""
        cell = self.counters[key]
        for c, v in zip(COUNTERS, values):
            cell[c] += int(v or 0)

    def metrics(self, key: str) -> dict:
        return metrics(self.counters[key] if key in self.counters else dict.fromkeys(COUNTERS, 0), self.hist.get(key, {}))

    def keys(self) -> list[str]:
        return sorted(set(self.counters) | set(self.hist))

    def total(self) -> Cells:
        """One cell ('') adding up every cell: the period's totals from its trend buckets."""
        out = Cells()
        for key, cell in self.counters.items():
            for c in COUNTERS:
                out.counters[""][c] += cell[c]
        for hist in self.hist.values():
            for bucket, n in hist.items():
                out.hist[""][bucket] += n
        return out


def _bucket_expr(trend: str | None, column: str) -> str:
    return f"to_char(date_trunc('{trend}', {column}), 'YYYY-MM-DD')" if trend else "''"


def _next_month(d: date) -> date:
    """The first day of the month after d's."""
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _spans(start: date, end: date, months: bool) -> list[tuple[str, date, date]]:
    """The period as ('month', first, last month start) for its whole calendar months (when months is
    asked for and there are any) and ('day', first, last day) for the days outside them."""
    first = start if start.day == 1 else _next_month(start)
    after = (end + timedelta(days=1)).replace(day=1)  # the first day after the last whole month
    if not months or first >= after:
        return [("day", start, end)]
    out = [("month", first, (after - timedelta(days=1)).replace(day=1))]
    if start < first:
        out.append(("day", start, first - timedelta(days=1)))
    if after <= end:
        out.append(("day", after, end))
    return out


_TABLES = {"day": ("stat_daily", "stat_duration"), "month": ("stat_monthly", "stat_duration_monthly")}


def from_rollups(session: UnitOfWork, *, start: date, end: date, dim: str, value: str | None, group_dim: str | None,
                 trend: str | None, durations: bool = True) -> Cells:
    """Cells keyed by group value or trend bucket, read from the rollups.

    The whole calendar months of the period come from stat_monthly / stat_duration_monthly and only the days
    of the partial months at its edges from stat_daily / stat_duration; a trend by day or week reads days.
    A month's row is the sum of its days' rows, so either way the answer is the same."""
    read_dim = group_dim or dim
    one_value = value is not None and not group_dim
    by_date = trend is not None and not group_dim
    params: dict = {"dim": read_dim, "value": value}
    counters, histograms = [], []
    for i, (grain, lo, hi) in enumerate(_spans(start, end, months=trend in (None, "month"))):
        # grain is also the date column: stat_daily.day, stat_monthly.month
        key = "value" if group_dim else (f"date_trunc('{trend}', {grain})" if trend else "''")
        where = f"dim = :dim{' AND value = :value' if one_value else ''} AND {grain} BETWEEN :lo{i} AND :hi{i}"
        params[f"lo{i}"], params[f"hi{i}"] = lo, hi
        counter_table, duration_table = _TABLES[grain]
        counters.append(f"SELECT {key} AS k, {_SUMS} FROM {counter_table} WHERE {where} GROUP BY 1")
        histograms.append(f"SELECT {key} AS k, bucket, sum(n)::bigint AS n FROM {duration_table} WHERE {where} "
                          "GROUP BY 1, 2")

    def keyed(parts: list[str], columns: str) -> str:
        """The parts one after the other; trend buckets are rendered once grouped (not for every row read)."""
        if not by_date:
            return " UNION ALL ".join(parts)
        return f"SELECT to_char(k, 'YYYY-MM-DD') AS k, {columns} FROM ({' UNION ALL '.join(parts)}) s"

    return _read(session, params, keyed(counters, ", ".join(COUNTERS)),
                 keyed(histograms, "bucket, n") if durations else None)


def direct(session: UnitOfWork, *, start: date, end: date, unit: str | None, group_dim: str | None,
           trend: str | None, tz: str | None = None, durations: bool = True) -> Cells:
    """The same cells by a direct GROUP BY over the events (the baseline, and the check of the rollups)."""
    params = tz_param(tz)
    zone = ZoneInfo(params["tz"])
    lo = datetime.combine(start, time(0), zone)
    hi = datetime.combine(end + timedelta(days=1), time(0), zone)
    key = f"f.{group_dim}" if group_dim else _bucket_expr(trend, "f.day")
    unit_clause = " AND coalesce(e.unit_code, '') = :unit" if unit is not None else ""
    facts = facts_sql(TICKET_DIMS, f"e.at >= :lo AND e.at < :hi{unit_clause}")
    sums = ", ".join(f"sum(f.{c})::bigint AS {c}" for c in COUNTERS)
    return _read(session, {**params, "lo": lo, "hi": hi, "unit": unit},
                 f"SELECT {key} AS k, {sums} FROM ({facts}) f GROUP BY 1",
                 f"SELECT {key} AS k, f.bucket, count(*) AS n FROM ({facts}) f WHERE f.bucket IS NOT NULL GROUP BY 1, 2"
                 if durations else None)


def _read(session: UnitOfWork, params: dict, counters_sql: str, histogram_sql: str | None) -> Cells:
    """Cells from rows (k, counters...) and (k, bucket, n); a key may come in several rows (they add up)."""
    cells = Cells()
    # text(): the fact queries are SQL built from the statistics' own fragments (service/pipeline/stats/facts.py).
    for row in session.execute(text(counters_sql), params).all():  # all(): one fetch, not one per row
        cells.add_counters(row[0], row[1:])
    hist = cells.hist
    for k, bucket, n in session.execute(text(histogram_sql), params).all() if histogram_sql else ():
        hist[k][bucket] += n
    return cells


def summary(session: UnitOfWork, *, start: date, end: date, group_by: str | None = None, trend: str | None = None,
            unit: str | None = None, use_rollups: bool = True, group_durations: bool = False) -> dict:
    """Totals for the period, plus groups (by one dimension) and a trend (by day, week or month).

    Resolution-time percentiles per group cost most of a grouped call (a histogram per value per day), so
    groups carry them only when group_durations is asked for; totals and trend always do."""
    assert group_by is None or group_by in DIMENSIONS
    assert trend is None or trend in TRENDS
    dim, value = ("unit", unit) if unit is not None else ("all", "")

    def read(group_dim, trend_):
        durations = group_durations or group_dim is None
        if use_rollups:
            return from_rollups(session, start=start, end=end, dim=dim, value=value, group_dim=group_dim,
                                trend=trend_, durations=durations)
        return direct(session, start=start, end=end, unit=unit, group_dim=group_dim, trend=trend_,
                      durations=durations)

    # The trend buckets split the period exactly, so with a trend the totals are its sum (one read, not two).
    trend_cells = read(None, trend) if trend else None
    totals = trend_cells.total() if trend_cells is not None else read(None, None)
    out = {"period": {"from": start.isoformat(), "to": end.isoformat()}, "totals": totals.metrics("")}
    if group_by:
        cells = read(group_by, None)
        out["groups"] = [{"key": k, "metrics": cells.metrics(k)} for k in cells.keys()]
    if trend_cells is not None:
        out["trend"] = [{"bucket": k, "metrics": trend_cells.metrics(k)} for k in trend_cells.keys()]
    return out
