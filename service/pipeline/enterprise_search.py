"""Enterprise search: any fragment of the name, a USCC or its beginning, a contact's phone (or its end), ranked and
paged, fast on a city's enterprises (100,000 records, a million tickets).

Rank 0 is the exact USCC or phone, 1 a name (folded) or USCC beginning with the text, 2 a name holding it or a phone
ending with it; among equals the most recent contact first (by its hour), then the newest record. A page is filled rank by rank,
each read through indexes of its own and never more than the page needs: the exact ones by the USCC's unique index
and the contacts' digits; beginnings by the pattern indexes of the folded names and of the USCCs (ranges, which
stay indexable in a prepared statement); names holding the text by walking the records in contact order when it is
common (a page is met soon), else through the GIN index of the names' characters and pairs of characters; a phone's
end by the contacts' reversed digits. A record merged into another is answered by that one, and a record is listed
once, under its best rank.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import BigInteger, ColumnElement, and_, any_, bindparam, false, func, not_, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from models import Enterprise, EnterpriseContact, User
from service.domain.bounds import is_id
from service.errors import field_error
from service.pipeline.enterprises import MIN_PHONE_DIGITS, PHONE_TEXT, phone_digits, town_of

# What a USCC is made of (GB 32100-2015: digits and capitals but I, O, S, V, Z).
_USCC_CHARS = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2,18}")
# From this many digits a number is also looked for as the end of a stored one (a landline without its area code);
# a phone number has at most 15 digits (E.164): more is a code, not a phone.
SUFFIX_DIGITS = 7
MAX_PHONE_DIGITS = 15


@dataclass
class EnterpriseQuery:
    q: str | None = None
    town: list[str] = field(default_factory=list)
    county: list[str] = field(default_factory=list)
    on_roster: bool | None = None


def encode_cursor(rank: int, last: datetime | None, enterprise_id: int) -> str:
    raw = f"e:{rank}:{last.isoformat() if last else ''}:{enterprise_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime | None, int]:
    """(rank, last contact's hour in UTC, id) a cursor points after; 422 naming `cursor` when it was not made by
    us."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, rest = raw.split(":", 1)
        rank, rest = rest.split(":", 1)
        last, enterprise_id = rest.rsplit(":", 1)
        out = (int(rank), datetime.fromisoformat(last) if last else None, int(enterprise_id))
        if prefix != "e" or out[0] not in (0, 1, 2) or not is_id(out[2]) or (out[1] and out[1].tzinfo is not None):
            raise ValueError
        return out
    except (ValueError, IndexError, binascii.Error, UnicodeDecodeError):
        raise field_error("cursor", "not a cursor returned by this endpoint") from None


def _after(prefix: str) -> str:
    """The smallest text after every text beginning with `prefix`, in byte order (the pattern operators' order)."""
    nxt = ord(prefix[-1]) + 1
    if 0xD800 <= nxt <= 0xDFFF:
        nxt = 0xE000
    return prefix[:-1] + chr(min(nxt, 0x10FFFF))


def _begins(column, prefix: str) -> ColumnElement[bool]:
    """`column` begins with `prefix`, as a range a pattern index answers (also in a prepared statement)."""
    return and_(column.op("~>=~")(prefix), column.op("~<~")(_after(prefix)))


# The most recent contact first (by its hour, migration 0021), then the newest record.
_RECENT = (Enterprise.contact_hour.desc().nulls_last(), Enterprise.id.desc())


def _later(last: datetime | None, enterprise_id: int) -> ColumnElement[bool]:
    """Records after (last, id) in the order last contact's hour newest first and never last, then id newest
    first."""
    at = Enterprise.contact_hour
    if last is None:
        return and_(at.is_(None), Enterprise.id < enterprise_id)
    return or_(at < last, and_(at == last, Enterprise.id < enterprise_id), at.is_(None))


# Rank 2 looks at this many records in contact order first (a common fragment fills a page there); a rarer one is
# read through the name index, all of its records when there are at most PROBE.
WALK = 2000
PROBE = 2000


@dataclass
class _Terms:
    """What q can be: a name fragment (folded by the database), a USCC (or its beginning), a phone number."""

    q: str
    code: str | None
    digits: str | None


def search(session: Session, flt: EnterpriseQuery, user: User, *, cursor: str | None,
           limit: int) -> tuple[list[tuple[Enterprise, int]], str | None]:
    """One page of (record, rank), best first; a town centre's handler sees its town's records only."""
    town = town_of(user)
    filters = [Enterprise.merged_into_id.is_(None)]
    if town is not None:
        filters.append(Enterprise.town_code == town)
    if flt.town:
        filters.append(Enterprise.town_code.in_(flt.town))
    if flt.county:
        filters.append(Enterprise.county_code.in_(flt.county))
    if flt.on_roster is not None:
        filters.append(Enterprise.on_roster.is_(flt.on_roster))
    after = decode_cursor(cursor) if cursor else None
    q = (flt.q or "").strip()
    if not q:
        query = select(Enterprise).where(*filters, *([_later(*after[1:])] if after else []))
        return _paged([(e, 0) for e in session.scalars(query.order_by(*_RECENT).limit(limit + 1))], limit)
    # Each step reads a few index pages: a parallel worker's start-up costs more than the step itself (and
    # leaves a page waiting on it), so this transaction plans without one.
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    ranks = _Ranks(session, _terms(q))
    found: list[tuple[int, int]] = []
    for rank in (0, 1, 2):
        if after is not None and after[0] > rank:
            continue
        wanted = limit + 1 - len(found)
        keyset = [_later(*after[1:])] if after is not None and after[0] == rank else []
        found += [(i, rank) for i in ranks.page(rank, [*filters, *keyset], wanted)]
        if len(found) > limit:
            break
    records = {e.id: e for e in session.scalars(select(Enterprise).where(Enterprise.id.in_([i for i, _ in found])))}
    return _paged([(records[i], r) for i, r in found], limit)


def _terms(q: str) -> _Terms:
    code = re.sub(r"[\s\-]", "", q).upper()
    digits = phone_digits(q) if PHONE_TEXT.fullmatch(q) else ""
    return _Terms(q=q, code=code if _USCC_CHARS.fullmatch(code) else None,
                  digits=digits if MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS else None)


class _Ranks:
    """Each rank's records, a page at a time, in page order; none also found under a better rank."""

    def __init__(self, session: Session, terms: _Terms):
        self.session = session
        key = func.hotline_name_key(terms.q)
        owner = func.coalesce(Enterprise.merged_into_id, Enterprise.id)
        by_phone = select(owner).join(EnterpriseContact, EnterpriseContact.enterprise_id == Enterprise.id)
        aliases = select(Enterprise.merged_into_id).where(Enterprise.merged_into_id.is_not(None))  # few
        nothing = select(Enterprise.id).where(false())
        ends = _begins(func.reverse(EnterpriseContact.phone_digits), terms.digits[::-1]) \
            if terms.digits and len(terms.digits) >= SUFFIX_DIGITS else None
        # One round trip: the folded text, and the few records found other than through the name and code indexes.
        row = session.execute(select(
            key,
            func.array(select(Enterprise.id).where(Enterprise.uscc == terms.code).scalar_subquery()
                       if terms.code and len(terms.code) == 18 else nothing.scalar_subquery()),
            func.array(by_phone.where(EnterpriseContact.phone_digits == terms.digits).scalar_subquery()
                       if terms.digits else nothing.scalar_subquery()),
            func.array(aliases.where(func.starts_with(Enterprise.name_key, key)).scalar_subquery()),
            func.array(aliases.where(func.strpos(Enterprise.name_key, key) > 0).scalar_subquery()),
            func.array(by_phone.where(ends).scalar_subquery() if ends is not None else nothing.scalar_subquery()),
        )).one()
        self.key = row[0]
        # A whole USCC or phone number is looked for as such, not in names too.
        self.names = not ((terms.code and len(terms.code) == 18) or
                          (terms.digits and len(terms.digits) >= SUFFIX_DIGITS and terms.q.isascii()))
        self.exact = sorted(set(row[1]) | set(row[2]))
        self.alias_begins, self.alias_holds, self.phone_ends = (sorted(set(ids)) for ids in row[3:])
        self.others = self.alias_holds + self.phone_ends
        self.begins = _begins(Enterprise.name_key, self.key)
        self.code = and_(Enterprise.uscc.is_not(None), _begins(Enterprise.uscc, terms.code)) \
            if terms.code and len(terms.code) < 18 else None  # never NULL: its negation leaves out no record
        # Holds the fragment, not at its start: the index finds the candidates, the position decides.
        self.inside = func.strpos(Enterprise.name_key, self.key) > 1
        self.indexed = func.hotline_name_grams(Enterprise.name_key).op("@>")(func.hotline_query_grams(self.key))

    def _first(self) -> ColumnElement[bool]:
        """Found under rank 0 or 1: left out of the ranks after."""
        parts = [self.begins, Enterprise.id == any_(_ids(self.exact + self.alias_begins))]
        return or_(*parts, *([self.code] if self.code is not None else []))

    def page(self, rank: int, where: list, n: int) -> list[int]:
        """The first n ids of a rank under `where` (the filters, and the cursor when it lies in this rank)."""
        if rank == 0:
            if not self.exact:
                return []
            condition = Enterprise.id == any_(_ids(self.exact))
        elif rank == 1:
            condition = and_(or_(self.begins, Enterprise.id == any_(_ids(self.alias_begins)),
                                 *([self.code] if self.code is not None else [])),
                             not_(Enterprise.id == any_(_ids(self.exact))))
        elif self.names:
            return self._holding(where, n)
        else:
            condition = and_(Enterprise.id == any_(_ids(self.phone_ends)), not_(self._first()))
        query = select(Enterprise.id).where(condition, *where).order_by(*_RECENT).limit(n)
        return list(self.session.scalars(query))

    def _holding(self, where: list, n: int) -> list[int]:
        """Rank 2: names holding the text (not at their start), records found through an alias or a phone's end.

        A common fragment is met soon walking the records in contact order: the first WALK eligible records are
        looked at first. When they hold fewer than a page, the fragment is rare: the GIN index of the names finds
        all its records (at most PROBE; more, and the walk goes on through every record)."""
        others = _ids(self.others)
        eligible = [not_(self._first()), *where]
        front = select(Enterprise.id, Enterprise.name_key, Enterprise.contact_hour).where(*eligible) \
            .order_by(*_RECENT).limit(WALK).subquery("front")
        found = list(self.session.scalars(
            select(front.c.id).where(or_(func.strpos(front.c.name_key, self.key) > 1, front.c.id == any_(others)))
            .order_by(front.c.contact_hour.desc().nulls_last(), front.c.id.desc()).limit(n)))
        if len(found) == n:
            return found
        # Rare: every eligible record holding it, through the name index, ordered here; too many, and the walk goes on.
        holding = and_(self.indexed, self.inside)
        probe = select(Enterprise.id, Enterprise.contact_hour).where(
            or_(holding, Enterprise.id == any_(others)) if self.others else holding, *eligible) \
            .limit(PROBE + 1).cte("probe")
        rows = self.session.execute(
            select(probe.c.id, select(func.count()).select_from(probe).scalar_subquery())
            .order_by(probe.c.contact_hour.desc().nulls_last(), probe.c.id.desc()).limit(n)).all()
        if not rows or rows[0][1] <= PROBE:
            return [r[0] for r in rows]
        query = select(Enterprise.id).where(or_(self.inside, Enterprise.id == any_(others)), *eligible)
        return list(self.session.scalars(query.order_by(*_RECENT).limit(n)))


def _ids(ids: list[int]):
    """A list of ids as one array parameter (not one parameter each)."""
    return bindparam(None, sorted(set(ids)), type_=ARRAY(BigInteger))


def _paged(rows: list[tuple[Enterprise, int]], limit: int) -> tuple[list[tuple[Enterprise, int]], str | None]:
    if len(rows) <= limit:
        return rows, None
    last, rank = rows[limit - 1]
    return rows[:limit], encode_cursor(rank, last.contact_hour, last.id)
