"""Migrations applied to a database that already holds tickets."""
from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.db import admin_url
from service.domain.textsearch import tokens
from service.migrate import upgrade


def test_ticket_tokens_are_filled_for_earlier_tickets_and_the_sql_tokenizer_is_gone():
    base = os.environ["HOTLINE_DATABASE_URL"]
    name = f"hotline_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        upgrade(url, "0011")
        texts = [("厂区突然停电", "今天上午变压器跳闸，ABC线停工。"), ("招工难", "")]
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO channel (code, label, description) VALUES ('hotline_96666', '96666', '')"))
            ent = conn.execute(text("INSERT INTO enterprise (uscc, name) VALUES ('91330382MA2AAAAA0X', '甲公司') "
                                    "RETURNING id")).scalar()
            for i, (title, description) in enumerate(texts):
                conn.execute(text(
                    "INSERT INTO ticket (number, channel_code, enterprise_id, enterprise_name, uscc, contact_name, "
                    "contact_phone, request_type, urgency, title, description, search_vector, status) VALUES "
                    "(:n, 'hotline_96666', :e, '甲公司', '91330382MA2AAAAA0X', '王', '13800000000', 'help', "
                    "'normal', :t, :d, to_tsvector('simple', ''), 'new')"), {"n": f"T{i}", "e": ent, "t": title,
                                                                              "d": description})
        upgrade(url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT tokens FROM ticket ORDER BY number")).scalars().all()
            functions = conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname IN ('hotline_tokens', "
                                          "'hotline_jaccard')")).scalar()
        assert stored == [list(dict.fromkeys(tokens(f"{t} {d}"))) for t, d in texts]
        assert functions == 0
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_earlier_tickets_are_found_by_number_phone_contact_and_opinion_after_0019():
    base = os.environ["HOTLINE_DATABASE_URL"]
    name = f"hotline_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        upgrade(url, "0018")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO channel (code, label, description) VALUES ('hotline_96666', '96666', '')"))
            ent = conn.execute(text("INSERT INTO enterprise (uscc, name) VALUES ('91330382MA2AAAAA0X', '甲公司') "
                                    "RETURNING id")).scalar()
            ticket = conn.execute(text(
                "INSERT INTO ticket (number, channel_code, enterprise_id, enterprise_name, uscc, contact_name, "
                "contact_phone, request_type, urgency, title, description, search_vector, status) VALUES "
                "('20261130-0000042', 'hotline_96666', :e, '甲公司', '91330382MA2AAAAA0X', '王建国', '138-0013-8000', "
                "'help', 'normal', '停电', '厂区停电', to_tsvector('simple', '停电 厂区 区停'), 'resolved') RETURNING id"),
                {"e": ent}).scalar()
            conn.execute(text("INSERT INTO ticket_event (ticket_id, kind, actor, payload) VALUES (:t, 'resolved', "
                              "'power', '{\"opinion\": \"已更换熔断器\"}')"), {"t": ticket})
        upgrade(url)
        with engine.connect() as conn:
            def found(query: str) -> bool:
                return conn.execute(text("SELECT search_vector @@ CAST(:q AS tsquery) FROM ticket"), {"q": query}).scalar()

            assert found("'n:20261130-0000042'") and found("'n:20261130':*")
            assert found("'p:8000'") and found("'p:0013':*") and found("'p:13800138000'")
            assert found("'王建' & '建国'") and found("'熔断' & '断器'") and found("'停电'")
            assert not found("'p:7777':*") and not found("'n:20261201':*")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
