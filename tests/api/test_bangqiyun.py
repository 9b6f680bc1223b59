"""帮企云 pushes: signed with HMAC-SHA256; a bad or stale signature writes nothing."""
from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from models import Enterprise, Ticket
from service.config import get_settings
from service.security.signatures import sign
from tests.factories import ticket_body


def _push(client, payload: dict, *, secret: str | None = None, ts: int | None = None, tamper: bool = False):
    raw = json.dumps(payload, ensure_ascii=False).encode()
    stamp = str(ts if ts is not None else int(time.time()))
    sig = sign(secret or get_settings().bangqiyun_secret, stamp, raw)
    if tamper:
        raw = raw.replace("停电".encode(), "停水".encode())
    return client.post("/api/v1/intake/bangqiyun", content=raw,
                       headers={"Content-Type": "application/json", "X-Signature-Timestamp": stamp,
                                "X-Signature": f"sha256={sig}"})


def _payload(**kw) -> dict:
    body = ticket_body(**kw)
    body.pop("channel")
    body["id"] = kw.get("id", "BQY-2026-000123")
    return body


def test_signed_push_becomes_a_ticket_once(client, session):
    first = _push(client, _payload())
    assert first.status_code == 201, first.text
    t = first.json()
    assert t["channel"]["code"] == "bangqiyun" and t["external_id"] == "BQY-2026-000123"
    again = _push(client, _payload())
    assert again.status_code == 200 and again.json()["id"] == t["id"]
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_forged_signature_is_401_and_writes_nothing(client, session):
    assert _push(client, _payload(), secret="not-the-secret").status_code == 401
    r = _push(client, _payload(), tamper=True)
    assert r.status_code == 401 and r.json()["detail"] == "bad signature"
    assert _push(client, _payload(), ts=int(time.time()) - 3600).status_code == 401
    unsigned = client.post("/api/v1/intake/bangqiyun", json=_payload())
    assert unsigned.status_code == 401
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert session.scalar(select(func.count()).select_from(Enterprise)) == 0


def test_signed_but_invalid_payload_names_the_field(client):
    payload = _payload()
    payload["enterprise"]["uscc"] = "123"
    r = _push(client, payload)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "enterprise.uscc"


def test_only_the_documented_sha256_format_is_accepted(client, session):
    """`sha256=<hex>`: a bare hex, another prefix or a non-ASCII value is 401 and writes nothing."""
    raw = json.dumps(_payload(), ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    sig = sign(get_settings().bangqiyun_secret, stamp, raw)
    for given in (sig, f"SHA256={sig}", f"sha1={sig}", f"sha256= {sig}", "sha256=ü" + sig[1:]):
        r = client.post("/api/v1/intake/bangqiyun", content=raw,
                        headers={"Content-Type": "application/json", "X-Signature-Timestamp": stamp,
                                 "X-Signature": given.encode()})
        assert r.status_code == 401, given
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    r = client.post("/api/v1/intake/bangqiyun", content=raw,
                    headers={"Content-Type": "application/json", "X-Signature-Timestamp": stamp,
                             "X-Signature": f"sha256={sig}"})
    assert r.status_code == 201, r.text


def test_a_huge_signature_timestamp_is_401_not_500(client):
    r = _push(client, _payload(), ts=10**400)
    assert r.status_code == 401 and "stale" in r.json()["detail"]
