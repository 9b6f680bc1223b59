"""Intake: every channel's problem becomes one ticket in the one table, exactly once."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from models import OPEN_STATUSES, EventKind, Role, Ticket, TicketStatus, User
from models.enums import sql_list
from routing_rules.vocab import TOWN_CENTRE_PREFIX
from service.config import get_settings
from service.effects import RefreshStats, RouteNewTickets, TicketReceived
from service.errors import field_error
from service.pipeline import clocks, dedupe, enterprises, knowledge, resolution
from service.domain import events
from service.domain.reference import reference
from service.domain.tickets import handler_sees
from service.domain.textsearch import tokens
from service.schemas.ticket import TicketFields
from service.unit_of_work import UnitOfWork

# The statuses of a ticket no longer open (the shorter list to write into the statement).
_NOT_OPEN = tuple(s for s in TicketStatus if s not in OPEN_STATUSES)
# Deferred columns of ticket, never read back by intake.
_UNREAD = ("search_vector", "tokens")


@lru_cache
def _ticket_columns() -> tuple[str, ...]:
    """Every column of ticket but the deferred ones (search vector, tokens)."""
    return tuple(c.name for c in Ticket.__table__.columns if c.name not in _UNREAD)


def _returned_columns() -> list[str]:
    """What the database decides for a new ticket (its id, number and every server default); the rest of a new
    ticket is what the request gave, or empty."""
    return [c.name for c in Ticket.__table__.columns if c.name not in _UNREAD
            and (c.name in ("id", "number") or c.server_default is not None or c.identity is not None)]


@lru_cache
def _statement():
    """The whole intake as one statement, written out once (building it per request cost more than running it).

    It finds, creates or refreshes the enterprise (hotline_intake_enterprise, migration 0018: by the id picked from a
    lookup, the USCC, else the folded name; a known USCC under another name takes the new name, a trigger keeps the
    change in enterprise_name_change for an admin, migration 0017); reads the enterprise's most recent tickets (at
    most `candidates`, in the last `days`, through the (enterprise_id, created_at) index) and scores each by the
    Jaccard similarity of its stored tokens with the new ticket's (|a ∩ b| / (|a| + |b| - |a ∩ b|), the
    intersection counted by one hash join over all the candidates' tokens, so the cost is linear in their number; no
    text is tokenized in the database); inserts the ticket with its tokens, its `created` event (with the repeat
    flag) and its clocks, or nothing when (channel, external_id) is already taken (concurrent replays wait on the
    unique index, then find the winner's row; a replay draws no ticket number: its row is filtered out before the
    number is computed); counts its contact (person and phone) for the caller lookup; and returns the database's
    own values of the new ticket with its possible duplicates: the similar tickets the caller may see that are
    still open and of the same category (any, when the new ticket has none), most similar first (the newest first
    among equals), at most `shown`.
    """
    # text(): data-modifying CTEs chained on each other's RETURNING, ON CONFLICT on a partial index and a LATERAL
    # scoring subquery in one round trip, which Core would build per call at a cost above running it.
    returned = ", ".join([*_returned_columns(), "county_code", "town_code", "enterprise_id"])
    return text(_compact(f"""
        WITH ent AS (
            SELECT * FROM hotline_intake_enterprise(:enterprise_id, :uscc, :name, :county, :town, :chain, :tier,
                                                    :above_scale, :received_at, :channel, :external_id)),
        v AS (SELECT CAST(:viewer_unit AS varchar) AS unit, CAST(:sees_all AS boolean) AS sees_all),
        req AS (SELECT CAST(:channel AS varchar) AS channel, CAST(:external_id AS varchar) AS external_id),
        recent AS (
            SELECT r.* FROM ent CROSS JOIN LATERAL (
                SELECT tk.id, tk.number, tk.title, tk.status, tk.category_code, tk.tokens,
                       coalesce(v.sees_all OR ({_seen_by_viewer()}), false) AS visible
                FROM ticket tk CROSS JOIN v
                WHERE tk.enterprise_id = ent.id AND tk.created_at >= now() - make_interval(days => :days)
                ORDER BY tk.created_at DESC LIMIT :candidates) r),
        shared AS (
            SELECT r.id, count(*) AS n FROM recent r CROSS JOIN LATERAL unnest(r.tokens) x(w)
                 JOIN unnest(CAST(:tokens AS text[])) y(w) USING (w)
            GROUP BY r.id),
        alike AS (
            SELECT r.id, r.number, r.title, r.status, r.category_code, r.visible,
                   s.n::float8 / (cardinality(r.tokens) + :token_count - s.n) AS similarity
            FROM recent r JOIN shared s ON s.id = r.id
            WHERE s.n::float8 / (cardinality(r.tokens) + :token_count - s.n) >= :min_similarity),
        t AS (
            INSERT INTO ticket (number, channel_code, external_id, enterprise_id, enterprise_name, uscc, contact_name,
                                contact_phone, county_code, town_code, request_type, category_code, urgency, title,
                                description, tokens, search_vector, status, registered_by_unit_code,
                                created_by_id, received_at, answered_locally)
            SELECT to_char(timezone(:tz, now()), 'YYYYMMDD') || '-' || lpad(nextval('ticket_number_seq')::text, 7, '0'),
                   req.channel, req.external_id, ent.id, :name, :uscc, :contact_name, :contact_phone,
                   CASE WHEN :placed THEN :county ELSE ent.county_code END,
                   CASE WHEN :placed THEN :town ELSE ent.town_code END,
                   :request_type, :category, :urgency, :title, :description, CAST(:tokens AS text[]),
                   to_tsvector('simple', :search_tokens), :status, :unit, :created_by,
                   coalesce(CAST(:received_at AS timestamptz), now()), :answered_locally
            FROM ent CROSS JOIN req
            WHERE NOT EXISTS (SELECT FROM ticket old WHERE old.channel_code = req.channel
                                                       AND old.external_id = req.external_id)
            ON CONFLICT (channel_code, external_id) WHERE external_id IS NOT NULL DO NOTHING
            RETURNING {returned}),
        contact AS (
            INSERT INTO enterprise_contact AS c (enterprise_id, name, phone, last_seen_at, ticket_count)
            SELECT enterprise_id, :contact_name, :contact_phone, received_at, 1
            FROM t ON CONFLICT (enterprise_id, phone_digits, name) DO UPDATE SET ticket_count = c.ticket_count + 1,
                phone = excluded.phone, last_seen_at = greatest(c.last_seen_at, excluded.last_seen_at)),
        ev AS (
            INSERT INTO ticket_event (ticket_id, kind, to_status, actor_id, actor, unit_code, payload)
            SELECT id, :created_kind, :status, :created_by, :actor, :event_unit,
                   jsonb_build_object('channel', req.channel, 'external_id', req.external_id,
                                      'repeat', EXISTS (SELECT 1 FROM alike))
            FROM t CROSS JOIN req),
        clock AS (
            INSERT INTO ticket_clock (ticket_id, total_seconds, accept_seconds, handle_seconds, paused_seconds,
                                      segments)
            SELECT id, :total_seconds, :accept_seconds, :handle_seconds, :paused_seconds,
                   CAST(:segments AS jsonb) FROM t)
        SELECT t.*, (SELECT coalesce(json_agg(d ORDER BY d.similarity DESC, d.id DESC), '[]') FROM (
                         SELECT id, number, title, status, category_code, round(similarity::numeric, 3) AS similarity
                         FROM alike
                         WHERE visible AND status NOT IN {sql_list(_NOT_OPEN)}
                               AND (CAST(:category AS varchar) IS NULL OR category_code = :category)
                         ORDER BY 6 DESC, id DESC LIMIT :shown) d) AS duplicates
        FROM t"""))


def _compact(sql: str) -> str:
    """The statement on one line: under psycopg's 4 KiB limit for caching a query's conversion (above it, every
    execution parses the text again)."""
    return " ".join(sql.split()).replace("( ", "(").replace(" )", ")")


def _seen_by_viewer() -> str:
    """The ticket read's visibility rule for handlers, as SQL over the viewer's row `v`: the answer lists only the
    similar tickets the caller may read (the repeat flag still counts them all)."""
    seen = handler_sees(literal_column("v.unit"), aliased(Ticket, name="tk"))
    return str(seen.compile(dialect=postgresql.dialect()))


def place(data: TicketFields) -> tuple[str | None, str | None]:
    """The (county, town) the request names: a town implies its county (and must agree with a county given)."""
    county, town = data.county, data.town
    if town:
        town_county = reference().town(town)["county"]
        if county and county != town_county:
            raise field_error("town", f"town {town!r} is in county {town_county!r}, not {county!r}")
        county = town_county
    return county, town


@dataclass
class Registered:
    """What intake answers: the ticket, whether this call created it, and its possible duplicates.

    A new ticket is the row the statement returned (every column: the request's values, the database's), not an
    ORM object; `uow.get(Ticket, registered.ticket.id)` loads one when the caller works on it. A ticket already
    registered under (channel, external_id) is the ORM object, with no duplicates."""

    ticket: Any
    created: bool
    duplicates: list[dedupe.PossibleDuplicate] = field(default_factory=list)


def register(uow: UnitOfWork, data: TicketFields, *, channel: str, external_id: str | None, user: User | None,
             registered_by_unit: str | None = None, system: str = "intake") -> Registered:
    """Register one problem from any channel (the API, 帮企云, an imported sheet, the demo data): the one intake.

    One statement, in the unit's transaction, finds (by the id picked, the USCC, else the folded name), creates or
    refreshes the enterprise (a blank never erases a known value; a ticket that names neither county nor town takes
    the enterprise's), inserts the ticket with its
    stored tokens, its `created` event and its clocks, or nothing when (channel, external_id) is already taken
    (a replay: the first ticket is answered). 重复诉求 (the `repeat` of the created event) is a similar problem
    of the same enterprise, in any status, in the last dedupe_days days; the open ones of the same category that
    the caller may read are the answer's possible duplicates.

    A ticket answered during the call (`instant_answer`) is 即时办结 in the same transaction; any other new
    ticket asks for routing once the unit commits. Either way it is counted once, after the commit.
    """
    if getattr(data, "answered_locally", False) and not (registered_by_unit or "").startswith(TOWN_CENTRE_PREFIX):
        raise field_error("answered_locally", "only a town centre's staff may mark a ticket answered locally")
    article_id = _cited_article(data)
    enterprise_id = enterprises.picked(uow, data.enterprise)
    params, given = _intake_params(data, channel=channel, external_id=external_id, user=user,
                                   registered_by_unit=registered_by_unit, system=system, enterprise_id=enterprise_id)
    row = uow.connection().execute(_statement(), params).first()
    if row is None:
        existing = uow.scalar(select(Ticket).where(Ticket.channel_code == channel, Ticket.external_id == external_id))
        return Registered(existing, created=False)
    ticket, duplicates = _inserted(row, given)
    uow.add_effect(TicketReceived(ticket.id, channel, data.category or ""), RefreshStats())
    answer = getattr(data, "instant_answer", None)
    if answer:
        # Read only when named; after the insert, so that a replay answers the first ticket whatever the article.
        citation = knowledge.citation(uow, article_id, "instant_answer_article_id")
        ticket = resolution.instant_resolve(uow, uow.get(Ticket, ticket.id), user, answer, citation=citation)
    else:
        uow.add_effect(RouteNewTickets())
    return Registered(ticket, created=True, duplicates=duplicates)


def _cited_article(data: TicketFields) -> int | None:
    """The id of the knowledge article an instant answer cites; 422 when one is named without an answer (checked
    before the statement: a ticket without an answer is written in autocommit)."""
    article_id = getattr(data, "instant_answer_article_id", None)
    if article_id is not None and not getattr(data, "instant_answer", None):
        raise field_error("instant_answer_article_id", "cites the article an instant answer was given from: give "
                          "instant_answer too", zh="引用知识条目须同时填写即时办结答复 instant_answer",
                          code="needs_instant_answer")
    return article_id


def _intake_params(data: TicketFields, *, channel: str, external_id: str | None, user: User | None,
                   registered_by_unit: str | None, system: str,
                   enterprise_id: int | None = None) -> tuple[dict, dict]:
    """The statement's parameters, and what the request alone decides of the new ticket."""
    settings = get_settings()
    county, town = place(data)
    handler = user.unit_code if user is not None and user.role == Role.HANDLER.value else None
    ent = data.enterprise
    text_ = f"{data.title} {data.description}"
    # Tokenized once. Stored for the duplicate check (which never tokenizes an earlier ticket): at most
    # dedupe_max_tokens, title first, which bounds what one check compares however long the texts are. Indexed for
    # search with the enterprise's and the contact's names: at most search_max_tokens, which bounds what one intake
    # adds to the index (the number and the phone are added by a trigger, service.domain.lookup).
    distinct = list(dict.fromkeys(tokens(text_)))
    text_tokens = distinct[:settings.dedupe_max_tokens]
    search_tokens = " ".join(dict.fromkeys([*distinct[:settings.search_max_tokens], *tokens(ent.name),
                                            *tokens(data.contact.name)]))
    clock = clocks.Clocks().as_row()
    given = {"channel_code": channel, "external_id": external_id, "enterprise_name": ent.name, "uscc": ent.uscc,
             "contact_name": data.contact.name, "contact_phone": data.contact.phone,
             "request_type": data.request_type.value, "category_code": data.category, "urgency": data.urgency.value,
             "title": data.title, "description": data.description, "registered_by_unit_code": registered_by_unit,
             "created_by_id": user.id if user else None, "status": TicketStatus.NEW.value}
    params = {
        "enterprise_id": enterprise_id, "uscc": ent.uscc, "name": ent.name, "county": county, "town": town,
        "placed": bool(county or town),
        "chain": ent.chain, "tier": ent.tier, "above_scale": ent.above_scale,
        "tokens": text_tokens, "token_count": len(text_tokens), "created_kind": EventKind.CREATED.value,
        "days": settings.dedupe_days,
        "candidates": settings.dedupe_candidates, "min_similarity": settings.dedupe_min_similarity,
        "shown": settings.dedupe_shown,
        "tz": settings.timezone, "channel": channel, "external_id": external_id,
        "contact_name": data.contact.name, "contact_phone": data.contact.phone,
        "request_type": data.request_type.value, "category": data.category, "urgency": data.urgency.value,
        "title": data.title, "description": data.description, "search_tokens": search_tokens,
        "status": given["status"], "unit": registered_by_unit, "created_by": given["created_by_id"],
        "received_at": data.received_at, "actor": events.actor_name(user, system),
        "answered_locally": bool(getattr(data, "answered_locally", False)),
        "event_unit": registered_by_unit if registered_by_unit is not None else (user.unit_code if user else None),
        # Handlers are shown only the similar tickets they may read; other roles and platforms see all.
        "sees_all": handler is None, "viewer_unit": handler,
        **clock, "segments": json.dumps(clock["segments"]),
    }
    return params, given


def _inserted(row, given: dict) -> tuple[SimpleNamespace, list[dedupe.PossibleDuplicate]]:
    """The new ticket (every column: the request's values, the database's) and its similar earlier tickets."""
    values = dict(row._mapping)
    duplicates = [dedupe.PossibleDuplicate(d["id"], d["number"], d["title"], d["status"], d["category_code"],
                                           float(d["similarity"])) for d in values.pop("duplicates")]
    return SimpleNamespace(**(dict.fromkeys(_ticket_columns()) | given | values)), duplicates
