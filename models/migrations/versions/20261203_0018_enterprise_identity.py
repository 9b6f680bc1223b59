"""enterprise identity without a USCC, contacts, merges, roster

An enterprise may be known by its name alone: `enterprise.uscc` and `ticket.uscc` become optional, and a generated
`name_key` (the name folded by hotline_name_key: NFKC width, case, spaces and punctuation, the 有限公司 family of
endings) identifies a record without a code (unique among those). Name fragments are found through a GIN index of
the key's characters and character pairs; USCC prefixes through a pattern index.

enterprise_contact keeps each (enterprise, person, phone) seen at intake, with its digits indexed, for the caller
lookup. enterprise_merge records an admin's merge with the tickets it moved, so an undo moves exactly those back.
hotline_intake_enterprise() finds or creates the enterprise of an intake inside intake's one statement.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The folding every path shares (intake, roster import, search): computed by the database only, so a key never
# differs between the code that writes it and the code that looks it up. Spaces, ASCII punctuation (full-width
# forms become ASCII under NFKC), Latin-1 and general punctuation, CJK punctuation (but 〇, a numeral) go.
NAME_KEY = r"""
CREATE FUNCTION hotline_name_key(name text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 500 AS $$
    SELECT coalesce(nullif(regexp_replace(s, '(股份有限公司|有限责任公司|责任有限公司|有限公司|股份公司|公司)$', ''), ''),
                    nullif(s, ''), name)
    FROM (SELECT regexp_replace(lower(normalize(name, NFKC)),
                 '[\s\u0021-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007e\u00a0-\u00bf\u2010-\u206f\u3000-\u3006\u3008-\u303f\u30fb\ufe30-\ufe4f]+',
                 '', 'g') AS s) folded
$$
"""

# A key's characters and pairs of characters (what the name index holds), and what a fragment must find there. The
# costs tell the planner that computing them row by row is dear (tens of microseconds): it reads the index instead.
NAME_GRAMS = r"""
CREATE FUNCTION hotline_name_grams(key text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 2000 AS $$
    SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
        SELECT substr(key, i, 1) FROM generate_series(1, length(key)) i
        UNION ALL SELECT substr(key, i, 2) FROM generate_series(1, length(key) - 1) i) grams(g)
$$
"""
QUERY_GRAMS = r"""
CREATE FUNCTION hotline_query_grams(key text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN length(key) < 2 THEN ARRAY[key] ELSE (
        SELECT array_agg(DISTINCT substr(key, i, 2)) FROM generate_series(1, length(key) - 1) i) END
$$
"""

# A phone's digits as stored and looked up: a leading 0086 or 86 before a full number is the country code.
PHONE_DIGITS = r"""
CREATE FUNCTION hotline_phone_digits(phone text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN d LIKE '0086%' AND length(d) >= 14 THEN substr(d, 5)
                WHEN d LIKE '86%' AND length(d) >= 12 THEN substr(d, 3)
                ELSE d END
    FROM (SELECT regexp_replace(phone, '[^0-9]', '', 'g') AS d) digits
$$
"""

# The enterprise of one intake (intake's statement calls it first): the record picked by id, else the record of
# the USCC, else (a code seen for the first time) the record known by that name without a code, which takes it,
# else the record of the name; otherwise a new one. A record merged into another is followed to it. The record is
# refreshed: a blank never erases a known value, a roster record keeps its roster values (town, chain, tier, scale)
# and only fills blanks, a known USCC under another name takes the new name (migration 0017 keeps the old one), and
# the contact time moves forward unless the intake replays a registered (channel, external_id).
INTAKE = r"""
CREATE FUNCTION hotline_intake_enterprise(
    p_id bigint, p_uscc varchar, p_name varchar, p_county varchar, p_town varchar, p_chain varchar,
    p_tier varchar, p_above boolean, p_seen timestamptz, p_channel varchar, p_external_id varchar)
RETURNS TABLE (id bigint, county_code varchar, town_code varchar) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_key text := hotline_name_key(p_name);
    v_id bigint := p_id;
    v_rename boolean := false;
    v_merged bigint;
    v_seen timestamptz;
BEGIN
    IF p_external_id IS NULL OR NOT EXISTS (
            SELECT FROM ticket t WHERE t.channel_code = p_channel AND t.external_id = p_external_id) THEN
        v_seen := coalesce(p_seen, now());
    END IF;
    IF v_id IS NOT NULL THEN
        IF p_uscc IS NOT NULL AND NOT EXISTS (SELECT FROM enterprise x WHERE x.uscc = p_uscc) THEN
            BEGIN
                UPDATE enterprise e SET uscc = p_uscc WHERE e.id = v_id AND e.uscc IS NULL;
            EXCEPTION WHEN unique_violation THEN
                NULL;  -- taken meanwhile by another record: this one stays without
            END;
        END IF;
        SELECT coalesce(e.uscc = p_uscc, false) INTO v_rename FROM enterprise e WHERE e.id = v_id;
    ELSIF p_uscc IS NOT NULL THEN
        SELECT e.id INTO v_id FROM enterprise e WHERE e.uscc = p_uscc;
        v_rename := v_id IS NOT NULL;
        IF v_id IS NULL THEN
            SELECT t.id INTO v_id FROM enterprise m JOIN enterprise t ON t.id = coalesce(m.merged_into_id, m.id)
            WHERE m.name_key = v_key AND t.uscc IS NULL ORDER BY t.id LIMIT 1;
            IF v_id IS NOT NULL THEN
                BEGIN
                    UPDATE enterprise e SET uscc = p_uscc
                    WHERE e.id = v_id AND e.uscc IS NULL AND e.merged_into_id IS NULL RETURNING e.id INTO v_id;
                EXCEPTION WHEN unique_violation THEN
                    v_id := NULL;  -- the code arrived meanwhile with another record: the insert below finds it
                END;
            END IF;
        END IF;
        IF v_id IS NULL THEN
            INSERT INTO enterprise AS e (uscc, name, county_code, town_code, chain_code, tier_code, above_scale)
            VALUES (p_uscc, p_name, p_county, p_town, p_chain, p_tier, p_above)
            ON CONFLICT (uscc) DO UPDATE SET name = excluded.name RETURNING e.id INTO v_id;
        END IF;
    ELSE
        SELECT coalesce(e.merged_into_id, e.id) INTO v_id FROM enterprise e WHERE e.name_key = v_key
        ORDER BY e.merged_into_id IS NOT NULL, e.uscc IS NULL, e.id LIMIT 1;
        IF v_id IS NULL THEN
            INSERT INTO enterprise AS e (name, county_code, town_code, chain_code, tier_code, above_scale)
            VALUES (p_name, p_county, p_town, p_chain, p_tier, p_above)
            ON CONFLICT (name_key) WHERE uscc IS NULL AND merged_into_id IS NULL DO UPDATE SET updated_at = now()
            RETURNING e.id INTO v_id;
        END IF;
    END IF;
    FOR hop IN 1..3 LOOP  -- a merge committed meanwhile: its target is the enterprise
        UPDATE enterprise e SET
            name = CASE WHEN v_rename THEN p_name ELSE e.name END,
            county_code = CASE WHEN e.on_roster AND e.town_code IS NOT NULL THEN e.county_code
                               ELSE coalesce(p_county, e.county_code) END,
            town_code = CASE WHEN e.on_roster THEN coalesce(e.town_code, p_town) ELSE coalesce(p_town, e.town_code) END,
            chain_code = CASE WHEN e.on_roster THEN coalesce(e.chain_code, p_chain)
                              ELSE coalesce(p_chain, e.chain_code) END,
            tier_code = CASE WHEN e.on_roster THEN coalesce(e.tier_code, p_tier) ELSE coalesce(p_tier, e.tier_code) END,
            above_scale = CASE WHEN e.on_roster THEN coalesce(e.above_scale, p_above)
                               ELSE coalesce(p_above, e.above_scale) END,
            last_contact_at = CASE WHEN v_seen IS NULL THEN e.last_contact_at
                                   ELSE greatest(e.last_contact_at, v_seen) END,
            updated_at = now()
        WHERE e.id = v_id
        RETURNING e.merged_into_id, e.id, e.county_code, e.town_code INTO v_merged, id, county_code, town_code;
        EXIT WHEN v_merged IS NULL;
        v_id := v_merged;
        v_rename := false;
    END LOOP;
    RETURN NEXT;
END
$$
"""

# A ticket moved to another enterprise (a merge, a correction) is a contact of that enterprise too.
MOVED = """
CREATE FUNCTION hotline_ticket_enterprise_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE enterprise SET last_contact_at = NEW.received_at
    WHERE id = NEW.enterprise_id AND (last_contact_at IS NULL OR last_contact_at < NEW.received_at);
    RETURN NEW;
END
$$
"""

OPEN = "('new', 'pending_dispatch', 'assigned', 'refuse_review', 'in_progress')"


def upgrade() -> None:
    for sql in (NAME_KEY, NAME_GRAMS, QUERY_GRAMS, PHONE_DIGITS):
        op.execute(sql)
    op.alter_column("enterprise", "uscc", existing_type=sa.String(18), nullable=True)
    op.alter_column("ticket", "uscc", existing_type=sa.String(18), nullable=True)
    op.add_column("enterprise", sa.Column("name_key", sa.Text(), sa.Computed("hotline_name_key(name)", persisted=True),
                                          nullable=False))
    op.add_column("enterprise", sa.Column("on_roster", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("enterprise", sa.Column("roster_imported_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("enterprise", sa.Column("merged_into_id", sa.BigInteger(), nullable=True))
    op.add_column("enterprise", sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(op.f("fk_enterprise_merged_into_id_enterprise"), "enterprise", "enterprise",
                          ["merged_into_id"], ["id"])
    op.execute("UPDATE enterprise e SET last_contact_at = (SELECT max(t.received_at) FROM ticket t "
               "WHERE t.enterprise_id = e.id)")
    op.create_index("uq_enterprise_name_key_unidentified", "enterprise", ["name_key"], unique=True,
                    postgresql_where=sa.text("uscc IS NULL AND merged_into_id IS NULL"))
    op.execute("CREATE INDEX ix_enterprise_name_key ON enterprise (name_key text_pattern_ops)")
    op.execute("CREATE INDEX ix_enterprise_name_grams ON enterprise USING gin (hotline_name_grams(name_key))")
    op.execute("CREATE INDEX ix_enterprise_uscc_prefix ON enterprise (uscc varchar_pattern_ops) "
               "WHERE uscc IS NOT NULL")
    op.execute("CREATE INDEX ix_enterprise_recent ON enterprise (last_contact_at DESC NULLS LAST, id DESC)")
    op.execute("CREATE INDEX ix_enterprise_town_recent ON enterprise "
               "(town_code, last_contact_at DESC NULLS LAST, id DESC)")
    op.create_index("ix_enterprise_roster", "enterprise", ["county_code", "town_code"],
                    postgresql_where=sa.text("on_roster AND merged_into_id IS NULL"))
    op.create_index("ix_enterprise_merged_into", "enterprise", ["merged_into_id"],
                    postgresql_where=sa.text("merged_into_id IS NOT NULL"))
    op.create_index("ix_ticket_enterprise_open", "ticket", ["enterprise_id"],
                    postgresql_where=sa.text(f"status IN {OPEN}"))

    op.create_table(
        "enterprise_contact",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("phone_digits", sa.Text(), sa.Computed("hotline_phone_digits(phone)", persisted=True),
                  nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ticket_count", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"],
                                name=op.f("fk_enterprise_contact_enterprise_id_enterprise")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_contact")),
    )
    op.create_index("uq_enterprise_contact_person", "enterprise_contact", ["enterprise_id", "phone_digits", "name"],
                    unique=True)
    op.create_index("ix_enterprise_contact_phone", "enterprise_contact", ["phone_digits"])
    op.execute("CREATE INDEX ix_enterprise_contact_phone_end ON enterprise_contact "
               "(reverse(phone_digits) text_pattern_ops)")
    op.execute("""
        INSERT INTO enterprise_contact (enterprise_id, name, phone, last_seen_at, ticket_count)
        SELECT enterprise_id, contact_name, max(contact_phone), max(received_at), count(*)
        FROM ticket GROUP BY enterprise_id, contact_name, hotline_phone_digits(contact_phone)""")

    op.create_table(
        "enterprise_merge",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("from_id", sa.BigInteger(), nullable=False),
        sa.Column("into_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("merged_by_id", sa.BigInteger(), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", sa.BigInteger(), nullable=True),
        sa.Column("ticket_ids", postgresql.ARRAY(sa.BigInteger()), server_default="{}", nullable=False),
        sa.Column("repointed_ids", postgresql.ARRAY(sa.BigInteger()), server_default="{}", nullable=False),
        sa.Column("filled", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(["from_id"], ["enterprise.id"], name=op.f("fk_enterprise_merge_from_id_enterprise")),
        sa.ForeignKeyConstraint(["into_id"], ["enterprise.id"], name=op.f("fk_enterprise_merge_into_id_enterprise")),
        sa.ForeignKeyConstraint(["merged_by_id"], ["app_user.id"],
                                name=op.f("fk_enterprise_merge_merged_by_id_app_user")),
        sa.ForeignKeyConstraint(["undone_by_id"], ["app_user.id"],
                                name=op.f("fk_enterprise_merge_undone_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_merge")),
    )
    op.create_index("ix_enterprise_merge_from", "enterprise_merge", ["from_id", "id"])
    op.create_index("ix_enterprise_merge_into", "enterprise_merge", ["into_id", "id"])

    op.execute(INTAKE)
    op.execute(MOVED)
    op.execute("CREATE TRIGGER ticket_enterprise_moved AFTER UPDATE OF enterprise_id ON ticket FOR EACH ROW "
               "WHEN (OLD.enterprise_id IS DISTINCT FROM NEW.enterprise_id) "
               "EXECUTE FUNCTION hotline_ticket_enterprise_moved()")


def downgrade() -> None:
    """Back to USCC-keyed enterprises: fails while a ticket or an enterprise has no USCC (there is none to give)."""
    op.execute("DROP TRIGGER IF EXISTS ticket_enterprise_moved ON ticket")
    op.execute("DROP FUNCTION IF EXISTS hotline_ticket_enterprise_moved()")
    op.execute("DROP FUNCTION IF EXISTS hotline_intake_enterprise(bigint, varchar, varchar, varchar, varchar, "
               "varchar, varchar, boolean, timestamptz, varchar, varchar)")
    op.drop_table("enterprise_merge")
    op.drop_table("enterprise_contact")
    op.drop_index("ix_ticket_enterprise_open", table_name="ticket")
    for index in ("ix_enterprise_merged_into", "ix_enterprise_roster", "ix_enterprise_town_recent",
                  "ix_enterprise_recent", "ix_enterprise_uscc_prefix", "ix_enterprise_name_grams",
                  "ix_enterprise_name_key", "uq_enterprise_name_key_unidentified"):
        op.drop_index(index, table_name="enterprise")
    op.drop_constraint(op.f("fk_enterprise_merged_into_id_enterprise"), "enterprise", type_="foreignkey")
    for column in ("last_contact_at", "merged_into_id", "roster_imported_at", "on_roster", "name_key"):
        op.drop_column("enterprise", column)
    op.alter_column("ticket", "uscc", existing_type=sa.String(18), nullable=False)
    op.alter_column("enterprise", "uscc", existing_type=sa.String(18), nullable=False)
    for function in ("hotline_phone_digits(text)", "hotline_query_grams(text)", "hotline_name_grams(text)",
                     "hotline_name_key(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
