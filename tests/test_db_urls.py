"""Database URLs as people write them."""
from __future__ import annotations

from service.db import admin_url, normalise_url


def test_plain_postgresql_url_uses_psycopg3():
    assert normalise_url("postgresql://u:p@db:5432/hotline") == "postgresql+psycopg://u:p@db:5432/hotline"
    assert normalise_url("postgresql+psycopg://u@db/hotline") == "postgresql+psycopg://u@db/hotline"
    assert admin_url("postgresql+psycopg://u:p@db:5432/hotline") == "postgresql+psycopg://u:p@db:5432/postgres"
