"""The lifecycle over HTTP: one endpoint per action; each answers the ticket and what the caller may do next."""
from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from models import Ticket, User
from service.api import present
from service.api import tickets as ticket_api
from service.api.deps import CurrentUser
from service.api.openapi import errors
from service.db import SessionDep
from service.pipeline import actions, corrections, dedupe, knowledge, resolution
from service.domain import audit, tickets
from service.schemas import actions as body
from service.schemas.ticket import TicketDetail, TicketOut

# Who may take each step, and from which status, is the workflow's to say: 403 and 409 on every action.
router = APIRouter(prefix="/api/v1/tickets/{ticket_id}", tags=["lifecycle"], responses=errors(403, 409))


def act(session, user: User, ticket_id: int, data: body.ActionIn, fn: Callable[[Ticket], Ticket]) -> TicketOut:
    """Lock, act, commit (the unit then runs what the action asked for: notifications, statistics); answer the
    ticket as the caller now sees it."""
    tickets.get_visible(session, ticket_id, user)
    ticket = fn(actions.lock(session, ticket_id, data.expected_version))
    session.commit()
    return present.ticket_out(ticket, session, user=user)


@router.post("/dispatch", response_model=TicketOut, summary="派单 (dispatcher)")
def dispatch(ticket_id: int, b: body.UnitsIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """Place a ticket waiting for dispatch (受理 or 待派单) with a lead unit and any assisting units; the 签收 and 办结
    deadlines start. Dispatchers only; 409 from any other status."""
    return act(session, user, ticket_id, b, lambda t: actions.dispatch(
        session, t, user, lead=b.lead_unit, assisting=b.assisting_units, reason=b.reason))


@router.post("/accept", response_model=TicketOut, summary="签收 (lead unit)")
def accept(ticket_id: int, session: SessionDep, user: CurrentUser, b: body.NoteIn = body.NoteIn()) -> TicketOut:
    """签收: the lead unit takes the ticket on (待签收 -> 办理中); whether it signed within the 签收 deadline is recorded."""
    return act(session, user, ticket_id, b, lambda t: actions.accept(session, t, user, b.note))


@router.post("/refuse", response_model=TicketOut, summary="退单 with a reason (lead unit)")
def refuse(ticket_id: int, b: body.RefuseIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """退单: the lead unit gives the ticket back with one of the national reasons (GET /api/v1/reference/refusal_reasons)
    and a note; a dispatcher then approves (改派) or overrules it. Only from 待签收."""
    return act(session, user, ticket_id, b, lambda t: actions.refuse(session, t, user, b.reason, b.note))


@router.post("/refusal/approve", response_model=TicketOut, summary="退单 approved: 改派 (dispatcher)")
def approve_refusal(ticket_id: int, b: body.ApproveRefusalIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """Approve a 退单: 改派 to another lead unit, or, with no lead_unit, back to the dispatch queue (待派单)."""
    return act(session, user, ticket_id, b, lambda t: actions.approve_refusal(
        session, t, user, lead=b.lead_unit, assisting=b.assisting_units, note=b.note))


@router.post("/refusal/overrule", response_model=TicketOut, summary="退单 overruled: 强制派单 (dispatcher)")
def overrule_refusal(ticket_id: int, session: SessionDep, user: CurrentUser, b: body.NoteIn = body.NoteIn()) -> TicketOut:
    """Overrule a 退单 (强制派单): the unit that refused keeps the ticket and must handle it (办理中, signed now)."""
    return act(session, user, ticket_id, b, lambda t: actions.overrule_refusal(session, t, user, b.note))


@router.post("/transfer", response_model=TicketOut, summary="改派 (dispatcher)")
def transfer(ticket_id: int, b: body.UnitsIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """改派: move a ticket that a unit holds (待签收 or 办理中) to another lead unit, which then signs for it."""
    return act(session, user, ticket_id, b, lambda t: actions.transfer(
        session, t, user, lead=b.lead_unit, assisting=b.assisting_units, reason=b.reason))


@router.post("/assist", response_model=TicketOut, summary="协办意见 (assisting unit)")
def assist(ticket_id: int, b: body.OpinionIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """协办意见: an assisting unit records its opinion on a ticket another unit leads."""
    return act(session, user, ticket_id, b, lambda t: actions.assist(session, t, user, b.opinion))


@router.post("/extension", response_model=TicketOut, summary="申请延期 (lead unit, before the deadline)")
def request_extension(ticket_id: int, b: body.ExtensionIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """申请延期: the lead unit asks for a later 办结 deadline on a working day, with a reason, before the current
    deadline passes; a dispatcher decides."""
    return act(session, user, ticket_id, b, lambda t: resolution.request_extension(
        session, t, user, new_due=b.new_due_at, reason=b.reason))


@router.post("/extension/approve", response_model=TicketOut, summary="同意延期 (dispatcher)")
def approve_extension(ticket_id: int, session: SessionDep, user: CurrentUser, b: body.NoteIn = body.NoteIn()) -> TicketOut:
    """同意延期: the requested deadline becomes the 办结 deadline."""
    return act(session, user, ticket_id, b,
               lambda t: resolution.decide_extension(session, t, user, approve=True, note=b.note))


@router.post("/extension/deny", response_model=TicketOut, summary="不同意延期 (dispatcher)")
def deny_extension(ticket_id: int, session: SessionDep, user: CurrentUser, b: body.NoteIn = body.NoteIn()) -> TicketOut:
    """不同意延期: the request is dropped and the deadline stays."""
    return act(session, user, ticket_id, b,
               lambda t: resolution.decide_extension(session, t, user, approve=False, note=b.note))


@router.post("/resolve", response_model=TicketOut, summary="办结 with 办理意见 (lead unit)")
def resolve(ticket_id: int, b: body.ResolveIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """办结: the lead unit closes its work with the 办理意见 (optionally citing a knowledge article or reply template);
    the ticket then waits for the 回访."""
    return act(session, user, ticket_id, b, lambda t: resolution.resolve(
        session, t, user, b.opinion, citation=knowledge.citation(session, b.article_id, "article_id")))


@router.post("/instant-resolve", response_model=TicketOut, summary="即时办结 (who registered it)")
def instant_resolve(ticket_id: int, b: body.AnswerIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """即时办结: the operator or centre that registered a ticket answers it on the spot, before routing."""
    return act(session, user, ticket_id, b, lambda t: resolution.instant_resolve(
        session, t, user, b.answer, citation=knowledge.citation(session, b.article_id, "article_id")))


@router.post("/feedback", response_model=TicketOut,
             summary="回访, one per resolution: a second is 409 (correct it with /feedback/amend) (operator)")
def feedback(ticket_id: int, b: body.FeedbackIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """回访: the operator records the enterprise's 满意度 (GET /api/v1/reference/satisfactions) and whether the problem
    was solved. One per resolution."""
    return act(session, user, ticket_id, b, lambda t: resolution.feedback(
        session, t, user, satisfaction=b.satisfaction, solved=b.solved, comment=b.comment))


@router.post("/feedback/amend", response_model=TicketOut,
             summary="更正回访: replaces the resolution's 回访 in every number; recorded as its own event (operator)")
def amend_feedback(ticket_id: int, b: body.FeedbackIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """更正回访: replace this resolution's 回访; the correction is its own event and every number follows it."""
    return act(session, user, ticket_id, b, lambda t: resolution.feedback(
        session, t, user, satisfaction=b.satisfaction, solved=b.solved, comment=b.comment, amends=True))


@router.post("/feedback/attempt", response_model=TicketOut,
             summary="回访未接通: one unanswered 回访 call; enough of them allow 归档 without a 回访 (operator)")
def feedback_attempt(ticket_id: int, session: SessionDep, user: CurrentUser, b: body.NoteIn = body.NoteIn()) -> TicketOut:
    """回访未接通: record one unanswered 回访 call (HOTLINE_FEEDBACK_MAX_ATTEMPTS of them allow 归档)."""
    return act(session, user, ticket_id, b, lambda t: resolution.feedback_attempt(session, t, user, b.note))


@router.post("/reopen", response_model=TicketOut, summary="重办 after an unsatisfied 回访 (dispatcher)")
def reopen(ticket_id: int, b: body.ReopenIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """重办: after a 不满意 or 未解决 回访, a dispatcher sends the ticket back to its lead unit with a new 办结 deadline."""
    return act(session, user, ticket_id, b,
               lambda t: resolution.reopen(session, t, user, reason=b.reason, resolve_days=b.resolve_days))


@router.post("/close", response_model=TicketOut,
             summary="归档 after the 回访, or unanswered 回访 calls, or declined with a reason (operator); after a "
                     "不满意 or 未解决 回访 only with a reason (dispatcher)")
def close(ticket_id: int, session: SessionDep, user: CurrentUser, b: body.CloseIn = body.CloseIn()) -> TicketOut:
    """归档: archive a resolved ticket after its 回访, after unanswered calls, or when the enterprise declines (declined
    with a reason); after a 不满意 or 未解决 回访 only a dispatcher archives, with a reason."""
    return act(session, user, ticket_id, b, lambda t: resolution.close(session, t, user, b.note, reason=b.reason,
                                                                       declined=b.declined))


@router.post("/remind", response_model=TicketOut, summary="催办 (dispatcher or leader)")
def remind(ticket_id: int, session: SessionDep, user: CurrentUser, b: body.NoteIn = body.NoteIn()) -> TicketOut:
    """催办: flag a ticket a unit holds as reminded (the unit sees it highlighted); the status does not change."""
    return act(session, user, ticket_id, b, lambda t: resolution.remind(session, t, user, b.note))


@router.post("/supervise", response_model=TicketOut, summary="督办 with a yellow or red light (dispatcher or leader)")
def supervise(ticket_id: int, b: body.SuperviseIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """督办: light a ticket yellow or red (the 督办 light); the status does not change."""
    return act(session, user, ticket_id, b,
               lambda t: resolution.supervise(session, t, user, level=b.level, note=b.note))


@router.post("/merge", response_model=TicketOut, summary="并单 into another open ticket (operator)")
def merge(ticket_id: int, b: body.MergeIn, session: SessionDep, user: CurrentUser) -> TicketOut:
    """并单: merge a duplicate into another open ticket; the merged ticket follows the one it joined."""
    tickets.get_visible(session, b.into_ticket_id, user)
    for tid in sorted({ticket_id, b.into_ticket_id}):  # both rows, in id order: crossing merges cannot deadlock
        actions.lock(session, tid)
    return act(session, user, ticket_id, b, lambda t: dedupe.merge(session, t, b.into_ticket_id, user=user,
                                                                   reason=b.reason))


@router.post("/unmerge", response_model=TicketOut, summary="undo a 并单 (dispatcher)")
def unmerge(ticket_id: int, session: SessionDep, user: CurrentUser, b: body.NoteIn = body.NoteIn()) -> TicketOut:
    """Undo a 并单: the merged ticket returns to the status it had before, and both tickets record it."""
    return act(session, user, ticket_id, b, lambda t: dedupe.unmerge(session, t, user=user, reason=b.note))


@router.post("/reclassify", response_model=TicketDetail,
             summary="改类: correct the category, request type, county, town or enterprise, with a reason (dispatcher)")
def reclassify(ticket_id: int, b: body.ReclassifyIn, session: SessionDep, user: CurrentUser) -> TicketDetail:
    """改类, in any status: the values given replace the ticket's (a town implies its county; `town: null` clears it)
    and one `reclassified` event (改类) keeps the reason and the values before and after. The statistics count the
    ticket under its new values; the deadlines the SLA table sets from the request type are recounted (see README).
    Answers the ticket as GET /api/v1/tickets/{id} does."""
    tickets.get_visible(session, ticket_id, user)
    given = b.model_dump(exclude_unset=True, exclude={"reason", "version"})
    ticket = corrections.reclassify(
        session, actions.lock(session, ticket_id, b.version), user, reason=b.reason,
        category=given.get("category"), request_type=given.get("request_type"), county=given.get("county"),
        enterprise_id=given.get("enterprise_id"), **({"town": given["town"]} if "town" in given else {}))
    out = ticket_api.detail_out(session, ticket, user)
    audit.record_contact_read(session, user, ticket)
    session.commit()
    return out
