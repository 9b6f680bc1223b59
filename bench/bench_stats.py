#!/usr/bin/env python
"""Leadership's numbers: GET /api/v1/stats/summary at 100,000 and 10,000,000 tickets, beside a direct GROUP BY.

    python bench/bench_stats.py [--sizes 100000,10000000] [--repeat 7] [--direct-repeat 3] [--explain]
                                [--direct-heavy] [--keep-indexes] [--rebuild-settings work_mem=512MB,...]
                                [--hold SECONDS]

Set-up (bench/_stack.py): a fresh database hotline_bench_<run> on the embedded PostgreSQL, or on the
server at HOTLINE_DATABASE_URL when that is set (Redis likewise: embedded, or HOTLINE_REDIS_URL; only the
API needs it); migrated, reference data seeded, a leader user (service.security.users.create_user). It is
dropped at the end, also on Ctrl-C / SIGTERM, with the API subprocess and the temporary directory.

Data: the database grows through --sizes (ascending): seed the first size, measure, add tickets up to the
next size, measure again. Enterprises (one per 20 tickets of the largest size, 20k..500k) and tickets are
loaded with COPY FROM STDIN (psycopg cursor.copy, pre-rendered text lines), the tickets and their events
on two connections at once. Tickets are spread over this year up to now (Asia/Shanghai days; weekdays
four times weekends, office hours mostly, a slow rise over the year), over the seeded channels,
enterprises (skewed: some come back often) and so their counties and towns, request types, categories
and urgencies. Each ticket's history in ticket_event follows the service's own event kinds and payloads:
'created' {"repeat": ...} (8 % repeats); 即时办结 'instant_resolved' for ~4 % (hotline and town centres);
'routed' to_status 'assigned' with the lead unit for ~90 % (a city department, one of the county's, or
the town's centre), 'dispatched' by hand for some of the rest; 'refused' for ~3 % of assignments, then
'refusal_approved' to another unit or 'refusal_overruled'; 'accepted' {"on_time"} (~80 % of tickets);
'resolved' {"first": true, "on_time", "duration_seconds"} (~70 % with the instant ones; office-hours
durations log-normal around 14 h); 'feedback' {"satisfaction", "solved"} (~40 %); 'reopened' after a
dissatisfied or unsolved 回访 (~1-2 %), then mostly a second 'resolved' {"first": false}. Nothing is
later than now: recent tickets are still open. The ticket rows carry the matching status, lead unit,
deadlines and timestamps; every NOT NULL column is filled (search_vector is the empty tsvector).
For speed the COPY sessions run with session_replication_role = replica (no per-row foreign-key checks;
every code is read from the reference tables, so the rows are valid), the stat_enqueue triggers are
disabled (ALTER TABLE ... DISABLE TRIGGER) around the load and enabled again, and the secondary indexes of
ticket and ticket_event are dropped before the COPY and built again after it from their own definitions
(--keep-indexes COPYs into them instead). Then the production path after a bulk load: the rollups
rebuilt with service.pipeline.stats.rollup.rebuild(session) + commit (timed), then VACUUM (ANALYZE). The rebuild
writes the fact rows once to a temporary table and adds them up with GROUPING SETS (the city and every
dimension in one pass) into the daily and the monthly rollups; --rebuild-settings (e.g. work_mem=512MB)
sets planner settings on the rebuild's session only (the output says which were used).

Measured at each size, after one warm-up, --repeat times, in rounds that rotate which goes first:
  api  summary           GET /api/v1/stats/summary (this year to date), uvicorn subprocess, leader's token,
                          client wall time per request on one keep-alive connection
  api  unit+month        the same with group_by=unit&trend=month (the dashboard's heaviest call; per-group
                          办理时长 percentiles are left out unless group_durations=true is asked for)
  api  unit+month+group_durations   the same with group_durations=true (for information; not a goal)
  in-process summary / unit+month   stats_query.summary(session, ...) from the rollups (no HTTP)
Baselines, --direct-repeat times (after one warm-up):
  direct summary         stats_query.summary(..., use_rollups=False): the GROUP BY over ticket_event
                          joined to ticket (the check of the rollups)
  direct unit+month      the same for the heavy call (only with --direct-heavy: minutes at 10M)
  ticket GROUP BY        SELECT channel_code, count(*) FROM ticket WHERE created_at >= 1 January GROUP BY 1
Also: each rollup statement of the summary and of the heavy call once under EXPLAIN ANALYZE (rollup rows
read, time; whole plans with --explain), the rollup tables' row counts, and at the smallest size whether
the rollup answer equals the direct one.

Goals (the issue): the endpoint answers in under 100 ms at 10 million tickets, and its time grows less
than 3 times from 100,000 to 10 million (judged on the median, for both calls, at the largest and the
smallest size measured; the output says so when the largest is not 10 million, and then also prints a
projection to 10 million from the two largest sizes, labelled as such).
--hold N keeps everything up for N seconds before the clean-up (prints how to connect), for inspection.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import (  # noqa: E402
    HttpConn, Stack, goal, install_signal_handlers, libpq_url, make_uscc, print_table, report_quiet,
)

LEADER, LEADER_PW = "bench-leader", "bench-leader-pw"
GOAL_MS, GOAL_RATIO, GOAL_SIZE = 100.0, 3.0, 10_000_000
ROLLUPS = ("stat_daily", "stat_duration", "stat_monthly", "stat_duration_monthly")
SEED = 20261127
SH = timezone(timedelta(hours=8))  # Asia/Shanghai has no DST: a fixed offset renders the same local days
N = "\\N"

TICKET_COLUMNS = (
    "id, number, channel_code, enterprise_id, enterprise_name, uscc, contact_name, contact_phone, county_code, "
    "town_code, request_type, category_code, urgency, title, description, search_vector, status, lead_unit_code, "
    "registered_by_unit_code, route_rule_id, routed_at, accept_due_at, resolve_due_at, remind_at, red_due_at, "
    "resolve_days, accept_hours, assigned_at, resolve_from_at, accepted_at, resolved_at, closed_at, opinion, "
    "reopen_count, satisfaction, solved, feedback_at, received_at, created_at, updated_at, version")
EVENT_COLUMNS = "ticket_id, kind, from_status, to_status, actor, unit_code, at, payload"

CHANNEL_WEIGHTS = {"hotline_96666": 34, "bangqiyun": 24, "town_centre": 20, "liangwan": 11, "zhitongche": 4,
                   "qijian": 4, "kentanhui": 3}
REQUEST_WEIGHTS = {"help": 36, "consult": 34, "complaint": 14, "suggestion": 10, "report": 6}
URGENCY = (("normal", 90, 10, 4.0), ("urgent", 8, 5, 2.0), ("critical", 2, 2, 1.0))  # (code, %, 办结 days, 签收 h)
SATISFACTION = (("satisfied", "满意", 80), ("basically_satisfied", "基本满意", 14), ("unsatisfied", "不满意", 6))
TITLES = [
    ("厂区突然停电", "厂区变压器跳闸停电，生产线全部停工，请供电部门尽快派人抢修。"),
    ("车间频繁跳闸", "最近一周车间配电频繁跳闸，设备反复重启，影响订单交付。"),
    ("新厂房申请电力增容", "新厂房即将投产，现有变压器容量不足，申请增容，想了解办理流程和时限。"),
    ("技改补助资金未到账", "去年申报的技术改造补助已公示，至今未拨付，请帮助了解进度。"),
    ("急需招工", "订单增加，一线普工缺口较大，希望人社部门协助对接劳务资源。"),
    ("出口退税办理进度", "出口退税申报已提交两个月，仍未到账，资金周转困难。"),
    ("专利被同行侵权", "我司外观设计专利产品被同行仿冒销售，请求市场监管部门查处。"),
    ("环评审批材料咨询", "扩建项目需要办理环评，请告知所需材料和审批时限。"),
    ("银行突然抽贷", "合作银行突然收紧授信，要求提前还款，请求协调金融机构。"),
    ("货车通行证办理", "公司货车需进入城区送货，想了解通行证办理条件。"),
    ("排污许可证延续", "排污许可证即将到期，延续申请提交后一直没有回复。"),
    ("小升规奖励政策咨询", "今年营收预计突破两千万，想了解小升规奖励的申报条件。"),
    ("数字化改造项目申报", "计划实施车间数字化改造，咨询专项资金的申报时间和要求。"),
    ("园区道路积水严重", "园区道路每逢下雨严重积水，货车无法通行，请尽快整修排水。"),
    ("天然气供应不足", "近期天然气压力不足，热处理炉无法正常运行，请燃气公司核查。"),
    ("消防验收迟迟未通过", "新厂房消防验收申请已提交一个多月，想了解排期和整改要求。"),
    ("合同纠纷法律咨询", "下游客户拖欠货款，合同约定不清，请求法律援助。"),
    ("工业用地指标紧张", "企业扩产需要新增工业用地，想了解供地计划和申请渠道。"),
    ("报关查验时间过长", "一批出口货物查验时间过长，客户催货，请求海关协调。"),
    ("营业执照经营范围变更", "需要增加经营范围，咨询能否全程网上办理。"),
    ("社保缴费基数调整", "咨询今年社保缴费基数调整及阶段性减免政策。"),
    ("研发费用加计扣除", "咨询研发费用加计扣除的归集口径和申报时间。"),
    ("专精特新企业申报", "想申报省级专精特新中小企业，请告知评价指标。"),
    ("厂区周边噪音投诉", "周边居民反映厂区夜间噪音，希望指导整改措施。"),
    ("外籍员工签证到期", "外籍技术人员签证即将到期，咨询延期办理流程。"),
]
CONTACTS = ["王经理", "陈总", "李主任", "张会计", "林厂长", "黄女士", "周先生", "吴经理", "郑总", "刘主管"]


def parse_size(text: str) -> int:
    t = text.strip().lower().replace("_", "").replace(",", "")
    mult = 1
    if t.endswith("k"):
        t, mult = t[:-1], 1_000
    elif t.endswith("m"):
        t, mult = t[:-1], 1_000_000
    return int(float(t) * mult)


def human(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


# --------------------------------------------------------------------------------------------------
# seeding


class Reference:
    """The seeded codes the data is drawn from."""

    def __init__(self, conn):
        q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
        self.channels = [r[0] for r in q("SELECT code FROM channel ORDER BY code")]
        self.categories = [r[0] for r in q("SELECT code FROM category ORDER BY code")]
        self.towns = q("SELECT code, county_code FROM town ORDER BY code")
        self.counties = [r[0] for r in q("SELECT code FROM county ORDER BY code")]
        units = q("SELECT code, level, county_code, town_code FROM unit WHERE active ORDER BY code")
        self.city_units = [u[0] for u in units if u[1] == "city"]
        self.county_units: dict[str, list[str]] = {}
        self.town_unit: dict[str, str] = {}
        for code, level, county, town in units:
            if town:
                self.town_unit.setdefault(town, code)
            elif level != "city" and county:
                self.county_units.setdefault(county, []).append(code)
        self.n_units = len(units)


class Seeder:
    """Renders tickets and their events as COPY text, from a fixed seed."""

    def __init__(self, ref: Reference, now: datetime):
        self.ref, self.rng = ref, random.Random(SEED)
        self.now = now
        self.now_s = int(now.timestamp()) - 120  # nothing later than two minutes ago
        y0 = date(now.astimezone(SH).year, 1, 1)
        self.year_start = y0
        self.base = int(datetime.combine(y0, datetime.min.time(), SH).timestamp())
        self.n_days = (now.astimezone(SH).date() - y0).days + 1
        span = self.n_days + 400  # events are clamped to now, but the renderer never indexes out of range
        self.day_text = [(y0 + timedelta(d)).isoformat() + " " for d in range(span)]
        self.day_number = [(y0 + timedelta(d)).strftime("%Y%m%d") + "-" for d in range(span)]
        self.tod_text = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08" for s in range(86400)]
        weights = []
        for d in range(self.n_days):
            wd = (y0 + timedelta(d)).weekday()
            weights.append((1.0 if wd < 5 else 0.25) * (1.0 + 0.3 * d / max(1, self.n_days)))
        self.day_cum = list(_cumulate(weights))
        self.channels = [c for c in ref.channels]
        self.channel_cum = list(_cumulate([CHANNEL_WEIGHTS.get(c, 3) for c in self.channels]))
        self.rtypes = list(REQUEST_WEIGHTS)
        self.rtype_cum = list(_cumulate(REQUEST_WEIGHTS.values()))
        self.categories = ref.categories + [N]
        self.category_cum = list(_cumulate([1.0 / (i + 1.5) for i in range(len(ref.categories))] + [0.03]))
        self.urgency_cum = list(_cumulate([u[1] for u in URGENCY]))
        self.texts = [(t, d) for t, d in TITLES]
        self.enterprises: list[tuple] = []
        self.next_seq = 1

    def enterprise_rows(self, count: int, conn) -> None:
        """COPY `count` enterprises (skewed over the towns) and keep (id, name, uscc, county, town) of each."""
        rng = self.rng
        towns = self.ref.towns
        town_cum = list(_cumulate([1.0 / (i + 3) ** 0.8 for i in range(len(towns))]))
        order = list(range(len(towns)))
        rng.shuffle(order)  # which towns are the busy ones: not alphabetical
        a = ["华宇", "正远", "天润", "德力", "恒通", "宏达", "瑞丰", "金诚", "永盛", "新航", "博远", "嘉利", "东升", "中瑞",
             "信和", "立昌", "通力", "凯成", "明泰", "海纳"]
        b = ["电气", "机电", "阀门", "鞋业", "服饰", "汽配", "模具", "包装", "泵业", "电子", "五金", "新材料", "智能科技",
             "光电", "塑业", "眼镜", "印刷", "仪表"]
        picks = rng.choices(range(len(towns)), cum_weights=town_cum, k=count)
        lines = []
        for n in range(count):
            town, county = towns[order[picks[n]]]
            if rng.random() < 0.03:
                town = None  # known county, no town
            name = f"温州{a[n % len(a)]}{b[(n // len(a)) % len(b)]}{n:06d}有限公司"
            lines.append(f"{make_uscc(n + 1)}\t{name}\t{county}\t{town or N}\n")
        with conn.cursor() as cur:
            with cur.copy("COPY enterprise (uscc, name, county_code, town_code) FROM STDIN") as cp:
                cp.write("".join(lines))
            cur.execute("SELECT id, name, uscc, county_code, town_code FROM enterprise ORDER BY id")
            self.enterprises = cur.fetchall()
        conn.commit()

    def ts(self, t: int) -> str:
        r = t - self.base
        return self.day_text[r // 86400] + self.tod_text[r % 86400]

    def pick_lead(self, county, town, exclude=None) -> str:
        rng, ref = self.rng.random, self.ref
        for _ in range(4):
            r = rng()
            if r < 0.32 or not county:
                u = ref.city_units[int(rng() ** 1.6 * len(ref.city_units))]
            elif r < 0.86 or town not in ref.town_unit:
                units = ref.county_units.get(county) or ref.city_units
                u = units[int(rng() ** 1.4 * len(units))]
            else:
                u = ref.town_unit[town]
            if u != exclude:
                return u
        return ref.city_units[0] if exclude != ref.city_units[0] else ref.city_units[1]

    def chunk(self, id0: int, count: int) -> tuple[str, str, int]:
        """COPY text of `count` tickets from id0 on, and of their events; returns (tickets, events, n_events)."""
        rng = self.rng
        rnd, lognorm = rng.random, rng.lognormvariate
        ts, now_s, base = self.ts, self.now_s, self.base
        ents = self.enterprises
        n_ent = len(ents)
        ref = self.ref
        days = rng.choices(range(self.n_days), cum_weights=self.day_cum, k=count)
        chans = rng.choices(self.channels, cum_weights=self.channel_cum, k=count)
        rtypes = rng.choices(self.rtypes, cum_weights=self.rtype_cum, k=count)
        cats = rng.choices(self.categories, cum_weights=self.category_cum, k=count)
        urgs = rng.choices(URGENCY, cum_weights=self.urgency_cum, k=count)
        texts = self.texts
        tl, el = [], []
        t_append, e_append = tl.append, el.append
        n_events = 0
        seq = self.next_seq
        for j in range(count):
            tid = id0 + j
            r = rnd()
            tod = 30600 + int(rnd() * 32400) if r < 0.85 else int(rnd() * 86400)
            t0 = base + days[j] * 86400 + tod
            if t0 > now_s:
                t0 = now_s - int(rnd() * 3600)
            ent = ents[int(rnd() ** 2.2 * n_ent)]
            eid, ename, uscc, county, town = ent
            if town is None:
                town_s = N
            else:
                town_s = town
            ch, rt, cat = chans[j], rtypes[j], cats[j]
            urg, _, resolve_days, accept_hours = urgs[j]
            reg_unit = ref.town_unit.get(town) if ch == "town_centre" else None
            reg_s = reg_unit or N
            actor0 = "system:intake" if ch not in ("hotline_96666", "town_centre") else "operator"
            events = [("created", N, "new", actor0, reg_s, t0,
                       f'{{"channel": "{ch}", "external_id": null, "repeat": {"true" if rnd() < 0.08 else "false"}}}')]
            status, lead, routed_at, assigned_at = "new", None, None, None
            accepted_at = resolved_at = closed_at = None
            satisfaction = solved = feedback_at = opinion = None
            reopen_count, version = 0, 1
            resolve_due = t0 + int(resolve_days * 86400 * 1.4)
            accept_due = None
            rule = N
            # The story of the ticket, cut off at now (break = nothing more has happened yet).
            while True:
                if ch in ("hotline_96666", "town_centre") and rnd() < 0.09:  # 即时办结 at intake
                    t = t0 + 120 + int(rnd() * 900)
                    if t > now_s:
                        break
                    dur = t - t0 + 0.0
                    events.append(("instant_resolved", "new", "resolved", actor0, reg_s, t,
                                   f'{{"answer": "已当场答复", "first": true, "on_time": true, "due_at": null, '
                                   f'"duration_seconds": {dur:.3f}}}'))
                    status, resolved_at, opinion, version = "resolved", t, "已当场答复", 2
                else:
                    t = t0 + 30 + int(rnd() * 300)
                    if rnd() < 0.955:
                        lead = self.pick_lead(county, town)
                        rule = "bench-rule"
                        events.append(("routed", "new", "assigned", "system:router", lead, t,
                                       f'{{"lead_unit": "{lead}", "assisting_units": []}}'))
                        routed_at = t
                    else:  # no rule placed it: a dispatcher does, hours later (or not yet)
                        status = "pending_dispatch"
                        t += 3600 + int(rnd() * 20000)
                        if t > now_s or rnd() < 0.3:
                            break
                        lead = self.pick_lead(county, town)
                        events.append(("dispatched", "pending_dispatch", "assigned", "dispatcher", lead, t,
                                       f'{{"lead_unit": "{lead}", "assisting_units": [], "reason": ""}}'))
                    status, assigned_at, version = "assigned", t, version + 1
                    accept_due = t + int(accept_hours * 3600 * 2)
                    # 签收, or 退单 first
                    t_sign = t + int(lognorm(math.log(accept_hours * 3600 * 0.7), 0.8))
                    if rnd() < 0.035:
                        t = t + int(rnd() * accept_hours * 3600)
                        if t > now_s:
                            break
                        events.append(("refused", "assigned", "refuse_review", "handler", lead, t,
                                       '{"reason": "not_ours", "reason_label": "非本单位职责", "note": ""}'))
                        status, version = "refuse_review", version + 1
                        t += 3600 + int(rnd() * 86400)
                        if t > now_s:
                            break
                        if rnd() < 0.8:
                            old = lead
                            lead = self.pick_lead(county, town, exclude=old)
                            events.append(("refusal_approved", "refuse_review", "assigned", "dispatcher", lead, t,
                                           f'{{"lead_unit": "{lead}", "assisting_units": [], "refused_by": "{old}", '
                                           f'"note": ""}}'))
                            status, assigned_at, version = "assigned", t, version + 1
                            accept_due = t + int(accept_hours * 3600 * 2)
                            t_sign = t + int(lognorm(math.log(accept_hours * 3600 * 0.7), 0.8))
                        else:  # 强制派单: counts as the 签收
                            t_sign = t
                    if t_sign > now_s or rnd() < 0.145:
                        break
                    t = t_sign
                    on_time = "true" if t <= accept_due else "false"
                    kind = "accepted" if status == "assigned" else "refusal_overruled"
                    events.append((kind, status, "in_progress", "handler", lead, t,
                                   f'{{"note": "", "on_time": {on_time}, "due_at": null}}'))
                    status, accepted_at, version = "in_progress", t, version + 1
                    # 办结: office-hours duration from receipt, wall time about 3.2x that
                    dur = min(max(lognorm(math.log(14 * 3600), 1.0), 600.0), 1.6e6)
                    t = max(t + 300, t0 + int(dur * 3.2))
                    if t > now_s or rnd() < 0.19:
                        break
                    events.append(("resolved", "in_progress", "resolved", "handler", lead, t,
                                   f'{{"opinion": "已办理并答复企业", "first": true, '
                                   f'"on_time": {"true" if t <= resolve_due else "false"}, "due_at": null, '
                                   f'"duration_seconds": {dur:.3f}}}'))
                    status, resolved_at, opinion, version = "resolved", t, "已办理并答复企业", version + 1
                # 回访
                t = resolved_at + 3600 * 20 + int(rnd() * 86400 * 4)
                if t > now_s or rnd() > 0.58:
                    break
                r = rnd()
                sat, sat_label = ("satisfied", "满意") if r < 0.80 else (
                    ("basically_satisfied", "基本满意") if r < 0.94 else ("unsatisfied", "不满意"))
                ok = rnd() < (0.4 if sat == "unsatisfied" else 0.93)
                events.append(("feedback", N, N, "operator", lead or reg_s, t,
                               f'{{"satisfaction": "{sat}", "satisfaction_label": "{sat_label}", '
                               f'"solved": {"true" if ok else "false"}, "comment": ""}}'))
                satisfaction, solved, feedback_at = sat, ok, t
                status, closed_at, version = "closed", t, version + 1
                if lead is None or (sat != "unsatisfied" and ok) or rnd() < 0.45:
                    break
                # 重办, then (mostly) a second 办结 that is not counted again
                t += 3600 + int(rnd() * 86400)
                if t > now_s:
                    break
                resolve_due = t + int(resolve_days * 86400 * 1.4)
                events.append(("reopened", "closed", "in_progress", "dispatcher", lead, t,
                               '{"reason": "企业不满意", "reopen_count": 1, "resolve_due_at": null}'))
                status, reopen_count, closed_at, version = "in_progress", 1, None, version + 1
                satisfaction = solved = feedback_at = resolved_at = None
                dur = min(max(lognorm(math.log(20 * 3600), 0.8), 600.0), 1.6e6)
                t2 = t + int(dur * 3.0)
                if t2 > now_s or rnd() < 0.3:
                    break
                events.append(("resolved", "in_progress", "resolved", "handler", lead, t2,
                               f'{{"opinion": "已再次办理", "first": false, '
                               f'"on_time": {"true" if t2 <= resolve_due else "false"}, "due_at": null, '
                               f'"duration_seconds": {dur:.3f}}}'))
                status, resolved_at, version = "resolved", t2, version + 1
                break
            for kind, frm, to, actor, unit, t, payload in events:
                e_append(f"{tid}\t{kind}\t{frm}\t{to}\t{actor}\t{unit}\t{ts(t)}\t{payload}\n")
            n_events += len(events)
            last = events[-1][5]
            title, desc = texts[tid % len(texts)]
            if assigned_at is not None:
                a_due = ts(accept_due)
                r_due = ts(resolve_due)
                remind = ts(resolve_due - 86400)
                red = ts(resolve_due + 3 * 86400)
                rdays, ahours, assigned, rfrom = str(resolve_days), str(accept_hours), ts(assigned_at), ts(t0)
            else:
                a_due = r_due = remind = red = rdays = ahours = assigned = rfrom = N
            created = ts(t0)
            t_append(
                f"{tid}\t{self.day_number[(t0 - base) // 86400]}{seq:07d}\t{ch}\t{eid}\t{ename}\t{uscc}\t"
                f"{CONTACTS[tid % 10]}\t13{tid % 1000000000:09d}\t{county or N}\t{town_s}\t{rt}\t{cat}\t{urg}\t"
                f"{title}\t{ename}反映：{desc}\t\t{status}\t{lead or N}\t{reg_s}\t{rule}\t"
                f"{ts(routed_at) if routed_at else N}\t{a_due}\t{r_due}\t{remind}\t{red}\t{rdays}\t{ahours}\t"
                f"{assigned}\t{rfrom}\t{ts(accepted_at) if accepted_at else N}\t"
                f"{ts(resolved_at) if resolved_at else N}\t{ts(closed_at) if closed_at else N}\t{opinion or N}\t"
                f"{reopen_count}\t{satisfaction or N}\t{N if solved is None else ('t' if solved else 'f')}\t"
                f"{ts(feedback_at) if feedback_at else N}\t{created}\t{created}\t{ts(last)}\t{version}\n")
            seq += 1
        self.next_seq = seq
        return "".join(tl), "".join(el), n_events


def _cumulate(weights):
    total = 0.0
    for w in weights:
        total += w
        yield total


def secondary_indexes(conn, tables: tuple[str, ...]) -> list[tuple[str, str, str, str | None]]:
    """(table, index, CREATE INDEX ..., constraint definition or None) of every non-primary-key index."""
    return conn.execute("""
        SELECT t.relname, ic.relname, pg_get_indexdef(i.indexrelid),
               (SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
                 WHERE c.conindid = i.indexrelid AND c.conrelid = t.oid AND c.contype IN ('u', 'x'))
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace AND NOT i.indisprimary
        ORDER BY 1, 2""", (list(tables),)).fetchall()


def rebuild_settings(spec: str) -> list[tuple[str, str]]:
    """'work_mem=512MB,enable_sort=off' -> [('work_mem', '512MB'), ('enable_sort', 'off')] (names checked)."""
    import re

    out = []
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        name, _, value = part.partition("=")
        if not re.fullmatch(r"[a-z_]+", name.strip()) or not re.fullmatch(r"[A-Za-z0-9_.]+", value.strip()):
            raise SystemExit(f"--rebuild-settings: cannot use {part!r}")
        out.append((name.strip(), value.strip()))
    return out


def seed_to(stack: Stack, seeder: Seeder, have: int, target: int, args) -> dict:
    """Grow the database from `have` to `target` tickets; returns the timings."""
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from service.pipeline.stats import rollup as stats

    url = libpq_url(stack.db_url)
    out = {"tickets": target - have}
    with psycopg.connect(url, autocommit=True) as admin:
        superuser = admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        admin.execute("ALTER TABLE ticket_event DISABLE TRIGGER stat_enqueue_event")
        admin.execute("ALTER TABLE ticket DISABLE TRIGGER stat_enqueue_ticket")
        indexes = [] if args.keep_indexes else secondary_indexes(admin, ("ticket", "ticket_event"))
        t0 = time.perf_counter()
        for table, name, _, cdef in indexes:
            admin.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' if cdef else f'DROP INDEX "{name}"')
        out["drop_s"] = time.perf_counter() - t0

    # COPY: tickets and events on two connections at once (no FK checks: replica role), else one after the other
    from psycopg.copy import QueuedLibpqWriter

    t0 = time.perf_counter()
    events = 0
    chunk = 20_000
    conns = [psycopg.connect(url), psycopg.connect(url)] if superuser else [psycopg.connect(url)]
    try:
        for c in conns:
            if superuser:
                c.execute("SET session_replication_role = replica")
        progress_at, done = time.perf_counter(), 0
        id0 = stack.ticket_id_offset + have
        if superuser:
            ct, ce = conns[0].cursor(), conns[1].cursor()
            with ct.copy(f"COPY ticket ({TICKET_COLUMNS}) FROM STDIN", writer=QueuedLibpqWriter(ct)) as cpt, \
                    ce.copy(f"COPY ticket_event ({EVENT_COLUMNS}) FROM STDIN", writer=QueuedLibpqWriter(ce)) as cpe:
                while done < out["tickets"]:
                    n = min(chunk, out["tickets"] - done)
                    tt, et, ne = seeder.chunk(id0 + done, n)
                    cpt.write(tt)
                    cpe.write(et)
                    done, events = done + n, events + ne
                    if time.perf_counter() - progress_at > 30:
                        progress_at = time.perf_counter()
                        el = progress_at - t0
                        print(f"    ... {done:,} tickets, {events:,} events in {el:.0f} s "
                              f"({done / el:,.0f} tickets/s)", flush=True)
        else:
            cur = conns[0].cursor()
            while done < out["tickets"]:
                n = min(chunk, out["tickets"] - done)
                tt, et, ne = seeder.chunk(id0 + done, n)
                with cur.copy(f"COPY ticket ({TICKET_COLUMNS}) FROM STDIN") as cp:
                    cp.write(tt)
                with cur.copy(f"COPY ticket_event ({EVENT_COLUMNS}) FROM STDIN") as cp:
                    cp.write(et)
                done, events = done + n, events + ne
        for c in conns:
            c.commit()
    finally:
        for c in conns:
            c.close()
    out["events"] = events
    out["copy_s"] = time.perf_counter() - t0
    out["copy_mode"] = "2 connections, replica role" if superuser else "1 connection, FK checks on"

    with psycopg.connect(url, autocommit=True) as admin:
        t0 = time.perf_counter()
        admin.execute("SET maintenance_work_mem = '1GB'")
        for table, name, idef, cdef in indexes:
            admin.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {cdef}' if cdef else idef)
        out["index_s"] = time.perf_counter() - t0
        admin.execute(f"ALTER TABLE ticket ALTER COLUMN id RESTART WITH {stack.ticket_id_offset + target}")
        admin.execute("ALTER TABLE ticket_event ENABLE TRIGGER stat_enqueue_event")
        admin.execute("ALTER TABLE ticket ENABLE TRIGGER stat_enqueue_ticket")
        missing = {n for _, n, _, _ in indexes} - {r[1] for r in secondary_indexes(admin, ("ticket", "ticket_event"))}
        if missing:
            raise RuntimeError(f"indexes not rebuilt: {sorted(missing)}")

    engine = create_engine(stack.db_url)
    try:
        with Session(engine) as session:
            from sqlalchemy import text

            for name, value in rebuild_settings(getattr(args, "rebuild_settings", "")):
                session.execute(text(f"SET {name} = '{value}'"))
            t0 = time.perf_counter()
            stats.rebuild(session)
            session.commit()
            out["rebuild_s"] = time.perf_counter() - t0
    finally:
        engine.dispose()

    with psycopg.connect(url, autocommit=True) as admin:
        t0 = time.perf_counter()
        admin.execute("VACUUM (ANALYZE) ticket, ticket_event, enterprise, stat_daily, stat_duration, stat_monthly, "
                      "stat_duration_monthly, stat_ticket, stat_queue")
        out["vacuum_s"] = time.perf_counter() - t0
        out["db_bytes"] = admin.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return out


def free_bytes_for(stack: Stack) -> tuple[int | None, str]:
    """Free bytes on the filesystem of the PostgreSQL data directory (None when it is not readable here)."""
    import psycopg

    try:
        with psycopg.connect(libpq_url(stack.db_url), autocommit=True) as c:
            path = c.execute("SHOW data_directory").fetchone()[0]
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize, path
    except Exception:
        return None, "?"


# --------------------------------------------------------------------------------------------------
# measuring


class Api:
    """One keep-alive connection to the API with the leader's token, driven synchronously."""

    def __init__(self, base: str):
        import httpx

        r = httpx.post(f"{base}/api/v1/auth/token", data={"username": LEADER, "password": LEADER_PW}, timeout=30)
        r.raise_for_status()
        self.loop = asyncio.new_event_loop()
        self.conn = HttpConn.for_url(base, {"authorization": f"Bearer {r.json()['access_token']}"})

    def get(self, path: str) -> tuple[float, dict]:
        t0 = time.perf_counter()
        status, body = self.loop.run_until_complete(self.conn.request("GET", path, timeout=600))
        ms = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        return ms, json.loads(body)

    def close(self) -> None:
        self.conn.close()
        self.loop.close()


