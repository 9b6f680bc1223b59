"""Engines, and the unit of work each request, job or command opens (see service/unit_of_work.py)."""
from __future__ import annotations

import logging
import os
import select
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker

from service.aio import PerLoop
from service.config import get_settings
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

def normalise_url(url: str) -> str:
    """A plain postgresql:// URL means our driver (psycopg 3), not SQLAlchemy's default psycopg2."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def admin_url(url: str) -> str:
    """The same server's maintenance database (to create or drop databases)."""
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def database_url() -> str:
    """The configured database URL, starting the embedded server when none is set."""
    settings = get_settings()
    if settings.database_url:
        return normalise_url(settings.database_url)
    from service.embedded import ensure_postgres

    return ensure_postgres(settings.data_dir)


_engines: dict[int, Engine] = {}


def get_engine() -> Engine:
    """The process-wide engine; a forked child (e.g. an RQ work horse) gets its own pool."""
    pid = os.getpid()
    if pid not in _engines:
        for other in list(_engines.values()):
            other.dispose(close=False)  # the parent's connections are not ours to use or close
        _engines.clear()
        _engines[pid] = _create_engine()
    return _engines[pid]


def _create_engine() -> Engine:
    settings = get_settings()
    return create_engine(database_url(), pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
                         **_pool_rules())


def _pool_rules() -> dict:
    """Both engines: a pooled connection is checked before use; waiting for a free one or for a new one ends
    (503) rather than hanging the request."""
    return {"pool_pre_ping": True, "pool_timeout": get_settings().db_pool_timeout_seconds,
            "connect_args": {"connect_timeout": 3}}


def _create_async_engine() -> AsyncEngine:
    settings = get_settings()
    engine = create_async_engine(database_url(), pool_size=settings.db_async_pool_size,
                                 max_overflow=settings.db_async_max_overflow,
                                 **{**_pool_rules(), "pool_pre_ping": False})
    event.listen(engine.sync_engine.pool, "checkout", _closed_by_server)
    return engine


def _closed_by_server(dbapi_connection, record, proxy) -> None:
    """The event loop's pool checks a connection before use without a round trip (intake's hot path pays no
    ping): an idle connection whose socket is readable has heard from the server, which only speaks unasked to
    end the session (a restart, a fail-over, pg_terminate_backend). The pool then discards it and takes another."""
    pgconn = dbapi_connection.driver_connection.pgconn
    try:
        readable = select.select([pgconn.socket], [], [], 0)[0]
    except (OSError, ValueError):  # the socket is already gone
        readable = True
    if readable:
        raise DisconnectionError("the server closed this connection")


_async_engines: PerLoop[AsyncEngine] = PerLoop(_create_async_engine, AsyncEngine.dispose)


async def async_engine() -> AsyncEngine:
    """The engine of the running event loop (psycopg's asyncio connections, same URL and pool rules): for the
    paths that run on the loop instead of a thread."""
    return await _async_engines.get()


async def dispose_async_engine() -> None:
    """Close the running loop's connections (the app's shutdown)."""
    await _async_engines.close_current()


@lru_cache
def _session_factory(pid: int) -> sessionmaker[UnitOfWork]:
    return sessionmaker(bind=get_engine(), class_=UnitOfWork, expire_on_commit=False)


def session_factory() -> sessionmaker[UnitOfWork]:
    """Units of work bound to the process engine; objects stay readable after commit."""
    return _session_factory(os.getpid())


@contextmanager
def unit() -> Iterator[UnitOfWork]:
    """The edge of a job or a command (and of a request that works on a thread): one unit of work; the caller
    commits, leaving without a commit rolls back (and drops the effects)."""
    with session_factory()() as uow:
        yield uow


@asynccontextmanager
async def async_unit(*, single_statement: bool = False) -> AsyncIterator[AsyncSession]:
    """The edge of a request served on the event loop (intake): one unit of work, the same UnitOfWork and the
    same pipeline functions (`await unit.run_sync(fn, ...)` runs them on the loop, psycopg's asyncio connection
    underneath), with no thread hop. Its commit holds the effects; the edge runs them on the loop with
    `service.effects.run_all_async(unit.sync_session.take_held())`, so a slow Redis never blocks the loop.

    `single_statement`: the caller knows the unit writes with one statement (an intake with nothing else to do in
    the same transaction), which is a transaction of its own: the connection runs in autocommit and no BEGIN and
    COMMIT round trips are spent around it."""
    engine = await async_engine()
    if single_statement:
        engine = _autocommit(engine)
    async with AsyncSession(bind=engine, sync_session_class=UnitOfWork, expire_on_commit=False) as unit:
        unit.sync_session.hold_effects = True
        yield unit


_autocommit_engines: dict[int, AsyncEngine] = {}


def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The engine (same pool) with its connections in autocommit while a unit holds one; made once per engine."""
    key = id(engine)
    if key not in _autocommit_engines or _autocommit_engines[key].sync_engine.pool is not engine.sync_engine.pool:
        _autocommit_engines[key] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return _autocommit_engines[key]


def reset_engine() -> None:
    """Drop the cached engine (settings changed, or a forked process)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _session_factory.cache_clear()
    _autocommit_engines.clear()
    _async_engines.reset()


async def get_session() -> AsyncIterator[UnitOfWork]:
    """FastAPI dependency, the edge of a request: one unit of work, rolled back unless the route committed it.

    Made and closed on the event loop (no thread hop per request): a session holds no connection until the
    route uses it, and one still in a transaction (a route that failed or only read) is closed on a thread,
    because that rollback waits on the database."""
    session = session_factory()()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[UnitOfWork, Depends(get_session)]

