"""Leadership's numbers on hand-built histories, and rollups that always equal a direct count."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from models import Role
from models.stats import COUNTERS
from service.pipeline.stats import rollup as stats
from service.pipeline.stats import query as stats_query
from tests.factories import login, make_uscc, ticket_body
from workers import jobs

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
PERIOD = {"start": date(TODAY.year, 1, 1), "end": TODAY}


def do(client, who, tid, action, **body):
    r = client.post(f"/api/v1/tickets/{tid}/{action}", json=body, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def history(client, run_jobs):
    """Four tickets whose numbers are worked out by hand in the tests below."""
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    power, rsj = login(client, "power", Role.HANDLER, "yueqing.power"), login(client, "rsj", Role.HANDLER, "yueqing.rsj")
    post = lambda **kw: client.post("/api/v1/tickets", json=ticket_body(**kw), headers=op).json()  # noqa: E731
    t1 = post()
    t2 = post(channel="bangqiyun", enterprise={"name": "瑞安市某汽配有限公司", "uscc": make_uscc(2)})
    t3 = post(request_type="consult", title="加计扣除政策", description="研发费用加计扣除比例是多少",
              enterprise={"name": "乐清市某开关厂", "uscc": make_uscc(3)}, instant_answer="按100%加计扣除。")
    t4 = post()  # the same enterprise and the same problem as t1 again: a repeat, merged into t1
    do(client, op, t4["id"], "merge", into_ticket_id=t1["id"])
    run_jobs()
    do(client, power, t1["id"], "accept")
    do(client, power, t1["id"], "resolve", opinion="已恢复供电")
    do(client, op, t1["id"], "feedback", satisfaction="satisfied", solved=True)
    do(client, power, t2["id"], "refuse", reason="not_our_function")
    do(client, disp, t2["id"], "refusal/approve", lead_unit="yueqing.rsj")
    do(client, rsj, t2["id"], "accept")
    do(client, rsj, t2["id"], "resolve", opinion="已协调")
    do(client, op, t2["id"], "feedback", satisfaction="unsatisfied", solved=False)
    do(client, disp, t2["id"], "reopen", reason="企业不满意")
    do(client, rsj, t2["id"], "resolve", opinion="再次协调，已解决")
    jobs.refresh_stats()
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4}


def test_totals_worked_out_by_hand(history, session):
    m = stats_query.summary(session, **PERIOD)["totals"]
    assert m["received"] == 4 and m["instant_resolved"] == 1 and m["instant_rate"] == 0.25
    assert m["resolved"] == 3          # t1, t2 once (its second 办结 after 重办 is not counted again), t3
    assert m["dispatched"] == 3 and m["refused"] == 1 and m["refusal_rate"] == round(1 / 3, 4)
    assert m["accepted"] == 2 and m["on_time_accept_rate"] == 1.0
    assert m["on_time_resolve_rate"] == 1.0
    assert m["rated"] == 2 and m["satisfaction_rate"] == 0.5 and m["solved_rate"] == 0.5
    assert m["reopened"] == 1 and m["reopen_rate"] == round(1 / 3, 4)
    assert m["repeats"] == 1 and m["repeat_rate"] == 0.25
    assert m["duration_hours_median"] is not None and m["duration_hours_p90"] >= m["duration_hours_median"]


def test_credit_goes_to_the_unit_that_acted(history, session):
    groups = {g["key"]: g["metrics"] for g in stats_query.summary(session, **PERIOD, group_by="unit")["groups"]}
    power, rsj = groups["yueqing.power"], groups["yueqing.rsj"]
    assert (power["dispatched"], power["refused"], power["accepted"], power["resolved"], power["rated"]) == (2, 1, 1, 1, 1)
    assert (rsj["dispatched"], rsj["accepted"], rsj["resolved"], rsj["rated"], rsj["reopened"]) == (1, 1, 1, 1, 1)
    assert rsj["satisfaction_rate"] == 0.0
    assert rsj["duration_hours_median"] is None  # per-group percentiles only when asked for
    with_durations = stats_query.summary(session, **PERIOD, group_by="unit", group_durations=True)["groups"]
    assert next(g for g in with_durations if g["key"] == "yueqing.rsj")["metrics"]["duration_hours_median"] is not None
    channels = {g["key"]: g["metrics"]["received"] for g in stats_query.summary(session, **PERIOD,
                                                                                group_by="channel")["groups"]}
    assert channels == {"hotline_96666": 3, "bangqiyun": 1}
    trend = stats_query.summary(session, **PERIOD, trend="month")["trend"]
    assert sum(b["metrics"]["received"] for b in trend) == 4


def _assert_rollups_equal_direct(session):
    for group_by in (None, "unit", "county", "town", "channel", "category", "request_type"):
        for trend in (None, "day", "week", "month"):
            fast = stats_query.summary(session, **PERIOD, group_by=group_by, trend=trend, group_durations=True)
            slow = stats_query.summary(session, **PERIOD, group_by=group_by, trend=trend, use_rollups=False,
                                       group_durations=True)
            assert fast == slow, (group_by, trend)
            # with a trend the totals are added up from its buckets; they must equal the totals read directly
            assert fast["totals"] == stats_query.summary(session, **PERIOD)["totals"], trend
    for unit in ("yueqing.power", "yueqing.rsj", "city.jxj"):
        assert stats_query.summary(session, **PERIOD, unit=unit, trend="day") == \
            stats_query.summary(session, **PERIOD, unit=unit, trend="day", use_rollups=False)


def test_rollups_equal_a_direct_count_through_changes(history, session, client, run_jobs):
    _assert_rollups_equal_direct(session)
    # Re-classification moves every number of the ticket to the new category and county.
    session.execute(text("UPDATE ticket SET category_code = 'legal', town_code = 'ruian_tangxia', "
                         "county_code = 'ruian' WHERE id = :id"), {"id": history["t1"]["id"]})
    session.commit()
    jobs.refresh_stats()
    _assert_rollups_equal_direct(session)
    cats = {g["key"]: g["metrics"] for g in stats_query.summary(session, **PERIOD, group_by="category")["groups"]}
    assert cats["legal"]["received"] == 1 and cats["legal"]["resolved"] == 1
    # More activity after a refresh: only the changes are applied, and the answers still agree.
    op, disp = login(client, "op2"), login(client, "disp2", Role.DISPATCHER)
    more = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "某新企业", "uscc": make_uscc(9)}),
                       headers=op).json()
    run_jobs()
    do(client, disp, more["id"], "transfer", lead_unit="yueqing.jxj")
    do(client, disp, history["t4"]["id"], "unmerge")
    jobs.refresh_stats()
    _assert_rollups_equal_direct(session)
    # A rebuild from scratch gives the same rollups as the incremental refreshes.
    before = session.execute(text("SELECT * FROM stat_daily ORDER BY dim, value, day")).all()
    stats.rebuild(session)
    session.commit()
    assert session.execute(text("SELECT * FROM stat_daily ORDER BY dim, value, day")).all() == before


def test_refreshing_twice_changes_nothing(history, session):
    before = session.execute(text("SELECT * FROM stat_daily ORDER BY dim, value, day")).all()
    session.execute(text("INSERT INTO stat_queue (ticket_id) SELECT id FROM ticket"))
    session.commit()
    jobs.refresh_stats()
    assert session.execute(text("SELECT * FROM stat_daily ORDER BY dim, value, day")).all() == before
    assert stats.backlog(session) == 0


# --- per-month rollups -------------------------------------------------------------------------------------------

SHIFT_DAYS = {"t1": 95, "t2": 40, "t3": 13, "t4": 61}  # each ticket's history moved back this far: several months


def _spread_over_months(session, history):
    """Move each ticket's whole history back by a different number of days, then count it all again."""
    session.execute(text("ALTER TABLE ticket_event DISABLE TRIGGER ticket_event_append_only"))  # only to set up
    for name, days in SHIFT_DAYS.items():
        session.execute(text("UPDATE ticket_event SET at = at - make_interval(days => :d) WHERE ticket_id = :id"),
                        {"d": days, "id": history[name]["id"]})
    session.execute(text("ALTER TABLE ticket_event ENABLE TRIGGER ticket_event_append_only"))
    stats.rebuild(session)
    session.commit()


