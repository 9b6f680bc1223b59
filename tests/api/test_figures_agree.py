"""The monthly report, the dashboard's summary and the summary endpoint agree on every figure they share, for a
history with merges, reopens, refusals and transfers; 未办结 is the count of open tickets, not 受理 minus 办结;
办理时长 percentiles are honest upper bounds."""
from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from models import Role
from service.pipeline.excel.report import write_monthly_report
from service.pipeline.stats.query import BUCKET_HOURS, _percentile
from tests.factories import login, make_uscc, ticket_body
from workers import jobs

SH = ZoneInfo("Asia/Shanghai")


def ok(client, who, tid, action, **body) -> dict:
    r = client.post(f"/api/v1/tickets/{tid}/{action}", json=body, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def history(client, run_jobs) -> dict:
    op, disp = login(client, "op"), login(client, "disp", Role.DISPATCHER)
    power = login(client, "power", Role.HANDLER, "yueqing.power")
    rsj = login(client, "rsj", Role.HANDLER, "yueqing.rsj")

    def new(i: int, **kw) -> int:
        r = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": f"乐清市核对{i}厂", "uscc": make_uscc(i)},
                                                            **kw), headers=op)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    t = {name: new(i) for i, name in enumerate(("done", "reopened", "refused", "transferred", "merged", "into",
                                                "merged2", "closed_declined"), start=20)}
    t["subsidy"] = new(40, title="稳岗补贴一直未到账", description="去年申请的稳岗补贴至今没有到账，请帮忙查询。")
    t["instant"] = new(41, request_type="consult", title="研发费用加计扣除政策", description="研发费用加计扣除比例是多少",
                       instant_answer="按100%加计扣除。")
    run_jobs()
    ok(client, power, t["done"], "accept")
    ok(client, power, t["done"], "resolve", opinion="已恢复供电。")
    ok(client, op, t["done"], "feedback", satisfaction="satisfied", solved=True)
    ok(client, op, t["done"], "close")
    # resolved, rated 不满意, reopened: open again (received minus resolved would not count it)
    ok(client, power, t["reopened"], "accept")
    ok(client, power, t["reopened"], "resolve", opinion="已处理。")
    ok(client, op, t["reopened"], "feedback", satisfaction="unsatisfied", solved=False)
    ok(client, disp, t["reopened"], "reopen", reason="企业不满意")
    # refused, approved to the 人社局, resolved there
    ok(client, power, t["refused"], "refuse", reason="not_our_function")
    ok(client, disp, t["refused"], "refusal/approve", lead_unit="yueqing.rsj")
    ok(client, rsj, t["refused"], "accept")
    ok(client, rsj, t["refused"], "resolve", opinion="已协调。")
    ok(client, op, t["refused"], "feedback", satisfaction="basically_satisfied", solved=True)
    # transferred, still in hand
    ok(client, disp, t["transferred"], "transfer", lead_unit="yueqing.rsj", reason="劳动用工问题")
    ok(client, rsj, t["transferred"], "accept")
    # merged: received, never resolved, and not open (received minus resolved would count it)
    ok(client, op, t["merged"], "merge", into_ticket_id=t["into"])
    ok(client, op, t["merged2"], "merge", into_ticket_id=t["into"])
    ok(client, rsj, t["subsidy"], "accept")
    ok(client, rsj, t["subsidy"], "resolve", opinion="已发放。")
    ok(client, op, t["subsidy"], "feedback", satisfaction="satisfied", solved=True)
    ok(client, op, t["subsidy"], "feedback/amend", satisfaction="unsatisfied", solved=True)
    ok(client, power, t["closed_declined"], "accept")
    ok(client, power, t["closed_declined"], "resolve", opinion="已处理。")
    ok(client, op, t["closed_declined"], "close", declined=True, reason="企业表示不需要回访")
    jobs.refresh_stats()
    return {"tickets": t, "leader": login(client, "boss", Role.LEADER), "op": op}


def report_rows(session, month: str) -> tuple[dict, dict]:
    out = io.BytesIO()
    write_monthly_report(session, month, out)
    wb = load_workbook(out)
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(min_row=5, values_only=True) if r and r[0]}
    header, groups, section = None, {}, None
    for row in wb["分类统计"].iter_rows(values_only=True):
        if not row or row[0] is None:
            continue
        if row[1] == "受理量":
            header, section = row, row[0]
            continue
        groups[(section, row[0])] = dict(zip(header[1:], row[1:]))
    return summary, groups


def test_report_dashboard_and_summary_agree(client, run_jobs, session):
    h = history(client, run_jobs)
    leader = h["leader"]
    now = datetime.now(SH)
    month, first = f"{now:%Y-%m}", now.date().replace(day=1)
    period = f"from={first}&to={now.date()}"
    api = client.get(f"/api/v1/stats/summary?{period}", headers=leader).json()
    m, open_now = api["totals"], api["open_now"]

    # the true count of open tickets: reopened, transferred, into; not the two merged ones
    assert (m["received"], m["resolved"]) == (10, 6)
    assert open_now["open"] == 3 and m["received"] - m["resolved"] == 4
    assert m["rated"] == 4  # done, reopened, refused, subsidy (amended: still one)

    summary, groups = report_rows(session, month)
    shared = {"受理量": m["received"], "办结量": m["resolved"], "即时办结量": m["instant_resolved"],
              "签收量": m["accepted"], "派单量": m["dispatched"], "退单量": m["refused"], "回访量": m["rated"],
              "重办量": m["reopened"], "当前未办结": open_now["open"], "当前超期未办结": open_now["overdue"]}
    for name, value in shared.items():
        assert summary[name] == value, name
    rates = {"满意率": "satisfaction_rate", "解决率": "solved_rate", "即时办结率": "instant_rate",
             "按期办结率": "on_time_resolve_rate", "回退率": "refusal_rate", "重办率": "reopen_rate",
             "按时签收率": "on_time_accept_rate"}
    for name, key in rates.items():
        shown = None if summary[name] == "—" else round(summary[name], 4)  # the API rounds rates to 4 places
        assert shown == m[key], name
    assert m["satisfaction_rate"] == 0.5  # the amended 回访 replaced the first: 2 of 4, not 3 of 5

    # per category and per county: the same received, resolved and open tickets as the grouped summary
    for dim, section in (("category", "按问题分类"), ("county", "按区县")):
        body = client.get(f"/api/v1/stats/summary?{period}&group_by={dim}", headers=leader).json()
        opened = {g["label"]: g["open"] for g in body["open_now"]["groups"]}
        assert sum(opened.values()) == open_now["open"]
        for g in body["groups"]:
            row = groups[(section, g["label"])]
            assert (row["受理量"], row["办结量"], row["回访量"]) == (
                g["metrics"]["received"], g["metrics"]["resolved"], g["metrics"]["rated"]), (dim, g["label"])
        for name, n in opened.items():
            assert groups[(section, name)]["当前未办结"] == n, (dim, name)
        assert groups[(section, "合计")]["当前未办结"] == open_now["open"]

    # the dashboard shows the summary's open count (the page reads open_now), from the same endpoint
    default = client.get("/api/v1/stats/summary", headers=leader).json()
    assert default["open_now"]["open"] == open_now["open"]


def test_duration_percentiles_are_upper_bounds_not_midpoints():
    # three resolutions in 0 office hours: the true median is 0, inside the first half-hour bucket
    assert _percentile({0: 3}, 0.5) == BUCKET_HOURS
    assert _percentile({0: 1, 3: 1}, 0.9) == 2.0  # bucket 3 is [1.5 h, 2 h)
    assert _percentile({}, 0.5) is None
