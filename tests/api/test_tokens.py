"""Bearer tokens: only the configured key signs them, and none lives longer than the maximum lifetime."""
from __future__ import annotations

import time

import jwt
import pytest

from models import Role
from service.config import get_settings
from service.security.users import ALGORITHM
from tests.factories import PASSWORD, login

OLD_DEFAULT_KEY = "change-me-in-production-this-is-only-for-local-use"
DAY, YEAR = 86400, 365 * 86400


def _admin_claims(client) -> dict:
    issued = login(client, "root", Role.ADMIN)["Authorization"].split(" ", 1)[1]
    return jwt.decode(issued, options={"verify_signature": False})


def _get(client, token: str):
    return client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})


def _mint(claims: dict, key: str | None = None) -> str:
    return jwt.encode(claims, key or get_settings().secret_key, algorithm=ALGORITHM)


def test_issued_token_carries_iat_and_lives_its_ttl(client):
    claims = _admin_claims(client)
    assert claims["exp"] - claims["iat"] == get_settings().token_ttl_minutes * 60
    assert abs(claims["iat"] - time.time()) < 60


def test_a_token_signed_with_the_old_default_key_is_refused(client):
    claims = _admin_claims(client)
    forged = _mint({**claims, "iat": int(time.time()), "exp": int(time.time()) + 3600}, OLD_DEFAULT_KEY)
    r = _get(client, forged)
    assert r.status_code == 401 and r.json()["detail"] == "invalid token"
    r = client.post("/api/v1/users", json={"username": "mallory", "password": "pw-123456", "role": "admin"},
                    headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


@pytest.mark.parametrize("change, detail", [
    ({"exp": int(time.time()) + 10 * YEAR}, "token lifetime over the maximum; log in again"),
    ({"iat": int(time.time()) - 2 * DAY, "exp": int(time.time()) + 3600},
     "token lifetime over the maximum; log in again"),
    ({"iat": int(time.time()) + 3600}, "invalid token"),  # issued "in the future"
    ({"iat": "yesterday"}, "invalid token"),
])
def test_a_token_beyond_the_maximum_lifetime_is_refused_whatever_its_exp(client, change, detail):
    claims = _admin_claims(client)
    good = _mint({**claims, "iat": int(time.time()), "exp": int(time.time()) + 3600})
    assert _get(client, good).status_code == 200
    r = _get(client, _mint({**claims, "iat": int(time.time()), **change}))
    assert r.status_code == 401 and r.json()["detail"] == detail


def test_a_token_without_iat_is_refused(client):
    claims = {k: v for k, v in _admin_claims(client).items() if k != "iat"}
    r = _get(client, _mint({**claims, "exp": int(time.time()) + 3600}))
    assert r.status_code == 401 and r.json()["detail"] == "invalid token"


def test_lowering_the_maximum_lifetime_refuses_tokens_already_accepted(client, override_settings):
    """The cache of checked tokens remembers the lifetime it checked against."""
    headers = login(client, "op")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # the remembered check
    override_settings(token_max_lifetime_minutes=60)  # tokens now live 12 h: over the new maximum
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and "maximum" in r.json()["detail"]
    short = client.post("/api/v1/auth/token", data={"username": "op", "password": PASSWORD}).json()
    assert short["expires_in"] == 3600  # the ttl is capped by the maximum
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {short['access_token']}"}).status_code == 200

