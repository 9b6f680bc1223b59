"""ticket queues, lookups by number and what people quote, reclassification

`?q=` also finds a ticket by its number (exact or a prefix), a fragment of its contact phone, its contact's name
and the handlers' opinions. All of it stays in the one search vector (and its GIN index), whose statistics let the
planner choose between the index and an ordered scan as it does for words:
- number and phone enter as lexemes no word can take (`n:<number>`, and `p:<digits>` for each tail of the phone's
  digits of at least 4, so that any fragment is the prefix of one), added by a trigger whenever the vector, the
  number or the phone is written (intake's statement needs no change);
- the contact's name and the opinions enter as tokens of service.domain.textsearch, written by the code (the one
  tokenizer); the tickets registered before get them here, in batches, with their opinions from the history.

The queues get indexes for their sorts (received time; the 签收 and 办结 deadlines, only where set), for what is
overdue (open tickets' 办结 deadlines), for what an operator registered, and for 延期 requests waiting.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BATCH = 2000
_OPEN = "('new', 'pending_dispatch', 'assigned', 'refuse_review', 'in_progress')"  # models.enums.OPEN_STATUSES

LOOKUP = r"""
CREATE FUNCTION hotline_ticket_lookup(number text, phone text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_to_tsvector(ARRAY(
        SELECT 'n:' || number WHERE coalesce(number, '') <> ''
        UNION ALL
        SELECT 'p:' || substr(d, i)
        FROM (SELECT left(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), 20) AS d) digits,
             generate_series(1, length(d) - 3) AS i))
$$
"""
TRIGGER_FUNCTION = r"""
CREATE FUNCTION hotline_ticket_lookup_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := coalesce(NEW.search_vector, ''::tsvector)
                         || hotline_ticket_lookup(NEW.number, NEW.contact_phone);
    RETURN NEW;
END $$
"""
TRIGGER = """
CREATE TRIGGER ticket_lookup_terms BEFORE INSERT OR UPDATE OF search_vector, number, contact_phone ON ticket
FOR EACH ROW EXECUTE FUNCTION hotline_ticket_lookup_terms()
"""
# The opinions of a ticket's history: 办结's 办理意见, 即时办结's answer, 协办意见.
OPINIONS = """
SELECT ticket_id, string_agg(coalesce(payload->>'opinion', payload->>'answer', ''), ' ' ORDER BY id) AS text
FROM ticket_event WHERE ticket_id = ANY(:ids) AND kind IN ('resolved', 'instant_resolved', 'assist_opinion')
GROUP BY ticket_id
"""
INDEXES = (
    ("ix_ticket_received_id", "(received_at, id)", None),
    ("ix_ticket_accept_due_id", "(accept_due_at, id)", "accept_due_at IS NOT NULL"),
    ("ix_ticket_resolve_due_id", "(resolve_due_at, id)", "resolve_due_at IS NOT NULL"),
    ("ix_ticket_open_resolve_due", "(resolve_due_at)", f"status IN {_OPEN} AND resolve_due_at IS NOT NULL"),
    ("ix_ticket_created_by_id", "(created_by_id, id)", None),
    ("ix_ticket_pending_extension", "(id)", "jsonb_typeof(pending_extension) = 'object'"),  # a decided one: JSON null
)


def upgrade() -> None:
    op.execute(LOOKUP)
    op.execute(TRIGGER_FUNCTION)
    op.execute(TRIGGER)
    _fill_search_terms(op.get_bind())
    for name, columns, where in INDEXES:
        op.execute(f"CREATE INDEX {name} ON ticket {columns}" + (f" WHERE {where}" if where else ""))


def _fill_search_terms(conn) -> None:
    """Add the contact's name and the opinions to the search vector of every ticket (the trigger adds the number
    and the phone as the row is written)."""
    from service.config import get_settings
    from service.domain.textsearch import tokens

    cap, after = get_settings().search_max_tokens, 0
    read = sa.text("SELECT id, contact_name FROM ticket WHERE id > :after ORDER BY id LIMIT :n")
    write = sa.text("UPDATE ticket SET search_vector = coalesce(search_vector, ''::tsvector) "
                    "|| to_tsvector('simple', :terms) WHERE id = :id")
    while rows := conn.execute(read, {"after": after, "n": BATCH}).all():
        ids = [r.id for r in rows]
        opinions = dict(conn.execute(sa.text(OPINIONS), {"ids": ids}).all())
        conn.execute(write, [{"id": r.id, "terms": " ".join(dict.fromkeys(
            [*tokens(r.contact_name or ""), *list(dict.fromkeys(tokens(opinions.get(r.id) or "")))[:cap]]))}
            for r in rows])
        after = ids[-1]


def downgrade() -> None:
    for name, _, _ in reversed(INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP TRIGGER IF EXISTS ticket_lookup_terms ON ticket")
    op.execute("DROP FUNCTION IF EXISTS hotline_ticket_lookup_terms()")
    op.execute("DROP FUNCTION IF EXISTS hotline_ticket_lookup(text, text)")
