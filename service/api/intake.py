"""Pushes from other platforms: 帮企云 signs its problems with a shared secret."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from service.api.openapi import errors
from service.api.tickets import register
from service.config import get_settings
from service.security.signatures import verify
from service.schemas.ticket import BangqiyunPush, TicketCreated

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])


@router.post("/bangqiyun", response_model=TicketCreated, status_code=201,
             responses=errors(401, 413, 422, 503, descriptions={401: "missing, wrong or stale signature"}),
             openapi_extra={"requestBody": {"content": {"application/json": {
                 "schema": BangqiyunPush.model_json_schema(ref_template="#/components/schemas/{model}")}}}})
async def bangqiyun(
    request: Request,
    x_signature_timestamp: Annotated[str | None, Header()] = None,
    x_signature: Annotated[str | None, Header()] = None,
) -> Response:
    """A 帮企云 problem: X-Signature = hex HMAC-SHA256(secret, "<X-Signature-Timestamp>." + raw body).

    Its own id becomes our external_id, so a re-sent push returns the ticket already filed (200).
    """
    settings = get_settings()
    raw = await request.body()
    verify(settings.bangqiyun_secret, x_signature_timestamp, x_signature, raw,
           max_skew=settings.bangqiyun_max_skew_seconds)
    try:
        push = BangqiyunPush.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    return await register(push, channel="bangqiyun", external_id=push.id, user=None, unit_code=None,
                          system="bangqiyun")