def _assert_months_are_sums_of_days(session):
    """stat_monthly / stat_duration_monthly equal their days added up (cells adding up to nothing aside)."""
    sums = ", ".join(f"sum({c})" for c in COUNTERS)
    nonzero = " OR ".join(f"sum({c}) <> 0" for c in COUNTERS)
    month = "date_trunc('month', day::timestamp)::date"
    days = session.execute(text(f"SELECT dim, value, {month}, {sums} FROM stat_daily GROUP BY 1, 2, 3 "
                                f"HAVING {nonzero} ORDER BY 1, 2, 3")).all()
    months = session.execute(text(f"SELECT dim, value, month, {sums} FROM stat_monthly GROUP BY 1, 2, 3 "
                                  f"HAVING {nonzero} ORDER BY 1, 2, 3")).all()
    assert len({r[2] for r in months}) >= 3 and days == months
    days = session.execute(text(f"SELECT dim, value, {month}, bucket, sum(n) FROM stat_duration GROUP BY 1, 2, 3, 4 "
                                "HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4")).all()
    months = session.execute(text("SELECT dim, value, month, bucket, sum(n) FROM stat_duration_monthly "
                                  "GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4")).all()
    assert days and days == months


def _periods():
    """Periods of whole months with partial ones at either edge, within one month, and of whole months only."""
    month0 = (TODAY - timedelta(days=100)).replace(day=1)
    return [
        (TODAY - timedelta(days=100), TODAY),
        (month0 + timedelta(days=9), (TODAY.replace(day=1) - timedelta(days=1)).replace(day=17)),
        (month0, TODAY.replace(day=1) - timedelta(days=1)),
        (month0 + timedelta(days=3), month0 + timedelta(days=20)),
        (month0 + timedelta(days=5), (month0 + timedelta(days=40)).replace(day=4)),
        (TODAY.replace(day=1), TODAY),
        (TODAY, TODAY),
    ]


