"""Reference lists for clients: codes with their Chinese names."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter

from models import ArticleKind, EventKind, RequestType, Role, TicketStatus, Urgency
from service.api.deps import CurrentUser
from service.api.present import SUPERVISION_LABELS
from service.config import get_settings
from service.errors import NotFound
from service.domain.reference import LISTS, reference
from service.domain.workdays import day_info
from service.pipeline.route import current_ruleset
from service.pipeline.workflow import ACTION_LABELS, REFUSAL_REASONS, SATISFACTION

router = APIRouter(prefix="/api/v1/reference", tags=["reference"])

ENUMS = {"request_types": RequestType, "urgencies": Urgency, "statuses": TicketStatus, "roles": Role,
         "event_kinds": EventKind, "article_kinds": ArticleKind}
# Fixed code lists of the lifecycle actions' bodies: 退单 reasons (national 12345 practice), 回访 满意度, 督办 lights,
# and the actions themselves (what allowed_actions names).
LABELLED = {"refusal_reasons": REFUSAL_REASONS, "satisfactions": SATISFACTION, "supervision_levels": SUPERVISION_LABELS,
            "actions": ACTION_LABELS}
# Lists computed on request: the working-day calendar, and the routing rules in force (id and what each does).
EXTRA = ("calendar", "routing_rules")
# How far ahead the working-day calendar list reaches (an extension's date picker reads it).
CALENDAR_DAYS = 400


@router.get("")
def index(_: CurrentUser) -> dict:
    """The names of the lists below, with their data versions."""
    files = reference().files
    return {"lists": sorted([*LISTS, *ENUMS, *LABELLED, *EXTRA]),
            "versions": {name: files[name].version for name in LISTS}}


@router.get("/{name}")
def items(name: str, _: CurrentUser, county: str | None = None, level: str | None = None) -> dict:
    """One list (e.g. units?county=yueqing, towns?county=ruian, unit_kinds?level=county, categories,
    refusal_reasons, satisfactions). `routing_rules`: each rule in force, {code: its id, label: what it does}.
    `calendar`: the days of the coming year that break the Monday-to-Friday
    rule, each {date, working, label, provisional}: weekdays off (节假日) and weekend days worked (调休上班)."""
    if name in ENUMS:
        return {"name": name, "items": [{"code": m.value, "label": m.label} for m in ENUMS[name]]}
    if name in LABELLED:
        return {"name": name, "items": [{"code": code, "label": label} for code, label in LABELLED[name].items()]}
    if name == "calendar":
        return {"name": name, "items": calendar_exceptions(
            datetime.now(ZoneInfo(get_settings().timezone)).date(), CALENDAR_DAYS)}
    if name == "routing_rules":
        rules = current_ruleset()
        return {"name": name, "version": rules.version,
                "items": [{"code": r.id, "label": r.description or r.id} for r in rules.rules]}
    if name not in LISTS:
        lists = sorted([*LISTS, *ENUMS, *LABELLED, *EXTRA])
        raise NotFound(f"no reference list {name!r}; lists: {', '.join(lists)}")
    ref = reference().files[name]
    rows = [i for i in ref.items
            if (county is None or i.get("county") == county)
            and (level is None or i.get("level") == level or level in i.get("levels", ()))]
    return {"name": name, "version": ref.version, "items": rows}


def calendar_exceptions(start: date, days: int) -> list[dict]:
    """The days in [start, start + days) whose working status differs from Monday to Friday."""
    out = []
    for i in range(days):
        day = start + timedelta(days=i)
        working, provisional = day_info(day)
        if working != (day.weekday() < 5):
            out.append({"date": day.isoformat(), "working": working, "label": "调休上班" if working else "节假日",
                        "provisional": provisional})
    return out
