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
- 回访 `rated`, `satisfied` (满意 + 基本满意), `solved`: each 回访, credited to the lead unit.
- 重办 `reopened`: each 重办, credited to the lead unit.
- 重复诉求 `repeats`: a received ticket whose enterprise had a similar ticket in the previous
  HOTLINE_DEDUPE_DAYS days.
- 办理时长: office hours from receipt to the first resolution, in half-hour buckets.
- Channel, county, town, category and request type are the ticket's current values, so a ticket
  re-classified later moves all its numbers to the new category; the unit is the one that acted.
- Days are Asia/Shanghai calendar days.
"""
from __future__ import annotations

from models.stats import COUNTERS

ASSIGNING = "('routed', 'dispatched', 'transferred', 'refusal_approved')"
RESOLVING = "('resolved', 'instant_resolved')"
SIGNING = "('accepted', 'refusal_overruled')"
COUNTED_KINDS = ("created", "resolved", "instant_resolved", "accepted", "refusal_overruled", "routed", "dispatched",
                 "transferred", "refusal_approved", "refused", "feedback", "reopened")

_first = f"(e.kind IN {RESOLVING} AND coalesce((e.payload->>'first')::boolean, true))"
_COUNTER_SQL = {
    "received": "(e.kind = 'created')",
    "instant": "(e.kind = 'instant_resolved')",
    "resolved": _first,
    "resolved_on_time": f"({_first} AND coalesce((e.payload->>'on_time')::boolean, false))",
    "accepted": f"(e.kind IN {SIGNING})",
    "accepted_on_time": f"(e.kind IN {SIGNING} AND coalesce((e.payload->>'on_time')::boolean, false))",
    "dispatched": f"(e.kind IN {ASSIGNING} AND e.to_status = 'assigned')",
    "refused": "(e.kind = 'refused')",
    "rated": "(e.kind = 'feedback')",
    "satisfied": "(e.kind = 'feedback' AND e.payload->>'satisfaction' IN ('satisfied', 'basically_satisfied'))",
    "solved": "(e.kind = 'feedback' AND coalesce((e.payload->>'solved')::boolean, false))",
    "reopened": "(e.kind = 'reopened')",
    "repeats": "(e.kind = 'created' AND coalesce((e.payload->>'repeat')::boolean, false))",
}
assert tuple(_COUNTER_SQL) == COUNTERS


def facts_sql(dims: str, where: str = "true") -> str:
    """SELECT of one fact row per counted event.

    dims: a relation with columns ticket_id, county, town, channel, category, request_type (the
    tickets' current values, or the values they were last counted under).
    """
    counters = ",\n  ".join(f"{sql}::int AS {name}" for name, sql in _COUNTER_SQL.items())
    kinds = ", ".join(f"'{k}'" for k in COUNTED_KINDS)
    return f"""
SELECT e.ticket_id, (e.at AT TIME ZONE 'Asia/Shanghai')::date AS day,
  coalesce(e.unit_code, '') AS unit, d.county, d.town, d.channel, d.category, d.request_type,
  {counters},
  CASE WHEN {_first} THEN least(floor(coalesce((e.payload->>'duration_seconds')::float, 0) / 1800), 9999)::int
  END AS bucket
FROM ticket_event e JOIN {dims} d ON d.ticket_id = e.ticket_id
WHERE e.kind IN ({kinds}) AND {where}"""


TICKET_DIMS = """(SELECT id AS ticket_id, coalesce(county_code, '') AS county, coalesce(town_code, '') AS town,
    channel_code AS channel, coalesce(category_code, '') AS category, request_type FROM ticket)"""
