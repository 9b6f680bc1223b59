"""`hotline ops verify-stats` and its nightly run: rollups against a direct count, drift never silent."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from typer.testing import CliRunner

from models import Role
from service import gauges
from service.cli import app
from tests.factories import login, ticket_body
from workers import jobs

runner = CliRunner()
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _resolved_ticket(client, run_jobs) -> tuple[int, dict]:
    op, power = login(client, "op"), login(client, "power", Role.HANDLER, "yueqing.power")
    tid = client.post("/api/v1/tickets", json=ticket_body(), headers=op).json()["id"]
    run_jobs()
    for action, body in (("accept", {}), ("resolve", {"opinion": "已处理"})):
        assert client.post(f"/api/v1/tickets/{tid}/{action}", json=body, headers=power).status_code == 200
    jobs.refresh_stats()
    return tid, op


def _gauges() -> dict[str, float]:
    lines = gauges.render().decode().splitlines()
    return {line.split()[0]: float(line.split()[1]) for line in lines if line.startswith("hotline_stats_")}


def test_verify_stats_passes_on_exact_rollups_even_with_changes_waiting(client, run_jobs, override_settings):
    tid, op = _resolved_ticket(client, run_jobs)
    r = runner.invoke(app, ["ops", "verify-stats"])
    assert r.exit_code == 0, r.output
    assert r.output.strip().endswith("0 rollup cell(s) differ from a direct count")
    # A change not refreshed yet is not drift: the ticket is checked as it was last counted.
    assert client.post(f"/api/v1/tickets/{tid}/feedback", json={"satisfaction": "satisfied", "solved": True},
                       headers=op).status_code == 200
    r = runner.invoke(app, ["ops", "verify-stats", "--from", (TODAY - timedelta(days=40)).isoformat(),
                            "--to", TODAY.isoformat()])
    assert r.exit_code == 0, r.output
    override_settings(metrics_state_ttl_seconds=0)
    gauges = _gauges()
    assert gauges["hotline_stats_drift_cells"] == 0 and gauges["hotline_stats_verified_timestamp_seconds"] > 0


def test_verify_stats_prints_each_differing_cell_and_exits_1(client, run_jobs, session, caplog, override_settings):
    _resolved_ticket(client, run_jobs)
    session.execute(text("UPDATE stat_daily SET resolved = resolved + 1 WHERE dim = 'unit' AND value = 'yueqing.power'"))
    session.execute(text("UPDATE stat_duration_monthly SET n = n + 2 WHERE dim = 'all'"))
    session.commit()
    with caplog.at_level(logging.WARNING):
        r = runner.invoke(app, ["ops", "verify-stats"])
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert f"stat_daily unit='yueqing.power' {TODAY.isoformat()} resolved: rollup 2, direct 1" in lines
    bucket = next(line for line in lines if line.startswith("stat_duration_monthly all=''"))
    assert bucket.startswith(f"stat_duration_monthly all='' {TODAY.replace(day=1).isoformat()} bucket ")
    assert bucket.endswith("rollup 3, direct 1")
    assert lines[-1] == "2 rollup cell(s) differ from a direct count"
    assert "statistics drift: 2 rollup cell(s)" in caplog.text
    override_settings(metrics_state_ttl_seconds=0)
    assert _gauges()["hotline_stats_drift_cells"] == 2
    # a period without the altered day: the month is not whole in it, and no day of it is checked
    r = runner.invoke(app, ["ops", "verify-stats", "--to", (TODAY - timedelta(days=1)).isoformat()])
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["ops", "verify-stats", "--from", "yesterday"]).exit_code == 2


def test_the_scheduler_verifies_once_a_day_after_the_hour(client, run_jobs, session, caplog, override_settings):
    _resolved_ticket(client, run_jobs)
    session.execute(text("UPDATE stat_monthly SET received = received + 1 WHERE dim = 'all'"))
    session.commit()
    night = datetime.combine(TODAY, datetime.min.time(), ZoneInfo("Asia/Shanghai"))
    assert not jobs.enqueue_daily_stats_verify(night.replace(hour=2, minute=59))
    assert jobs.enqueue_daily_stats_verify(night.replace(hour=3, minute=1))
    assert not jobs.enqueue_daily_stats_verify(night.replace(hour=3, minute=2))  # once a day
    with caplog.at_level(logging.WARNING):
        assert run_jobs() == 1
    assert "statistics drift: 1 rollup cell(s) differ" in caplog.text
    override_settings(metrics_state_ttl_seconds=0)
    assert _gauges()["hotline_stats_drift_cells"] == 1
