"""Reference lists for clients: codes with their Chinese names."""
from __future__ import annotations

from fastapi import APIRouter

from models import RequestType, Role, TicketStatus, Urgency
from service.api.deps import CurrentUser
from service.errors import NotFound
from service.domain.reference import LISTS, reference

router = APIRouter(prefix="/api/v1/reference", tags=["reference"])

ENUMS = {"request_types": RequestType, "urgencies": Urgency, "statuses": TicketStatus, "roles": Role}


@router.get("")
def index(_: CurrentUser) -> dict:
    """The names of the lists below, with their data versions."""
    files = reference().files
    return {"lists": sorted([*LISTS, *ENUMS]), "versions": {name: files[name].version for name in LISTS}}


@router.get("/{name}")
def items(name: str, _: CurrentUser, county: str | None = None, level: str | None = None) -> dict:
    """One list (e.g. units?county=yueqing, towns?county=ruian, unit_kinds?level=county, categories)."""
    if name in ENUMS:
        return {"name": name, "items": [{"code": m.value, "label": m.label} for m in ENUMS[name]]}
    if name not in LISTS:
        raise NotFound(f"no reference list {name!r}; lists: {', '.join(sorted([*LISTS, *ENUMS]))}")
    ref = reference().files[name]
    rows = [i for i in ref.items
            if (county is None or i.get("county") == county)
            and (level is None or i.get("level") == level or level in i.get("levels", ()))]
    return {"name": name, "version": ref.version, "items": rows}
