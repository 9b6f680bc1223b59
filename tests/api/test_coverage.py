"""服务覆盖率: of the roster's enterprises, how many used the service in a period, by county and town; exact."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models import Role
from tests.factories import login, make_uscc, ticket_body

HEADER = "企业名称,统一社会信用代码,所属镇街,是否规上\n"
TZ = ZoneInfo("Asia/Shanghai")


def _load_roster(client, admin, rows: list[str]) -> None:
    content = (HEADER + "".join(r + "\n" for r in rows)).encode()
    r = client.post("/api/v1/enterprises/import", files={"file": ("roster.csv", content, "text/csv")}, headers=admin)
    assert r.status_code == 200 and not r.json()["rejected"], r.text


def _register(client, headers, name: str, received: datetime, uscc: str | None = None) -> dict:
    enterprise = {"name": name} if uscc is None else {"name": name, "uscc": uscc}
    r = client.post("/api/v1/tickets", json=ticket_body(enterprise=enterprise, received_at=received.isoformat()),
                    headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_coverage_counts_roster_enterprises_served_in_the_period_by_county_and_town(client):
    op, admin, leader = login(client, "op"), login(client, "admin", Role.ADMIN), login(client, "boss", Role.LEADER)
    _load_roster(client, admin, [f"柳市甲电气有限公司,{make_uscc(701)},柳市镇,是", "柳市乙电气有限公司,,柳市镇,是",
                                 "柳市丙电气有限公司,,柳市镇,是", f"塘下甲汽配有限公司,{make_uscc(702)},塘下镇,是",
                                 "塘下乙汽配有限公司,,塘下镇,是"])
    today = datetime.now(TZ).replace(hour=9, minute=0, second=0, microsecond=0)
    if today > datetime.now(TZ):
        today -= timedelta(days=1)
    day = today.date()
    _register(client, op, "柳市甲电气有限公司", today, make_uscc(701))
    _register(client, op, "柳市甲电气有限责任公司", today)  # the same enterprise again: counted once
    _register(client, op, "塘下甲汽配有限公司", today - timedelta(days=3))  # before the period
    _register(client, op, "不在名录的企业", today)  # not on the roster: not counted
    # A record known by another name, later merged into a roster enterprise: its ticket counts for that one.
    alias = _register(client, op, "柳市丙电气厂", today)["enterprise"]["id"]
    into = client.get("/api/v1/enterprises", params={"q": "柳市丙电气有限公司", "on_roster": "true"},
                      headers=op).json()["items"][0]["id"]
    assert client.post("/api/v1/enterprises/merges", json={"from_id": alias, "into_id": into, "reason": "同一"},
                       headers=admin).status_code == 201

    r = client.get("/api/v1/stats/coverage", params={"from": day.isoformat(), "to": day.isoformat()}, headers=leader)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["period"] == {"from": day.isoformat(), "to": day.isoformat()}
    assert (out["roster_total"], out["served"], out["share"]) == (5, 2, 0.4)
    assert [(c["county"], c["roster"], c["served"], c["share"]) for c in out["by_county"]] == [
        ({"code": "ruian", "label": "瑞安市"}, 2, 0, 0.0), ({"code": "yueqing", "label": "乐清市"}, 3, 2, 0.6667)]
    assert [(t["town"]["label"], t["county"]["code"], t["roster"], t["served"]) for t in out["by_town"]] == [
        ("塘下镇", "ruian", 2, 0), ("柳市镇", "yueqing", 3, 2)]

    wider = client.get("/api/v1/stats/coverage", params={"from": (day - timedelta(days=7)).isoformat(),
                                                         "to": day.isoformat()}, headers=admin).json()
    assert (wider["served"], wider["by_county"][0]["served"]) == (3, 1)
    before = client.get("/api/v1/stats/coverage", params={"from": (day - timedelta(days=30)).isoformat(),
                                                          "to": (day - timedelta(days=1)).isoformat()},
                        headers=admin).json()
    assert before["served"] == 1


def test_without_a_roster_the_share_is_null_and_bad_periods_are_422(client):
    leader = login(client, "boss", Role.LEADER)
    out = client.get("/api/v1/stats/coverage", headers=leader).json()
    assert (out["roster_total"], out["served"], out["share"], out["by_county"], out["by_town"]) == (0, 0, None, [], [])
    for params, field in (({"from": "2026-12-01", "to": "2026-11-01"}, "to"), ({"from": "1800-01-01"}, "from"),
                          ({"to": "someday"}, "to"), ({"unit": "x"}, "unit")):
        r = client.get("/api/v1/stats/coverage", params=params, headers=leader)
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, r.text
    assert client.get("/api/v1/stats/coverage", headers=login(client, "op")).status_code == 403


def test_the_demo_data_shows_a_coverage(client):
    from typer.testing import CliRunner

    from service.cli import app as cli
    from service.demo import DEMO_PASSWORD, DEMO_ROSTER

    assert CliRunner().invoke(cli, ["seed", "--demo"]).exit_code == 0
    token = client.post("/api/v1/auth/token", data={"username": "leader", "password": DEMO_PASSWORD}).json()
    out = client.get("/api/v1/stats/coverage", headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert (out["roster_total"], out["served"], out["share"]) == (len(DEMO_ROSTER), 6, round(6 / len(DEMO_ROSTER), 4))
