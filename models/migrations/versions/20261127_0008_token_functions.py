"""text tokens and their Jaccard similarity in SQL, the same as service.domain.textsearch

Intake checks a new ticket against the enterprise's recent tickets in the same statement that inserts it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""
from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# A run of CJK characters gives its overlapping bigrams (a lone character itself); a run of ASCII letters or
# digits gives one lower-cased word. The character classes are those of textsearch._RUNS.
CJK = f"{chr(0x3400)}-{chr(0x9FFF)}{chr(0xF900)}-{chr(0xFAFF)}"
TOKENS = """
CREATE FUNCTION hotline_tokens(t text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT tok), '{}')
    FROM regexp_matches(coalesce(t, ''), '[{cjk}]+|[0-9A-Za-z]+', 'g') AS m(run),
         LATERAL (
            SELECT CASE WHEN m.run[1] ~ '^[0-9A-Za-z]' THEN lower(m.run[1])
                        WHEN char_length(m.run[1]) = 1 THEN m.run[1]
                        ELSE substr(m.run[1], i, 2) END AS tok
            FROM generate_series(1, greatest(char_length(m.run[1]) - 1, 1)) AS i
            WHERE m.run[1] !~ '^[0-9A-Za-z]' OR i = 1
         ) AS x
$$
""".replace("{cjk}", CJK)

# Both arguments are sets (arrays without repeats, as hotline_tokens gives): |a ∩ b| / (|a| + |b| - |a ∩ b|).
JACCARD = r"""
CREATE FUNCTION hotline_jaccard(a text[], b text[]) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN cardinality(a) = 0 OR cardinality(b) = 0 THEN 0.0::double precision
                ELSE i::double precision / (cardinality(a) + cardinality(b) - i) END
    FROM (SELECT count(*) AS i FROM unnest(a) AS x WHERE x = ANY (b)) AS c
$$
"""


def upgrade() -> None:
    op.execute(TOKENS)
    op.execute(JACCARD)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS hotline_jaccard(text[], text[])")
    op.execute("DROP FUNCTION IF EXISTS hotline_tokens(text)")
