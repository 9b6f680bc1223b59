"""Enterprises as people look them up (the search itself: enterprise_search.py): one record with its contacts and
tickets, the callers known under a phone number, the record an intake picked from a lookup, who may look.

Names are compared folded by the database (hotline_name_key, migration 0018), so a lookup folds its text exactly as
the records were. A record merged into another is an alias: lookups answer the record it was merged into.
"""
from __future__ import annotations

import re

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from models import OPEN_STATUSES, Enterprise, EnterpriseContact, Role, Ticket, User
from routing_rules.vocab import TOWN_CENTRE_PREFIX
from service.domain.bounds import is_id
from service.domain.reference import reference
from service.domain.tickets import visible_to
from service.errors import Forbidden, field_error
from service.schemas.ticket import EnterpriseIn

PHONE_TEXT = re.compile(r"\+?[0-9][0-9\s\-()]*")
# Fewer digits than this are no phone number a caller lookup or a search looks for.
MIN_PHONE_DIGITS = 5
SHOWN_TICKETS = 50
SHOWN_CONTACTS = 50
CALLER_TICKETS = 5
CALLER_ENTERPRISES = 20


def phone_digits(phone: str) -> str:
    """A phone's digits as stored (hotline_phone_digits, migration 0018): a leading 0086 or 86 before a full
    number is the country code."""
    digits = re.sub(r"[^0-9]", "", phone)
    if digits.startswith("0086") and len(digits) >= 14:
        return digits[4:]
    if digits.startswith("86") and len(digits) >= 12:
        return digits[2:]
    return digits


def picked(session: Session, ent: EnterpriseIn) -> int | None:
    """The record an intake names by `enterprise.id` (the one it was merged into, if it was), or None; 422 when
    the id names nothing or the USCC or name given contradict the record."""
    if ent.id is None:
        return None
    query = text("SELECT e.id, e.name, e.uscc, e.merged_into_id, e.name_key = hotline_name_key(:name) AS same_name "
                 "FROM enterprise e WHERE e.id = :id")
    row = session.execute(query, {"id": ent.id, "name": ent.name}).first()
    if row is None:
        raise field_error("enterprise.id", f"no enterprise {ent.id}", zh=f"没有编号为 {ent.id} 的企业", code="not_found")
    target = row if row.merged_into_id is None else \
        session.execute(query, {"id": row.merged_into_id, "name": ent.name}).first()
    if ent.uscc and target.uscc:
        if ent.uscc != target.uscc:
            raise field_error("enterprise.uscc", f"enterprise {target.id} ({target.name}) has USCC {target.uscc}, "
                                                 f"not {ent.uscc}", zh=f"所选企业 {target.name} 的统一社会信用代码是 "
                                                                       f"{target.uscc}，与填写的不一致", code="enterprise_mismatch")
        return target.id  # the same company, under whatever name it gives now
    if ent.uscc:
        other = session.scalar(select(Enterprise.id).where(Enterprise.uscc == ent.uscc))
        if other is not None:
            raise field_error("enterprise.uscc", f"USCC {ent.uscc} belongs to enterprise {other}, not to {target.id} "
                                                 f"({target.name}); an admin merges the two if they are one company",
                              zh=f"该统一社会信用代码属于另一企业（编号 {other}），不是所选企业", code="enterprise_mismatch")
    if not (row.same_name or target.same_name):
        raise field_error("enterprise.name", f"{ent.name!r} is not the name of enterprise {target.id} ({target.name})",
                          zh=f"企业名称与所选企业（{target.name}）不符", code="enterprise_mismatch")
    return target.id


def town_of(user: User) -> str | None:
    """The town whose enterprises a town centre's handler sees; 403 for other handlers; None for other roles."""
    if user.role != Role.HANDLER.value:
        return None
    unit = reference().files["units"].by_code().get(user.unit_code or "")
    if not (user.unit_code or "").startswith(TOWN_CENTRE_PREFIX) or not unit or not unit.get("town"):
        raise Forbidden("only town enterprise service centre staff among handlers look up enterprises (their town's)")
    return unit["town"]


def ticket_counts(session: Session, ids: list[int], user: User) -> dict[int, tuple[int, int]]:
    """(open, total) tickets of each record that `user` may see, each counted through an index of its own."""
    if not ids:
        return {}
    seen = visible_to(user)
    total = (select(func.count()).where(Ticket.enterprise_id == Enterprise.id, seen)
             .correlate(Enterprise).scalar_subquery())
    opened = (select(func.count()).where(Ticket.enterprise_id == Enterprise.id, Ticket.status.in_(OPEN_STATUSES), seen)
              .correlate(Enterprise).scalar_subquery())
    rows = session.execute(select(Enterprise.id, opened, total).where(Enterprise.id.in_(ids)))
    return {i: (o, t) for i, o, t in rows}


def get_visible(session: Session, enterprise_id: int, user: User) -> Enterprise | None:
    """The record, if `user` may look it up (a town centre's handler: its town's only)."""
    if not is_id(enterprise_id):
        return None
    town = town_of(user)
    ent = session.get(Enterprise, enterprise_id)
    if ent is None or (town is not None and ent.town_code != town):
        return None
    return ent


def contacts(session: Session, enterprise_id: int) -> list[EnterpriseContact]:
    """The people and phones the company called from, under this record or one merged into it, latest first."""
    merged = select(Enterprise.id).where(Enterprise.merged_into_id == enterprise_id)
    return list(session.scalars(select(EnterpriseContact).where(
        or_(EnterpriseContact.enterprise_id == enterprise_id, EnterpriseContact.enterprise_id.in_(merged)))
        .order_by(EnterpriseContact.last_seen_at.desc(), EnterpriseContact.id.desc()).limit(SHOWN_CONTACTS)))


def recent_tickets(session: Session, enterprise_id: int, user: User, limit: int) -> list[Ticket]:
    """The record's tickets `user` may see, newest first (at most `limit`)."""
    return list(session.scalars(select(Ticket).where(Ticket.enterprise_id == enterprise_id, visible_to(user))
                                .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)))


def callers(session: Session, phone: str, user: User) -> list[tuple[Enterprise, list[EnterpriseContact]]]:
    """Every record (merged ones answered by their target) with a contact under this phone, with those contacts,
    the latest call first; 422 naming `phone` when it is no phone number."""
    if not PHONE_TEXT.fullmatch(phone.strip()) or not MIN_PHONE_DIGITS <= len(digits := phone_digits(phone)) <= 20:
        raise field_error("phone", "not a phone number (5 to 20 digits, optional +, - and spaces)",
                          zh="不是电话号码（5 到 20 位数字，可带 +、- 和空格）", code="phone_invalid")
    town = town_of(user)
    owner = func.coalesce(Enterprise.merged_into_id, Enterprise.id)
    rows = session.execute(select(EnterpriseContact, owner).join(Enterprise, Enterprise.id ==
                                                                 EnterpriseContact.enterprise_id)
                           .where(EnterpriseContact.phone_digits == digits)
                           .order_by(EnterpriseContact.last_seen_at.desc(), EnterpriseContact.id.desc()).limit(200))
    grouped: dict[int, list[EnterpriseContact]] = {}
    for contact, owner_id in rows:
        grouped.setdefault(owner_id, []).append(contact)
    records = {e.id: e for e in session.scalars(select(Enterprise).where(Enterprise.id.in_(grouped)))}
    out = [(records[i], found) for i, found in grouped.items()
           if i in records and (town is None or records[i].town_code == town)]
    return out[:CALLER_ENTERPRISES]
