"""The tickets HTTP API, checking contacts over real gRPC: opening, comments, tenancy, and events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm.events.v1 import tickets_pb2
from crm_platform.events import payload_of
from crm_platform.ids import new_id
from tests.factories import contacts as contact_factories
from tests.factories import tickets
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, RunningService, problem_fields, running


def open_ticket(api: RunningService, workspace_id: str, contact_id: str, subject: str = "Printer on fire") -> Any:
    return tickets.open_ticket(api, api.auth(workspace_id), contact_id, subject)


def comment(api: RunningService, workspace_id: str, ticket_id: str, body: str, *, public: bool) -> Any:
    return tickets.comment(api, api.auth(workspace_id), ticket_id, body, public=public)


def test_ticket_opened_for_a_contact_of_the_workspace(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)

    opened = open_ticket(tickets_api, acme, ana, subject="  Printer   on fire ")

    assert opened.status_code == 201
    ticket = opened.get_json()
    assert (ticket["contact_id"], ticket["subject"], ticket["status"]) == (ana, "Printer on fire", "new")
    assert (ticket["number"], ticket["priority"], ticket["responsible_id"]) == (1, "normal", None)
    assert ticket["opened_by"] == "agent-1"
    fetched = tickets_api.client.get(opened.headers["Location"], headers=tickets_api.auth(acme))
    assert fetched.get_json() == ticket
    [event] = tickets_api.outbox("tickets.ticket.opened")
    assert payload_of(event, tickets_pb2.TicketOpened) == tickets_pb2.TicketOpened(
        ticket_id=ticket["id"],
        contact_id=ana,
        subject="Printer on fire",
        opened_by="agent-1",
        number=1,
        status="new",
        priority="normal",
        channel="api",
    )
    second = open_ticket(tickets_api, acme, ana, subject="Still on fire").get_json()
    assert second["number"] == 2
    other = contacts_peer_service.workspace()
    assert open_ticket(tickets_api, other, contacts_peer_service.contact(other)).get_json()["number"] == 1


def test_ticket_for_an_unknown_contact_is_refused_on_contact_id(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()

    for contact_id in ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "not-a-uuid"):
        answer = open_ticket(tickets_api, acme, contact_id)
        assert answer.status_code == 422
        assert problem_fields(answer.get_json()) == {"contact_id": "unknown_contact"}
    assert tickets_api.outbox() == []


def test_ticket_for_another_workspaces_contact_is_refused_on_contact_id(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace(name="Acme")
    globex = contacts_peer_service.workspace(name="Globex")
    globex_contact = contacts_peer_service.contact(globex)

    answer = open_ticket(tickets_api, acme, globex_contact)

    assert answer.status_code == 422
    assert problem_fields(answer.get_json()) == {"contact_id": "unknown_contact"}
    assert tickets_api.client.get("/v1/tickets", headers=tickets_api.auth(acme)).get_json()["items"] == []


@pytest.mark.parametrize(
    ("public", "event_type"),
    [(True, "tickets.comment.public_added"), (False, "tickets.comment.private_added")],
)
def test_comment_visibility_decides_the_event(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer, public: bool, event_type: str
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    luis = contact_factories.member(contacts_peer_service.rt.database, acme, "Luis")
    ticket = open_ticket(tickets_api, acme, ana).get_json()
    assigned = tickets_api.client.patch(
        f"/v1/tickets/{ticket['id']}", json={"responsible_id": luis}, headers=tickets_api.auth(acme)
    )
    assert assigned.status_code == 200

    added = comment(tickets_api, acme, ticket["id"], "We are on it.", public=public)

    assert added.status_code == 201
    assert added.get_json()["public"] is public
    comment_events = [e for e in tickets_api.outbox() if e.type.startswith("tickets.comment.")]
    assert [e.type for e in comment_events] == [event_type]
    payload = payload_of(comment_events[0], tickets_pb2.CommentAdded)
    assert payload == tickets_pb2.CommentAdded(
        ticket_id=ticket["id"],
        comment_id=added.get_json()["id"],
        contact_id=ana,
        ticket_subject="Printer on fire",
        body="We are on it.",
        author_id="agent-1",
        public=public,
        ticket_number=ticket["number"],
        author_type="member",
        automatic=False,
        responsible_id=luis,  # the ticket's member when the comment came
    )


def test_comments_are_listed_oldest_first(tickets_api: RunningService, contacts_peer_service: ContactsPeer) -> None:
    acme = contacts_peer_service.workspace()
    ticket = open_ticket(tickets_api, acme, contacts_peer_service.contact(acme)).get_json()
    bodies = ["first reply", "internal note", "second reply"]
    for body, public in zip(bodies, (True, False, True), strict=True):
        assert comment(tickets_api, acme, ticket["id"], body, public=public).status_code == 201

    listed = tickets_api.client.get(f"/v1/tickets/{ticket['id']}/comments", headers=tickets_api.auth(acme))

    assert [(c["body"], c["public"]) for c in listed.get_json()["items"]] == [
        ("first reply", True),
        ("internal note", False),
        ("second reply", True),
    ]


def test_blank_comment_is_refused_on_body(tickets_api: RunningService, contacts_peer_service: ContactsPeer) -> None:
    acme = contacts_peer_service.workspace()
    ticket = open_ticket(tickets_api, acme, contacts_peer_service.contact(acme)).get_json()

    answer = comment(tickets_api, acme, ticket["id"], "   ", public=True)

    assert answer.status_code == 422
    assert problem_fields(answer.get_json()) == {"body": "required"}


def test_another_workspace_cannot_see_or_comment_on_the_ticket(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace(name="Acme")
    globex = contacts_peer_service.workspace(name="Globex")
    ticket = open_ticket(tickets_api, acme, contacts_peer_service.contact(acme)).get_json()

    assert tickets_api.client.get(f"/v1/tickets/{ticket['id']}", headers=tickets_api.auth(globex)).status_code == 404
    assert comment(tickets_api, globex, ticket["id"], "hello", public=True).status_code == 404
    assert tickets_api.client.get("/v1/tickets", headers=tickets_api.auth(globex)).get_json()["items"] == []
    assert [e.type for e in tickets_api.outbox()] == ["tickets.ticket.opened"]


def test_ticket_cannot_be_opened_while_contacts_is_unreachable(database_url: str, tmp_path: Path) -> None:
    from crm_tickets.app import SERVICE

    closed_port = f"127.0.0.1:{free_port()}"
    with running(
        SERVICE, database_url, tmp_path, CRM_CONTACTS_GRPC_TARGET=closed_port, CRM_GRPC_DEADLINE_SECONDS="0.3"
    ) as tickets:
        answer = open_ticket(tickets, new_id(), new_id())

        assert answer.status_code == 503
        assert answer.mimetype == "application/problem+json"
        assert tickets.outbox() == []
