"""Random sequences of actions by random people never break the work order.

For every step: the action succeeds exactly when the state machine lists it among the caller's
allowed actions; a refused action changes nothing; every success writes its event; the status chain
in the history is unbroken; and the clocks stored on the ticket equal the clocks recomputed from
its events.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from models import Role, Ticket, TicketClock, TicketEvent, TicketStatus, User
from service import db
from service.errors import DomainError
from service.domain.workdays import is_workday
from service.pipeline import actions, clocks, resolution, route
from service.security.users import create_user
from service.pipeline.workflow import REFUSAL_REASONS, SATISFACTION, allowed_actions
from service.schemas.ticket import TicketCreate
from tests.factories import create_ticket, ticket_body

SH = ZoneInfo("Asia/Shanghai")
UNITS = ["yueqing.power", "yueqing.rsj", "yueqing.jxj"]
PEOPLE = {
    "op": (Role.OPERATOR, None), "disp": (Role.DISPATCHER, None), "boss": (Role.LEADER, None),
    "power": (Role.HANDLER, "yueqing.power"), "rsj": (Role.HANDLER, "yueqing.rsj"),
    "jxj": (Role.HANDLER, "yueqing.jxj"), "centre": (Role.HANDLER, "tc.yueqing_liushi"),
}
ACTIONS = ["dispatch", "accept", "refuse", "approve_refusal", "overrule_refusal", "transfer", "assist",
           "request_extension", "approve_extension", "deny_extension", "resolve", "instant_resolve", "feedback",
           "reopen", "close", "remind", "supervise", "amend_feedback", "feedback_attempt", "close_declined",
           "close_by_decision"]


def _call(session, ticket: Ticket, user: User, action: str, data):
    """Perform one action with valid parameters drawn from `data`."""
    others = [u for u in UNITS if u != ticket.lead_unit_code]
    refused_by = (ticket.pending_refusal or {}).get("unit")
    match action:
        case "dispatch":
            return actions.dispatch(session, ticket, user, lead=data.draw(st.sampled_from(UNITS)), assisting=[])
        case "accept":
            return actions.accept(session, ticket, user)
        case "refuse":
            return actions.refuse(session, ticket, user, data.draw(st.sampled_from(sorted(REFUSAL_REASONS))))
        case "approve_refusal":
            choices = [None, *[u for u in UNITS if u != refused_by]]
            return actions.approve_refusal(session, ticket, user, lead=data.draw(st.sampled_from(choices)),
                                           assisting=[])
        case "overrule_refusal":
            return actions.overrule_refusal(session, ticket, user)
        case "transfer":
            return actions.transfer(session, ticket, user, lead=data.draw(st.sampled_from(others)), assisting=[])
        case "assist":
            return actions.assist(session, ticket, user, "协办意见")
        case "request_extension":
            due = (ticket.resolve_due_at or datetime.now(UTC)) + timedelta(days=3)
            while not is_workday(due.astimezone(SH).date()):  # a weekend or holiday is refused
                due += timedelta(days=1)
            return resolution.request_extension(session, ticket, user, new_due=due, reason="需要时间")
        case "approve_extension" | "deny_extension":
            return resolution.decide_extension(session, ticket, user, approve=action == "approve_extension")
        case "resolve":
            return resolution.resolve(session, ticket, user, "已办结")
        case "instant_resolve":
            return resolution.instant_resolve(session, ticket, user, "当场答复")
        case "feedback":
            return resolution.feedback(session, ticket, user, satisfaction=data.draw(st.sampled_from(sorted(SATISFACTION))),
                                       solved=data.draw(st.booleans()))
        case "reopen":
            return resolution.reopen(session, ticket, user, reason="企业不满意")
        case "close":
            return resolution.close(session, ticket, user)
        case "amend_feedback":
            return resolution.feedback(session, ticket, user, satisfaction=data.draw(st.sampled_from(sorted(SATISFACTION))),
                                       solved=data.draw(st.booleans()), amends=True)
        case "feedback_attempt":
            return resolution.feedback_attempt(session, ticket, user)
        case "close_declined":
            return resolution.close(session, ticket, user, reason="企业表示不需要回访", declined=True)
        case "close_by_decision":
            return resolution.close_by_decision(session, ticket, user, reason="企业诉求超出政策范围，已解释")
        case "remind":
            return resolution.remind(session, ticket, user)
        case "supervise":
            return resolution.supervise(session, ticket, user, level=data.draw(st.sampled_from(["yellow", "red"])))
    raise AssertionError(action)


class WorkOrder(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.session = db.session_factory()()
        user = self.session.scalar(select(User).where(User.username == "centre"))
        self.ticket_id = create_ticket(self.session, TicketCreate(**ticket_body()), channel="town_centre",
                                       external_id=None, user=user, registered_by_unit="tc.yueqing_liushi")[0].id
        self.session.commit()
        self.events = 1

    def ticket(self) -> Ticket:
        return self.session.get(Ticket, self.ticket_id, populate_existing=True)

    @rule()
    def route_by_rules(self):
        before = self.ticket().status
        decision = route.route_ticket(self.session, self.ticket_id)
        self.session.commit()
        assert (decision is not None) == (before == TicketStatus.NEW.value)
        self.events += decision is not None

    @rule(action=st.sampled_from(ACTIONS), who=st.sampled_from(sorted(PEOPLE)), data=st.data())
    def act(self, action, who, data):
        user = self.session.scalar(select(User).where(User.username == who))
        ticket = actions.lock(self.session, self.ticket_id)
        expected = action in allowed_actions(ticket, user)
        before = (ticket.status, ticket.version, ticket.lead_unit_code)
        try:
            _call(self.session, ticket, user, action, data)
        except DomainError:
            self.session.rollback()
            assert not expected, f"{who} could not {action} although it was allowed"
            t = self.ticket()
            assert (t.status, t.version, t.lead_unit_code) == before
            return
        self.session.commit()
        assert expected, f"{who} could {action} although it was not allowed"
        self.events += 1

    @invariant()
    def history_is_whole(self):
        events = list(self.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == self.ticket_id)
                                           .order_by(TicketEvent.id)))
        assert len(events) == self.events
        status = None
        for ev in events:
            if ev.to_status:
                assert ev.from_status == status
                status = ev.to_status
        ticket = self.ticket()
        assert ticket.status == status and ticket.status in {s.value for s in TicketStatus}
        stored = self.session.get(TicketClock, self.ticket_id, populate_existing=True)
        assert stored is not None and {k: getattr(stored, k) for k in clocks.Clocks().as_row()} == \
            clocks.compute(ticket.received_at, events).as_row()

    def teardown(self):
        self.session.close()


def test_random_action_sequences_keep_the_work_order_sound():
    with db.session_factory()() as s:
        for name, (role, unit) in PEOPLE.items():
            create_user(s, username=name, password="secret-pw", role=role, unit_code=unit)
        s.commit()
    run_state_machine_as_test(WorkOrder, settings=settings(
        max_examples=30, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    with db.session_factory()() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) >= 30
