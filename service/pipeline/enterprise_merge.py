"""Two records of one company made one by an admin, and the merge undone exactly.

A merge moves every ticket of `from` to `into` and keeps their ids; `from` stays, pointing at `into`, so an intake
under its name or code finds `into`. `into` takes what it lacked of `from` (the USCC, the place, the chain, the tier,
the scale, the roster flag), each recorded. Records merged into `from` before now point at `into` (recorded too), so
a record never points at a merged one. An undo moves back exactly the recorded tickets still with `into`, re-points
the recorded records, and gives back the recorded values `into` still holds. Two records with different USCCs are two
companies: no merge.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Enterprise, EnterpriseMerge, Ticket, User
from service.domain.bounds import is_id
from service.errors import Conflict, NotFound, field_error

# What `into` takes from `from` when it has none (the county goes with the town).
_FILLED = ("town_code", "county_code", "chain_code", "tier_code", "above_scale")


def _lock(session: Session, *ids: int) -> dict[int, Enterprise]:
    """The records, locked in id order (two merges of the same pair cannot deadlock); intakes under them wait."""
    rows = session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)).order_by(Enterprise.id)
                           .with_for_update().execution_options(populate_existing=True))
    return {e.id: e for e in rows}


def merge(session: Session, *, from_id: int, into_id: int, reason: str, user: User) -> EnterpriseMerge:
    """Merge record `from_id` into `into_id` (flushed, not committed); 422 for an unknown id, 409 with the reason
    when the two cannot be merged."""
    if from_id == into_id:
        raise Conflict(f"enterprise {from_id} cannot be merged into itself")
    records = _lock(session, from_id, into_id)
    for name, enterprise_id in (("from_id", from_id), ("into_id", into_id)):
        if enterprise_id not in records:
            raise field_error(name, f"no enterprise {enterprise_id}", zh=f"没有编号为 {enterprise_id} 的企业",
                              code="not_found")
    src, dst = records[from_id], records[into_id]
    for ent in (src, dst):
        if ent.merged_into_id is not None:
            raise Conflict(f"enterprise {ent.id} ({ent.name}) is already merged into enterprise {ent.merged_into_id}; "
                           "merge into that one, or undo that merge first")
    if src.uscc and dst.uscc and src.uscc != dst.uscc:
        raise Conflict(f"enterprise {src.id} ({src.name}) has USCC {src.uscc} and enterprise {dst.id} ({dst.name}) "
                       f"has USCC {dst.uscc}: two different companies, not merged")
    filled: dict = {}
    if src.uscc and not dst.uscc:
        filled["uscc"], src.uscc = src.uscc, None
        session.flush()  # the code leaves `from` before `into` takes it (one record per code at every moment)
        dst.uscc = filled["uscc"]
    if dst.town_code is None and src.town_code is not None:
        filled["town_code"], filled["county_code"] = src.town_code, src.county_code
    for column in _FILLED:
        if column not in filled and getattr(dst, column) is None and getattr(src, column) is not None:
            if column != "county_code" or dst.town_code is None:
                filled[column] = getattr(src, column)
    for column in _FILLED:
        if column in filled:
            setattr(dst, column, filled[column])
    if src.on_roster and not dst.on_roster:
        filled["on_roster"] = True
        dst.on_roster, dst.roster_imported_at = True, src.roster_imported_at
    if src.last_contact_at and (dst.last_contact_at is None or dst.last_contact_at < src.last_contact_at):
        dst.last_contact_at = src.last_contact_at  # before the tickets move: the trigger then has nothing to do
    session.flush()
    repointed = list(session.scalars(update(Enterprise).where(Enterprise.merged_into_id == src.id)
                                     .values(merged_into_id=dst.id).returning(Enterprise.id)))
    moved = list(session.scalars(update(Ticket).where(Ticket.enterprise_id == src.id)
                                 .values(enterprise_id=dst.id).returning(Ticket.id)))
    src.merged_into_id = dst.id
    record = EnterpriseMerge(from_id=src.id, into_id=dst.id, reason=reason, merged_by_id=user.id,
                             ticket_ids=sorted(moved), repointed_ids=sorted(repointed), filled=filled)
    session.add(record)
    session.flush()
    return record


def undo(session: Session, merge_id: int, *, user: User) -> EnterpriseMerge:
    """Undo a merge (flushed, not committed): its tickets still with `into` go back to `from`; 404 for an unknown
    merge, 409 when it was undone already or `into` has been merged since."""
    record = session.get(EnterpriseMerge, merge_id, with_for_update=True) if is_id(merge_id) else None
    if record is None:
        raise NotFound(f"no enterprise merge {merge_id}")
    if record.undone_at is not None:
        raise Conflict(f"merge {merge_id} was undone already, at {record.undone_at.isoformat()}")
    records = _lock(session, record.from_id, record.into_id)
    src, dst = records[record.from_id], records[record.into_id]
    if dst.merged_into_id is not None:
        later = session.scalar(select(EnterpriseMerge.id).where(EnterpriseMerge.from_id == dst.id,
                                                                EnterpriseMerge.undone_at.is_(None))
                               .order_by(EnterpriseMerge.id.desc()).limit(1))
        raise Conflict(f"enterprise {dst.id} has been merged into enterprise {dst.merged_into_id} since (merge "
                       f"{later}); undo that merge first")
    try:
        with session.begin_nested():
            _give_back(session, record, src, dst)
    except IntegrityError:
        raise Conflict(f"merge {merge_id} cannot be undone: another record now holds the name or the code of "
                       f"enterprise {src.id}; merge that one first") from None
    record.undone_at, record.undone_by_id = datetime.now(UTC), user.id
    session.flush()
    return record


def _give_back(session: Session, record: EnterpriseMerge, src: Enterprise, dst: Enterprise) -> None:
    filled = record.filled or {}
    for column, value in filled.items():
        if column == "uscc" and dst.uscc == value:
            dst.uscc = None
            session.flush()
            src.uscc = value
        elif column == "on_roster" and dst.on_roster:
            dst.on_roster = False
        elif column in _FILLED and getattr(dst, column) == value:
            setattr(dst, column, None)
    src.merged_into_id = None
    session.flush()
    session.execute(update(Enterprise).where(Enterprise.id.in_(record.repointed_ids),
                                             Enterprise.merged_into_id == dst.id).values(merged_into_id=src.id))
    session.execute(update(Ticket).where(Ticket.id.in_(record.ticket_ids), Ticket.enterprise_id == dst.id)
                    .values(enterprise_id=src.id))
    for ent in (src, dst):
        ent.last_contact_at = session.scalar(select(func.max(Ticket.received_at))
                                             .where(Ticket.enterprise_id == ent.id))
    session.flush()


def merges(session: Session, *, enterprise_id: int | None = None, before: int | None = None,
           limit: int = 50) -> list[EnterpriseMerge]:
    """Merges, newest first (those involving one record, when given); keyset on id."""
    query = select(EnterpriseMerge)
    if enterprise_id is not None:
        query = query.where((EnterpriseMerge.from_id == enterprise_id) | (EnterpriseMerge.into_id == enterprise_id))
    if before is not None:
        query = query.where(EnterpriseMerge.id < before)
    return list(session.scalars(query.order_by(EnterpriseMerge.id.desc()).limit(limit)))
