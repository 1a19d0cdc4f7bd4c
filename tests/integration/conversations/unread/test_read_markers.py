"""Unread: each member's own marker; lists and counts carry it; marking read clears it for that member only."""

from __future__ import annotations

from crm.events.v1 import conversations_pb2
from crm_platform.events import payload_of
from tests.factories import conversations
from tests.support.stack import ContactsPeer, RunningService


def test_a_members_read_marker_is_their_own_and_their_own_messages_count_as_read(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    luis, marta = conversations_api.auth(acme, user_id="luis"), conversations_api.auth(acme, user_id="marta")
    conversation = conversations.start(conversations_api, luis, ana).get_json()
    url = f"/v1/conversations/{conversation['id']}"
    conversations.say(conversations_api, luis, conversation["id"], "Hello Ana")
    conversations.inbound(conversations_api, acme, ana, target="conversation", conversation_id=conversation["id"])

    def seen(headers: dict[str, str]) -> tuple[bool, int]:
        [listed] = conversations_api.client.get("/v1/conversations", headers=headers).get_json()["items"]
        return listed["unread"], listed["unread_count"]

    assert seen(luis) == (True, 1)  # the contact's reply; his own message he has read
    assert seen(marta) == (True, 2)
    assert conversations_api.client.get("/v1/conversations/counts", headers=marta).get_json()["all"] == {
        "count": 1,
        "unread": 1,
    }

    read = conversations_api.client.post(f"{url}/read", headers=marta)

    assert read.get_json() == {"conversation_id": conversation["id"], "read_count": 2, "unread_count": 0}
    assert seen(marta) == (False, 0)
    assert seen(luis) == (True, 1)
    assert conversations_api.client.get(url, headers=marta).get_json()["unread_count"] == 0
    assert conversations_api.client.get("/v1/conversations/counts", headers=marta).get_json()["all"]["unread"] == 0
    conversations_api.client.post(f"{url}/read", headers=marta)  # nothing new: no second event
    [event] = conversations_api.outbox("conversations.conversation.read")
    assert payload_of(event, conversations_pb2.ConversationRead) == conversations_pb2.ConversationRead(
        conversation_id=conversation["id"], member_id="marta", read_count=2
    )
    conversations.inbound(conversations_api, acme, ana, target="conversation", conversation_id=conversation["id"])
    assert seen(marta) == (True, 1)
