"""Intake from operators and town centres: validation, idempotency, duplicates."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select, update

from models import Role, Ticket, TicketEvent, User
from tests.factories import login, make_uscc, ticket_body


def test_operator_registers_a_ticket(client):
    h = login(client, "op")
    r = client.post("/api/v1/tickets", json=ticket_body(), headers=h)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["status"] == {"code": "new", "label": "受理"}
    assert t["number"].count("-") == 1 and len(t["number"].split("-")[0]) == 8
    assert t["county"] == {"code": "yueqing", "label": "乐清市"}  # derived from the town
    assert t["channel"]["label"] == "96666助企热线"
    assert t["request_type"] == {"code": "help", "label": "求助"}
    detail = client.get(f"/api/v1/tickets/{t['id']}", headers=h).json()
    assert [e["kind"] for e in detail["history"]] == ["created"]
    assert detail["history"][0]["actor"] == "op"
    # The answer is built from the request and what the database set; it must say what a read says.
    assert {k: v for k, v in detail.items() if k in t} == {k: v for k, v in t.items() if k != "possible_duplicates"}


def test_the_answer_of_a_town_centre_intake_equals_a_read(client):
    h = login(client, "centre", Role.HANDLER, "tc.yueqing_liushi")
    t = client.post("/api/v1/tickets", json=ticket_body(county=None, category="factor", external_id="x-1",
                                                        received_at="2026-11-02T09:30:00+08:00"), headers=h).json()
    assert t["registered_by_unit"]["code"] == "tc.yueqing_liushi" and t["received_at"] == "2026-11-02T09:30:00+08:00"
    detail = client.get(f"/api/v1/tickets/{t['id']}", headers=h).json()
    assert {k: v for k, v in detail.items() if k in t} == {k: v for k, v in t.items() if k != "possible_duplicates"}


def test_enterprise_is_created_then_updated(client, session):
    h = login(client, "op")
    client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "旧名称有限公司", "uscc": make_uscc(7),
                                                                "tier": "little_giant"}), headers=h)
    client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "新名称有限公司", "uscc": make_uscc(7)}),
                headers=h)
    from models import Enterprise

    ent = session.scalar(select(Enterprise).where(Enterprise.uscc == make_uscc(7)))
    assert ent.name == "新名称有限公司"
    assert ent.tier_code == "little_giant"  # a blank does not erase what was known
    assert ent.town_code == "yueqing_liushi"


def test_wrong_uscc_check_character_is_named(client):
    h = login(client, "op")
    good = make_uscc(3)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    r = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "某公司", "uscc": bad}), headers=h)
    assert r.status_code == 422
    err = r.json()
    assert err["error"] == "validation_error"
    assert err["detail"][0]["field"] == "enterprise.uscc"
    assert "check character" in err["detail"][0]["message"]


def test_unknown_enum_values_list_the_allowed_ones(client):
    h = login(client, "op")
    r = client.post("/api/v1/tickets", json=ticket_body(request_type="chat", channel="fax"), headers=h)
    assert r.status_code == 422
    fields = {d["field"]: d["message"] for d in r.json()["detail"]}
    assert "consult" in fields["request_type"] and "suggestion" in fields["request_type"]
    assert "hotline_96666" in fields["channel"] and "bangqiyun" in fields["channel"]


def test_town_in_another_county_is_refused(client):
    h = login(client, "op")
    r = client.post("/api/v1/tickets", json=ticket_body(county="ruian", town="yueqing_liushi"), headers=h)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "town"


def test_body_over_64k_is_413_and_writes_nothing(client, session):
    h = login(client, "op")
    r = client.post("/api/v1/tickets", json=ticket_body(description="停" * 30000), headers=h)
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_missing_fields_are_named(client):
    h = login(client, "op")
    body = ticket_body()
    del body["title"]
    del body["contact"]["phone"]
    r = client.post("/api/v1/tickets", json=body, headers=h)
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["detail"]} == {"title", "contact.phone"}


def test_same_external_id_returns_the_first_ticket(client, session):
    h = login(client, "op")
    body = ticket_body(external_id="call-0001")
    first = client.post("/api/v1/tickets", json=body, headers=h)
    again = client.post("/api/v1/tickets", json=body, headers=h)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_replayed_external_id_under_concurrency_makes_one_ticket(client, session):
    h = login(client, "op")
    body = ticket_body(external_id="race-42")
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: client.post("/api/v1/tickets", json=body, headers=h), range(16)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1 and codes.count(200) == 15
    assert len({r.json()["id"] for r in responses}) == 1
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert session.scalar(select(func.count()).select_from(TicketEvent)) == 1


def test_possible_duplicates_across_channels(client):
    h = login(client, "op")
    first = client.post("/api/v1/tickets", json=ticket_body(channel="bangqiyun", category="factor"), headers=h).json()
    unrelated = ticket_body(category="factor", title="招工难", description="企业今年招不到熟练工人，希望人社部门帮助对接。")
    client.post("/api/v1/tickets", json=unrelated, headers=h)
    second = client.post("/api/v1/tickets", json=ticket_body(
        category="factor", title="厂区停电", description="厂区变压器跳闸停电，生产线停工，请尽快处理。"), headers=h).json()
    dups = second["possible_duplicates"]
    assert [d["id"] for d in dups] == [first["id"]]
    assert dups[0]["similarity"] > 0.35
    other_firm = client.post("/api/v1/tickets", json=ticket_body(
        category="factor", enterprise={"name": "另一家公司", "uscc": make_uscc(99)}), headers=h).json()
    assert other_firm["possible_duplicates"] == []


def test_town_centre_staff_register_for_their_centre(client):
    h = login(client, "liushi", Role.HANDLER, "tc.yueqing_liushi")
    r = client.post("/api/v1/tickets", json=ticket_body(channel="town_centre"), headers=h)
    assert r.status_code == 201
    assert r.json()["registered_by_unit"]["code"] == "tc.yueqing_liushi"
    bureau = login(client, "rsj", Role.HANDLER, "yueqing.rsj")
    assert client.post("/api/v1/tickets", json=ticket_body(), headers=bureau).status_code == 403
    leader = login(client, "boss", Role.LEADER)
    assert client.post("/api/v1/tickets", json=ticket_body(), headers=leader).status_code == 403


def test_no_token_is_401(client):
    r = client.post("/api/v1/tickets", json=ticket_body())
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"


def test_cached_users_work_and_a_deactivation_takes_effect_when_the_cache_expires(client, session, run_jobs,
                                                                                   override_settings):
    from service.security import users

    override_settings(user_cache_seconds=60)
    users._users.clear()
    op, power = login(client, "op"), login(client, "power", Role.HANDLER, "yueqing.power")
    for i in range(3):  # the first request reads the user, the next ones use the cached one
        r = client.post("/api/v1/tickets", json=ticket_body(external_id=f"c-{i}"), headers=op)
        assert r.status_code == 201 and r.json()["allowed_actions"], r.text
    run_jobs()
    t = r.json()["id"]
    assert client.post(f"/api/v1/tickets/{t}/accept", json={}, headers=power).status_code == 200
    assert client.get(f"/api/v1/tickets/{t}", headers=power).json()["history"][-1]["actor"] == "power"
    session.execute(update(User).where(User.username == "op").values(active=False))  # an admin deactivates op
    session.commit()
    assert client.get("/api/v1/tickets", headers=op).status_code == 200  # still cached
    users._users.clear()  # the cache period is over
    gone = client.get("/api/v1/tickets", headers=op)
    assert gone.status_code == 401 and "no longer active" in gone.json()["detail"]


def test_bearer_scheme_and_the_openapi_document(client):
    h = login(client, "op")
    token = h["Authorization"].split(" ", 1)[1]
    assert client.get("/api/v1/tickets", headers={"Authorization": f"bearer {token}"}).status_code == 200
    for bad in (f"Basic {token}", "Bearer ", token, f"Bearer {token}x"):
        r = client.get("/api/v1/tickets", headers={"Authorization": bad})
        assert r.status_code == 401, bad
    spec = client.get("/openapi.json").json()
    flow = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]
    assert flow["tokenUrl"] == "/api/v1/auth/token"
    lock = [{"OAuth2PasswordBearer": []}]
    assert spec["paths"]["/api/v1/tickets"]["post"]["security"] == lock
    assert spec["paths"]["/api/v1/tickets/{ticket_id}/accept"]["post"]["security"] == lock
    assert spec["paths"]["/api/v1/stats/summary"]["get"]["security"] == lock
    assert "security" not in spec["paths"]["/healthz"]["get"]
    assert "security" not in spec["paths"]["/api/v1/intake/bangqiyun"]["post"]  # signed, not logged in


def test_a_token_accepted_before_is_still_refused_once_expired_or_re_keyed(client, override_settings):
    """Checked tokens are remembered, never beyond their expiry or the key that checked them."""
    import time
    from datetime import UTC, datetime, timedelta

    import jwt

    from service.config import get_settings
    from service.security.users import ALGORITHM

    issued = login(client, "op")["Authorization"].split(" ", 1)[1]
    claims = {k: v for k, v in jwt.decode(issued, options={"verify_signature": False}).items() if k != "exp"}
    short = jwt.encode({**claims, "exp": datetime.now(UTC) + timedelta(seconds=2)}, get_settings().secret_key,
                       algorithm=ALGORITHM)
    h = {"Authorization": f"Bearer {short}"}
    assert client.get("/api/v1/tickets", headers=h).status_code == 200
    assert client.get("/api/v1/tickets", headers=h).status_code == 200  # the remembered check
    time.sleep(2.1)
    r = client.get("/api/v1/tickets", headers=h)
    assert r.status_code == 401 and "expired" in r.json()["detail"]

    h = login(client, "op2")
    assert client.get("/api/v1/tickets", headers=h).status_code == 200
    override_settings(secret_key="another key, as after a leak, at least 32 bytes long")
    r = client.get("/api/v1/tickets", headers=h)
    assert r.status_code == 401 and r.json()["detail"] == "invalid token"
    no_expiry = jwt.encode(claims, get_settings().secret_key, algorithm=ALGORITHM)
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {no_expiry}"}).status_code == 401


def test_intake_reaches_redis_again_after_it_restarts(client, override_settings, run_jobs):
    """The event loop's Redis connection survives a Redis restart: the next intake asks for routing again."""
    from tests.workers.test_routing_jobs import _Redis
    from service import queues

    server = _Redis()
    server.start()
    try:
        override_settings(redis_url=server.url)
        h = login(client, "op")
        assert client.post("/api/v1/tickets", json=ticket_body(external_id="r-1"), headers=h).status_code == 201
        assert queues.queue(queues.ROUTING).count == 1  # one routing job for what is waiting
        run_jobs()
        server.stop()
        assert client.post("/api/v1/tickets", json=ticket_body(external_id="r-2"), headers=h).status_code == 201
        server.start()  # an empty Redis: the flag and the queue are gone with the old one
        r = client.post("/api/v1/tickets", json=ticket_body(external_id="r-3"), headers=h)
        assert r.status_code == 201
        assert queues.queue(queues.ROUTING).count == 1
        run_jobs()
        got = client.get("/api/v1/tickets", headers=h).json()["items"]
        assert {t["external_id"]: t["status"]["code"] for t in got} == {"r-1": "assigned", "r-2": "assigned",
                                                                        "r-3": "assigned"}
    finally:
        server.stop()