def timed(fn, reps: int, warmup: int = 1) -> tuple[list[float], object]:
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, out


def capture_statements(engine, fn) -> list[tuple[str, dict]]:
    """The statements (as sent to the driver) and parameters fn() executes on engine."""
    from sqlalchemy import event

    seen: list[tuple[str, dict]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, dict(parameters or {})))

    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def explain(engine, statement: str, params: dict, full: bool) -> tuple[float, int, str]:
    """(execution ms, rows read by the scans of the rollup tables, plan text) under EXPLAIN ANALYZE."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params)
        plan = cur.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        text_plan = ""
        if full:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            text_plan = "\n".join(r[0] for r in cur.fetchall())
        raw.rollback()
    finally:
        raw.close()
    rows = 0

    def walk(node):
        nonlocal rows
        if node.get("Relation Name") in ROLLUPS:
            rows += int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return plan[0]["Execution Time"], rows, text_plan


def describe(statement: str) -> str:
    s = " ".join(statement.split()) + " "
    table = "+".join(t for t in ROLLUPS if f"FROM {t} " in s) or "events"
    if "value AS k" in s:
        what = "groups"
    elif "date_trunc" in s:
        what = "trend"
    else:
        what = "totals"
    return f"{what:<6} {table}"


def measure(stack: Stack, api: Api, engine, size: int, args, smallest: bool) -> tuple[list[list], dict]:
    """Rows for the results table at one size, and the medians keyed by what."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from service.pipeline.stats import query as stats_query

    today = datetime.now(SH).date()
    jan1 = date(today.year, 1, 1)
    lo = datetime.combine(jan1, datetime.min.time(), SH)
    rows, medians = [], {}
    session = Session(engine)

    def inproc(**kw):
        def call():
            try:
                return stats_query.summary(session, start=jan1, end=today, **kw)
            finally:
                session.rollback()
        return call

    def api_call(path):
        return lambda: api.get(path)[1]

    plain_sql = text("SELECT channel_code, count(*) FROM ticket WHERE created_at >= :lo GROUP BY 1")

    def ticket_groupby():
        try:
            return session.execute(plain_sql, {"lo": lo}).all()
        finally:
            session.rollback()

    fast = {
        "api summary": api_call("/api/v1/stats/summary"),
        "api unit+month": api_call("/api/v1/stats/summary?group_by=unit&trend=month"),
        "api unit+month+group_durations": api_call(
            "/api/v1/stats/summary?group_by=unit&trend=month&group_durations=true"),
        "in-process summary": inproc(),
        "in-process unit+month": inproc(group_by="unit", trend="month"),
    }
    slow = {
        "direct summary (events)": inproc(use_rollups=False),
        "ticket GROUP BY channel": ticket_groupby,
    }
    if args.direct_heavy:
        slow["direct unit+month (events)"] = inproc(group_by="unit", trend="month", use_rollups=False)

    try:
        # warm-up, then rounds that rotate the order
        answers = {k: fn() for k, fn in fast.items()}
        times: dict[str, list[float]] = {k: [] for k in fast}
        names = list(fast)
        for rnd in range(args.repeat):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for k in order:
                t0 = time.perf_counter()
                fast[k]()
                times[k].append((time.perf_counter() - t0) * 1000)
        for k, fn in slow.items():
            t0 = time.perf_counter()
            ts_, answers[k] = timed(fn, args.direct_repeat, warmup=1)
            times[k] = ts_
            print(f"    {k}: {statistics.median(ts_):,.0f} ms median ({time.perf_counter() - t0:.0f} s with warm-up)",
                  flush=True)
        for k, v in times.items():
            medians[k] = statistics.median(v)
            rows.append([human(size), k, statistics.median(v), min(v), len(v)])

        # sanity: the API and in-process answers agree; at the smallest size the rollups equal the direct count
        same = answers["api summary"]["totals"] == answers["in-process summary"]["totals"]
        print(f"  check ({human(size)}): API totals == in-process rollup totals: {'yes' if same else 'NO'}")
        if smallest:
            direct = answers["direct summary (events)"]
            ok = direct["totals"] == answers["in-process summary"]["totals"]
            print(f"  check ({human(size)}): rollup totals == direct GROUP BY totals: {'yes' if ok else 'NO'}")
            if not ok:
                for key in direct["totals"]:
                    if direct["totals"][key] != answers["in-process summary"]["totals"][key]:
                        print(f"      {key}: rollup {answers['in-process summary']['totals'][key]} "
                              f"direct {direct['totals'][key]}")
            heavy_direct = stats_query.summary(session, start=jan1, end=today, group_by="unit", trend="month",
                                               use_rollups=False)
            session.rollback()
            ok2 = heavy_direct == answers["in-process unit+month"]
            print(f"  check ({human(size)}): rollup == direct for group_by=unit&trend=month (totals, groups, "
                  f"trend): {'yes' if ok2 else 'NO'}")
        t = answers["in-process summary"]["totals"]
        print(f"  totals ({human(size)}): received {t['received']:,}, resolved {t['resolved']:,}, "
              f"accepted {t['accepted']:,}, dispatched {t['dispatched']:,}, refused {t['refused']:,}, "
              f"rated {t['rated']:,}, reopened {t['reopened']:,}, repeats {t['repeats']:,}, median "
              f"{t['duration_hours_median']} h, p90 {t['duration_hours_p90']} h; "
              f"{len(answers['in-process unit+month']['groups'])} unit groups")
    finally:
        session.close()
    return rows, medians


