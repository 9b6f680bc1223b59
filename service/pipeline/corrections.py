"""改类: a dispatcher corrects what a ticket was registered as (category, request type), where (county, town) or for
whom (the enterprise record), with a reason, recorded as one `reclassified` event holding the values before and after.

What moves with it:
- the statistics: channel, county, town, category and request type are the ticket's current values in every number
  (service/pipeline/stats/facts.py), so the ticket's numbers move to the new values at the next refresh (the
  database queues the ticket when one of them changes); what each fact recorded when it happened (on time or not,
  how long) stays;
- the deadlines, only where the SLA table (routing_rules/sla.yaml) derives them from what changed: the request type.
  An open ticket's 办结 limit is recounted for the new type, from the same start (receipt, or the 重办), when it is
  the table's limit for the old type and urgency; not when a routing rule's `sla:` set it, a 重办 set its own, or
  an approved 延期 set a date. While the ticket waits for 签收, the 签收 limit is recounted alike, from the same
  assignment. Category, county, town and enterprise set no limit; urgency, which overrides the request type in the
  table, is not corrected here;
- the routing stays: a correction does not send the ticket elsewhere (改派 does);
- `?q=` finds the ticket under its new enterprise's name, and the caller lookup finds its contact under the new
  enterprise (no longer under the old one, unless another of its tickets names that contact).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from models import (HELD_STATUSES, OPEN_STATUSES, Enterprise, EnterpriseContact, EventKind, Ticket, TicketEvent,
                    TicketStatus, User)
from service.domain import events, lookup
from service.domain.reference import reference
from service.errors import field_error
from service.pipeline import sla
from service.pipeline.actions import finish, set_deadlines
from service.pipeline.stats.facts import ASSIGNING
from service.pipeline.workflow import Action, check
from service.unit_of_work import UnitOfWork

_UNSET = object()


def reclassify(session: UnitOfWork, ticket: Ticket, user: User, *, reason: str, category: str | None = None,
               request_type: str | None = None, county: str | None = None, town: object = _UNSET,
               enterprise_id: int | None = None) -> Ticket:
    """Correct the values given (None: left as they are; `town=None` clears the town). 422 when nothing would change,
    or when the town and county disagree; the enterprise must exist and not be merged into another."""
    check(Action.RECLASSIFY, ticket, user)
    before: dict = {}
    after: dict = {}

    def change(name: str, attr: str, value) -> None:
        if getattr(ticket, attr) != value:
            before[name], after[name] = getattr(ticket, attr), value
            setattr(ticket, attr, value)

    old_type = ticket.request_type
    if category is not None:
        change("category", "category_code", category)
    if request_type is not None:
        change("request_type", "request_type", request_type)
    new_county, new_town = _place(ticket, county, town)
    change("county", "county_code", new_county)
    change("town", "town_code", new_town)
    if enterprise_id is not None and enterprise_id != ticket.enterprise_id:
        _move(session, ticket, enterprise_id, before, after)
    if not after:
        raise field_error("body", "nothing to change: every value given is the ticket's already",
                          zh="没有需要更正的内容：所给的值与工单现有的相同", code="no_change")
    if ticket.request_type != old_type:
        _recount(session, ticket, old_type, before, after)
    events.record(session, ticket, EventKind.RECLASSIFIED, user=user,
                  payload={"reason": reason, "before": before, "after": after})
    ticket.version += 1
    return finish(session, ticket, "reclassified" if ticket.status in HELD_STATUSES else None)


def _place(ticket: Ticket, county: str | None, town: object) -> tuple[str | None, str | None]:
    """The (county, town) after the correction: a town names its county (a county given must agree); a county
    alone keeps the town only if the town lies in it."""
    new_county = county if county is not None else ticket.county_code
    new_town = ticket.town_code if town is _UNSET else town
    if town is not _UNSET and town is not None:
        town_county = reference().town(town)["county"]
        if county is not None and county != town_county:
            raise field_error("town", f"town {town!r} is in county {town_county!r}, not {county!r}",
                              zh=f"镇街 {town!r} 属于 {town_county!r}，不属于 {county!r}", code="town_county_mismatch")
        new_county = town_county
    elif new_town is not None and county is not None and reference().town(new_town)["county"] != county:
        new_town = None  # the old town is not in the new county: the town is no longer known
    return new_county, new_town


def _move(session: UnitOfWork, ticket: Ticket, enterprise_id: int, before: dict, after: dict) -> None:
    """The ticket belongs to another enterprise record from now on (its name and code with it)."""
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise field_error("enterprise_id", f"no enterprise {enterprise_id}", zh=f"企业 {enterprise_id} 不存在",
                          code="unknown_enterprise")
    if ent.merged_into_id is not None:
        raise field_error("enterprise_id", f"enterprise {enterprise_id} was merged into {ent.merged_into_id}; name "
                          "that one", zh=f"企业 {enterprise_id} 已并入 {ent.merged_into_id}，请改用后者",
                          code="enterprise_merged")
    old_id = ticket.enterprise_id
    before["enterprise"] = {"id": old_id, "name": ticket.enterprise_name, "uscc": ticket.uscc}
    after["enterprise"] = {"id": ent.id, "name": ent.name, "uscc": ent.uscc}
    ticket.enterprise_id, ticket.enterprise_name, ticket.uscc = ent.id, ent.name, ent.uscc
    if ent.last_contact_at is None or ent.last_contact_at < ticket.received_at:
        ent.last_contact_at = ticket.received_at
    session.flush()
    _move_contact(session, ticket, old_id, ent.id)
    session.execute(update(Enterprise).where(Enterprise.id == old_id).values(last_contact_at=select(
        func.max(Ticket.received_at)).where(Ticket.enterprise_id == old_id).scalar_subquery())
        .execution_options(synchronize_session=False))
    lookup.reindex(session, ticket)


def _move_contact(session: UnitOfWork, ticket: Ticket, old_id: int, new_id: int) -> None:
    """The caller (name and phone) counts for the enterprise the ticket now belongs to, as intake counts it, and no
    longer for the one it was registered under (forgotten there when no other ticket names it)."""
    person = (EnterpriseContact.name == ticket.contact_name,
              EnterpriseContact.phone_digits == func.hotline_phone_digits(ticket.contact_phone))
    session.execute(update(EnterpriseContact).where(EnterpriseContact.enterprise_id == old_id, *person)
                    .values(ticket_count=EnterpriseContact.ticket_count - 1)
                    .execution_options(synchronize_session=False))
    session.execute(delete(EnterpriseContact).where(EnterpriseContact.enterprise_id == old_id, *person,
                                                    EnterpriseContact.ticket_count <= 0)
                    .execution_options(synchronize_session=False))
    add = insert(EnterpriseContact).values(enterprise_id=new_id, name=ticket.contact_name, phone=ticket.contact_phone,
                                           last_seen_at=ticket.received_at, ticket_count=1)
    session.execute(add.on_conflict_do_update(
        index_elements=["enterprise_id", "phone_digits", "name"],
        set_={"ticket_count": EnterpriseContact.ticket_count + 1, "phone": add.excluded.phone,
              "last_seen_at": func.greatest(EnterpriseContact.last_seen_at, add.excluded.last_seen_at)}))


def _rule_limits(session: UnitOfWork, ticket: Ticket) -> tuple[dict, dict]:
    """The routing rule's `sla:` behind the ticket's 办结 limit, and behind its current 签收 limit ({} for none)."""
    rule_sla = session.scalar(select(TicketEvent.payload["sla"]).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.ROUTED.value)
        .order_by(TicketEvent.id.desc()).limit(1)) or {}
    last_assignment = session.scalar(select(TicketEvent.kind).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_([k.value for k in ASSIGNING]))
        .order_by(TicketEvent.id.desc()).limit(1))
    resolve_rule = rule_sla if ticket.reopen_count == 0 else {}
    accept_rule = rule_sla if last_assignment == EventKind.ROUTED.value else {}
    return resolve_rule, accept_rule


def _recount(session: UnitOfWork, ticket: Ticket, old_type: str, before: dict, after: dict) -> None:
    """Recount the limits the table set from the old request type (see the module's docstring)."""
    if ticket.status not in OPEN_STATUSES:
        return
    table = sla.sla_table()
    old, new = table.limits(old_type, ticket.urgency), table.limits(ticket.request_type, ticket.urgency)
    resolve_rule, accept_rule = _rule_limits(session, ticket)
    due = (ticket.accept_due_at, ticket.resolve_due_at)
    if ("resolve_days" not in resolve_rule and ticket.resolve_days is not None
            and ticket.resolve_from_at is not None and ticket.resolve_days == old.resolve_days):
        ticket.resolve_days = new.resolve_days
    if (ticket.status == TicketStatus.ASSIGNED.value and "accept_hours" not in accept_rule
            and ticket.accept_hours is not None and ticket.accept_hours == old.accept_hours):
        ticket.accept_hours = new.accept_hours
    set_deadlines(ticket)
    if ticket.resolve_due_at != due[1]:  # as after an approved 延期: the flags of the old deadline go
        ticket.reminded_at = None
        if ticket.supervision == "yellow":
            ticket.supervision = None
    for name, old_value, new_value in (("accept_due_at", due[0], ticket.accept_due_at),
                                       ("resolve_due_at", due[1], ticket.resolve_due_at)):
        if old_value != new_value:
            before[name], after[name] = _iso(old_value), _iso(new_value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

