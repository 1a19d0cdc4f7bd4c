"""What each audience receives of an event, and who may receive it: the realtime stream's pure rules."""

from __future__ import annotations

from crm.events.v1 import conversations_pb2
from crm_conversations.realtime import rules
from crm_conversations.realtime.rules import Audience


def message(direction: str) -> conversations_pb2.ConversationMessageAdded:
    return conversations_pb2.ConversationMessageAdded(
        conversation_id="c1",
        message_id="m1",
        contact_id="k1",
        body="hello",
        author_id="agent-1",
        direction=direction,
        channel="web_chat",
        author_type="member",
    )


def test_a_message_reaches_agents_whole_and_visitors_without_member_ids() -> None:
    entry = rules.entry_of("conversations.message.added", message("outbound"))

    assert entry is not None
    assert (entry.conversation_id, entry.contact_id) == ("c1", "k1")
    assert entry.data["author_id"] == "agent-1" and entry.data["automatic"] is False
    assert entry.visitor_data == {
        "message_id": "m1",
        "body": "hello",
        "direction": "outbound",
        "author_type": "member",
        "automatic": False,
    }


def test_a_private_note_never_reaches_visitors() -> None:
    entry = rules.entry_of("conversations.message.added", message("note"))

    assert entry is not None and entry.visitor_data is None
    assert entry.data["direction"] == "note"


def test_an_assignment_reaches_agents_only_and_a_deletion_ends_the_visitors_stream() -> None:
    assigned = rules.entry_of(
        "conversations.conversation.assigned",
        conversations_pb2.ConversationAssigned(conversation_id="c1", contact_id="k1", to_assignee_id="a2"),
    )
    deleted = rules.entry_of(
        "conversations.conversation.deleted", conversations_pb2.ConversationDeleted(conversation_id="c1")
    )

    assert assigned is not None and assigned.visitor_data is None and assigned.data["to_assignee_id"] == "a2"
    assert deleted is not None and deleted.ends_visitor_stream and deleted.contact_id is None


def test_events_the_stream_does_not_carry_are_not_logged() -> None:
    payload = conversations_pb2.ConversationMessageDeliveryChanged(conversation_id="c1", message_id="m1")

    assert rules.entry_of("conversations.message.delivery_changed", payload) is None


def test_agents_limited_to_their_own_contacts_see_only_those_and_admins_all() -> None:
    agent = Audience(workspace_id="w", user_id="ana")
    admin = Audience(workspace_id="w", user_id="root", is_admin=True)

    assert rules.agent_may_see(agent, agents_see_all=True, owner_id="luis", deleted=False)
    assert rules.agent_may_see(agent, agents_see_all=False, owner_id="ana", deleted=False)
    assert not rules.agent_may_see(agent, agents_see_all=False, owner_id="luis", deleted=False)
    assert not rules.agent_may_see(agent, agents_see_all=False, owner_id=None, deleted=False)
    assert not rules.agent_may_see(agent, agents_see_all=False, owner_id="ana", deleted=True)
    assert rules.agent_may_see(admin, agents_see_all=False, owner_id="luis", deleted=False)


def test_a_cursor_is_a_non_negative_decimal_and_anything_else_is_none() -> None:
    assert rules.parse_cursor("42") == 42
    assert rules.parse_cursor(7) == 7
    for bad in ("-1", "4x", "", None, True, "\uff11\uff12", "9" * 20, -3, 1.5):
        assert rules.parse_cursor(bad) is None