def _assert_periods_equal_direct(session):
    for start, end in _periods():
        period = {"start": start, "end": end}
        for group_by, trend in ((None, None), (None, "month"), ("unit", "month"), ("category", None), (None, "week"),
                                ("town", "day")):
            fast = stats_query.summary(session, **period, group_by=group_by, trend=trend, group_durations=True)
            slow = stats_query.summary(session, **period, group_by=group_by, trend=trend, use_rollups=False,
                                       group_durations=True)
            assert fast == slow, (start, end, group_by, trend)
        for unit in ("yueqing.power", "yueqing.rsj"):
            assert stats_query.summary(session, **period, unit=unit, trend="month") == \
                stats_query.summary(session, **period, unit=unit, trend="month", use_rollups=False), (start, end, unit)


def test_months_equal_their_days_through_changes(history, session, client, run_jobs):
    _spread_over_months(session, history)
    _assert_months_are_sums_of_days(session)
    op, disp = login(client, "op2"), login(client, "disp2", Role.DISPATCHER)
    power = login(client, "power2", Role.HANDLER, "yueqing.power")
    more = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "某新企业", "uscc": make_uscc(9)}),
                       headers=op).json()
    run_jobs()
    do(client, disp, more["id"], "transfer", lead_unit="yueqing.jxj")           # 改派
    # t1 was rated months ago: one 回访 per resolution, so the enterprise's new word is a 更正回访
    do(client, op, history["t1"]["id"], "feedback/amend", satisfaction="unsatisfied", solved=False)
    do(client, disp, history["t1"]["id"], "reopen", reason="企业反映问题复发")       # 重办 of a ticket counted months ago
    do(client, power, history["t1"]["id"], "resolve", opinion="再次处理")
    do(client, disp, history["t4"]["id"], "unmerge")
    do(client, op, history["t4"]["id"], "merge", into_ticket_id=more["id"])       # 并单 into another ticket
    session.execute(text("UPDATE ticket SET category_code = 'legal' WHERE id = :id"), {"id": history["t2"]["id"]})
    session.commit()
    jobs.refresh_stats()
    _assert_months_are_sums_of_days(session)
    _assert_periods_equal_direct(session)
    # The rebuild writes the same days and months as the incremental refreshes.
    tables = ("stat_daily", "stat_duration", "stat_monthly", "stat_duration_monthly")
    nonzero = {"stat_duration": "n <> 0", "stat_duration_monthly": "n <> 0"}
    read = lambda t: session.execute(text(  # noqa: E731
        f"SELECT * FROM {t} WHERE {nonzero.get(t, ' OR '.join(f'{c} <> 0' for c in COUNTERS))} ORDER BY 1, 2, 3, 4")
    ).all()
    before = {t: read(t) for t in tables}
    stats.rebuild(session)
    session.commit()
    assert {t: read(t) for t in tables} == before
    _assert_months_are_sums_of_days(session)


def test_summary_over_whole_and_partial_months_equals_a_direct_count(history, session):
    _spread_over_months(session, history)
    _assert_periods_equal_direct(session)
    # this year to date, as the endpoint's default, with its months read whole
    year = stats_query.summary(session, **PERIOD, trend="month")
    assert year == stats_query.summary(session, **PERIOD, trend="month", use_rollups=False)
    this_year = [d for d in SHIFT_DAYS.values() if TODAY - timedelta(days=d) >= PERIOD["start"]]
    assert year["totals"]["received"] == len(this_year)


def test_spans_cover_the_period_once():
    """Whole months (read from the monthly rollups) and edge days together are exactly the period's days."""
    first = date(2023, 12, 1)
    for offset in range(0, 430, 7):
        for length in (0, 1, 27, 28, 30, 31, 45, 59, 60, 61, 92, 400):
            start = first + timedelta(days=offset)
            end = start + timedelta(days=length)
            days = []
            for grain, lo, hi in stats_query._spans(start, end, months=True):
                if grain == "month":
                    assert lo.day == 1 and hi.day == 1 and lo >= start
                    hi = stats_query._next_month(hi) - timedelta(days=1)
                    assert hi <= end
                days += [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
            assert sorted(days) == [start + timedelta(days=i) for i in range(length + 1)], (start, end)
            assert stats_query._spans(start, end, months=False) == [("day", start, end)]
