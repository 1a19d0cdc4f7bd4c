"""The side panel in one call, with the real contacts and tickets services over gRPC; tickets being down leaves
the rest of the panel answering."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crm_platform.grpc_server import GrpcServer
from tests.factories import conversations
from tests.support.stack import ContactsPeer, RunningService, running


@dataclass
class TicketsPeer:
    api: RunningService
    server: GrpcServer
    target: str


@pytest.fixture
def tickets_peer(tmp_path: Path, contacts_peer_service: ContactsPeer) -> Iterator[TicketsPeer]:
    from crm_tickets.app import SERVICE as TICKETS

    url = f"sqlite:///{tmp_path}/tickets-peer.db"
    with running(TICKETS, url, tmp_path, CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target) as api:
        bindings = [(b, api.rt.metrics) for b in TICKETS.grpc_bindings(api.rt)]
        server = GrpcServer(bindings, address="127.0.0.1:0", settings=api.rt.settings)
        server.start()
        try:
            yield TicketsPeer(api=api, server=server, target=f"127.0.0.1:{server.port}")
        finally:
            server.stop(grace=0)


@pytest.fixture
def inbox(
    database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer, tickets_peer: TicketsPeer
) -> Iterator[RunningService]:
    from crm_conversations.app import SERVICE

    with running(
        SERVICE,
        database_url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target,
        CRM_TICKETS_GRPC_TARGET=tickets_peer.target,
        # Long enough for a first call on a loaded CI machine; a stopped peer refuses at once, whatever the deadline.
        CONVERSATIONS_PANEL_TICKETS_TIMEOUT_SECONDS="10",
    ) as service:
        yield service


def test_the_panel_shows_the_assignee_the_contact_its_other_conversations_and_tickets_then_degrades(
    inbox: RunningService, contacts_peer_service: ContactsPeer, tickets_peer: TicketsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    ana = contacts_peer_service.contact(acme, name="Ana López", email="ana@example.com")
    headers = inbox.auth(acme, user_id=luis)
    older = conversations.start(inbox, headers, ana, "Old question").get_json()
    current = inbox.client.post(
        "/v1/conversations", json={"contact_id": ana, "subject": "Now", "assignee_id": luis}, headers=headers
    ).get_json()
    conversations.start(inbox, headers, contacts_peer_service.contact(acme, name="Other", email=None), "Not hers")
    opened = tickets_peer.api.client.post(
        "/v1/tickets", json={"contact_id": ana, "subject": "Printer"}, headers=tickets_peer.api.auth(acme, user_id=luis)
    )
    assert opened.status_code == 201, opened.get_json()
    url = f"/v1/conversations/{current['id']}/panel"
    from crm_contacts.notes import service as notes
    from crm_platform.context import Caller

    author = Caller(workspace_id=acme, user_id=luis, role="admin")
    for body in ("Prefers email", "Called about the invoice"):
        notes.add(contacts_peer_service.rt.database.unit_of_work(), caller=author, contact_id=ana, body=body)

    panel = inbox.client.get(url, headers=headers)
    spanish = inbox.client.get(url, headers={**headers, "Accept-Language": "es"}).get_json()

    assert panel.status_code == 200, panel.get_json()
    body = panel.get_json()
    assert body["assignee"] == {"id": luis, "name": "Luis Gil"}
    contact = body["contact"]
    assert (contact["id"], contact["name"], contact["email"], contact["available"]) == (
        ana,
        "Ana López",
        "ana@example.com",
        True,
    )
    assert contact["created_at"] is not None and "language" in contact
    assert (contact["source"]["key"], contact["source"]["name"]) == ("manual", "Sales rep")  # created by a member
    assert spanish["contact"]["source"]["name"] == "Comercial"
    assert body["notes"]["available"] is True
    assert [n["body"] for n in body["notes"]["items"]] == ["Called about the invoice", "Prefers email"]  # newest first
    assert all(n["author_id"] == luis and n["created_at"] for n in body["notes"]["items"])
    assert [c["subject"] for c in body["recent_conversations"]] == [older["subject"]]
    assert body["tickets"] == {
        "available": True,
        "items": [{"id": opened.get_json()["id"], "subject": "Printer", "status": opened.get_json()["status"]}],
    }

    tickets_peer.server.stop(grace=0)
    degraded = inbox.client.get(url, headers=headers)

    assert degraded.status_code == 200
    assert degraded.get_json()["tickets"] == {"available": False, "items": []}
    assert degraded.get_json()["contact"]["name"] == "Ana López"
    assert degraded.get_json()["assignee"] == {"id": luis, "name": "Luis Gil"}


def test_the_grpc_list_of_a_contacts_recent_conversations(
    inbox: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    from crm.conversations.v1 import conversations_pb2
    from crm_conversations.conversations.grpc import ConversationsServicer
    from crm_platform import context
    from tests.factories import platform

    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    headers = inbox.auth(acme)
    first = conversations.start(inbox, headers, ana, "First").get_json()
    second = conversations.start(inbox, headers, ana, "Second").get_json()
    inbox.client.delete(f"/v1/conversations/{second['id']}", headers=headers)
    third = conversations.start(inbox, headers, ana, "Third").get_json()
    conversations.say(inbox, headers, first["id"], "bump")

    with context.bound(caller=platform.admin(acme)):
        answer = ConversationsServicer(inbox.rt).ListRecentConversationsForContact(
            conversations_pb2.ListContactConversationsRequest(contact_id=ana, limit=10), None
        )
    with context.bound(caller=platform.admin(contacts_peer_service.workspace(name="Globex"))):
        theirs = ConversationsServicer(inbox.rt).ListRecentConversationsForContact(
            conversations_pb2.ListContactConversationsRequest(contact_id=ana, limit=10), None
        )

    assert [(c.id, c.status, c.message_count) for c in answer.conversations] == [
        (first["id"], "open", 1),
        (third["id"], "open", 0),
    ]
    assert list(theirs.conversations) == []
