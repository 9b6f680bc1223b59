"""Handling units and their webhook addresses."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AnyHttpUrl, BaseModel, ConfigDict
from sqlalchemy import select

from models import Role, Unit, User
from service.api.deps import require
from service.db import SessionDep
from service.errors import NotFound, field_error
from service.security import egress

router = APIRouter(prefix="/api/v1/units", tags=["units"])
Admin = Annotated[User, Depends(require(Role.ADMIN))]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl | None = None


class UnitOut(BaseModel):
    code: str
    name: str
    level: str
    kind: str
    county: str | None
    town: str | None
    webhook_url: str | None


def unit_out(u: Unit) -> UnitOut:
    return UnitOut(code=u.code, name=u.name, level=u.level, kind=u.kind, county=u.county_code, town=u.town_code,
                   webhook_url=u.webhook_url)


@router.get("", response_model=list[UnitOut])
def units(session: SessionDep, _: Admin, county: str | None = None) -> list[UnitOut]:
    """Units with their webhook addresses (admin)."""
    query = select(Unit).order_by(Unit.code)
    if county:
        query = query.where(Unit.county_code == county)
    return [unit_out(u) for u in session.scalars(query)]


@router.put("/{code}/webhook", response_model=UnitOut)
def set_webhook(code: str, body: WebhookIn, session: SessionDep, _: Admin) -> UnitOut:
    """Where the unit hears of tickets assigned, reminded, supervised, resolved or reopened; null to stop.

    Only public http(s) addresses without credentials (HOTLINE_WEBHOOK_ALLOW_HOSTS admits private receivers)."""
    unit = session.get(Unit, code)
    if unit is None:
        raise NotFound(f"no unit {code!r}")
    url = str(body.url) if body.url else None
    if url:
        try:
            egress.check_url(url)
        except egress.TargetRefused as exc:
            raise field_error("url", str(exc)) from None
    unit.webhook_url = url
    session.commit()
    return unit_out(unit)
