"""Real PostgreSQL and Redis for every test: embedded by default, or those HOTLINE_* URLs name."""
from __future__ import annotations

import os

import pytest

from tests.support import servers

_env = servers.prepare()
os.environ.update(_env)

from fastapi.testclient import TestClient  # noqa: E402  (imports read the settings set above)
from rq import SimpleWorker  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402
from sqlalchemy import text  # noqa: E402

from service import db  # noqa: E402
from service.config import get_settings  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.domain.reference import seed_reference  # noqa: E402
from service import queues  # noqa: E402

get_settings.cache_clear()
upgrade(_env["HOTLINE_DATABASE_URL"])
with db.session_factory()() as _s:
    seed_reference(_s)
    _s.commit()

DATA_TABLES = ("ticket_event, ticket, enterprise, app_user, notification, notification_attempt, ticket_clock, "
               "stat_daily, stat_duration, stat_monthly, stat_duration_monthly, stat_ticket, stat_queue, "
               "routing_suggestion, routing_model, enterprise_name_change, enterprise_contact, enterprise_merge, "
               "knowledge_article, knowledge_article_version, knowledge_posting, knowledge_term")


def pytest_sessionfinish(session, exitstatus):
    db.reset_engine()
    conn = queues.connection()
    for key in conn.scan_iter(f"*{get_settings().queue_prefix}*"):
        conn.delete(key)
    servers.drop(_env["HOTLINE_DATABASE_URL"])


@pytest.fixture(autouse=True)
def clean_data():
    """Each test starts with no tickets, enterprises or users, and empty queues."""
    with db.get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))
    conn = queues.connection()
    for name in queues.QUEUES:
        q = queues.queue(name)
        q.empty()
        # and its registries: a job a worker of an earlier test left started (a fault run kills workers mid-job)
        # would otherwise expire into the failed registry during a later test's run_jobs()
        conn.delete(*(registry.key for registry in (
            q.started_job_registry, q.failed_job_registry, q.finished_job_registry, q.deferred_job_registry,
            q.scheduled_job_registry, q.canceled_job_registry)))
    for key in conn.scan_iter(f"{get_settings().queue_prefix}:*"):  # flags and throttles of the last test
        conn.delete(key)
    yield


@pytest.fixture
def session():
    with db.session_factory()() as s:
        yield s


@pytest.fixture(scope="session")
def app():
    from service.app import create_app

    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def run_jobs():
    """Run every queued job with a real RQ worker (burst mode); returns how many ran, fails if one failed."""

    def run() -> int:
        conn = queues.worker_connection()
        qs = [queues.queue(n, conn) for n in queues.QUEUES]
        failed = lambda: sum(q.failed_job_registry.count for q in qs)  # noqa: E731
        queued, failed_before = sum(q.count for q in qs), failed()
        SimpleWorker(qs, connection=conn, serializer=JSONSerializer).work(burst=True)
        assert failed() == failed_before, "a job failed; see the worker log above"
        return queued

    return run


@pytest.fixture
def override_settings():
    """Change HOTLINE_* settings for one test; everything cached on them is rebuilt before and after."""
    saved: dict[str, str | None] = {}

    def apply(**values):
        for key, value in values.items():
            env = f"HOTLINE_{key.upper()}"
            saved.setdefault(env, os.environ.get(env))
            os.environ[env] = str(value)
        _refresh()

    yield apply
    for env, value in saved.items():
        if value is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = value
    _refresh()


def _refresh():
    get_settings.cache_clear()
    db.reset_engine()
    queues.reset_connections()
