"""Every event counted exactly once, whatever commits while a refresh runs."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select, text

from models import Role, Ticket, User
from service import db
from service.pipeline import actions, resolution
from service.domain import events
from service.pipeline.stats import rollup as stats
from service.pipeline.stats import query as stats_query
from tests.factories import login, make_uscc, ticket_body
from tests.pipeline.stats.test_stats import PERIOD
from workers import jobs


def _assert_rollups_equal_direct(session) -> None:
    session.rollback()  # a fresh snapshot
    for group_by, trend in ((None, None), ("unit", None), ("category", "day")):
        fast = stats_query.summary(session, **PERIOD, group_by=group_by, trend=trend, group_durations=True)
        slow = stats_query.summary(session, **PERIOD, group_by=group_by, trend=trend, use_rollups=False,
                                   group_durations=True)
        assert fast == slow, (group_by, trend)


def _tickets(client, run_jobs, n: int) -> list[int]:
    """n tickets routed to yueqing.power and counted."""
    op = login(client, "op")
    ids = [client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": f"企业{i}", "uscc": make_uscc(100 + i)}),
                       headers=op).json()["id"] for i in range(n)]
    run_jobs()
    jobs.refresh_stats()
    return ids


def _user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _wait_until_blocked_on(session, *tables: str) -> None:
    """Until another transaction waits for a lock on one of the tables."""
    for _ in range(500):
        session.rollback()
        if session.scalar(text("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                               "WHERE NOT l.granted AND c.relname = ANY(:t)"), {"t": list(tables)}):
            return
        time.sleep(0.01)
    raise AssertionError(f"nothing waited for {tables}")


def _refresh_in_thread() -> threading.Thread:
    def run():
        with db.session_factory()() as s:
            stats.refresh(s)
            s.commit()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_event_committed_during_a_refresh_is_counted_once(client, run_jobs, session):
    """The refresh has read which tickets and events to count when a 办结 commits; it is counted exactly once."""
    [tid] = _tickets(client, run_jobs, 1)
    power = login(client, "power", Role.HANDLER, "yueqing.power")
    assert client.post(f"/api/v1/tickets/{tid}/accept", json={}, headers=power).status_code == 200
    with db.session_factory()() as writer:
        # Hold the refresh right after it read what to count: it waits to read what it counted last time.
        writer.execute(text("LOCK TABLE stat_ticket IN ACCESS EXCLUSIVE MODE"))
        refresher = _refresh_in_thread()
        try:
            _wait_until_blocked_on(session, "stat_ticket")
            resolution.resolve(writer, actions.lock(writer, tid), _user(writer, "power"), "已处理")
        finally:
            writer.commit()  # the 办结 commits, and the refresh goes on
    refresher.join(10)
    assert not refresher.is_alive()
    jobs.refresh_stats()
    _assert_rollups_equal_direct(session)
    assert stats_query.summary(session, **PERIOD)["totals"]["resolved"] == 1


def test_an_event_with_a_lower_id_committing_later_is_counted(client, run_jobs, session):
    """Event ids are drawn before commit: one drawn first may commit after a later one was counted."""
    [tid] = _tickets(client, run_jobs, 1)
    login(client, "op2")
    with db.session_factory()() as early, db.session_factory()() as late:
        ids = [events.record(s, s.get(Ticket, tid), "feedback", user=_user(s, "op2"), unit_code="yueqing.power",
                             payload={"satisfaction": satisfaction, "solved": True}).id
               for s, satisfaction in ((early, "satisfied"), (late, "unsatisfied"))]
        assert ids[0] < ids[1]
        late.commit()  # the higher id commits first and is counted
        jobs.refresh_stats()
        early.commit()  # then the lower one
    jobs.refresh_stats()
    _assert_rollups_equal_direct(session)
    totals = stats_query.summary(session, **PERIOD)["totals"]
    assert totals["rated"] == 2 and totals["satisfaction_rate"] == 0.5


WRITERS, PER_WRITER = 8, 6
CHAIN = ("accept", "resolve", "feedback", "reopen", "resolve", "feedback")


def test_rollups_equal_a_direct_count_after_concurrent_chains_and_refreshes(client, run_jobs, session):
    """Writers take tickets through 签收 → 办结 → 回访 → 重办 → 办结 → 回访 while refreshes run back to back."""
    ids = _tickets(client, run_jobs, WRITERS * PER_WRITER)
    login(client, "power", Role.HANDLER, "yueqing.power")
    login(client, "op2")
    login(client, "disp", Role.DISPATCHER)
    done = threading.Event()

    def write(chunk: list[int]) -> None:
        with db.session_factory()() as s:
            power, op, disp = _user(s, "power"), _user(s, "op2"), _user(s, "disp")
            for i, step in enumerate(CHAIN):
                for tid in chunk:
                    ticket = actions.lock(s, tid)
                    if step == "accept":
                        actions.accept(s, ticket, power)
                    elif step == "resolve":
                        resolution.resolve(s, ticket, power, "已处理")
                    elif step == "feedback":
                        first = i < CHAIN.index("reopen")  # unsatisfied: the ticket is reopened
                        resolution.feedback(s, ticket, op, satisfaction="unsatisfied" if first else "satisfied",
                                            solved=not first and tid % 2 == 0)
                    else:
                        resolution.reopen(s, ticket, disp, reason="企业不满意")
                    s.commit()

    def refresh() -> int:
        n = 0
        with db.session_factory()() as s:
            while not done.is_set():
                stats.refresh(s, batch=7)
                s.commit()
                n += 1
        return n

    with ThreadPoolExecutor(WRITERS + 2) as pool:
        refreshers = [pool.submit(refresh) for _ in range(2)]
        writers = [pool.submit(write, ids[i::WRITERS]) for i in range(WRITERS)]
        try:
            for w in writers:
                w.result()
        finally:
            done.set()
        assert sum(r.result() for r in refreshers) > 0
    jobs.refresh_stats()
    _assert_rollups_equal_direct(session)
    totals = stats_query.summary(session, **PERIOD)["totals"]
    n = len(ids)
    assert (totals["accepted"], totals["resolved"], totals["rated"], totals["reopened"]) == (n, n, 2 * n, n)


def test_the_summary_reads_one_snapshot_while_a_refresh_commits(client, run_jobs, session):
    """Counters and histograms are read by separate statements: a refresh between them must not split them."""
    [tid] = _tickets(client, run_jobs, 1)
    power, leader = login(client, "power", Role.HANDLER, "yueqing.power"), login(client, "boss", Role.LEADER)
    for action, body in (("accept", {}), ("resolve", {"opinion": "已处理"})):
        assert client.post(f"/api/v1/tickets/{tid}/{action}", json=body, headers=power).status_code == 200
    answer = {}
    reader = threading.Thread(target=lambda: answer.update(
        client.get("/api/v1/stats/summary", headers=leader).json()["totals"]))
    with db.session_factory()() as refresher:
        # Hold the summary after it read the counters: it waits to read the histograms.
        refresher.execute(text("LOCK TABLE stat_duration, stat_duration_monthly IN ACCESS EXCLUSIVE MODE"))
        reader.start()
        try:
            _wait_until_blocked_on(session, "stat_duration", "stat_duration_monthly")
            assert stats.refresh(refresher) == 1  # the 办结 reaches the rollups meanwhile
        finally:
            refresher.commit()
    reader.join(10)
    assert not reader.is_alive() and answer["resolved"] in (0, 1)
    assert (answer["duration_hours_median"] is None) == (answer["resolved"] == 0), answer
