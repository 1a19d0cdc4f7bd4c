"""The conversations HTTP API, checking contacts over real gRPC: starting, messages, tenancy, and events."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from crm.events.v1 import conversations_pb2
from crm_platform.events import payload_of
from tests.factories import conversations
from tests.support.stack import ContactsPeer, RunningService, problem_fields


def start(api: RunningService, workspace_id: str, contact_id: str, subject: str = "Invoice question") -> Any:
    return conversations.start(api, api.auth(workspace_id), contact_id, subject)


def say(api: RunningService, workspace_id: str, conversation_id: str, body: str) -> Any:
    return conversations.say(api, api.auth(workspace_id), conversation_id, body)


def test_conversation_started_with_a_contact_of_the_workspace(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)

    started = start(conversations_api, acme, ana)

    assert started.status_code == 201
    conversation = started.get_json()
    assert (conversation["contact_id"], conversation["subject"]) == (ana, "Invoice question")
    assert (conversation["channel"], conversation["status"], conversation["message_count"]) == ("email", "open", 0)
    [event] = conversations_api.outbox("conversations.conversation.started")
    assert payload_of(event, conversations_pb2.ConversationStarted) == conversations_pb2.ConversationStarted(
        conversation_id=conversation["id"],
        contact_id=ana,
        subject="Invoice question",
        channel="email",
        started_by="agent-1",
    )


def test_conversation_with_an_unknown_or_foreign_contact_is_refused_on_contact_id(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace(name="Acme")
    globex_contact = contacts_peer_service.contact(contacts_peer_service.workspace(name="Globex"))

    for contact_id in (globex_contact, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"):
        answer = start(conversations_api, acme, contact_id)
        assert answer.status_code == 422
        assert problem_fields(answer.get_json()) == {"contact_id": "unknown_contact"}
    assert conversations_api.outbox() == []


def test_each_message_increments_the_message_count(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    conversation = start(conversations_api, acme, contacts_peer_service.contact(acme)).get_json()
    url = f"/v1/conversations/{conversation['id']}"

    counts = []
    for body in ("Hello", "Is invoice 42 paid?", "Thanks!"):
        assert say(conversations_api, acme, conversation["id"], body).status_code == 201
        counts.append(
            conversations_api.client.get(url, headers=conversations_api.auth(acme)).get_json()["message_count"]
        )

    assert counts == [1, 2, 3]
    messages = conversations_api.client.get(f"{url}/messages", headers=conversations_api.auth(acme)).get_json()
    assert [m["body"] for m in messages["items"]] == ["Hello", "Is invoice 42 paid?", "Thanks!"]


def test_messages_sent_at_the_same_time_are_all_counted(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    conversation = start(conversations_api, acme, contacts_peer_service.contact(acme)).get_json()
    url = f"/v1/conversations/{conversation['id']}"
    headers = conversations_api.auth(acme)

    def agent_types_messages(agent: int) -> list[int]:
        client = conversations_api.client.application.test_client()  # one client per agent, like one browser each
        return [
            client.post(f"{url}/messages", json={"body": f"{agent}-{n}"}, headers=headers).status_code for n in range(8)
        ]

    with ThreadPoolExecutor(max_workers=4) as agents:
        statuses = [status for batch in agents.map(agent_types_messages, range(4)) for status in batch]

    assert statuses == [201] * 32
    assert conversations_api.client.get(url, headers=headers).get_json()["message_count"] == 32


def test_message_writes_message_added_with_the_conversations_contact(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    conversation = start(conversations_api, acme, ana).get_json()

    message = say(conversations_api, acme, conversation["id"], "Hello").get_json()

    [event] = conversations_api.outbox("conversations.message.added")
    assert event.workspace_id == acme
    assert payload_of(event, conversations_pb2.ConversationMessageAdded) == conversations_pb2.ConversationMessageAdded(
        conversation_id=conversation["id"],
        message_id=message["id"],
        contact_id=ana,
        body="Hello",
        author_id="agent-1",
        direction="outbound",
        channel="email",
        author_type="member",
    )


def test_blank_message_is_refused_and_not_counted(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    conversation = start(conversations_api, acme, contacts_peer_service.contact(acme)).get_json()

    answer = say(conversations_api, acme, conversation["id"], "  \n ")

    assert answer.status_code == 422
    assert problem_fields(answer.get_json()) == {"body": "required"}
    fetched = conversations_api.client.get(
        f"/v1/conversations/{conversation['id']}", headers=conversations_api.auth(acme)
    )
    assert fetched.get_json()["message_count"] == 0


def test_another_workspace_cannot_see_or_write_to_the_conversation(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace(name="Acme")
    globex = contacts_peer_service.workspace(name="Globex")
    conversation = start(conversations_api, acme, contacts_peer_service.contact(acme)).get_json()
    url = f"/v1/conversations/{conversation['id']}"

    assert conversations_api.client.get(url, headers=conversations_api.auth(globex)).status_code == 404
    assert say(conversations_api, globex, conversation["id"], "hi").status_code == 404
    assert conversations_api.client.get("/v1/conversations", headers=conversations_api.auth(globex)).get_json() == {
        "items": [],
        "next_cursor": None,
    }
    assert conversations_api.client.get(url, headers=conversations_api.auth(acme)).get_json()["message_count"] == 0
