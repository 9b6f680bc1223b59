"""What each event counts for: one SQL fragment shared by the rollup refresh and the direct count.

Counting rules (also in the README):
- 受理量 `received`: a ticket's `created` event, on the day it was registered. Merged tickets stay received.
- 办结量 `resolved`: a ticket's FIRST resolution (办结 or 即时办结), credited to the unit that resolved
  it on that day; a resolution after 重办 is not counted again (it shows in 重办率 instead).
- 即时办结 `instant`: resolved by the operator at intake.
- 按期办结 `resolved_on_time`: a first resolution at or before the 办结 deadline in force then
  (an approved 延期 moves the deadline).
- 签收 `accepted` / `accepted_on_time`: a 签收 (or 强制派单, which counts as one) and whether it came
  within the unit's 签收 deadline; credited to the signing unit.
- 派单 `dispatched`: every assignment to a unit (by the rules, by hand, 改派, after an approved 退单);
  回退 `refused`: every 退单, credited to the refusing unit.
- 回访 `rated`, `satisfied` (满意 + 基本满意), `solved`: each resolution's 回访, credited to the lead unit.
  A 更正回访 (feedback_amended) replaces the one it names: the replaced event counts for nothing, the
  correction counts on its own day, so a resolution is rated once whatever the number of corrections.
- 重办 `reopened`: each 重办, credited to the lead unit.
- 重复诉求 `repeats`: a received ticket whose enterprise had a similar ticket in the previous
  HOTLINE_DEDUPE_DAYS days.
- 办理时长: office hours from receipt to the first resolution, in half-hour buckets.
- Channel, county, town, category and request type are the ticket's current values, so a ticket
  re-classified later moves all its numbers to the new category; the unit is the one that acted.
- Days are calendar days in the `timezone` setting (bound as :tz; see `tz_param`).
"""
from __future__ import annotations

from models.enums import EventKind as K
from models.enums import TicketStatus, sql_list
from models.stats import COUNTERS
from service.config import get_settings

ASSIGNING = (K.ROUTED, K.DISPATCHED, K.TRANSFERRED, K.REFUSAL_APPROVED)
RESOLVING = (K.RESOLVED, K.INSTANT_RESOLVED)
SIGNING = (K.ACCEPTED, K.REFUSAL_OVERRULED)
RATING = (K.FEEDBACK, K.FEEDBACK_AMENDED)
COUNTED_KINDS = (K.CREATED, *RESOLVING, *SIGNING, *ASSIGNING, K.REFUSED, *RATING, K.REOPENED)


def _is(kind: K) -> str:
    return f"e.kind = '{kind.value}'"


_first = f"(e.kind IN {sql_list(RESOLVING)} AND coalesce((e.payload->>'first')::boolean, true))"
# A 回访 that no later correction replaced ({amended_by}: which corrections are seen, see facts_sql).
_rating = (f"(e.kind IN {sql_list(RATING)} AND NOT EXISTS (SELECT FROM ticket_event a WHERE a.ticket_id = e.ticket_id "
           f"AND a.kind = '{K.FEEDBACK_AMENDED.value}' AND a.payload->>'amends' = e.id::text AND {{amended_by}}))")
_COUNTER_SQL = {
    "received": f"({_is(K.CREATED)})",
    "instant": f"({_is(K.INSTANT_RESOLVED)})",
    "resolved": _first,
    "resolved_on_time": f"({_first} AND coalesce((e.payload->>'on_time')::boolean, false))",
    "accepted": f"(e.kind IN {sql_list(SIGNING)})",
    "accepted_on_time": f"(e.kind IN {sql_list(SIGNING)} AND coalesce((e.payload->>'on_time')::boolean, false))",
    "dispatched": f"(e.kind IN {sql_list(ASSIGNING)} AND e.to_status = '{TicketStatus.ASSIGNED.value}')",
    "refused": f"({_is(K.REFUSED)})",
    "rated": _rating,
    "satisfied": f"({_rating} AND e.payload->>'satisfaction' IN ('satisfied', 'basically_satisfied'))",
    "solved": f"({_rating} AND coalesce((e.payload->>'solved')::boolean, false))",
    "reopened": f"({_is(K.REOPENED)})",
    "repeats": f"({_is(K.CREATED)} AND coalesce((e.payload->>'repeat')::boolean, false))",
}
assert tuple(_COUNTER_SQL) == COUNTERS


def facts_sql(dims: str, where: str = "true", amended_by: str = "true") -> str:
    """SELECT of one fact row per counted event.

    dims: a relation with columns ticket_id, county, town, channel, category, request_type (the
    tickets' current values, or the values they were last counted under). amended_by: which 更正回访
    events `a` (of d's ticket) replace the 回访 they name: all of them for a direct count, the listed ones
    when counting from a ticket's list of counted events. The statement binds :tz.
    """
    counters = ",\n  ".join(f"{sql.replace('{amended_by}', amended_by)}::int AS {name}"
                             for name, sql in _COUNTER_SQL.items())
    return f"""
SELECT e.ticket_id, (e.at AT TIME ZONE CAST(:tz AS text))::date AS day,
  coalesce(e.unit_code, '') AS unit, d.county, d.town, d.channel, d.category, d.request_type,
  {counters},
  CASE WHEN {_first} THEN least(floor(coalesce((e.payload->>'duration_seconds')::float, 0) / 1800), 9999)::int
  END AS bucket
FROM ticket_event e JOIN {dims} d ON d.ticket_id = e.ticket_id
WHERE e.kind IN {sql_list(COUNTED_KINDS)} AND {where}"""


TICKET_DIMS = """(SELECT id AS ticket_id, coalesce(county_code, '') AS county, coalesce(town_code, '') AS town,
    channel_code AS channel, coalesce(category_code, '') AS category, request_type FROM ticket)"""


def tz_param(tz: str | None = None) -> dict[str, str]:
    """The :tz parameter of facts_sql: the zone whose calendar days the facts fall on."""
    return {"tz": tz or get_settings().timezone}
