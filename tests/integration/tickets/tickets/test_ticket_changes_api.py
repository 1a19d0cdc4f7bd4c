"""Changing a ticket over HTTP (PATCH with If-Match, status history, merge) with contacts over real gRPC, on
SQLite and PostgreSQL: fields, events, 412 on a stale write, 422 with field details, 404 for another workspace."""

from __future__ import annotations

from typing import Any

import pytest

from crm.events.v1 import tickets_pb2
from crm_platform.events import payload_of
from tests.factories import contacts as contact_factories
from tests.factories import tickets
from tests.support.stack import ContactsPeer, RunningService, problem_fields


class Desk:
    """A workspace of the real contacts service with a member, and calls of the tickets API as its admin."""

    def __init__(self, api: RunningService, peer: ContactsPeer, name: str = "Acme") -> None:
        self.api, self.peer = api, peer
        self.workspace = peer.workspace(name=name)
        self.member = contact_factories.member(peer.rt.database, self.workspace, "Luis", role="agent")
        self.headers = api.auth(self.workspace)
        self.contacts = 0

    def contact(self, name: str = "Ana López", email: str | None = None) -> str:
        """A contact of the workspace (duplicates are refused: each gets an address of its own unless given)."""
        self.contacts += 1
        return self.peer.contact(self.workspace, name=name, email=email or f"customer{self.contacts}@example.com")

    def open(self, contact_id: str | None = None, subject: str = "Printer on fire", **fields: Any) -> dict[str, Any]:
        body = {"subject": subject, "contact_id": contact_id or self.contact(), **fields}
        answer = self.api.client.post("/v1/tickets", json=body, headers=self.headers)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()  # type: ignore[no-any-return]

    def patch(self, ticket_id: str, body: dict[str, Any], *, if_match: str | None = None) -> Any:
        headers = {**self.headers, **({"If-Match": if_match} if if_match else {})}
        return self.api.client.patch(f"/v1/tickets/{ticket_id}", json=body, headers=headers)

    def get(self, path: str) -> Any:
        return self.api.client.get(path, headers=self.headers)


@pytest.fixture
def desk(tickets_api: RunningService, contacts_peer_service: ContactsPeer) -> Desk:
    return Desk(tickets_api, contacts_peer_service)


def events(api: RunningService, event_type: str) -> list[Any]:
    return api.outbox(event_type)


def test_opening_takes_the_contacts_snapshot_and_answers_an_etag(desk: Desk) -> None:
    ticket = desk.open(desk.contact(name="Ana López", email="Ana@Example.com"), tags=["VIP", "billing"])

    assert ticket["contact"] == {
        "id": ticket["contact_id"],
        "name": "Ana López",
        "email": "ana@example.com",
        "deleted": False,
    }
    assert ticket["tags"] == ["billing", "vip"]
    fetched = desk.get(f"/v1/tickets/{ticket['id']}")
    assert fetched.headers["ETag"] == '"1"'
    assert fetched.get_json() == ticket


def test_patch_changes_the_fields_once_in_one_version_with_their_events(desk: Desk) -> None:
    ticket = desk.open()

    answer = desk.patch(
        ticket["id"],
        {
            "subject": "  Printer   still on fire ",
            "status": "open",
            "reason": "looked at it",
            "priority": "urgent",
            "responsible_id": desk.member,
            "tags": ["Hardware", "hardware", "printers"],
        },
        if_match='"1"',
    )

    assert answer.status_code == 200, answer.get_json()
    changed = answer.get_json()
    assert answer.headers["ETag"] == '"2"'
    assert (changed["subject"], changed["status"], changed["priority"]) == ("Printer still on fire", "open", "urgent")
    assert (changed["responsible_id"], changed["tags"], changed["version"]) == (
        desk.member,
        ["hardware", "printers"],
        2,
    )
    [moved] = events(desk.api, "tickets.ticket.status_changed")
    status_changed = payload_of(moved, tickets_pb2.TicketStatusChanged)
    assert status_changed.reason == "looked at it"
    # the ticket as it is after the change (the same PATCH gave it its member and priority); not finished: no SLA
    assert (status_changed.responsible_id, status_changed.priority, list(status_changed.sla_outcomes)) == (
        desk.member,
        "urgent",
        [],
    )
    [assigned] = events(desk.api, "tickets.ticket.assigned")
    assert payload_of(assigned, tickets_pb2.TicketAssigned) == tickets_pb2.TicketAssigned(
        ticket_id=ticket["id"],
        contact_id=ticket["contact_id"],
        number=ticket["number"],
        to_responsible_id=desk.member,
        actor_id="agent-1",
    )
    [priority] = events(desk.api, "tickets.ticket.priority_changed")
    assert payload_of(priority, tickets_pb2.TicketPriorityChanged).from_priority == "normal"
    assert desk.get(f"/v1/tickets/{ticket['id']}").get_json() == changed


