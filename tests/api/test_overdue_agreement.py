"""Overdue means one thing: the monthly report's 超期清单, the overdue gauge and `?overdue=true` agree on a
ticket in every state (an open ticket whose 办结 deadline has passed, whoever holds it)."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import update

from models import OPEN_STATUSES, Role, Ticket, TicketStatus
from service.pipeline.excel.report import write_monthly_report
from tests.api.test_metrics import SCRAPE, _value
from tests.factories import login, make_uscc, ticket_body


def _tickets_in_every_state(client, run_jobs) -> dict[str, dict]:
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    power = login(client, "power", Role.HANDLER, "yueqing.power")

    def new(name: str) -> dict:
        body = ticket_body(enterprise={"name": name, "uscc": make_uscc()})
        return client.post("/api/v1/tickets", json=body, headers=op).json()

    def act(who, ticket, action, **body) -> None:
        r = client.post(f"/api/v1/tickets/{ticket['id']}/{action}", json=body, headers=who)
        assert r.status_code == 200, r.text

    names = ("pending_dispatch", "assigned", "refuse_review", "in_progress", "resolved", "closed", "merged", "into")
    t = {name: new(f"{name}公司") for name in names}
    run_jobs()
    act(power, t["pending_dispatch"], "refuse", reason="not_our_function")
    act(disp, t["pending_dispatch"], "refusal/approve")
    act(power, t["refuse_review"], "refuse", reason="not_our_area")
    for name in ("in_progress", "resolved", "closed"):
        act(power, t[name], "accept")
    for name in ("resolved", "closed"):
        act(power, t[name], "resolve", opinion="已处理。")
    act(op, t["closed"], "feedback", satisfaction="satisfied", solved=True)
    act(op, t["closed"], "close")
    act(op, t["merged"], "merge", into_ticket_id=t["into"]["id"])
    t["new"] = new("new公司")  # after the jobs ran: nobody routed it
    return {name: client.get(f"/api/v1/tickets/{x['id']}", headers=op).json() for name, x in t.items()}


def _in_report(session, number: str, now: datetime) -> bool:
    out = io.BytesIO()
    write_monthly_report(session, f"{now.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m}", out, now=now)
    return any(row[1] == number for row in load_workbook(out)["超期清单"].iter_rows(min_row=2, values_only=True))


def _in_list(client, headers, ticket: dict, overdue: bool) -> bool:
    got = client.get("/api/v1/tickets", params={"overdue": str(overdue).lower(), "uscc": ticket["enterprise"]["uscc"]},
                     headers=headers).json()["items"]
    return ticket["id"] in [x["id"] for x in got]


def _gauge(client, unit: str | None) -> float:
    return _value(client.get("/metrics", headers=SCRAPE).text, "hotline_overdue_tickets", unit=unit or "")


def test_report_gauge_and_list_filter_agree_in_every_state(client, run_jobs, session, override_settings):
    override_settings(metrics_state_ttl_seconds=0, metrics_token="scrape-token-of-the-tests")
    tickets = _tickets_in_every_state(client, run_jobs)
    assert {name: t["status"]["code"] for name, t in tickets.items()} == {
        "new": "new", "pending_dispatch": "pending_dispatch", "assigned": "assigned", "refuse_review": "refuse_review",
        "in_progress": "in_progress", "resolved": "resolved", "closed": "closed", "merged": "merged",
        "into": "assigned"}
    # The approved 退单 sent it back to the queue with no unit, and its enterprise-facing deadline kept.
    assert tickets["pending_dispatch"]["lead_unit"] is None
    assert tickets["pending_dispatch"]["deadlines"]["resolve_due_at"]

    op = login(client, "reader")
    now = datetime.now(UTC)
    ids = [t["id"] for t in tickets.values()]
    session.execute(update(Ticket).where(Ticket.id.in_(ids)).values(resolve_due_at=now + timedelta(days=30)))
    session.commit()
    seen = {}
    for name, ticket in tickets.items():
        unit = (ticket["lead_unit"] or {}).get("code")
        before = _gauge(client, unit)
        session.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(resolve_due_at=now - timedelta(days=1)))
        session.commit()
        views = {"report": _in_report(session, ticket["number"], now), "gauge": _gauge(client, unit) - before == 1,
                 "list": _in_list(client, op, ticket, True), "not_in_false": not _in_list(client, op, ticket, False)}
        seen[name] = views
        session.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(resolve_due_at=now + timedelta(days=30)))
        session.commit()
    expected = {name: TicketStatus(t["status"]["code"]) in OPEN_STATUSES for name, t in tickets.items()}
    assert seen == {name: dict.fromkeys(("report", "gauge", "list", "not_in_false"), late)
                    for name, late in expected.items()}
