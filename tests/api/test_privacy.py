"""Contact data is personal data: who sees a phone in full, masking in the API and the exports, and the audit trail."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from models import Role
from service import db
from service.pipeline.excel.export import HEADERS
from service.domain.privacy import mask_phone
from service.schemas.ticket import TicketCreate
from tests.factories import create_ticket, login, make_uscc, ticket_body

PHONE, MASKED = "13800138000", "138****8000"


def _ticket(lead: str | None = None, assisting: tuple[str, ...] = (), **kw) -> int:
    """A ticket straight through intake, led by `lead` with `assisting` units; its id."""
    with db.session_factory()() as s:
        ticket, _ = create_ticket(s, TicketCreate.model_validate(ticket_body(**kw)), channel="hotline_96666",
                                  external_id=None, user=None)
        ticket.lead_unit_code, ticket.assisting_units = lead, list(assisting)
        ticket.status = "assigned" if lead else "new"
        s.effects.clear()  # placed by hand: no routing or statistics job
        s.commit()
        return ticket.id


def _phones(resp) -> list[str]:
    assert resp.status_code == 200, resp.text
    rows = list(load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    return [r[HEADERS.index("联系电话")] for r in rows[1:]]


def _audit(client, admin, **params) -> list[dict]:
    r = client.get("/api/v1/audit", params=params, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.mark.parametrize(("phone", "masked"), [
    ("13800138000", "138****8000"), ("+86 13800138000", "+86 138****8000"), ("138 0013 8000", "138****8000"),
    ("0577-61234567", "0577-****4567"), ("61234567", "****4567"), ("96666", "***66"),
])
def test_mask_keeps_enough_to_recognise_and_not_enough_to_call(phone, masked):
    assert mask_phone(phone) == masked


def test_leader_sees_the_phone_masked_in_detail_list_and_export_and_leaves_no_read_row(client):
    boss, admin = login(client, "boss", Role.LEADER), login(client, "admin", Role.ADMIN)
    ticket_id = _ticket(lead="yueqing.power")
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=boss).json()["contact"]["phone"] == MASKED
    assert [t["contact"]["phone"] for t in client.get("/api/v1/tickets", headers=boss).json()["items"]] == [MASKED]
    assert _phones(client.get("/api/v1/exports/tickets.xlsx", headers=boss)) == [MASKED]
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=admin).json()["contact"]["phone"] == MASKED
    assert _audit(client, admin, action="read_contact") == []  # nothing unmasked was shown


def test_lead_unit_sees_the_phone_in_full_and_an_assisting_unit_masked(client):
    lead = login(client, "power", Role.HANDLER, "yueqing.power")
    helper = login(client, "rsj", Role.HANDLER, "yueqing.rsj")
    admin = login(client, "admin", Role.ADMIN)
    ticket_id = _ticket(lead="yueqing.power", assisting=("yueqing.rsj",))
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=helper).json()["contact"]["phone"] == MASKED
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=lead).json()["contact"]["phone"] == PHONE
    assert _phones(client.get("/api/v1/exports/tickets.xlsx", headers=helper)) == [MASKED]
    assert _phones(client.get("/api/v1/exports/tickets.xlsx", headers=lead)) == [PHONE]
    # Lists show every phone masked: the full number is one detail read away, and that read is audited.
    assert [t["contact"]["phone"] for t in client.get("/api/v1/tickets", headers=lead).json()["items"]] == [MASKED]
    # Action answers too: the ticket after 签收 is not a read of the contact.
    accepted = client.post(f"/api/v1/tickets/{ticket_id}/accept", headers=lead)
    assert accepted.status_code == 200 and accepted.json()["contact"]["phone"] == MASKED

    reads = _audit(client, admin, action="read_contact")
    assert [(r["user"]["username"], r["ticket"]["id"]) for r in reads] == [("power", ticket_id)]
    assert reads[0]["action"] == {"code": "read_contact", "label": "查看完整联系电话"}
    assert reads[0]["user"]["role"] == {"code": "handler", "label": "承办人"}


def test_the_operator_registering_sees_the_phone_it_typed_and_reads_are_audited(client):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    created = client.post("/api/v1/tickets", json=ticket_body(), headers=op)
    assert created.status_code == 201 and created.json()["contact"]["phone"] == PHONE
    assert _audit(client, admin) == []  # intake writes no audit row
    ticket_id = created.json()["id"]
    for _ in range(2):
        assert client.get(f"/api/v1/tickets/{ticket_id}", headers=op).json()["contact"]["phone"] == PHONE
    reads = _audit(client, admin, ticket=ticket_id)
    assert len(reads) == 2 and {r["ticket"]["number"] for r in reads} == {created.json()["number"]}

    # A town centre's handler who registered a ticket took the phone down: it keeps seeing it in full.
    centre = login(client, "liushi", Role.HANDLER, "tc.yueqing_liushi")
    mine = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "某公司", "uscc": make_uscc(7)},
                                                           contact={"name": "李", "phone": "0577-61234567"}),
                       headers=centre)
    assert mine.status_code == 201 and mine.json()["contact"]["phone"] == "0577-61234567"
    assert client.get(f"/api/v1/tickets/{mine.json()['id']}", headers=centre).json()["contact"]["phone"] == \
        "0577-61234567"
    boss = login(client, "boss", Role.LEADER)
    assert client.get(f"/api/v1/tickets/{mine.json()['id']}", headers=boss).json()["contact"]["phone"] == \
        "0577-****4567"


def test_exports_are_audited_with_their_filters_and_row_counts(client, run_jobs, override_settings):
    op, boss, admin = login(client, "op"), login(client, "boss", Role.LEADER), login(client, "admin", Role.ADMIN)
    for n in range(3):
        _ticket(enterprise={"name": f"企业{n}", "uscc": make_uscc(n + 1)}, request_type="consult" if n else "help")
    assert len(_phones(client.get("/api/v1/exports/tickets.xlsx", params={"request_type": "consult"},
                                  headers=op))) == 2
    override_settings(export_sync_max_rows=1)
    job = client.get("/api/v1/exports/tickets.xlsx", params={"channel": "hotline_96666"}, headers=boss)
    assert job.status_code == 202
    assert [e["params"]["kind"] for e in _audit(client, admin, action="export")] == ["tickets"]  # not built yet
    assert run_jobs() == 1

    exports = _audit(client, admin, action="export")
    assert [(e["user"]["username"], e["rows"]) for e in exports] == [("boss", 3), ("op", 2)]
    assert exports[1]["params"] == {"kind": "tickets", "filters": {"request_type": ["consult"]}}
    assert exports[0]["params"] == {"kind": "tickets", "filters": {"channel": ["hotline_96666"]},
                                    "export_id": job.json()["id"]}
    assert exports[0]["action"] == {"code": "export", "label": "导出"} and exports[0]["ticket"] is None
    assert _phones(client.get(job.json()["download_url"], headers=boss)) == [MASKED] * 3
    # The leader may not fetch the operator's file, which holds the phones in full.
    op_job = client.post("/api/v1/exports", json={"kind": "tickets"}, headers=op).json()
    assert run_jobs() == 1
    assert client.get(op_job["download_url"], headers=boss).status_code == 403
    assert _phones(client.get(op_job["download_url"], headers=op)) == [PHONE] * 3


def test_audit_filters_pages_and_is_for_admins_only(client):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    ids = [_ticket(enterprise={"name": f"企业{n}", "uscc": make_uscc(n + 1)}) for n in range(3)]
    for ticket_id in ids:
        client.get(f"/api/v1/tickets/{ticket_id}", headers=op)
    client.get("/api/v1/exports/tickets.xlsx", headers=op)

    assert [e["ticket"]["id"] for e in _audit(client, admin, user="op", action="read_contact")] == ids[::-1]
    assert _audit(client, admin, user="nobody") == []
    assert [e["action"]["code"] for e in _audit(client, admin, ticket=ids[0])] == ["read_contact"]
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert len(_audit(client, admin, **{"from": (now - timedelta(hours=1)).isoformat()})) == 4
    assert _audit(client, admin, to=(now - timedelta(hours=1)).isoformat()) == []
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/audit", params={"limit": 3, **({"cursor": cursor} if cursor else {})},
                          headers=admin).json()
        seen += [e["id"] for e in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(seen) == len(set(seen)) == 4

    for bad in ({"action": "delete"}, {"cursor": "bm9wZQ"}, {"ticket": 2**63}):
        r = client.get("/api/v1/audit", params=bad, headers=admin)
        assert r.status_code == 422, (bad, r.text)
    for role in (Role.OPERATOR, Role.DISPATCHER, Role.LEADER):
        who = login(client, f"u-{role.value}", role)
        r = client.get("/api/v1/audit", headers=who)
        assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    assert client.get("/api/v1/audit").status_code == 401
