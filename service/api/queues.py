"""The queues over HTTP: the counts a console shows on its tabs, each with the list query behind it."""
from __future__ import annotations

from fastapi import APIRouter

from models import Role
from service.api import present
from service.api.deps import CurrentUser
from service.api.filters import from_query
from service.db import SessionDep
from service.domain import tickets
from service.domain.queues import TABS
from service.schemas.common import Coded
from service.schemas.queues import QueueSummary, QueueTab

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])


@router.get("/summary", response_model=QueueSummary)
def summary(session: SessionDep, user: CurrentUser) -> QueueSummary:
    """The logged-in user's tabs: a handler's 待签收, 办理中, 待审核 (退单/延期 waiting), 协办, 即将超期 (due within
    24 h) and 已办结 of its unit; a dispatcher's 待派单, 退单审核, 延期审批, 超期, 待回访, 已办结; an operator's 待回访,
    我登记的, 超期; a leader's or admin's 超期 and 督办. Each count is what GET /api/v1/tickets?<query> lists."""
    tabs = [QueueTab(key=tab.key, label=tab.label, query=tab.query,
                     count=tickets.count_tickets(session, from_query(tab.query, user), user))
            for tab in TABS.get(user.role, ())]
    return QueueSummary(role=Coded(code=user.role, label=Role(user.role).label),
                        unit=present.unit(user.unit_code) if user.role == Role.HANDLER.value else None, tabs=tabs)