def test_the_api_takes_the_chinese_labels_the_import_takes(client):
    """柳市镇, 求助, 求助类, 紧急, 要素对接, 96666助企热线: the same lookup as the spreadsheet import, answered as codes."""
    h = login(client, "op")
    body = ticket_body(town="柳市镇", county="乐清市", request_type="求助类", urgency="紧急", category="要素对接",
                       channel="96666助企热线", enterprise={"name": "乐清市测试电气有限公司", "uscc": make_uscc(1),
                                                          "chain": None})
    r = client.post("/api/v1/tickets", json=body, headers=h)
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["town"]["code"], t["county"]["code"], t["request_type"]["code"], t["urgency"]["code"],
            t["category"]["code"], t["channel"]["code"]) == \
        ("yueqing_liushi", "yueqing", "help", "urgent", "factor", "hotline_96666")
    assert client.post("/api/v1/tickets", json=ticket_body(town="柳市", request_type="求助", external_id="e-2"),
                       headers=h).json()["town"]["code"] == "yueqing_liushi"
    for field, value in (("town", "不存在镇"), ("request_type", "求救"), ("urgency", "很急"), ("category", "杂项")):
        r = client.post("/api/v1/tickets", json=ticket_body(**{field: value}), headers=h)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert [d["field"] for d in detail] == [field], detail
        assert "allowed" in detail[0]["message"] or "must be one of" in detail[0]["message"], detail


def test_replays_draw_no_ticket_number(client):
    h = login(client, "op-numbers")
    first = client.post("/api/v1/tickets", json=ticket_body(external_id="n-1"), headers=h)
    assert first.status_code == 201
    for _ in range(3):
        assert client.post("/api/v1/tickets", json=ticket_body(external_id="n-1"), headers=h).status_code == 200
    second = client.post("/api/v1/tickets", json=ticket_body(external_id="n-2"), headers=h)
    assert second.status_code == 201
    assert int(second.json()["number"][-7:]) == int(first.json()["number"][-7:]) + 1
