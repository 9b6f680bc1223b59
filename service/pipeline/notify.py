"""Outbound notifications: an outbox row per message in the change's own transaction, delivered
by a worker with retries and backoff; every attempt is recorded, nothing is dropped."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from models import Notification, NotificationAttempt, Ticket, Unit
from service.config import get_settings
from service.effects import DeliverNotifications
from service.security import egress
from service.security.signatures import sign
from service.unit_of_work import UnitOfWork



def ticket_payload(ticket: Ticket, event: str) -> dict:
    return {"event": event, "ticket_id": ticket.id, "number": ticket.number, "status": ticket.status,
            "lead_unit": ticket.lead_unit_code, "external_id": ticket.external_id, "channel": ticket.channel_code,
            "title": ticket.title, "supervision": ticket.supervision,
            "resolve_due_at": ticket.resolve_due_at.isoformat() if ticket.resolve_due_at else None,
            "at": datetime.now(UTC).isoformat()}


def to_unit(session: UnitOfWork, ticket: Ticket, event: str, unit_code: str | None = None) -> bool:
    """Queue a webhook to the unit (the lead by default), if it has a URL."""
    unit_code = unit_code or ticket.lead_unit_code
    url = unit_code and webhook_urls(session).get(unit_code)
    if not url:
        return False
    _add(session, Notification(ticket_id=ticket.id, target="unit", unit_code=unit_code, url=url, event=event,
                               payload=ticket_payload(ticket, event)))
    return True


_urls: dict = {"at": -1e9, "map": {}}


def webhook_urls(session: UnitOfWork) -> dict[str, str]:
    """Units' webhook addresses, re-read at most every unit_cache_seconds (they change rarely)."""
    if time.monotonic() - _urls["at"] >= get_settings().unit_cache_seconds:
        rows = session.execute(select(Unit.code, Unit.webhook_url).where(Unit.webhook_url.isnot(None)))
        _urls.update(at=time.monotonic(), map=dict(rows.all()))
    return _urls["map"]


def status_push(session: UnitOfWork, ticket: Ticket, event: str) -> bool:
    """Tell 帮企云 the new status of a ticket it sent us."""
    callback = get_settings().bangqiyun_callback_url
    if ticket.channel_code != "bangqiyun" or not ticket.external_id or not callback:
        return False
    _add(session, Notification(ticket_id=ticket.id, target="bangqiyun", url=callback, event=event,
                               payload=ticket_payload(ticket, event)))
    return True


def _add(session: UnitOfWork, row: Notification) -> None:
    session.add(row)
    session.add_effect(DeliverNotifications())


def _secret(target: str) -> str:
    s = get_settings()
    return s.bangqiyun_secret if target == "bangqiyun" else s.webhook_secret


def deliver_one(session: UnitOfWork, n: Notification, client: httpx.Client) -> bool:
    """One attempt at one notification (the row is locked by the caller)."""
    body = json.dumps(n.payload, ensure_ascii=False, sort_keys=True).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Signature-Timestamp": stamp,
               "X-Signature": "sha256=" + sign(_secret(n.target), stamp, body),
               "X-Hotline-Event": n.event, "X-Hotline-Delivery": str(n.id)}
    started = time.monotonic()
    code, error, refused = None, None, False
    try:
        egress.check_url(n.url, resolve_host=False)  # the client checks the resolved peer
        response = client.post(n.url, content=body, headers=headers)
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except egress.TargetRefused as exc:
        error, refused = f"refused: {exc}"[:500], True
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    session.add(NotificationAttempt(notification_id=n.id, status_code=code, error=error,
                                    duration_ms=int((time.monotonic() - started) * 1000)))
    n.attempts += 1
    if error is None:
        n.status, n.delivered_at, n.last_error = "delivered", func.now(), None
        return True
    n.last_error = error
    # A refused target fails at once: retrying cannot help until its URL or the allow-list changes.
    if refused or n.attempts >= get_settings().webhook_max_attempts:
        n.status = "failed"  # kept with every attempt; `hotline notifications retry` sends it again
    else:
        backoff = get_settings().webhook_backoff_seconds
        delay = backoff[min(n.attempts - 1, len(backoff) - 1)]
        n.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
    return False


def due_batch(session: UnitOfWork, limit: int = 50) -> list[Notification]:
    """Pending notifications whose time has come, locked; other workers skip them."""
    return list(session.scalars(
        select(Notification).where(Notification.status == "pending", Notification.next_attempt_at <= func.now())
        .order_by(Notification.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
    ))


def next_due_in(session: UnitOfWork) -> float | None:
    """Seconds until the next pending attempt, or None when nothing is pending."""
    nxt = session.scalar(select(func.min(Notification.next_attempt_at)).where(Notification.status == "pending"))
    return None if nxt is None else max(0.0, (nxt - datetime.now(UTC)).total_seconds())


def retry_failed(session: UnitOfWork) -> int:
    """Give failed notifications a fresh round of attempts (delivered by a job once the unit commits)."""
    result = session.execute(update(Notification).where(Notification.status == "failed")
                             .values(status="pending", attempts=0, next_attempt_at=func.now()))
    session.add_effect(DeliverNotifications())
    return result.rowcount
