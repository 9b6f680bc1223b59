"""The stages of a ticket, in the order it meets them: intake, dedupe, route, workflow (the state machine),
actions and resolution (the lifecycle), sla (deadlines), clocks, sweeps (催办 / 督办), notify (webhooks), then
stats (leadership's numbers) and excel (spreadsheets). Stages change rows through the unit of work they are
given and append effects to it; they never commit (see service/unit_of_work.py)."""
