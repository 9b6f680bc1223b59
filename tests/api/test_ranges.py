"""Numbers and instants out of range: ids beyond bigint, far dates, odd token claims, ancient receipts."""
from __future__ import annotations

import base64
import io
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from openpyxl import Workbook
from sqlalchemy import text

from models import Role, User
from service.config import get_settings
from service.errors import TicketNotFound
from service.domain import tickets
from service.pipeline.excel.sheet_import import import_tickets
from service.security.users import create_user
from tests.factories import login, make_uscc, ticket_body

HUGE = 2**63


def fields(response) -> list[str]:
    return [d["field"] for d in response.json()["detail"]]


@pytest.fixture
def people(client):
    return {"op": login(client, "op"), "disp": login(client, "disp", Role.DISPATCHER),
            "power": login(client, "power", Role.HANDLER, "yueqing.power")}


@pytest.fixture
def ticket(client, people):
    r = client.post("/api/v1/tickets", json=ticket_body(), headers=people["op"])
    assert r.status_code == 201, r.text
    return r.json()


def test_ids_beyond_bigint_name_nothing(client, people, ticket, session):
    for url in (f"/api/v1/tickets/{HUGE}", f"/api/v1/tickets/{10**30}", f"/api/v1/exports/{HUGE}",
                f"/api/v1/exports/{HUGE}/download"):
        assert client.get(url, headers=people["op"]).status_code == 404, url
    assert client.post(f"/api/v1/tickets/{HUGE}/accept", json={}, headers=people["power"]).status_code == 404
    r = client.post(f"/api/v1/tickets/{ticket['id']}/merge", json={"into_ticket_id": HUGE}, headers=people["op"])
    assert r.status_code == 422 and fields(r) == ["into_ticket_id"]
    user = session.get(User, 1)
    with pytest.raises(TicketNotFound):  # the pipeline itself never asks the database with such an id
        tickets.get_visible(session, HUGE, user)


def test_a_cursor_out_of_range_is_422_naming_it(client, people, ticket):
    for raw in (f"t:{HUGE}", "t:99999999999999999999999", "t:-5", "t:0"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        r = client.get("/api/v1/tickets", params={"cursor": cursor}, headers=people["op"])
        assert r.status_code == 422 and fields(r) == ["cursor"], (raw, r.text)
    assert client.get("/api/v1/tickets", params={"cursor": tickets.encode_cursor(ticket["id"] + 1)},
                      headers=people["op"]).json()["items"][0]["id"] == ticket["id"]


def test_stats_periods_outside_the_calendar_are_422(client, people):
    for params, field in (({"from": "9999-01-01", "to": "9999-12-31"}, "from"), ({"to": "9999-12-31"}, "to"),
                          ({"from": "0001-01-01", "to": "0001-12-31"}, "from")):
        r = client.get("/api/v1/stats/summary", params=params, headers=people["disp"])
        assert r.status_code == 422 and fields(r) == [field], (params, r.text)
    assert client.get("/api/v1/stats/summary", params={"from": "2026-01-01"}, headers=people["disp"]).status_code == 200


@pytest.mark.parametrize("uid", [[1], {"id": 1}, HUGE, "1", True, None, -1, 1.0])
def test_a_signed_token_whose_uid_is_not_an_id_is_401(client, uid):
    now = int(time.time())
    token = jwt.encode({"sub": "op", "uid": uid, "role": "admin", "iat": now, "exp": now + 600},
                       get_settings().secret_key, algorithm="HS256")
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text


def test_an_extension_beyond_the_calendar_is_422(client, people, run_jobs, ticket):
    run_jobs()  # routed to the 乐清 supply company
    assert client.post(f"/api/v1/tickets/{ticket['id']}/accept", json={}, headers=people["power"]).status_code == 200
    for due in ("9999-12-31T00:00:00+08:00", "9999-12-31T23:59:59-12:00", "1970-01-01T00:00:00+08:00"):
        r = client.post(f"/api/v1/tickets/{ticket['id']}/extension", json={"new_due_at": due, "reason": "需要协调"},
                        headers=people["power"])
        assert r.status_code == 422 and fields(r) == ["new_due_at"], r.text


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00+14:00",
                                         "1970-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00",
                                         (datetime.now(UTC) - timedelta(days=400)).isoformat(),
                                         (datetime.now(UTC) + timedelta(hours=1)).isoformat()])
def test_received_at_outside_the_window_is_422(client, people, received_at):
    r = client.post("/api/v1/tickets", json=ticket_body(received_at=received_at), headers=people["op"])
    assert r.status_code == 422 and fields(r) == ["received_at"], r.text


def test_the_received_at_window_is_a_setting(client, people, override_settings):
    old = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    recent = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    assert client.post("/api/v1/tickets", json=ticket_body(received_at=recent, external_id="a"),
                       headers=people["op"]).status_code == 201
    override_settings(received_at_max_age_days=1000)
    assert client.post("/api/v1/tickets", json=ticket_body(received_at=old, external_id="b"),
                       headers=people["op"]).status_code == 201
    override_settings(received_at_max_age_days=10)
    r = client.post("/api/v1/tickets", json=ticket_body(received_at=recent, external_id="c"), headers=people["op"])
    assert r.status_code == 422 and "10 days" in r.json()["detail"][0]["message"]


def test_the_import_applies_the_same_window(session):
    user = create_user(session, username="imp", password="secret-pw", role=Role.OPERATOR)
    session.commit()
    wb = Workbook()
    ws = wb.active
    ws.append(["企业名称", "统一社会信用代码", "联系人", "联系电话", "诉求类型", "标题", "诉求内容", "受理时间"])
    recent = datetime.now() - timedelta(days=3)
    for n, received in enumerate((datetime(1970, 1, 1), datetime(1, 1, 1), recent), start=1):
        ws.append([f"乐清市测试{n}电气有限公司", make_uscc(500 + n), "王经理", "13800138000", "求助", f"问题{n}：用电扩容",
                   "申请增容，请协调。", received])
    out = io.BytesIO()
    wb.save(out)
    result = import_tickets(session, out.getvalue(), user=user, channel="town_centre")
    assert [(r["row"], r["field"]) for r in result.rejected] == [(2, "received_at"), (3, "received_at")]
    assert result.created == 1


def test_an_ancient_ticket_costs_no_more_than_a_new_one(client, people, ticket, session):
    """A ticket received in year 1 (as stored before the window existed) is routed and handled in normal time,
    with deadlines in the calendar's range and Shanghai's +08:00 (never local mean time, +08:05:43)."""
    session.execute(text("UPDATE ticket SET received_at = '0001-01-01T00:00:00+00' WHERE id = :id"),
                    {"id": ticket["id"]})
    session.commit()
    started = time.monotonic()
    r = client.post(f"/api/v1/tickets/{ticket['id']}/dispatch", json={"lead_unit": "yueqing.power"},
                    headers=people["disp"])
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tickets/{ticket['id']}/accept", json={}, headers=people["power"])
    assert r.status_code == 200, r.text
    assert time.monotonic() - started < 3
    due = r.json()["deadlines"]["resolve_due_at"]
    assert "+08:05" not in r.text and datetime.fromisoformat(due).year >= 2000
    assert datetime.fromisoformat(due).utcoffset() in (timedelta(0), timedelta(hours=8))