def test_unassigning_is_null_and_an_unchanged_patch_changes_nothing(desk: Desk) -> None:
    ticket = desk.open(responsible_id=desk.member)

    unassigned = desk.patch(ticket["id"], {"responsible_id": None}).get_json()
    again = desk.patch(ticket["id"], {"responsible_id": None, "priority": "normal", "tags": []})

    assert (unassigned["responsible_id"], unassigned["version"]) == (None, 2)
    assert again.get_json()["version"] == 2
    [assigned] = events(desk.api, "tickets.ticket.assigned")
    assert payload_of(assigned, tickets_pb2.TicketAssigned).from_responsible_id == desk.member


def test_a_stale_if_match_is_412_and_changes_nothing(desk: Desk) -> None:
    ticket = desk.open()
    assert desk.patch(ticket["id"], {"priority": "high"}, if_match='"1"').status_code == 200

    stale = desk.patch(ticket["id"], {"status": "solved", "subject": "lost update"}, if_match='"1"')

    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert stale.get_json()["current_version"] == 2
    current = desk.get(f"/v1/tickets/{ticket['id']}").get_json()
    assert (current["status"], current["subject"], current["version"]) == ("new", "Printer on fire", 2)
    assert events(desk.api, "tickets.ticket.status_changed") == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"status": "archived"}, {"status": "literal_error"}),
        ({"priority": "whenever"}, {"priority": "literal_error"}),
        ({"subject": "   "}, {"subject": "required"}),
        ({"reason": "why not"}, {"reason": "requires_status"}),
        ({"tags": ["x" * 51]}, {"tags": "invalid_tag"}),
        ({"responsible_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}, {"responsible_id": "unknown_member"}),
        ({"colour": "red"}, {"colour": "extra_forbidden"}),
    ],
)
def test_invalid_changes_are_422_on_their_fields(desk: Desk, body: dict[str, Any], fields: dict[str, str]) -> None:
    ticket = desk.open()

    answer = desk.patch(ticket["id"], body)

    assert answer.status_code == 422, answer.get_json()
    assert problem_fields(answer.get_json()) == fields
    assert desk.get(f"/v1/tickets/{ticket['id']}").get_json()["version"] == 1


