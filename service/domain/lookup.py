"""What `?q=` finds in the one table: words, the ticket number, a fragment of the contact phone, the contact's name
and the handlers' opinions, all through the one search vector and its GIN index.

Words are the tokens of service.domain.textsearch (the one tokenizer): the title and description, the enterprise's
and the contact's names (written by intake), and every 办理意见, 即时办结 answer and 协办意见 (added as they are
given, `index_opinion`). The number and the phone are lexemes no token can be, added by a database trigger
(migration 0019): `n:<number>`, and `p:<digits>` for each tail of the phone's digits of at least 4 digits, so that
a number's prefix and any fragment of a phone are a prefix query (`'p:3800':*`) on the same index.

A phone is personal data: it is matched only where the searcher would see it in full (service.domain.privacy):
operators and dispatchers, and handlers on the tickets their unit leads or its town centre registered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce

from sqlalchemy import ColumnElement, and_, cast, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from models import EventKind, Role, Ticket, TicketEvent, User
from service.config import get_settings
from service.domain.privacy import FULL_CONTACT_ROLES
from service.domain.textsearch import token_string, tokens

# A ticket number as people quote it: its day, then (with or without the dash) the start of its sequence.
_NUMBER = re.compile(r"(\d{8})-?(\d{0,12})")
# A phone as people type it: digits with spaces, dashes, a plus or brackets.
_PHONE = re.compile(r"[\d\s+\-()（）]+")
MIN_PHONE_DIGITS = 4
MAX_PHONE_DIGITS = 20  # the lexemes hold at most this many digits (hotline_ticket_lookup)

# The history's opinions that search finds, with the payload key holding each.
OPINION_KINDS = {EventKind.RESOLVED.value: "opinion", EventKind.INSTANT_RESOLVED.value: "answer",
                 EventKind.ASSIST_OPINION.value: "opinion"}


@dataclass(frozen=True)
class Terms:
    """A `q` read three ways: its word tokens, a ticket number's prefix, a phone fragment's digits."""

    words: str
    number: str | None
    phone: str | None


def read(q: str) -> Terms:
    """The ways `q` can match: always as words; as a number when it starts like one (the day, 8 digits); as a phone
    when it is digits (with the usual separators) of which there are at least 4."""
    text = q.strip()
    number = phone = None
    if matched := _NUMBER.fullmatch(text):
        day, sequence = matched.groups()
        number = f"{day}-{sequence}" if sequence else day
    if _PHONE.fullmatch(text):
        digits = re.sub(r"\D", "", text)
        if MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
            phone = digits
    return Terms(token_string(text), number, phone)


def _prefix(lexeme: str) -> ColumnElement:
    """A prefix query on one lexeme (only digits, '-', 'n:' and 'p:' reach here: nothing to escape)."""
    assert re.fullmatch(r"[np]:[0-9-]+", lexeme)
    return cast(literal(f"'{lexeme}':*"), TSQUERY)


def _phone_scope(user: User | None) -> bool | ColumnElement[bool]:
    """Where `user` may match a phone, i.e. would see it in full: every ticket (True), none (False), or those of a
    condition."""
    if user is None:
        return False
    if user.role in FULL_CONTACT_ROLES:
        return True
    if user.role == Role.HANDLER.value and user.unit_code:
        return or_(Ticket.lead_unit_code == user.unit_code, Ticket.registered_by_unit_code == user.unit_code)
    return False


def matches(q: str, user: User | None) -> ColumnElement[bool] | None:
    """The condition `q` puts on the one table for `user`, or None when it asks nothing (no token, no number)."""
    terms = read(q)
    queries = []
    if terms.words:
        queries.append(func.plainto_tsquery("simple", terms.words))
    if terms.number:
        queries.append(_prefix(f"n:{terms.number}"))
    scope = _phone_scope(user) if terms.phone else False
    if scope is True:
        queries.append(_prefix(f"p:{terms.phone}"))
    conditions = []
    if queries:
        conditions.append(Ticket.search_vector.op("@@")(reduce(lambda a, b: a.op("||")(b), queries)))
    if scope is not True and scope is not False:  # a handler: only where its unit sees the phone
        conditions.append(and_(Ticket.search_vector.op("@@")(_prefix(f"p:{terms.phone}")), scope))
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def _terms(*texts: str, cap: int | None = None) -> str:
    distinct = list(dict.fromkeys(t for text in texts for t in tokens(text or "")))
    return " ".join(distinct[:cap] if cap else distinct)


def index_opinion(session: Session, ticket_id: int, text: str) -> None:
    """Add an opinion's tokens (at most search_max_tokens) to the ticket's search vector."""
    terms = _terms(text, cap=get_settings().search_max_tokens)
    if not terms:
        return
    session.execute(update(Ticket).where(Ticket.id == ticket_id)
                    .values(search_vector=func.coalesce(Ticket.search_vector, func.to_tsvector("simple", ""))
                            .op("||")(func.to_tsvector("simple", terms)))
                    .execution_options(synchronize_session=False))


def reindex(session: Session, ticket: Ticket) -> None:
    """Write the ticket's search vector again from what it holds now (after its enterprise changed): as intake
    wrote it, with the opinions of its history."""
    cap = get_settings().search_max_tokens
    opinions = session.scalars(
        select(func.coalesce(TicketEvent.payload["opinion"].astext, TicketEvent.payload["answer"].astext, ""))
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(list(OPINION_KINDS)))
        .order_by(TicketEvent.id))
    terms = " ".join(dict.fromkeys([
        *_terms(f"{ticket.title} {ticket.description}", cap=cap).split(),
        *tokens(ticket.enterprise_name or ""), *tokens(ticket.contact_name or ""),
        *_terms(" ".join(opinions), cap=cap).split()]))
    session.execute(update(Ticket).where(Ticket.id == ticket.id)
                    .values(search_vector=func.to_tsvector("simple", terms))
                    .execution_options(synchronize_session=False))