def rollup_profile(engine, size: int, args) -> list[list]:
    """Each statement of the heavy call under EXPLAIN ANALYZE, plus the rollup tables' sizes."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from service.pipeline.stats import query as stats_query

    today = datetime.now(SH).date()
    jan1 = date(today.year, 1, 1)
    with Session(engine) as session:
        stmts = []
        for call, kw in (("summary", {}), ("unit+month", {"group_by": "unit", "trend": "month"})):
            stmts += [(call, *st) for st in capture_statements(
                engine, lambda: stats_query.summary(session, start=jan1, end=today, **kw))]
            session.rollback()
        counts = session.execute(text(" UNION ALL ".join(
            f"(SELECT '{t}' AS t, dim, count(*) FROM {t} GROUP BY dim ORDER BY dim)" for t in ROLLUPS))).all()
        sizes = session.execute(text(
            "SELECT " + ", ".join(f"pg_total_relation_size('{t}')" for t in ROLLUPS))).one()
    print(f"  rollup rows ({human(size)}): " + ", ".join(f"{t}[{d}] {n:,}" for t, d, n in counts)
          + "; " + ", ".join(f"{t} {b / 2**20:,.1f} MiB" for t, b in zip(ROLLUPS, sizes)))
    out = []
    for call, statement, params in stmts:
        ms, nrows, plan = explain(engine, statement, params, args.explain)
        out.append([human(size), call, describe(statement), nrows, ms])
        if args.explain:
            print(f"\n  EXPLAIN ANALYZE ({human(size)}, {call}, {describe(statement)}):\n"
                  f"    {' '.join(statement.split())}")
            print("\n".join("    " + line for line in plan.splitlines()))
    return out


# --------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,10000000", help="ticket counts, ascending (100k, 1M ok)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs of each rollup / API call (after a warm-up)")
    ap.add_argument("--direct-repeat", type=int, default=3, help="timed runs of each direct baseline")
    ap.add_argument("--direct-heavy", action="store_true",
                    help="also time the direct count of group_by=unit&trend=month (minutes at 10M)")
    ap.add_argument("--explain", action="store_true", help="print the plans of the rollup statements")
    ap.add_argument("--keep-indexes", action="store_true", help="COPY into the secondary indexes (slower)")
    ap.add_argument("--rebuild-settings", default="",
                    help="planner settings for the rebuild's session, e.g. work_mem=512MB,enable_sort=off")
    ap.add_argument("--hold", type=float, default=0.0, help="keep the stack up this many s before cleaning up")
    ap.add_argument("--wait-quiet", type=float, default=0.0, help="wait up to this many s for an idle machine")
    args = ap.parse_args()
    sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
    settings = rebuild_settings(args.rebuild_settings)
    install_signal_handlers()

    def interrupted(signum, frame):  # like _stack's handlers, but says which signal ended the run
        print(f"\nbench_stats: signal {signum} received, cleaning up", file=sys.stderr, flush=True)
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    import psycopg

    from models import Role
    from service.security.users import create_user

    print(f"bench_stats: the summary endpoint at {', '.join(human(s) for s in sizes)} tickets")
    report_quiet(args)
    seed_rows, result_rows, profile_rows, medians = [], [], [], {}
    measured: list[int] = []
    skipped: list[str] = []
    with Stack("stats") as stack:
        print(f"  {stack.mode}; PostgreSQL {stack.server_version}; database {stack.db_name} "
              f"(set-up {stack.setup_seconds:.1f} s)")
        engine = create_engine(stack.db_url, pool_size=2)
        try:
            with Session(engine) as session:
                create_user(session, username=LEADER, password=LEADER_PW, role=Role.LEADER, display_name="压测领导")
                session.commit()
            with psycopg.connect(libpq_url(stack.db_url)) as conn:
                ref = Reference(conn)
                now = datetime.now(SH)
                seeder = Seeder(ref, now)
                n_ent = max(20_000, min(500_000, sizes[-1] // 20))
                t0 = time.perf_counter()
                seeder.enterprise_rows(n_ent, conn)
            print(f"  reference: {len(ref.channels)} channels, {len(ref.categories)} categories, {len(ref.counties)} "
                  f"counties, {len(ref.towns)} towns, {ref.n_units} units; {n_ent:,} enterprises "
                  f"({time.perf_counter() - t0:.1f} s); this year: {seeder.n_days} days to {now:%Y-%m-%d %H:%M} "
                  f"(Asia/Shanghai)")
            api_base = None
            have = 0
            events_total = 0
            for i, size in enumerate(sizes):
                if i > 0 and have:
                    # guard: the disk the next growth needs, from what the data took so far
                    per_ticket = seed_rows[-1][8] / have
                    need = per_ticket * (size - have) * 1.6  # index builds, rebuild spill, WAL
                    free, path = free_bytes_for(stack)
                    secs = sum(seed_rows[-1][k] for k in (3, 4, 5, 6)) / seed_rows[-1][1] * (size - have)
                    print(f"\n  growing to {human(size)}: about {need / 2**30:,.1f} GiB more "
                          f"(free {'?' if free is None else f'{free / 2**30:,.1f} GiB'} at {path}); "
                          f"seeding about {secs / 60:,.0f} min if linear", flush=True)
                    if free is not None and need > 0.6 * free:
                        msg = (f"{human(size)} SKIPPED: it needs about {need / 2**30:,.0f} GiB, more than 60 % of the "
                               f"{free / 2**30:,.0f} GiB free")
                        print("  " + msg)
                        skipped.append(msg)
                        break
                print(f"\n  seeding {human(size)} tickets (adding {size - have:,}) ...", flush=True)
                s = seed_to(stack, seeder, have, size, args)
                have = size
                events_total += s["events"]
                seed_rows.append([human(size), s["tickets"], s["events"], s["copy_s"], s["index_s"],
                                  s["rebuild_s"], s["vacuum_s"], events_total, s["db_bytes"]])
                tuned = ", ".join(f"{k}={v}" for k, v in settings) or "server defaults"
                print(f"  seeded {human(size)}: +{s['tickets']:,} tickets, +{s['events']:,} events: COPY "
                      f"{s['copy_s']:.1f} s ({s['copy_mode']}; {s['tickets'] / s['copy_s']:,.0f} tickets/s), "
                      f"indexes {s['index_s']:.1f} s, stats.rebuild {s['rebuild_s']:.1f} s ({tuned}), VACUUM "
                      f"ANALYZE {s['vacuum_s']:.1f} s; database {s['db_bytes'] / 2**30:,.2f} GiB", flush=True)
                if api_base is None:
                    _, api_base = stack.start_api()
                api = Api(api_base)
                try:
                    print(f"  measuring at {human(size)} ...", flush=True)
                    rows, med = measure(stack, api, engine, size, args, smallest=(i == 0))
                finally:
                    api.close()
                result_rows += rows
                medians[size] = med
                profile_rows += rollup_profile(engine, size, args)
                measured.append(size)
            report(seed_rows, result_rows, profile_rows, medians, measured, skipped, settings)
            if args.hold > 0:
                print(f"\n  holding {args.hold:.0f} s before the clean-up (kill -TERM {os.getpid()} ends it): "
                      f"database {stack.db_url}", flush=True)
                try:
                    time.sleep(args.hold)
                except KeyboardInterrupt:
                    print("  hold ended early", flush=True)
        finally:
            engine.dispose()
    return 0 if measured else 1


def report(seed_rows, result_rows, profile_rows, medians, measured, skipped, settings) -> None:
    tuned = ", ".join(f"{k}={v}" for k, v in settings) or "server defaults"
    print_table(["size", "tickets added", "events added", "COPY s", "indexes s", "stats.rebuild s", "VACUUM s",
                 "events total", "db bytes"],
                [r[:8] + [f"{r[8] / 2**30:.2f} GiB"] for r in seed_rows],
                title=f"Seeding (COPY) and rollup rebuild (rebuild session: {tuned})")
    print_table(["size", "what", "median ms", "best ms", "runs"],
                [r[:2] + [round(r[2], 1), round(r[3], 1), r[4]] for r in result_rows],
                title="Summary: endpoint, in-process from the rollups, and the direct GROUP BY baselines")
    print_table(["size", "call", "statement", "rollup rows read", "exec ms"],
                [r[:4] + [round(r[4], 1)] for r in profile_rows],
                title="The statements of the summary and of the heavy call under EXPLAIN ANALYZE")
    if not measured:
        print("nothing measured")
        return
    small, large = measured[0], measured[-1]
    print(f"\nGoals (endpoint medians; largest size measured {human(large)}, smallest {human(small)}):")
    if large < GOAL_SIZE:
        print(f"  NOTE: the goal is stated at {human(GOAL_SIZE)} tickets; this run measured up to {human(large)} only"
              + (f" ({'; '.join(skipped)})" if skipped else "") + ". Run with --sizes ...,10000000 for the real test.")
    for k, label in (("api summary", "summary"), ("api unit+month", "group_by=unit&trend=month")):
        m_large = medians[large][k]
        print(goal(f"{label} under {GOAL_MS:.0f} ms at {human(large)} ({m_large:,.1f} ms)", m_large < GOAL_MS))
        if large > small:
            ratio = m_large / medians[small][k]
            print(goal(f"{label} grows < {GOAL_RATIO:.0f}x {human(small)}->{human(large)} ({ratio:.2f}x)",
                       ratio < GOAL_RATIO))
    if large < GOAL_SIZE and len(measured) >= 2:
        a, b = measured[-2], measured[-1]
        print(f"  projection to {human(GOAL_SIZE)} (NOT measured; power law through {human(a)} and {human(b)}):")
        for k, label in (("api summary", "summary"), ("api unit+month", "group_by=unit&trend=month")):
            ta, tb = medians[a][k], medians[b][k]
            slope = math.log(tb / ta) / math.log(b / a) if ta > 0 and tb > 0 else float("nan")
            proj = tb * (GOAL_SIZE / b) ** slope
            print(f"    {label}: ~{proj:,.0f} ms at {human(GOAL_SIZE)} (~{proj / medians[small][k]:.1f}x "
                  f"{human(small)}); time ~ size^{slope:.2f}")


if __name__ == "__main__":
    sys.exit(main())
