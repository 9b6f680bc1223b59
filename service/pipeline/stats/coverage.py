"""Coverage: of the enterprises on the roster, how many used the service in a period, by county and town.

A roster enterprise is a record on the roster as last imported that is not merged into another (a merge puts the
record it merges into on the roster). It is served when at least one ticket received in the period (received_at, any
channel, any status, 并单 ones too) belongs to it now: tickets moved by a merge count for the record they moved to.
A record's county and town are its own (the roster's), not its tickets'.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from models import Enterprise, Ticket
from service.config import get_settings


def share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def coverage(session: Session, start: date, end: date) -> dict:
    """Roster and served counts for the days start..end (both included, in the service's timezone): the totals,
    per county and per town, keyed by codes ('' when the record has none)."""
    tz = ZoneInfo(get_settings().timezone)
    since, until = datetime.combine(start, time(), tz), datetime.combine(end + timedelta(days=1), time(), tz)
    served = exists().where(Ticket.enterprise_id == Enterprise.id, Ticket.received_at >= since,
                            Ticket.received_at < until)
    county, town = func.coalesce(Enterprise.county_code, ""), func.coalesce(Enterprise.town_code, "")
    rows = session.execute(select(county, town, func.count(), func.count().filter(served))
                           .where(and_(Enterprise.on_roster, Enterprise.merged_into_id.is_(None)))
                           .group_by(county, town))
    out: dict = {"roster": 0, "served": 0, "counties": {}, "towns": {}}
    for county_code, town_code, roster, done in rows:
        out["roster"] += roster
        out["served"] += done
        cell = out["counties"].setdefault(county_code, [0, 0])
        cell[0], cell[1] = cell[0] + roster, cell[1] + done
        out["towns"][(county_code, town_code)] = (roster, done)
    return out
