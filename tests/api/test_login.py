"""Logging in: failed attempts are limited per account and per address, and timing does not reveal usernames."""
from __future__ import annotations

import logging
import statistics
import time

import bcrypt
from sqlalchemy import update

from models import Role, User
from tests.factories import PASSWORD, add_user

TOKEN = "/api/v1/auth/token"


def _login(client, username: str, password: str):
    return client.post(TOKEN, data={"username": username, "password": password})


def test_429_with_retry_after_after_the_account_limit_then_login_works_again(client, override_settings):
    override_settings(login_max_failures_per_account=3, login_lockout_seconds=0.5)
    add_user("op", Role.OPERATOR)
    assert [_login(client, "op", "wrong").status_code for _ in range(3)] == [401, 401, 401]
    locked = _login(client, "op", PASSWORD)  # even the right password, while locked
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "1"
    assert locked.json()["error"] == "too_many_attempts" and locked.json()["retry_after"] == 1
    assert _login(client, "someone-else", "wrong").status_code == 401  # other accounts are not locked
    time.sleep(0.6)
    assert _login(client, "op", PASSWORD).status_code == 200


def test_unknown_usernames_are_locked_out_alike(client, override_settings):
    """Otherwise the lock-out itself would tell which usernames exist."""
    override_settings(login_max_failures_per_account=2)
    assert [_login(client, "nobody", "wrong").status_code for _ in range(3)] == [401, 401, 429]
    assert 800 <= int(_login(client, "nobody", "wrong").headers["Retry-After"]) <= 900


def test_the_address_limit_spans_accounts(client, override_settings):
    override_settings(login_max_failures_per_account=100, login_max_failures_per_address=4)
    add_user("op", Role.OPERATOR)
    codes = [_login(client, f"guess{i}", "wrong").status_code for i in range(4)]
    assert codes == [401] * 4
    assert _login(client, "op", PASSWORD).status_code == 429


def test_a_success_clears_the_account_count(client, override_settings):
    override_settings(login_max_failures_per_account=3)
    add_user("op", Role.OPERATOR)
    for _ in range(2):
        assert _login(client, "op", "wrong").status_code == 401
    assert _login(client, "op", PASSWORD).status_code == 200
    assert [_login(client, "op", "wrong").status_code for _ in range(3)] == [401, 401, 401]
    assert _login(client, "op", "wrong").status_code == 429


def test_the_limit_holds_across_api_processes(client, app, override_settings):
    """The count is in Redis: a second app (another process's view) sees the lock."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    override_settings(login_max_failures_per_account=2)
    add_user("op", Role.OPERATOR)
    assert _login(client, "op", "wrong").status_code == 401
    with TestClient(create_app()) as other:
        assert _login(other, "op", "wrong").status_code == 401
        assert _login(other, "op", PASSWORD).status_code == 429
    assert _login(client, "op", PASSWORD).status_code == 429


def test_login_works_when_redis_is_unreachable(client, override_settings, caplog):
    add_user("op", Role.OPERATOR)
    override_settings(redis_url="redis://127.0.0.1:9/0", login_max_failures_per_account=1)  # nothing listens
    with caplog.at_level(logging.WARNING, logger="service.api.login_limit"):
        assert [_login(client, "op", "wrong").status_code for _ in range(3)] == [401, 401, 401]
        assert _login(client, "op", PASSWORD).status_code == 200
    assert "Redis unavailable" in caplog.text


def test_unknown_and_known_usernames_cost_the_same_bcrypt_check(client, session, override_settings, monkeypatch):
    """One bcrypt check of the configured cost either way (an inactive user too); counted, then timed."""
    override_settings(bcrypt_rounds=8, login_max_failures_per_account=1000, login_max_failures_per_address=1000)
    add_user("op", Role.OPERATOR)
    add_user("gone", Role.OPERATOR)
    session.execute(update(User).where(User.username == "gone").values(active=False))
    session.commit()

    checked: list[bytes] = []
    checkpw = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        checked.append(hashed)
        return checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    for username in ("op", "nobody", "gone"):
        checked.clear()
        assert _login(client, username, "wrong-pw").status_code == 401
        assert len(checked) == 1 and checked[0].startswith(b"$2b$08$"), username

    def seconds(username: str) -> float:
        t0 = time.perf_counter()
        assert _login(client, username, "wrong-pw").status_code == 401
        return time.perf_counter() - t0

    seconds("nobody")  # warm-up (the dummy hash is made on first use)
    # Interleaved, so that load from elsewhere on the machine weighs on both alike; before, the ratio was ~0.1.
    pairs = [(seconds("op"), seconds("nobody")) for _ in range(11)]
    known, unknown = (statistics.median(side) for side in zip(*pairs, strict=True))
    assert 1 / 3 < unknown / known < 3, (known, unknown)
