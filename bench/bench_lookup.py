#!/usr/bin/env python
"""Lookups at a city's scale: enterprise search, caller lookup, knowledge suggestions and `?q=` over the one table,
with 100,000 enterprises and 1,000,000 tickets, beside an authenticated trivial endpoint measured in the same run.

    python bench/bench_lookup.py [--enterprises 100000] [--tickets 1000000] [--templates 1000] [--articles 3000]
                                 [--requests 300] [--warmup 20] [--hold SECONDS] [--wait-quiet SECONDS]

Set-up (bench/_stack.py): a fresh database hotline_bench_<run> on the embedded PostgreSQL and Redis, or on the
servers at HOTLINE_DATABASE_URL / HOTLINE_REDIS_URL when those are set; migrated, reference data seeded, the bench
operator; dropped at the end (also on Ctrl-C / SIGTERM) with the API subprocess and the temporary directory.

Data, in this order:
  templates    --templates tickets through the project's own code (_stack.seed_tickets: intake, then each worked
               through a story by the lifecycle actions), so every status, event, opinion and search vector is the
               one the service writes.
  enterprises  --enterprises records by COPY: names made of word parts as a city's companies are named
               (乐清市柳市 + 华宇 + 电气 + 有限公司; 温州… and 浙江… too; 有限公司, 股份有限公司, 有限责任公司 endings),
               in the reference data's towns (Yueqing and Ruian weighted up); half with a valid USCC (make_uscc, a
               number range of their own), about 40 % on the roster (with chain, some with a tier); 1 to 3
               contacts each in enterprise_contact (a personal name or 姓+title, a mobile 1[3578]xxxxxxxxx; about
               1.5 % of the contacts a bookkeeper's phone shared with another enterprise). The secondary indexes of
               both tables are dropped before the COPY and built again after it (the name-grams GIN index is far
               cheaper to build than to maintain row by row).
  tickets      copies of the templates (_stack.copy_tickets, indexes of ticket and ticket_event dropped and built
               again, as bench/bench_stats.py does) up to --tickets, received over the last 365 days, each assigned to
               one of the bulk enterprises and one of its contacts: enterprise_id, enterprise_name, uscc, town and
               county, contact name and phone, the enterprise's name inside the description, all consistent with
               the record. Skewed: 5 % of the enterprises get half the tickets (among them, the first few get the
               most: the same companies calling again and again), the rest are spread over the other 95 %. Ticket
               numbers are the service's format (<received day>-<sequence>, the sequence moved past them after).
               The search vector is what intake plus the opinions give (service.domain.lookup): the template's
               title and description tokens (its enterprise name taken out) and opinions, the copy's enterprise and
               contact name tokens (service.domain.textsearch.tokens, the one tokenizer), and the number and phone
               lexemes of hotline_ticket_lookup (migration 0019's own function; its trigger does not fire under the
               replica role the copy runs in).
  derived      what intake keeps, recomputed from the tickets as it would have kept them: each enterprise's
               last_contact_at (the latest received_at), each contact's ticket_count and last_seen_at (contacts no
               ticket came from are removed: intake only records a contact with a ticket); then VACUUM ANALYZE. The
               statistics rollups are not rebuilt (nothing here reads them).
  knowledge    the starter set through the project's loader (service.pipeline.knowledge.load, what `hotline
               knowledge load` runs), then grown to --articles entries through knowledge.create (the function the API
               writes with: postings and document frequencies kept in the same transaction): variants of the
               starter entries with other titles (a town, a year, 办理流程 / 常见问题 …), their paragraphs shuffled,
               a local line and a few other entries' sentences; about 5 % expired and 5 % overdue for review.

Measured against a uvicorn subprocess with the operator's token, sequential requests on one keep-alive connection
(_stack.HttpConn), after --warmup requests of each case; then --requests rounds in which every case sends one
request, the order rotating from round to round (so a disturbance of the machine spreads over all cases):
  floor        GET /api/v1/me (authenticated, one user read, no query of the data)
  enterprises  GET /api/v1/enterprises?q= : common and rare name fragments of 2 to 4 characters, a USCC prefix,
               a full phone, the end of a phone (7-8 digits), a popular enterprise's full name again and again,
               a 200-character query of name parts, a fragment no name holds
  callers      GET /api/v1/callers?phone= : a phone of one of the enterprises with the most tickets, a random
               known phone, an unknown phone
  knowledge    GET /api/v1/knowledge/suggest?title=&description= with the templates' texts; POST the same with a
               long description (about 2,000 characters of several problems), and with one at the schema's limit
               (19,500 distinct CJK characters)
  tickets q=   GET /api/v1/tickets?q= : a ticket number, a phone, a contact's name, a common word (a large share of
               the table), a rare word, two words, and a common word with status=in_progress
Each case prints p50 / p95 / p99 in ms (client wall time) and its ratio to the floor's; the matches a search has
(tickets: counted once per query with the project's own condition, service.domain.lookup.matches) or the items
answered. Goals (the issue): enterprise search, caller lookup and knowledge suggestion under 50 ms p99, `?q=`
under 100 ms p99, each judged on its worst case.
--hold N keeps everything up for N seconds before the clean-up (prints the database URL), for inspection.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import (  # noqa: E402
    TEMPLATES, CpuMeter, HttpConn, Stack, TicketMaker, copy_tickets, drop_indexes, goal, install_signal_handlers,
    libpq_url, make_uscc, percentile, print_table, report_quiet, restore_indexes, seed_tickets, spread_sql,
    unit_of_work,
)

SEED = 20261203
SH = timezone(timedelta(hours=8))
BARS = {"enterprises": 50.0, "callers": 50.0, "knowledge": 50.0, "tickets": 100.0}
BAR_TEXT = {"enterprises": "enterprise search", "callers": "caller lookup", "knowledge": "knowledge suggestion",
            "tickets": "tickets ?q="}
USCC_BASE = 40_000_000    # make_uscc numbers of the bulk enterprises (the templates' are small numbers)
NUMBER_BASE = 1_000_000   # ticket number sequence of the copies (intake's run from 1)
HEAVY_SHARE, HEAVY_TICKETS = 0.05, 0.5  # 5 % of the enterprises get half the tickets
SLOTS = 3                 # contact slots per enterprise in the assignment table

# ---- enterprise names, as a city's companies are named

_BRAND_1 = list("华正天德恒宏瑞金永新博嘉东中信立通凯明海富长鸿盛兴隆泰昌源丰安康佳广鑫宇欣环亚联创卓诚伟志"
                "精巨高远大良顺达浩万方圣雅俊美光启新科威力")
_BRAND_2 = list("宇远润力通达丰诚盛航利升瑞和昌成泰纳源鑫隆发康洋辉达邦豪龙特仕尔克森盈胜祥信安泽晟鼎鹏"
                "腾峰迪飞越翔锐卡")
_INDUSTRIES = [("电气", 20, "electrical"), ("电器", 8, "electrical"), ("开关", 4, "electrical"), ("机电", 6, "other"),
               ("阀门", 6, "pump_valve"), ("泵业", 4, "pump_valve"), ("鞋业", 8, "footwear"), ("服饰", 5, "apparel"),
               ("汽摩配件", 3, "auto_parts"), ("汽车部件", 3, "auto_parts"), ("模具", 4, "other"),
               ("包装", 3, "printing_packaging"), ("电子", 6, "digital_economy"), ("五金", 5, "other"),
               ("新材料", 3, "new_materials"), ("智能科技", 5, "smart_equipment"), ("光电", 2, "digital_economy"),
               ("塑业", 3, "other"), ("眼镜", 2, "glasses"), ("印刷", 2, "printing_packaging"), ("仪表", 3, "electrical"),
               ("线缆", 3, "electrical"), ("科技", 6, "digital_economy"), ("贸易", 4, "other"), ("锁业", 1, "locks"),
               ("制笔", 1, "pens"), ("纽扣", 1, "buttons"), ("打火机", 1, "lighters"), ("玩具", 1, "toys"),
               ("医疗器械", 1, "life_health")]
_ENDINGS = [("有限公司", 75), ("股份有限公司", 10), ("有限责任公司", 10), ("厂", 5)]
_SURNAMES = list("王陈李张林黄周吴郑刘徐朱叶杨潘金胡蔡孙施章应赵郭")
_GIVEN = list("建国伟军海燕丽华明杰强敏静芳勇磊洋艳红斌超志鹏晓峰丹婷琳")
_TITLES = ["经理", "总", "主任", "会计", "厂长", "女士", "先生", "主管"]


def _weighted(items: list, weight, rng: random.Random, k: int) -> list:
    return rng.choices(items, weights=[weight(i, x) for i, x in enumerate(items)], k=k)


class Enterprises:
    """The bulk enterprises and their contacts, generated in Python and loaded by COPY."""

    def __init__(self, conn, n: int, seed: int):
        self.rng = rng = random.Random(seed)
        counties = dict(conn.execute("SELECT code, name FROM county").fetchall())
        towns = conn.execute("SELECT code, name, county_code FROM town ORDER BY code").fetchall()
        chains = {r[0] for r in conn.execute("SELECT code FROM chain").fetchall()}
        tiers = [r[0] for r in conn.execute("SELECT code FROM tier ORDER BY code").fetchall()]
        heavy_towns = {"yueqing": 3, "ruian": 3, "lucheng": 2, "ouhai": 2, "longwan": 2}
        town_weights = [heavy_towns.get(c, 1) for _, _, c in towns]
        now = datetime.now(SH)
        self.rows: list[dict] = []
        seen: set[str] = set()
        industries = [i for i, _, _ in _INDUSTRIES]
        iweights = [w for _, w, _ in _INDUSTRIES]
        chain_of = {i: (c if c in chains else "other") for i, _, c in _INDUSTRIES}
        while len(self.rows) < n:
            code, town_name, county = rng.choices(towns, town_weights)[0]
            short = town_name
            for suffix in ("街道", "镇", "乡"):
                if short.endswith(suffix) and len(short) > len(suffix) + 1:
                    short = short[: -len(suffix)]
                    break
            p = rng.random()
            prefix = (counties.get(county, "") + short) if p < 0.55 else ("温州" if p < 0.80 else "浙江")
            # brand characters drawn Zipf-like: some are in many names, most in few
            brand = (_weighted(_BRAND_1, lambda i, _: 1 / (i + 1) ** 0.9, rng, 1)[0]
                     + _weighted(_BRAND_2, lambda i, _: 1 / (i + 1) ** 0.9, rng, 1)[0])
            if rng.random() < 0.12:
                brand += rng.choice(_BRAND_2)
            industry = rng.choices(industries, iweights)[0]
            base = prefix + brand + industry
            if base in seen:
                continue
            seen.add(base)
            ending = rng.choices([e for e, _ in _ENDINGS], [w for _, w in _ENDINGS])[0]
            roster = rng.random() < 0.40
            created = now - timedelta(days=rng.uniform(30, 3 * 365))
            self.rows.append({
                "name": base + ending, "base": base, "brand": brand, "town": code, "county": county,
                "uscc": make_uscc(USCC_BASE + len(self.rows)) if rng.random() < 0.5 else None,
                "chain": chain_of[industry] if roster else None,
                "tier": rng.choice(tiers) if roster and tiers and rng.random() < 0.2 else None,
                "above_scale": (rng.random() < 0.8) if roster else None,
                "on_roster": roster, "roster_at": now - timedelta(days=40) if roster else None, "created": created,
            })
        # contacts: 1 to 3 each; a few bookkeepers' phones serve several enterprises
        phones: set[str] = set()
        self.contacts: list[tuple[int, str, str]] = []  # (enterprise index, name, phone)
        shared: list[str] = []
        for i, e in enumerate(self.rows):
            names: set[str] = set()
            for _ in range(rng.choices([1, 2, 3], [50, 35, 15])[0]):
                surname = rng.choice(_SURNAMES)
                if shared and rng.random() < 0.015:
                    person, phone = surname + "会计", rng.choice(shared)
                else:
                    person = surname + (rng.choice(_TITLES) if rng.random() < 0.5 else
                                        "".join(rng.choice(_GIVEN) for _ in range(rng.choice([1, 2, 2]))))
                    while (phone := f"1{rng.choice('3578')}{rng.randrange(10**9):09d}") in phones:
                        pass
                    phones.add(phone)
                    if rng.random() < 0.01:
                        shared.append(phone)
                if person not in names:
                    names.add(person)
                    self.contacts.append((i, person, phone))
        self.phones = phones
        self.ids: list[int] = []

    def load(self, conn) -> None:
        """COPY the records and their contacts; self.ids[i] is the id of record i."""
        before = conn.execute("SELECT coalesce(max(id), 0) FROM enterprise").fetchone()[0]
        cols = ("uscc, name, county_code, town_code, chain_code, tier_code, above_scale, on_roster, roster_imported_at,"
                " created_at, updated_at")
        with conn.cursor() as cur:
            with cur.copy(f"COPY enterprise ({cols}) FROM STDIN") as cp:
                for e in self.rows:
                    cp.write_row((e["uscc"], e["name"], e["county"], e["town"], e["chain"], e["tier"],
                                  e["above_scale"], e["on_roster"], e["roster_at"], e["created"], e["created"]))
        by_name = dict(conn.execute("SELECT name, id FROM enterprise WHERE id > %s", (before,)).fetchall())
        self.ids = [by_name[e["name"]] for e in self.rows]
        with conn.cursor() as cur:
            with cur.copy("COPY enterprise_contact (enterprise_id, name, phone, last_seen_at, ticket_count) "
                          "FROM STDIN") as cp:
                for i, person, phone in self.contacts:
                    cp.write_row((self.ids[i], person, phone, self.rows[i]["created"], 0))
        conn.commit()


# --------------------------------------------------------------------------------------------------
# seeding


def template_terms(conn) -> list[tuple[int, str]]:
    """Per template ticket, the search terms intake and the opinions gave it less its enterprise's and contact's
    names (service.domain.lookup.reindex's recipe, with the enterprise's name taken out of the description)."""
    from service.config import get_settings
    from service.domain.lookup import OPINION_KINDS
    from service.domain.textsearch import tokens

    cap = get_settings().search_max_tokens
    rows = conn.execute("SELECT id, title, description, enterprise_name FROM ticket ORDER BY id").fetchall()
    opinions: dict[int, list[str]] = {}
    for ticket_id, text in conn.execute(
            "SELECT ticket_id, coalesce(payload->>'opinion', payload->>'answer', '') FROM ticket_event "
            "WHERE kind = ANY(%s) ORDER BY id", (list(OPINION_KINDS),)).fetchall():
        opinions.setdefault(ticket_id, []).append(text)

    def distinct(text: str) -> list[str]:
        return list(dict.fromkeys(tokens(text)))[:cap]

    out = []
    for ticket_id, title, description, ent_name in rows:
        text = f"{title} {description.replace(ent_name, '公司')}"
        out.append((ticket_id, " ".join(dict.fromkeys(distinct(text) + distinct(" ".join(opinions.get(ticket_id, [])))))))
    return out


def seed(stack: Stack, args) -> dict:
    """Everything under "Data" in the module's docstring; returns timings and what the cases are drawn from."""
    import psycopg
    from sqlalchemy import create_engine

    from service.domain.textsearch import tokens

    url = libpq_url(stack.db_url)
    out: dict = {}
    rng = random.Random(SEED)

    # 1. templates through the project's code
    t0 = time.perf_counter()
    engine = create_engine(stack.db_url)
    try:
        maker = TicketMaker(f"{stack.run}-templates", enterprises=max(50, args.templates // 4), seed=SEED)
        out["stories"] = seed_tickets(engine, maker, args.templates, seed=SEED)
    finally:
        engine.dispose()
    with psycopg.connect(url) as conn:
        out["template_ids"] = [r[0] for r in conn.execute("SELECT id FROM ticket ORDER BY id").fetchall()]
        tpl_terms = template_terms(conn)
    out["templates_s"] = time.perf_counter() - t0
    print(f"  templates: {len(out['template_ids']):,} tickets through intake and the lifecycle actions in "
          f"{out['templates_s']:.1f} s", flush=True)

    # 2. enterprises and contacts by COPY
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        ents = Enterprises(conn, args.enterprises, SEED)
    gen_s = time.perf_counter() - t0
    with psycopg.connect(url, autocommit=True) as admin:
        superuser = admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        ent_indexes = drop_indexes(admin, ("enterprise", "enterprise_contact"))
    with psycopg.connect(url) as conn:
        ents.load(conn)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SET maintenance_work_mem = '512MB'")
        restore_indexes(admin, ent_indexes)
    out["enterprises_s"] = time.perf_counter() - t0
    print(f"  enterprises: {len(ents.rows):,} records, {len(ents.contacts):,} contacts by COPY, indexes built again "
          f"({out['enterprises_s']:.1f} s, {gen_s:.1f} s of it generating)", flush=True)

    # 3. the assignment table: popularity rank -> enterprise, SLOTS contact slots each; the templates' terms
    order = list(range(len(ents.rows)))
    rng.shuffle(order)
    heavy = max(1, round(len(order) * HEAVY_SHARE))
    contacts_of: dict[int, list[tuple[str, str]]] = {}
    for i, person, phone in ents.contacts:
        contacts_of.setdefault(i, []).append((person, phone))
    with psycopg.connect(url) as conn:
        conn.execute("CREATE UNLOGGED TABLE bench_slot (slot int PRIMARY KEY, enterprise_id bigint, name text, "
                     "uscc text, town_code text, county_code text, contact_name text, contact_phone text, terms text)")
        conn.execute("CREATE UNLOGGED TABLE bench_tpl (id bigint PRIMARY KEY, terms text)")
        with conn.cursor() as cur:
            with cur.copy("COPY bench_slot FROM STDIN") as cp:
                for rank, i in enumerate(order):
                    e, people = ents.rows[i], contacts_of[i]
                    for k in range(SLOTS):
                        person, phone = people[k % len(people)]
                        terms = " ".join(dict.fromkeys([*tokens(e["name"]), *tokens(person)]))
                        cp.write_row((rank * SLOTS + k, ents.ids[i], e["name"], e["uscc"], e["town"], e["county"],
                                      person, phone, terms))
            with cur.copy("COPY bench_tpl FROM STDIN") as cp:
                for row in tpl_terms:
                    cp.write_row(row)
        conn.commit()

    # 4. tickets: copies of the templates spread over the enterprises
    templates = out["template_ids"]
    copies = max(0, round((args.tickets - len(templates)) / len(templates)))
    today = datetime.now(SH).date()
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("ALTER TABLE ticket_event DISABLE TRIGGER stat_enqueue_event")
        admin.execute("ALTER TABLE ticket DISABLE TRIGGER stat_enqueue_ticket")
        t0 = time.perf_counter()
        indexes = drop_indexes(admin, ("ticket", "ticket_event"))
        first_id = admin.execute("SELECT max(id) + 1 FROM ticket").fetchone()[0]

    def u(k: int) -> str:  # a uniform [0, 1) of the copy's id, independent for each k
        return f"((hashint8extended(m.new_id, {k}) & 2147483647)::float8 / 2147483648.0)"

    n_ent = len(order)
    rank = (f"(CASE WHEN {u(1)} < {HEAVY_TICKETS} THEN floor({heavy} * {u(2)} * {u(2)}) "
            f"ELSE {heavy} + floor({n_ent - heavy} * {u(2)}) END)::int")
    slot = f"({rank} * {SLOTS} + ((hashint8extended(m.new_id, 3) & 2147483647) % {SLOTS})::int)"

    def of_slot(column: str) -> str:
        return f"(SELECT s.{column} FROM bench_slot s WHERE s.slot = {slot})"

    number = (f"(to_char(timezone('Asia/Shanghai', t.received_at + m.delta), 'YYYYMMDD') || '-' || "
              f"({NUMBER_BASE} + m.new_id - {first_id})::text)")
    overrides = {
        "enterprise_id": of_slot("enterprise_id"), "enterprise_name": of_slot("name"), "uscc": of_slot("uscc"),
        "town_code": of_slot("town_code"), "county_code": of_slot("county_code"),
        "contact_name": of_slot("contact_name"), "contact_phone": of_slot("contact_phone"),
        "description": f"replace(t.description, t.enterprise_name, {of_slot('name')})",
        "number": number,
        "search_vector": (f"to_tsvector('simple', (SELECT b.terms FROM bench_tpl b WHERE b.id = t.id) || ' ' || "
                          f"{of_slot('terms')}) || hotline_ticket_lookup({number}, {of_slot('contact_phone')})"),
    }
    with psycopg.connect(url) as conn:
        if superuser:
            conn.execute("SET session_replication_role = replica")
        copied = copy_tickets(conn, templates, copies, first_id=first_id,
                              received=spread_sql((today - timedelta(days=364)).isoformat(), 365),
                              overrides=overrides)
    out["copy_s"] = time.perf_counter() - t0
    out["copy_mode"] = "replica role" if superuser else "FK checks on"
    print(f"  tickets: +{copied['tickets']:,} copies, +{copied['events']:,} events in {out['copy_s']:.1f} s "
          f"({out['copy_mode']})", flush=True)

    with psycopg.connect(url, autocommit=True) as admin:
        t0 = time.perf_counter()
        admin.execute("SET maintenance_work_mem = '1GB'")
        restore_indexes(admin, indexes)
        out["index_s"] = time.perf_counter() - t0
        admin.execute(f"ALTER TABLE ticket ALTER COLUMN id RESTART WITH {first_id + copied['tickets']}")
        admin.execute(f"SELECT setval('ticket_number_seq', greatest({NUMBER_BASE + copied['tickets']}, "
                      "(SELECT last_value FROM ticket_number_seq)))")
        admin.execute("ALTER TABLE ticket_event ENABLE TRIGGER stat_enqueue_event")
        admin.execute("ALTER TABLE ticket ENABLE TRIGGER stat_enqueue_ticket")

        # 5. what intake keeps, as it would have kept it
        t0 = time.perf_counter()
        admin.execute("""
            UPDATE enterprise e SET last_contact_at = x.last
            FROM (SELECT enterprise_id, max(received_at) AS last FROM ticket GROUP BY enterprise_id) x
            WHERE e.id = x.enterprise_id AND e.last_contact_at IS DISTINCT FROM x.last""")
        admin.execute("""
            UPDATE enterprise_contact c SET ticket_count = x.n, last_seen_at = x.last
            FROM (SELECT enterprise_id, contact_name, hotline_phone_digits(contact_phone) AS digits, count(*) AS n,
                         max(received_at) AS last
                  FROM ticket GROUP BY 1, 2, 3) x
            WHERE c.enterprise_id = x.enterprise_id AND c.name = x.contact_name AND c.phone_digits = x.digits""")
        out["contacts_removed"] = admin.execute("DELETE FROM enterprise_contact WHERE ticket_count = 0").rowcount
        admin.execute("DROP TABLE bench_slot, bench_tpl")
        out["derived_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        admin.execute("VACUUM (ANALYZE) ticket, ticket_event, ticket_clock, enterprise, enterprise_contact")
        out["vacuum_s"] = time.perf_counter() - t0
    print(f"  indexes built again in {out['index_s']:.1f} s; last contacts and contact counts recomputed in "
          f"{out['derived_s']:.1f} s ({out['contacts_removed']:,} contacts no ticket came from removed); VACUUM "
          f"ANALYZE {out['vacuum_s']:.1f} s", flush=True)

    # 6. knowledge: the starter set through the loader, then variants through knowledge.create
    t0 = time.perf_counter()
    out["articles"] = grow_knowledge(stack, args.articles, rng)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("VACUUM (ANALYZE) knowledge_article, knowledge_posting, knowledge_term")
        out["db_bytes"] = admin.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    out["knowledge_s"] = time.perf_counter() - t0
    print(f"  knowledge: {out['articles']} in {out['knowledge_s']:.1f} s; database "
          f"{out['db_bytes'] / 2**30:,.2f} GiB", flush=True)
    out["ents"], out["order"], out["heavy"] = ents, order, heavy
    return out


_QUALIFIERS = ["", "办理流程", "常见问题解答", "申报要点", "政策解读", "操作指引", "答复口径", "材料清单", "注意事项"]


def grow_knowledge(stack: Stack, total: int, rng: random.Random) -> str:
    """Load the starter set (knowledge.load), then create variants of its entries until `total` entries exist."""
    import yaml
    from sqlalchemy import create_engine, func, select, text

    from models import KnowledgeArticle
    from service.pipeline import knowledge
    from service.schemas.knowledge import ArticleIn

    engine = create_engine(stack.db_url)
    try:
        with unit_of_work(engine) as session:
            report = knowledge.load(session)
            session.commit()
            town_names = [r[0] for r in session.execute(text("SELECT name FROM town ORDER BY code")).all()]
            have = session.scalar(select(func.count()).select_from(KnowledgeArticle))
            doc = yaml.safe_load(knowledge.STARTER.read_text(encoding="utf-8"))
            starters = [a for a in doc["articles"]]
            sentences = [s for a in starters for s in a["body"].replace("\n", "。").split("。") if len(s) > 8]
            today = datetime.now(SH).date()
            made = 0
            for n in range(max(0, total - have)):
                base = starters[n % len(starters)]
                town = rng.choice(town_names)
                qualifier = rng.choice(_QUALIFIERS)
                year = rng.choice([2024, 2025, 2026])
                title = f"{town}{base['title']}" + (f"（{qualifier}）" if qualifier else "") + \
                        (f"（{year}年）" if rng.random() < 0.4 else "")
                paragraphs = [p for p in base["body"].split("\n") if p.strip()]
                rng.shuffle(paragraphs)
                extra = "。".join(rng.sample(sentences, 2))
                body = "\n".join(paragraphs[:max(1, len(paragraphs) - rng.randrange(2))]) + \
                    f"\n{town}企业服务中心可代办，咨询电话0577-{rng.randrange(10**7, 10**8)}。\n相关：{extra}。"
                fields = {k: v for k, v in base.items() if k != "key"}
                fields.update(title=title[:200], body=body[:20000])
                r = rng.random()
                if r < 0.05:
                    fields.update(valid_from=today - timedelta(days=400), valid_until=today - timedelta(days=10))
                elif r < 0.10:
                    fields.update(review_by=today - timedelta(days=5))
                else:
                    fields.update(review_by=today + timedelta(days=rng.randrange(60, 700)))
                    if fields.get("valid_until") and fields["valid_until"] < today:
                        fields["valid_until"] = None
                knowledge.create(session, ArticleIn.model_validate(fields), None, system="bench")
                made += 1
                if made % 200 == 0:
                    session.commit()
            session.commit()
            have = session.scalar(select(func.count()).select_from(KnowledgeArticle))
    finally:
        engine.dispose()
    return f"{have:,} entries (starter set: {report}; {made:,} variants created)"


# --------------------------------------------------------------------------------------------------
# the cases


class Case:
    def __init__(self, group: str, name: str, requests: list[tuple[str, str, bytes]], note: str = ""):
        self.group, self.name, self.requests, self.note = group, name, requests, note
        self.times: list[float] = []
        self.items: list[int] = []
        self.i = 0

    def next(self) -> tuple[str, str, bytes]:
        r = self.requests[self.i % len(self.requests)]
        self.i += 1
        return r


def get(path: str, **params) -> tuple[str, str, bytes]:
    return ("GET", f"{path}?{urlencode(params)}" if params else path, b"")


def post(path: str, body: dict) -> tuple[str, str, bytes]:
    return ("POST", path, json.dumps(body, ensure_ascii=False).encode())


def fragments(names: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """Common and rare name fragments of 2 to 4 characters (counted over the names without their endings)."""
    counts: Counter = Counter()
    for name in names:
        seen = {name[i:i + k] for k in (2, 3, 4) for i in range(len(name) - k + 1)}
        counts.update(seen)
    total = len(names)
    common = [g for g, c in counts.most_common(400) if c >= total * 0.01 and not any(
        s in g for s in ("有限", "公司", "股份", "责任"))]
    rng.shuffle(common)
    common = sorted(common[:40], key=len)
    rare = [g for g, c in counts.items() if 1 <= c <= 5 and not any(s in g for s in ("有限", "公司", "股份", "责任"))]
    rare = rng.sample(rare, min(60, len(rare)))
    return common, rare


def build_cases(stack: Stack, data: dict, rng: random.Random) -> tuple[Case, list[Case], dict]:
    """The floor and every measured case, with their concrete requests drawn from the data."""
    import psycopg

    ents, order, heavy = data["ents"], data["order"], data["heavy"]
    url = libpq_url(stack.db_url)
    info: dict = {}
    with psycopg.connect(url) as conn:
        top = conn.execute("SELECT enterprise_id, count(*) FROM ticket GROUP BY 1 ORDER BY 2 DESC LIMIT 10").fetchall()
        info["top_tickets"] = [n for _, n in top]
        top_ids = [i for i, _ in top]
        heavy_phones = [r[0] for r in conn.execute(
            "SELECT phone FROM enterprise_contact WHERE enterprise_id = ANY(%s)", (top_ids,)).fetchall()]
        popular = conn.execute("SELECT name FROM enterprise WHERE id = %s", (top_ids[0],)).fetchone()[0]
        known = [r[0] for r in conn.execute(
            "SELECT phone FROM enterprise_contact ORDER BY random() LIMIT 300").fetchall()]
        usccs = [r[0] for r in conn.execute(
            "SELECT uscc FROM enterprise WHERE uscc IS NOT NULL ORDER BY random() LIMIT 300").fetchall()]
        sample = conn.execute(
            "SELECT number, contact_phone, contact_name FROM ticket TABLESAMPLE SYSTEM (1) REPEATABLE (7) "
            "LIMIT 2000").fetchall()
        all_phones = {r[0] for r in conn.execute("SELECT phone_digits FROM enterprise_contact").fetchall()}
        info["enterprise_count"] = conn.execute("SELECT count(*) FROM enterprise").fetchone()[0]
        info["ticket_count"] = conn.execute("SELECT count(*) FROM ticket").fetchone()[0]
        info["contact_count"] = conn.execute("SELECT count(*) FROM enterprise_contact").fetchone()[0]
        info["heavy_share"] = conn.execute(
            "SELECT sum(n)::float8 / (SELECT count(*) FROM ticket) FROM (SELECT count(*) AS n FROM ticket "
            "GROUP BY enterprise_id ORDER BY 1 DESC LIMIT %s) x", (heavy,)).fetchone()[0]
    unknown = []
    while len(unknown) < 100:
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        if phone not in all_phones:
            unknown.append(phone)
    common, rare = fragments([e["base"] for e in ents.rows], rng)
    info["common_fragments"], info["rare_fragments"] = common[:8], rare[:8]
    names = [e["base"] for e in ents.rows]
    long_q = []
    for _ in range(8):
        text = ""
        while len(text) < 200:
            text += rng.choice(names)
        long_q.append(text[:200])

    E = "/api/v1/enterprises"
    cases = [
        Case("enterprises", "name fragment, common (2-4 chars)", [get(E, q=g) for g in common]),
        Case("enterprises", "name fragment, rare (2-4 chars)", [get(E, q=g) for g in rare]),
        Case("enterprises", "USCC prefix (8-14 chars)", [get(E, q=u[:rng.choice([8, 10, 12, 14])]) for u in usccs[:60]]),
        Case("enterprises", "full phone", [get(E, q=p) for p in known[:100]]),
        Case("enterprises", "end of a phone (7-8 digits)", [get(E, q=p[-rng.choice([7, 8]):]) for p in known[100:200]]),
        Case("enterprises", "popular enterprise's name, again and again", [get(E, q=popular)]),
        Case("enterprises", "200-character query of name parts", [get(E, q=t) for t in long_q]),
        Case("enterprises", "fragment matching nothing", [get(E, q=t) for t in ("量子鲸鱼", "鲸鱼量子科技", "zzqx", "翡翠猫")]),
    ]
    C = "/api/v1/callers"
    cases += [
        Case("callers", f"phone of a top enterprise ({info['top_tickets'][0]:,} tickets)",
             [get(C, phone=p) for p in heavy_phones]),
        Case("callers", "random known phone", [get(C, phone=p) for p in known[200:300]]),
        Case("callers", "unknown phone", [get(C, phone=p) for p in unknown]),
    ]
    K = "/api/v1/knowledge/suggest"
    texts = [(t, d.format(n=rng.randint(2, 9), m=rng.randint(10, 500), h=rng.randint(7, 11), ent=rng.choice(names)))
             for t, d, _ in TEMPLATES]
    long_texts = []
    for _ in range(8):
        desc = ""
        while len(desc) < 2000:
            t, d = rng.choice(texts)
            desc += f"{t}：{d}"
        long_texts.append((rng.choice(texts)[0], desc[:2000]))
    limit_texts = [(rng.choice(texts)[0], "".join(chr(0x4E00 + rng.randrange(0x9FA5 - 0x4E00)) for _ in range(19_500)))
                   for _ in range(4)]
    cases += [
        Case("knowledge", "ticket title + description (GET)", [get(K, title=t, description=d) for t, d in texts]),
        Case("knowledge", "long description, ~2,000 chars (POST)",
             [post(K, {"title": t, "description": d}) for t, d in long_texts]),
        Case("knowledge", "description at the limit, 19,500 chars (POST)",
             [post(K, {"title": t, "description": d}) for t, d in limit_texts]),
    ]
    T = "/api/v1/tickets"
    numbers = [r[0] for r in sample[:100]]
    phones = [r[1] for r in sample[100:200]]
    people = [r[2] for r in sample[200:2000] if len(r[2]) >= 2 and not r[2].endswith(tuple(_TITLES))][:100]
    common_words = ["企业", "生产", "停电", "申报"]
    # a brand (its first two characters: one token) that few enterprises, none of the 100 busiest, have
    brands = Counter(e["brand"][:2] for e in ents.rows)
    busy = {ents.rows[i]["brand"][:2] for i in order[:100]}
    rare_words = [b for b, n in sorted(brands.items(), key=lambda x: (x[1], x[0])) if b not in busy][:50]
    towns = sorted({ents.rows[i]["base"][3:5] for i in order[:200] if ents.rows[i]["base"].startswith("乐清市")})
    problems = ["停电", "招工", "退税", "专利", "环评", "贷款", "消防", "报关"]
    two_words = [f"{rng.choice(towns or ['柳市'])} {p}" for p in problems] + \
        [f"{a} {b}" for a, b in zip(problems, problems[1:] + problems[:1])]
    cases += [
        Case("tickets", "ticket number", [get(T, q=n) for n in numbers]),
        Case("tickets", "phone (full)", [get(T, q=p) for p in phones]),
        Case("tickets", "contact's name", [get(T, q=p) for p in people]),
        Case("tickets", "common word", [get(T, q=w) for w in common_words]),
        Case("tickets", "rare word", [get(T, q=w) for w in rare_words]),
        Case("tickets", "two words", [get(T, q=w) for w in two_words]),
        Case("tickets", "common word + status=in_progress",
             [get(T, q=w, status="in_progress") for w in common_words]),
    ]
    floor = Case("floor", "GET /api/v1/me", [("GET", "/api/v1/me", b"")])
    return floor, cases, info


def ticket_matches(stack: Stack, cases: list[Case]) -> None:
    """Each ticket search case's note: how many tickets its queries match (the project's own condition, counted
    once per distinct query, at most 12 of them)."""
    from urllib.parse import parse_qs, urlsplit

    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from models import Ticket, User
    from service.domain.lookup import matches

    engine = create_engine(stack.db_url)
    try:
        with Session(engine) as session:
            from _stack import USERNAME

            user = session.scalar(select(User).where(User.username == USERNAME))
            for case in cases:
                if case.group != "tickets":
                    continue
                counts = []
                for _, path, _ in case.requests[:12]:
                    params = parse_qs(urlsplit(path).query)
                    cond = matches(params["q"][0], user)
                    query = select(func.count()).select_from(Ticket).where(cond)
                    if "status" in params:
                        query = query.where(Ticket.status.in_(params["status"]))
                    counts.append(session.scalar(query))
                case.note = f"matches {min(counts):,}-{max(counts):,} (median {statistics.median(counts):,.0f})"
    finally:
        engine.dispose()


async def run_cases(base: str, token: str, floor: Case, cases: list[Case], requests: int, warmup: int) -> None:
    conn = HttpConn.for_url(base, {"authorization": f"Bearer {token}", "content-type": "application/json"})
    everything = [floor, *cases]

    async def one(case: Case, record: bool) -> None:
        method, path, body = case.next()
        t0 = time.perf_counter()
        status, payload = await conn.request(method, path, body, timeout=60)
        ms = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise RuntimeError(f"{case.group} / {case.name}: {method} {path[:120]} answered {status}: {payload[:300]!r}")
        if record:
            case.times.append(ms)
            doc = json.loads(payload)
            if case.group == "enterprises" or case.group == "tickets":
                case.items.append(len(doc["items"]))
            elif case.group == "callers":
                case.items.append(len(doc["enterprises"]))
            elif case.group == "knowledge":
                case.items.append(len(doc))

    try:
        for case in everything:
            for _ in range(warmup):
                await one(case, False)
        for r in range(requests):
            k = r % len(everything)
            for case in everything[k:] + everything[:k]:
                await one(case, True)
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--enterprises", type=int, default=100_000, help="bulk enterprises (default 100,000)")
    ap.add_argument("--tickets", type=int, default=1_000_000, help="tickets in all (default 1,000,000)")
    ap.add_argument("--templates", type=int, default=1000,
                    help="tickets made through the project's pipeline, then copied (default 1,000)")
    ap.add_argument("--articles", type=int, default=3000, help="knowledge entries in all (default 3,000)")
    ap.add_argument("--requests", type=int, default=300, help="measured requests of each case (default 300)")
    ap.add_argument("--warmup", type=int, default=20, help="requests of each case before measuring (default 20)")
    ap.add_argument("--hold", type=float, default=0.0, help="keep the stack up this many s before cleaning up")
    ap.add_argument("--wait-quiet", type=float, default=0.0, help="wait up to this many s for an idle machine")
    args = ap.parse_args()
    if min(args.enterprises, args.tickets, args.templates, args.requests) <= 0 or args.warmup < 0:
        ap.error("sizes and --requests must be positive")
    install_signal_handlers()

    def interrupted(signum, frame):
        print(f"\nbench_lookup: signal {signum} received, cleaning up", file=sys.stderr, flush=True)
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)

    print(f"bench_lookup: {args.enterprises:,} enterprises, {args.tickets:,} tickets, {args.articles:,} knowledge "
          f"entries; {args.requests} requests per case")
    report_quiet(args)
    rng = random.Random(SEED + 1)
    with Stack("lookup") as stack:
        print(f"  {stack.mode}; PostgreSQL {stack.server_version}; database {stack.db_name} "
              f"(set-up {stack.setup_seconds:.1f} s)", flush=True)
        data = seed(stack, args)
        floor, cases, info = build_cases(stack, data, rng)
        ticket_matches(stack, cases)
        print(f"  data: {info['enterprise_count']:,} enterprises, {info['contact_count']:,} contacts, "
              f"{info['ticket_count']:,} tickets; the {data['heavy']:,} enterprises with the most tickets have "
              f"{info['heavy_share']:.0%} of them; the top ten have {', '.join(f'{n:,}' for n in info['top_tickets'])}")
        print(f"  name fragments, common e.g. {' '.join(info['common_fragments'])}; rare e.g. "
              f"{' '.join(info['rare_fragments'])}", flush=True)
        proc, base = stack.start_api()
        token = stack.token(base)
        print(f"  measuring: {1 + len(cases)} cases x {args.requests} requests after {args.warmup} warm-up each ...",
              flush=True)
        with CpuMeter({"api": proc.pid, **stack.server_pids()}) as meter:
            asyncio.run(run_cases(base, token, floor, cases, args.requests, args.warmup))
        report(floor, cases, meter, stack)
        if args.hold > 0:
            print(f"\n  holding {args.hold:.0f} s before the clean-up (kill -TERM {os.getpid()} ends it): "
                  f"database {stack.db_url}, API {base}", flush=True)
            try:
                time.sleep(args.hold)
            except KeyboardInterrupt:
                print("  hold ended early", flush=True)
    return 0


def report(floor: Case, cases: list[Case], meter: CpuMeter, stack: Stack) -> None:
    f50, f99 = percentile(floor.times, 50), percentile(floor.times, 99)
    rows = [[floor.group, floor.name, len(floor.times), percentile(floor.times, 50), percentile(floor.times, 95),
             f99, 1.0, 1.0, ""]]
    for c in cases:
        p50, p95, p99 = (percentile(c.times, p) for p in (50, 95, 99))
        shown = c.note or (f"{statistics.mean(c.items):.1f} items" if c.items else "")
        rows.append([c.group, c.name, len(c.times), p50, p95, p99, round(p50 / f50, 1), round(p99 / f99, 1), shown])
    print_table(["endpoint", "case", "requests", "p50 ms", "p95 ms", "p99 ms", "p50 ÷ floor", "p99 ÷ floor",
                 "found"], rows,
                title=f"Lookups ({stack.short_mode} servers; client wall time, sequential, one keep-alive connection)")
    cpu = ", ".join(f"{k} {v:.0f} %" for k, v in meter.proc_pct.items())
    shared = " (servers shared with other work: their CPU includes it)" if stack.servers_shared else ""
    print(f"  machine {meter.machine_busy_pct:.0f} % busy over {meter.wall:.0f} s; CPU of one core: bench "
          f"{meter.bench_pct:.0f} %, {cpu}{shared}")
    print("\nGoals (the issue; each judged on its worst case, the pooled p99 of all its cases beside):")
    for group, bar in BARS.items():
        mine = [c for c in cases if c.group == group]
        worst = max(mine, key=lambda c: percentile(c.times, 99))
        w99 = percentile(worst.times, 99)
        pooled = percentile([t for c in mine for t in c.times], 99)
        print(goal(f"{BAR_TEXT[group]} p99 < {bar:.0f} ms: worst {w99:,.1f} ms", w99 < bar)
              + f"   ({worst.name}; pooled p99 {pooled:,.1f} ms; floor p99 {f99:,.1f} ms)")


if __name__ == "__main__":
    sys.exit(main())
