"""Small helpers that build valid inputs and logged-in users."""
from __future__ import annotations

import itertools

from stdnum.cn import uscc

from models import Role, Ticket
from service import db
from service.pipeline import intake
from service.security.users import create_user

PASSWORD = "secret-pw"
_seq = itertools.count(1)


def make_uscc(n: int | None = None) -> str:
    """A valid 统一社会信用代码 (with the right check character)."""
    body = f"9133038{(n or next(_seq)):010d}"
    return body + uscc.calc_check_digit(body)


def ticket_body(**overrides) -> dict:
    body = {
        "channel": "hotline_96666",
        "enterprise": {"name": "乐清市测试电气有限公司", "uscc": make_uscc(1)},
        "contact": {"name": "王经理", "phone": "13800138000"},
        "town": "yueqing_liushi",
        "request_type": "help",
        "urgency": "normal",
        "title": "厂区突然停电",
        "description": "今天上午厂区变压器跳闸停电，生产线停工，请尽快处理。",
    }
    body.update(overrides)
    return body


def add_user(username: str, role: Role, unit: str | None = None) -> None:
    with db.session_factory()() as s:
        create_user(s, username=username, password=PASSWORD, role=role, unit_code=unit)
        s.commit()


def login(client, username: str, role: Role = Role.OPERATOR, unit: str | None = None) -> dict:
    """Create the user and return Authorization headers for it."""
    add_user(username, role, unit)
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def create_ticket(session, data, **kw) -> tuple[Ticket, bool]:
    """Register through the one intake (service.pipeline.intake.register) and load the ticket as an ORM object,
    for tests that go on working on it in the same unit: (ticket, created)."""
    registered = intake.register(session, data, **kw)
    return session.get(Ticket, registered.ticket.id), registered.created