def test_another_workspaces_member_cannot_be_responsible(
    desk: Desk, tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    other = Desk(tickets_api, contacts_peer_service, name="Globex")
    ticket = desk.open()

    answer = desk.patch(ticket["id"], {"responsible_id": other.member})

    assert problem_fields(answer.get_json()) == {"responsible_id": "unknown_member"}


def test_closed_is_final_unless_reopened_and_the_history_says_who_and_why(desk: Desk) -> None:
    ticket = desk.open()
    assert desk.patch(ticket["id"], {"status": "closed", "reason": "done"}).status_code == 200

    refused = desk.patch(ticket["id"], {"status": "open"})
    reopened = desk.patch(ticket["id"], {"status": "open", "reopen": True, "reason": "came back"})
    history = desk.get(f"/v1/tickets/{ticket['id']}/history")

    assert refused.status_code == 409
    assert reopened.status_code == 200
    assert (reopened.get_json()["status"], reopened.get_json()["closed_at"]) == ("open", None)
    steps = [(h["from"], h["to"], h["actor"], h["reason"]) for h in history.get_json()["items"]]
    assert steps == [
        (None, "new", "agent-1", "opened"),
        ("new", "closed", "agent-1", "done"),
        ("closed", "open", "agent-1", "came back"),
    ]
    assert all(h["at"] for h in history.get_json()["items"])


def test_another_workspace_gets_404_for_patch_history_and_merge(
    desk: Desk, tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    other = Desk(tickets_api, contacts_peer_service, name="Globex")
    ticket, theirs = desk.open(), other.open()

    assert other.patch(ticket["id"], {"priority": "high"}).status_code == 404
    assert other.get(f"/v1/tickets/{ticket['id']}/history").status_code == 404
    merge_in = {"into_ticket_id": ticket["id"]}
    assert (
        tickets_api.client.post(f"/v1/tickets/{theirs['id']}/merge", json=merge_in, headers=other.headers).status_code
        == 404
    )
    merge_out = {"into_ticket_id": theirs["id"]}
    assert (
        tickets_api.client.post(f"/v1/tickets/{ticket['id']}/merge", json=merge_out, headers=desk.headers).status_code
        == 404
    )
    assert desk.get(f"/v1/tickets/{ticket['id']}").get_json()["version"] == 1
    assert events(tickets_api, "tickets.ticket.merged") == []


def merge(desk: Desk, ticket_id: str, into: str) -> Any:
    return desk.api.client.post(f"/v1/tickets/{ticket_id}/merge", json={"into_ticket_id": into}, headers=desk.headers)


def test_merging_closes_the_ticket_links_it_and_moves_its_comments(desk: Desk) -> None:
    source = desk.open(subject="Duplicate")
    target = desk.open(desk.contact(name="Other person", email="other@example.com"), subject="The real one")
    for body in ("first", "second"):
        assert tickets.comment(desk.api, desk.headers, source["id"], body, public=False).status_code == 201

    answer = merge(desk, source["id"], target["id"])

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["id"] == target["id"]
    merged = desk.get(f"/v1/tickets/{source['id']}").get_json()
    assert (merged["status"], merged["merged_into_id"]) == ("closed", target["id"])
    moved = desk.get(f"/v1/tickets/{target['id']}/comments").get_json()["items"]
    assert [c["body"] for c in moved] == ["first", "second"]
    assert desk.get(f"/v1/tickets/{source['id']}/comments").get_json()["items"] == []
    assert desk.get(f"/v1/tickets/{source['id']}/history").get_json()["items"][-1]["reason"] == "merged"
    [event] = events(desk.api, "tickets.ticket.merged")
    assert payload_of(event, tickets_pb2.TicketMerged) == tickets_pb2.TicketMerged(
        ticket_id=source["id"],
        into_ticket_id=target["id"],
        contact_id=source["contact_id"],
        number=source["number"],
        into_number=target["number"],
        actor_id="agent-1",
        comments_moved=2,
    )


def test_merges_refused(desk: Desk) -> None:
    first, second, closed = desk.open(), desk.open(), desk.open()
    assert desk.patch(closed["id"], {"status": "closed"}).status_code == 200

    itself = merge(desk, first["id"], first["id"])
    into_closed = merge(desk, first["id"], closed["id"])
    assert merge(desk, second["id"], first["id"]).status_code == 200
    into_merged = merge(desk, first["id"], second["id"])
    twice = merge(desk, second["id"], first["id"])
    unknown = merge(desk, first["id"], "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")

    assert (itself.status_code, problem_fields(itself.get_json())) == (422, {"into_ticket_id": "same_ticket"})
    assert (into_closed.status_code, into_merged.status_code, twice.status_code) == (409, 409, 409)
    assert unknown.status_code == 404
    assert len(events(desk.api, "tickets.ticket.merged")) == 1
