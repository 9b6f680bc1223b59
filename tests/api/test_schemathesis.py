"""The whole API under schemathesis: for every operation of /openapi.json and inputs drawn from its schema (valid
and not), as an admin, an operator and a handler: no 5xx, every status documented, every body as documented."""
from __future__ import annotations

import json
import time
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from models import Role, User
from service import db
from service.app import create_app
from service.config import get_settings
from service.pipeline.intake import register
from service.security.signatures import PREFIX, sign
from service.security.users import issue_token
from service.schemas.ticket import TicketCreate
from tests.factories import add_user, ticket_body
from workers.jobs import route_new

app = create_app()
# Loaded from the app itself rather than over HTTP, so that collecting the tests starts nothing.
schema = schemathesis.openapi.from_dict(app.openapi())
schema.app = app

ROLES = {"admin": (Role.ADMIN, None), "operator": (Role.OPERATOR, None), "handler": (Role.HANDLER, "yueqing.power")}
# Bounded: with the examples of the schema and its boundary values (schemathesis's coverage phase), about 2,700
# requests; the module runs in well under a minute on an idle 2-core machine, about a minute under load.
MAX_EXAMPLES = 10
# Every default check but two about how strict the request schemas are rather than how the API answers: pydantic
# takes 0 for false and a number for a date-time (negative data accepted), and a 422 for an unknown unit code or a
# ten-year period answers input that JSON Schema cannot rule out (positive data rejected; its body is still checked).
EXCLUDED = [negative_data_rejection, positive_data_acceptance]


@pytest.fixture(scope="module", autouse=True)
def _stop_app():
    """The app's lifespan, which schemathesis starts on its own event loop, ends with this module."""
    yield
    shutdown_lifespans()


@pytest.fixture
def tokens():
    """A user of each role, and a few routed tickets (ids 1-3) for the lifecycle routes to act on."""
    for username, (role, unit) in ROLES.items():
        add_user(username, role, unit)
    with db.session_factory()() as s:
        users = {u.username: u for u in s.query(User)}
        for n in range(3):
            register(s, TicketCreate(**ticket_body(external_id=f"seed-{n}")), channel="hotline_96666",
                            external_id=f"seed-{n}", user=users["operator"])
        s.commit()
    route_new()  # the routing job's body, without starting a worker for it
    return {name: issue_token(user)[0] for name, user in users.items()}


@schema.hook
def map_path_parameters(context, path_parameters):
    """Half the generated ticket ids name a seeded ticket, so that the lifecycle routes run past their 404."""
    ticket_id = (path_parameters or {}).get("ticket_id")
    if isinstance(ticket_id, int) and not isinstance(ticket_id, bool) and ticket_id % 2 == 0:
        path_parameters["ticket_id"] = ticket_id % 3 + 1
    return path_parameters


def role_for(case) -> str:
    """One of the roles, the same each time the same request is replayed (hypothesis replays a failure)."""
    return sorted(ROLES)[zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % len(ROLES)]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented(case, tokens):
    push = signed_push(case)
    headers = {"Authorization": f"Bearer {tokens[role_for(case)]}", **push.pop("headers", {})}
    case.call_and_validate(headers=headers, excluded_checks=EXCLUDED, **push)


def signed_push(case) -> dict:
    """A 帮企云 push body, signed as the platform signs it, so that generated pushes get past the signature check."""
    if case.operation.path != "/api/v1/intake/bangqiyun":
        return {}
    try:
        raw = json.dumps(case.body).encode()
    except (TypeError, ValueError):  # not JSON at all: sent as generated, and refused
        return {}
    stamp = str(int(time.time()))
    signature = PREFIX + sign(get_settings().bangqiyun_secret, stamp, raw)
    return {"data": raw, "json": None, "headers": {"X-Signature-Timestamp": stamp, "X-Signature": signature}}
