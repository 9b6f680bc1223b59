"""The `hotline` command."""
from __future__ import annotations

import json

from sqlalchemy import func, select
from typer.testing import CliRunner

from models import User
from service.cli import app

runner = CliRunner()


def test_rules_check_passes_on_the_shipped_rules():
    r = runner.invoke(app, ["rules", "check"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok: ")


def test_rules_check_reports_every_error_with_file_and_line(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "rules:\n  - id: one\n    priority: 5\n    route: {lead: {unit: city.power}}\n"
        "  - id: one\n    priority: 5\n    route: {lead: {unit: city.nowhere}}\n", encoding="utf-8")
    r = runner.invoke(app, ["rules", "check", str(tmp_path)])
    assert r.exit_code == 1
    assert "a.yaml:5" in r.output and "duplicate" in r.output.lower()
    assert "city.nowhere" in r.output


def test_rules_explain_names_the_rule_and_why():
    r = runner.invoke(app, ["rules", "explain", "--title", "厂区停电", "--description", "变压器跳闸",
                            "--town", "yueqing_liushi", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["decision"]["lead_unit"] == "yueqing.power"
    assert any(t["matched"] for t in out["trace"])
    text = runner.invoke(app, ["rules", "explain", "--title", "厂区停电", "--town", "yueqing_liushi"])
    assert "lead yueqing.power" in text.output


def test_user_add(session):
    r = runner.invoke(app, ["user", "add", "zhang", "--role", "handler", "--unit", "tc.yueqing_liushi",
                            "--password", "pw-123456"])
    assert r.exit_code == 0, r.output
    user = session.scalar(select(User).where(User.username == "zhang"))
    assert user.unit_code == "tc.yueqing_liushi" and user.password_hash != "pw-123456"
    bad = runner.invoke(app, ["user", "add", "li", "--role", "handler", "--password", "pw-123456"])
    assert bad.exit_code == 1 and "unit" in bad.output


def test_seed_demo_registers_and_works_tickets_once(session, run_jobs):
    from models import Ticket
    from service.demo import DEMO_PROGRESS, DEMO_TICKETS, DEMO_USERS

    r = runner.invoke(app, ["seed", "--demo"])
    assert r.exit_code == 0, r.output
    assert f"{len(DEMO_USERS)} users, {len(DEMO_TICKETS)} tickets created" in r.output
    by_title = {t.title: t for t in session.scalars(select(Ticket))}
    assert len(by_title) == len({t[4] for t in DEMO_TICKETS})
    expected = {"closed": "closed", "resolved": "resolved", "accepted": "in_progress", "instant": "resolved"}
    for title, stage in DEMO_PROGRESS.items():
        assert by_title[title].status == expected[stage], title
    closed = by_title["变压器故障停电"]
    assert (closed.lead_unit_code, closed.satisfaction, closed.solved) == ("yueqing.power", "satisfied", True)
    run_jobs()  # the rest are routed by the worker, as after `hotline up`
    session.expire_all()
    assert not [t.title for t in session.scalars(select(Ticket).where(Ticket.status == "new"))]
    again = runner.invoke(app, ["seed", "--demo"])
    assert again.exit_code == 0 and "0 users, 0 tickets created" in again.output
    assert session.scalar(select(func.count()).select_from(Ticket)) == len(DEMO_TICKETS)
