"""Enterprise records, their contacts, tickets and merges as the API shows them, each code with its Chinese label."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Enterprise, EnterpriseContact, EnterpriseMerge, Ticket, User
from service.api.present import coded, status, unit
from service.domain.privacy import shown_contact_phone
from service.pipeline import enterprises
from service.schemas.enterprise import ContactOut, EnterpriseItem, EnterpriseRef, MergeOut, TicketSummary


def items(session: Session, records: list[Enterprise], user: User) -> list[EnterpriseItem]:
    """Records with their open and total ticket counts (of the tickets `user` may see)."""
    counts = enterprises.ticket_counts(session, [e.id for e in records], user)
    return [item(e, counts.get(e.id, (0, 0))) for e in records]


def item(ent: Enterprise, counts: tuple[int, int]) -> EnterpriseItem:
    return EnterpriseItem(
        id=ent.id, name=ent.name, uscc=ent.uscc, county=coded("counties", ent.county_code),
        town=coded("towns", ent.town_code), chain=coded("chains", ent.chain_code), tier=coded("tiers", ent.tier_code),
        above_scale=ent.above_scale, on_roster=ent.on_roster, open_tickets=counts[0], total_tickets=counts[1],
        last_contact_at=ent.last_contact_at, merged_into=ent.merged_into_id)


def ticket_summary(ticket: Ticket) -> TicketSummary:
    return TicketSummary(id=ticket.id, number=ticket.number, title=ticket.title, status=status(ticket.status),
                         category=coded("categories", ticket.category_code), received_at=ticket.received_at,
                         lead_unit=unit(ticket.lead_unit_code))


def contact(row: EnterpriseContact, user: User) -> ContactOut:
    """A contact, its phone as privacy.py shows a phone not tied to one ticket."""
    return ContactOut(name=row.name, phone=shown_contact_phone(user, row.phone), last_seen_at=row.last_seen_at, ticket_count=row.ticket_count)


def merges(session: Session, records: list[EnterpriseMerge]) -> list[MergeOut]:
    """Merges with the two records (`from` with the USCC it brought, while the merge stands) and who acted."""
    ids = {i for m in records for i in (m.from_id, m.into_id)}
    users = {i for m in records for i in (m.merged_by_id, m.undone_by_id) if i}
    found = {e.id: e for e in session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)))} if ids else {}
    names = {i: n for i, n in session.execute(select(User.id, User.username).where(User.id.in_(users)))} if users else {}
    out = []
    for m in records:
        src, dst = found[m.from_id], found[m.into_id]
        brought = (m.filled or {}).get("uscc") if m.undone_at is None else None
        out.append(MergeOut(
            id=m.id, from_=EnterpriseRef(id=src.id, name=src.name, uscc=src.uscc or brought),
            into=EnterpriseRef(id=dst.id, name=dst.name, uscc=dst.uscc), reason=m.reason, merged_at=m.merged_at,
            merged_by=names.get(m.merged_by_id), undone_at=m.undone_at, undone_by=names.get(m.undone_by_id),
            ticket_count=len(m.ticket_ids or [])))
    return out
