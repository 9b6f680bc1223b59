"""The scheduled sweep: 催办 before the 办结 deadline, 督办 (yellow, then red) after a deadline.

Each flag is one set-based statement: an UPDATE that picks the due rows through a partial index,
chained (CTE) to the INSERT of their events and outbox notifications. The WHERE clause re-checks the
flag, so running the sweep twice, or on two schedulers at once, raises each flag exactly once.
"""
from __future__ import annotations

from sqlalchemy import text

from models.enums import WORKING_STATUSES, EventKind, TicketStatus, sql_list
from service.effects import DeliverNotifications
from service.unit_of_work import UnitOfWork

WORKING = sql_list(WORKING_STATUSES)
ASSIGNED = f"'{TicketStatus.ASSIGNED.value}'"

_FLAGS = {
    # 催办: the 办结 deadline is near and nobody has reminded the unit yet.
    "reminded": f"""
        UPDATE ticket SET reminded_at = now(), version = version + 1
        WHERE status IN {WORKING} AND reminded_at IS NULL AND remind_at <= now()
          AND resolve_due_at > now()
        RETURNING id, lead_unit_code, channel_code, external_id, number, status, supervision, resolve_due_at""",
    # 督办 (yellow): a deadline has passed — 签收 not signed in time, or 办结 overdue.
    "supervised_yellow": f"""
        UPDATE ticket SET supervision = 'yellow', supervised_at = now(), version = version + 1
        WHERE supervision IS NULL AND (
              (status IN {WORKING} AND resolve_due_at <= now())
           OR (status = {ASSIGNED} AND accept_due_at <= now()))
        RETURNING id, lead_unit_code, channel_code, external_id, number, status, supervision, resolve_due_at""",
    # 督办 (red): still open long after the 办结 deadline.
    "supervised_red": f"""
        UPDATE ticket SET supervision = 'red', supervised_at = now(), version = version + 1
        WHERE supervision = 'yellow' AND status IN {WORKING} AND red_due_at <= now()
        RETURNING id, lead_unit_code, channel_code, external_id, number, status, supervision, resolve_due_at""",
}

_CHAIN = """
WITH flagged AS ({update}),
events AS (
    INSERT INTO ticket_event (ticket_id, kind, actor, unit_code, payload)
    SELECT id, CAST(:kind AS varchar), 'system:scheduler', lead_unit_code,
           jsonb_build_object('auto', true, 'level', supervision, 'resolve_due_at', resolve_due_at)
    FROM flagged
    RETURNING ticket_id
),
unit_hooks AS (
    INSERT INTO notification (ticket_id, target, unit_code, url, event, payload)
    SELECT f.id, 'unit', f.lead_unit_code, u.webhook_url, CAST(:event AS varchar),
           jsonb_build_object('event', CAST(:event AS text), 'ticket_id', f.id, 'number', f.number, 'status', f.status,
                              'lead_unit', f.lead_unit_code, 'supervision', f.supervision,
                              'resolve_due_at', f.resolve_due_at, 'at', now())
    FROM flagged f JOIN unit u ON u.code = f.lead_unit_code
    WHERE u.webhook_url IS NOT NULL
    RETURNING id
)
SELECT (SELECT count(*) FROM flagged) AS flagged, (SELECT count(*) FROM unit_hooks) AS notifications
"""


def raise_flags(session: UnitOfWork) -> dict[str, int]:
    """Run the three flag statements; returns how many tickets each flagged (and notifications queued)."""
    out = {"notifications": 0}
    # The partial indexes make these statements cheap, but the planner's row estimates can cross the JIT
    # threshold, and compiling then costs ~60 ms per statement even when nothing is due.
    # SET has no Core form.
    session.execute(text("SET LOCAL jit = off"))
    for kind, update in _FLAGS.items():
        event = EventKind.REMINDED if kind == "reminded" else EventKind.SUPERVISED
        # One statement chaining an UPDATE ... RETURNING into two INSERTs, kept as the SQL it is (see the docstring).
        row = session.execute(text(_CHAIN.format(update=update)), {"kind": event.value, "event": event.value}).one()
        out[kind] = row.flagged
        out["notifications"] += row.notifications
    if out["notifications"]:
        session.add_effect(DeliverNotifications())
    return out
