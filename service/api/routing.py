"""Routing rules: preview a decision with its trace, see and reload the rule set in force."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from models import Role, User
from service.api.deps import require
from service.pipeline import route
from service.schemas.routing import PreviewIn, PreviewOut, RulesInvalidOut, RulesStatus

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])


@router.post("/preview", response_model=PreviewOut)
def preview(body: PreviewIn,
            _: Annotated[User, Depends(require(Role.OPERATOR, Role.DISPATCHER, Role.ADMIN))]) -> PreviewOut:
    """The decision the rules in force would take, and why each rule did or did not match."""
    decision, trace = route.current_ruleset().explain(route.preview_facts(body))
    return PreviewOut(decision=decision.to_dict(), trace=[t.to_dict() for t in trace])


@router.get("/rules", response_model=RulesStatus)
def rules(_: Annotated[User, Depends(require(Role.DISPATCHER, Role.ADMIN, Role.LEADER))]) -> RulesStatus:
    """The rule set in force (and the errors of a broken edit that was refused)."""
    return RulesStatus(**route.ruleset_status())


@router.post("/rules/reload", response_model=RulesStatus,
             responses={422: {"model": RulesInvalidOut, "description": "the rule files are broken; the old set stays"}})
def reload(_: Annotated[User, Depends(require(Role.ADMIN))]) -> RulesStatus:
    """Load the rule files now; a broken set answers 422 with every error and the old set stays."""
    route.reload_ruleset()
    return RulesStatus(**route.ruleset_status())
