"""Leadership's numbers over HTTP."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from models import RequestType, Role, User
from service.api.deps import CurrentUser, require
from service.api.openapi import errors
from service.config import get_settings
from service.db import SessionDep
from service.errors import Forbidden, field_error, unknown_code
from service.pipeline.stats import coverage as stats_coverage
from service.pipeline.stats import query as stats_query
from service.domain.bounds import check_day
from service.domain.tickets import open_counts
from service.domain.reference import blank_label, reference
from service.schemas.common import Coded
from service.schemas.enterprise import Coverage, CoverageCounty, CoverageTown

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"])

GroupBy = Literal["unit", "county", "town", "channel", "category", "request_type"]
_LABEL_SOURCE = {"unit": "units", "county": "counties", "town": "towns", "channel": "channels", "category": "categories"}


def label(dim: str, code: str) -> str | None:
    if code == "":
        return blank_label(_LABEL_SOURCE.get(dim, dim))
    if dim == "request_type":
        return RequestType(code).label
    return reference().label(_LABEL_SOURCE[dim], code)


@router.get("/summary", responses=errors(403))
def summary(
    session: SessionDep, user: CurrentUser,
    from_: Annotated[date | None, Query(alias="from", description="first day (default: 1 January this year)")] = None,
    to: Annotated[date | None, Query(description="last day, inclusive (default: today)")] = None,
    group_by: GroupBy | None = None,
    trend: Literal["day", "week", "month"] | None = None,
    unit: Annotated[str | None, Query(description="one unit's numbers")] = None,
    group_durations: Annotated[bool, Query(description="办理时长 percentiles per group too (slower)")] = False,
) -> dict:
    """Every metric of the period (default: this year to date), grouped by one dimension and/or as a trend,
    and `open_now`: the tickets open (未办结) and overdue at this moment (per group too).

    Leaders, dispatchers, operators and admins see everything; a handler sees its own unit's numbers.
    """
    today = datetime.now(ZoneInfo(get_settings().timezone)).date()
    start, end = check_day("from", from_) or date(today.year, 1, 1), check_day("to", to) or today
    if end < start:
        raise field_error("to", "must not be before from", zh="结束日期不能早于开始日期")
    if (end - start).days > 3660:
        raise field_error("from", "the period is limited to ten years", zh="统计期间最长十年")
    if user.role == Role.HANDLER.value:
        if unit not in (None, "", user.unit_code):
            raise Forbidden("a handler sees its own unit's numbers only")
        if group_by:
            raise Forbidden("a handler sees its own unit's numbers only; group_by is for leaders and dispatchers")
        unit = user.unit_code
    if unit and unit not in reference().codes("units"):
        raise unknown_code("unit", "units", unit)
    # The summary reads the rollups in several statements; in one snapshot, a refresh committing between them
    # cannot give it counters without their histogram or groups that do not add up to the totals.
    session.rollback()  # nothing to keep: this request writes nothing
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    out = stats_query.summary(session, start=start, end=end, group_by=group_by, trend=trend, unit=unit or None,
                              group_durations=group_durations)
    for g in out.get("groups", []):
        g["label"] = label(group_by, g["key"])
    # 未办结 is a count of tickets as they are now, whatever the period: never 受理 minus 办结.
    now = datetime.now(ZoneInfo(get_settings().timezone))
    opened = open_counts(session, now, group_by, unit or None)
    total = opened.pop("", (0, 0)) if not group_by else tuple(map(sum, zip((0, 0), *opened.values())))
    out["open_now"] = {"at": now.isoformat(), "open": total[0], "overdue": total[1]}
    if group_by:
        out["open_now"]["groups"] = [{"key": k, "label": label(group_by, k), "open": n, "overdue": late}
                                     for k, (n, late) in sorted(opened.items())]
    out["group_by"], out["trend_by"], out["unit"] = group_by, trend, unit or None
    return out


def _order(kind: str) -> dict[str, int]:
    """Codes in the order of their reference list (blank last)."""
    return {item["code"]: i for i, item in enumerate(reference().files[kind].items)}


def _place(kind: str, code: str) -> Coded:
    return Coded(code=code, label=reference().label(kind, code) if code else blank_label(kind))


@router.get("/coverage", response_model=Coverage, responses=errors(403, 422))
def coverage(
    session: SessionDep, _: Annotated[User, Depends(require(Role.LEADER, Role.ADMIN))],
    from_: Annotated[date | None, Query(alias="from", description="first day (default: 1 January this year)")] = None,
    to: Annotated[date | None, Query(description="last day, inclusive (default: today)")] = None,
) -> Coverage:
    """服务覆盖率: of the enterprises on the roster, how many had at least one ticket received in the period (tickets
    a merge moved count for the record they moved to), in all and by county and town (the roster's place)."""
    today = datetime.now(ZoneInfo(get_settings().timezone)).date()
    start, end = check_day("from", from_) or date(today.year, 1, 1), check_day("to", to) or today
    if end < start:
        raise field_error("to", "must not be before from", zh="结束日期不能早于开始日期")
    counts = stats_coverage.coverage(session, start, end)
    counties, towns = _order("counties"), _order("towns")
    return Coverage(
        period={"from": start.isoformat(), "to": end.isoformat()}, roster_total=counts["roster"],
        served=counts["served"], share=stats_coverage.share(counts["served"], counts["roster"]),
        by_county=[CoverageCounty(county=_place("counties", c), roster=n, served=s, share=stats_coverage.share(s, n))
                   for c, (n, s) in sorted(counts["counties"].items(), key=lambda i: counties.get(i[0], 1 << 30))],
        by_town=[CoverageTown(town=_place("towns", t), county=_place("counties", c), roster=n, served=s,
                              share=stats_coverage.share(s, n))
                 for (c, t), (n, s) in sorted(counts["towns"].items(), key=lambda i: (
                     counties.get(i[0][0], 1 << 30), towns.get(i[0][1], 1 << 30)))])
