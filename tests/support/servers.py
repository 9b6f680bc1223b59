"""Test servers: a fresh database and a private queue prefix per run, on embedded or named servers."""
from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.db import admin_url, normalise_url

ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = Path(os.environ.get("HOTLINE_TEST_DATA_DIR", ROOT / ".hotline-test"))
RUN = uuid.uuid4().hex[:8]


def prepare() -> dict[str, str]:
    """Create this run's database and return the HOTLINE_* variables that point at it."""
    base_db = os.environ.get("HOTLINE_DATABASE_URL")
    base_redis = os.environ.get("HOTLINE_REDIS_URL")
    if base_db:
        base_db = normalise_url(base_db)
    else:
        from service.embedded import ensure_postgres

        base_db = ensure_postgres(TEST_DATA)
    if not base_redis:
        from service.embedded import ensure_redis

        base_redis = ensure_redis(TEST_DATA)
    name = f"hotline_test_{RUN}"
    admin = create_engine(admin_url(base_db), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return {
        "HOTLINE_DATABASE_URL": make_url(base_db).set(database=name).render_as_string(hide_password=False),
        "HOTLINE_REDIS_URL": base_redis,
        "HOTLINE_QUEUE_PREFIX": f"hotline-test-{RUN}",
        "HOTLINE_DATA_DIR": str(TEST_DATA),
        # Fresh secrets per run: nothing in the repository signs anything the service accepts.
        "HOTLINE_SECRET_KEY": secrets.token_urlsafe(48),
        "HOTLINE_BANGQIYUN_SECRET": secrets.token_urlsafe(32),
        "HOTLINE_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "HOTLINE_BCRYPT_ROUNDS": "4",  # the cost factor only slows the suite; hashing itself is tested
        "HOTLINE_USER_CACHE_SECONDS": "0",
        "HOTLINE_UNIT_CACHE_SECONDS": "0",  # tests set a webhook and expect the very next message to use it  # each test truncates users, so ids come back with other roles
    }


def drop(db_url: str) -> None:
    """Drop this run's database."""
    admin = create_engine(admin_url(db_url), isolation_level="AUTOCOMMIT")
    name = make_url(db_url).database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
