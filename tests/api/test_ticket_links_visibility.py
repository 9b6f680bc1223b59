"""Duplicate hints and merge links name only tickets the caller may read."""
from __future__ import annotations

from models import Role
from tests.factories import login, ticket_body

SIMILAR = {"title": "厂区停电", "description": "厂区变压器跳闸停电，生产线停工，请尽快处理。"}


def test_a_handler_is_not_shown_another_units_ticket_as_a_possible_duplicate(client, run_jobs):
    op = login(client, "op")
    liushi = login(client, "liushi", Role.HANDLER, "tc.yueqing_liushi")
    other = client.post("/api/v1/tickets", json=ticket_body(), headers=op).json()
    run_jobs()  # routed to another unit (the power company)
    assert client.get(f"/api/v1/tickets/{other['id']}", headers=liushi).status_code == 404
    own = client.post("/api/v1/tickets", json=ticket_body(channel="town_centre", **SIMILAR), headers=liushi).json()
    assert [d["id"] for d in own["possible_duplicates"]] == []

    again = client.post("/api/v1/tickets", json=ticket_body(channel="town_centre", **SIMILAR), headers=liushi)
    assert [d["id"] for d in again.json()["possible_duplicates"]] == [own["id"]]  # its centre's own: shown
    answered = client.post("/api/v1/tickets", headers=liushi, json=ticket_body(
        channel="town_centre", instant_answer="已告知供电抢修电话", **SIMILAR)).json()  # the threaded path
    assert other["id"] not in [d["id"] for d in answered["possible_duplicates"]]

    seen_by_operator = client.post("/api/v1/tickets", json=ticket_body(**SIMILAR), headers=op).json()
    assert other["id"] in [d["id"] for d in seen_by_operator["possible_duplicates"]]


def test_merge_links_to_tickets_a_handler_may_not_read_are_hidden(client):
    op = login(client, "op")
    disp = login(client, "disp", Role.DISPATCHER)
    liushi = login(client, "liushi", Role.HANDLER, "tc.yueqing_liushi")
    mine = client.post("/api/v1/tickets", json=ticket_body(channel="town_centre"), headers=liushi).json()
    theirs = client.post("/api/v1/tickets", json=ticket_body(external_id="b"), headers=op).json()
    hidden = client.post("/api/v1/tickets", json=ticket_body(external_id="c"), headers=op).json()
    assert client.post(f"/api/v1/tickets/{hidden['id']}/merge", json={"into_ticket_id": mine["id"]},
                       headers=op).status_code == 200
    assert client.post(f"/api/v1/tickets/{mine['id']}/merge", json={"into_ticket_id": theirs["id"]},
                       headers=op).status_code == 200

    seen = client.get(f"/api/v1/tickets/{mine['id']}", headers=liushi).json()
    assert seen["status"]["code"] == "merged" and seen["merged_into"] is None
    assert seen["merged_tickets"] == []
    payloads = {e["kind"]: e["payload"] for e in seen["history"]}
    assert payloads["merged"]["into_ticket_id"] is None and payloads["merged"]["into_number"] is None
    assert payloads["merge_received"]["from_ticket_id"] is None and payloads["merge_received"]["from_number"] is None
    assert theirs["number"] not in str(seen) and hidden["number"] not in str(seen)
    listed = client.get("/api/v1/tickets", headers=liushi).json()["items"]
    assert [t["merged_into"] for t in listed if t["id"] == mine["id"]] == [None]

    full = client.get(f"/api/v1/tickets/{mine['id']}", headers=op).json()
    assert full["merged_into"]["id"] == theirs["id"]
    assert [t["id"] for t in full["merged_tickets"]] == [hidden["id"]]
    assert {e["kind"]: e["payload"] for e in full["history"]}["merged"]["into_number"] == theirs["number"]

    undone = client.post(f"/api/v1/tickets/{mine['id']}/unmerge", headers=disp)
    assert undone.status_code == 200
    seen = client.get(f"/api/v1/tickets/{mine['id']}", headers=liushi).json()
    assert {e["kind"]: e["payload"] for e in seen["history"]}["unmerged"]["from_number"] is None
