"""Contact data is personal data (PIPL): who sees a contact phone in full, and how it is masked for the others.

Every path that shows a ticket's phone (the API's ticket answers and the spreadsheet export) goes through
`shown_phone`, and every path that shows an enterprise's contacts through `shown_contact_phone`, so the rule lives
in one place.
"""
from __future__ import annotations

import re
from typing import Any

from models import Role, User

# Roles that work with the enterprise directly: the call takers and the dispatchers who place its ticket.
FULL_CONTACT_ROLES = frozenset({Role.OPERATOR.value, Role.DISPATCHER.value})

# An 11-digit mainland mobile, optionally after the country code: 138****8000, +86 138****8000.
_MOBILE = re.compile(r"(\+?86[ -]?)?(1\d{2})[ -]?\d{4}[ -]?(\d{4})")
# A leading country code or area code written with a separator stays readable: 0577-****4567.
_PREFIX = re.compile(r"\+\d{1,3}[ -]|0\d{2,3}[ -]")


def mask_phone(phone: str | None) -> str | None:
    """The phone with its middle digits replaced by '*': enough to recognise, not enough to call."""
    if not phone:
        return phone
    phone = phone.strip()
    if mobile := _MOBILE.fullmatch(phone):
        return f"{mobile.group(1) or ''}{mobile.group(2)}****{mobile.group(3)}"
    prefix = _PREFIX.match(phone)
    head = prefix.group(0) if prefix else ""
    rest = phone[len(head):]
    digits = sum(c.isdigit() for c in rest)
    # A local number keeps its last 4 digits; a short one (a service number, an extension) only its last 2.
    keep = 4 if digits >= 7 else 2 if digits >= 4 else 0
    out, seen = [], 0
    for c in rest:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - keep else "*")
        else:
            out.append(c)
    return head + "".join(out)


def sees_full_contact(user: User | None, ticket: Any) -> bool:
    """Whether `user` needs the ticket's full phone: operators, dispatchers, and handlers of the lead unit or of
    the town centre that registered it. Leaders, admins and assisting units see it masked. No user is a signed
    platform push, answered the phone it sent. `ticket` is a Ticket or a row with the same column names."""
    if user is None:
        return True
    if user.role in FULL_CONTACT_ROLES:
        return True
    if user.role == Role.HANDLER.value and user.unit_code:
        return user.unit_code in (ticket.lead_unit_code, ticket.registered_by_unit_code)
    return False


def shown_phone(user: User | None, ticket: Any, *, full: bool = True) -> str | None:
    """The contact phone as `user` sees it; full=False masks it for everyone (the list, action answers)."""
    if full and sees_full_contact(user, ticket):
        return ticket.contact_phone
    return mask_phone(ticket.contact_phone)


def shown_contact_phone(user: User, phone: str) -> str:
    """A phone an enterprise called from, not tied to one ticket (an enterprise's contacts): in full for the roles
    that work with enterprises directly, masked for every other."""
    return phone if user.role in FULL_CONTACT_ROLES else mask_phone(phone)
