"""Messages over HTTP (rich text, notes, signatures) and the contact's mail arriving through
``mailer.inbound.received``; contacts' updates and merges reaching the conversations."""

from __future__ import annotations

from sqlalchemy import select

from crm.events.v1 import contacts_pb2, conversations_pb2
from crm_conversations.messages.models import Message
from crm_events.contacts import CONTACT_MERGED, CONTACT_UPDATED
from crm_platform.events import payload_of
from tests.factories import conversations
from tests.support.stack import ContactsPeer, RunningService, envelope, problem_fields


def messages_of(api: RunningService, workspace_id: str, conversation_id: str) -> list[dict]:  # type: ignore[type-arg]
    answer = api.client.get(f"/v1/conversations/{conversation_id}/messages", headers=api.auth(workspace_id))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["items"]


def test_rich_text_is_sanitized_kept_with_its_text_and_a_note_is_marked_and_never_answers(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil", signature="Luis — Acme")
    headers = conversations_api.auth(acme, user_id=luis, role="agent")
    conversation = conversations.start(conversations_api, headers, contacts_peer_service.contact(acme)).get_json()
    url = f"/v1/conversations/{conversation['id']}/messages"

    note = conversations_api.client.post(url, json={"body": "<i>VIP</i>", "note": True}, headers=headers).get_json()
    written = conversations_api.client.post(
        url,
        json={"body": '<p>Hi <b>Ana</b> 👋 <a href="javascript:x()">x</a><script>bad()</script></p>'},
        headers=headers,
    ).get_json()
    blank = conversations_api.client.post(url, json={"body": "<script>only()</script>"}, headers=headers)

    assert (note["note"], note["direction"], note["signature"], note["body"]) == (True, "note", None, "<i>VIP</i>")
    assert written["body"] == '<p>Hi <b>Ana</b> 👋 <a rel="noopener noreferrer">x</a></p>'
    assert (written["text"], written["signature"], written["direction"]) == ("Hi Ana 👋 x", "Luis — Acme", "outbound")
    assert problem_fields(blank.get_json()) == {"body": "required"}
    fetched = conversations_api.client.get(f"/v1/conversations/{conversation['id']}", headers=headers).get_json()
    assert fetched["first_response_at"] == written["created_at"]  # the note was no answer
    added = [
        payload_of(e, conversations_pb2.ConversationMessageAdded)
        for e in conversations_api.outbox("conversations.message.added")
    ]
    assert [(e.direction, e.channel, e.author_type, e.automatic) for e in added] == [
        ("note", "email", "member", False),
        ("outbound", "email", "member", False),
    ]


def test_the_contacts_reply_lands_on_its_conversation_reopens_it_once_whatever_the_redeliveries(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    headers = conversations_api.auth(acme)
    conversation = conversations.start(conversations_api, headers, ana).get_json()
    conversations_api.client.post(f"/v1/conversations/{conversation['id']}/archive", headers=headers)

    inbound_id = conversations.inbound(
        conversations_api, acme, ana, target="conversation", conversation_id=conversation["id"], text="Any news?"
    )
    conversations.inbound(
        conversations_api,
        acme,
        ana,
        target="conversation",
        conversation_id=conversation["id"],
        inbound_id=inbound_id,  # the same mail again, in another event
    )

    [message] = messages_of(conversations_api, acme, conversation["id"])
    assert (message["direction"], message["author_type"], message["author_id"], message["text"]) == (
        "inbound",
        "contact",
        ana,
        "Any news?",
    )
    fetched = conversations_api.client.get(f"/v1/conversations/{conversation['id']}", headers=headers).get_json()
    assert (fetched["status"], fetched["message_count"], fetched["unread_count"]) == ("open", 1, 1)
    [reopened] = conversations_api.outbox("conversations.conversation.reopened")
    assert payload_of(reopened, conversations_pb2.ConversationStatusChanged).reason == "contact_replied"
    [added] = conversations_api.outbox("conversations.message.added")
    assert (payload_of(added, conversations_pb2.ConversationMessageAdded).author_type, added.workspace_id) == (
        "contact",
        acme,
    )
    assert payload_of(added, conversations_pb2.ConversationMessageAdded).automatic is False


def test_a_reply_routed_as_the_mailers_ticket_thread_naming_a_conversation_lands_on_it(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    conversation = conversations.start(conversations_api, conversations_api.auth(acme), ana).get_json()

    conversations.inbound(conversations_api, acme, ana, target="ticket", ticket_id=conversation["id"])
    conversations.inbound(
        conversations_api, acme, ana, target="ticket", ticket_id="0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    )

    assert len(messages_of(conversations_api, acme, conversation["id"])) == 1
    assert len(conversations_api.outbox("conversations.conversation.started")) == 1  # a real ticket's mail: not ours


def test_mail_starting_a_new_conversation_opens_one_on_email_for_the_contact(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, name="Ana López")

    inbound_id = conversations.inbound(conversations_api, acme, ana, subject="Broken printer", text="It is broken")
    conversations.inbound(conversations_api, acme, ana, subject="Broken printer", inbound_id=inbound_id)

    [conversation] = conversations_api.client.get(
        "/v1/conversations?q=ana", headers=conversations_api.auth(acme)
    ).get_json()["items"]
    assert (conversation["subject"], conversation["channel"], conversation["contact_id"]) == (
        "Broken printer",
        "email",
        ana,
    )
    assert (conversation["assignee_id"], conversation["unread"], conversation["message_count"]) == (None, True, 1)
    [started] = conversations_api.outbox("conversations.conversation.started")
    assert payload_of(started, conversations_pb2.ConversationStarted).started_by == "contact"


def test_a_blocked_contacts_mail_is_dropped(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    from crm_contacts.contacts import service as contacts
    from tests.factories import platform

    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    conversation = conversations.start(conversations_api, conversations_api.auth(acme), ana).get_json()
    contacts.set_blocked(
        contacts_peer_service.rt.database.unit_of_work(), caller=platform.admin(acme), contact_id=ana, blocked=True
    )

    conversations.inbound(conversations_api, acme, ana, target="conversation", conversation_id=conversation["id"])
    conversations.inbound(conversations_api, acme, ana)

    assert messages_of(conversations_api, acme, conversation["id"]) == []
    assert len(conversations_api.outbox("conversations.conversation.started")) == 1
    with conversations_api.rt.database.unit_of_work() as uow:
        assert uow.session.scalars(select(Message)).all() == []


def test_mail_for_a_deleted_conversation_starts_a_new_one(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    headers = conversations_api.auth(acme)
    gone = conversations.start(conversations_api, headers, ana).get_json()
    conversations_api.client.delete(f"/v1/conversations/{gone['id']}", headers=headers)

    conversations.inbound(conversations_api, acme, ana, target="conversation", conversation_id=gone["id"])

    [fresh] = conversations_api.client.get("/v1/conversations", headers=headers).get_json()["items"]
    assert fresh["id"] != gone["id"]
    assert fresh["message_count"] == 1


def test_contacts_updates_feed_the_search_and_a_merge_repoints_the_conversations(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, name="Ana López", email="ana@example.com")
    twin = contacts_peer_service.contact(acme, name="A. Lopez", email="ana.old@example.com")
    headers = conversations_api.auth(acme)
    first = conversations.start(conversations_api, headers, ana).get_json()
    second = conversations.start(conversations_api, headers, twin).get_json()

    conversations_api.consume(
        envelope(
            CONTACT_UPDATED.name,
            contacts_pb2.ContactUpdated(
                contact_id=ana,
                changed_fields=["name"],
                contact=contacts_pb2.ContactSnapshot(
                    id=ana,
                    name="Anabel Ortega",
                    emails=[contacts_pb2.ContactEmail(address="ana@example.com", primary=True)],
                    phones=["+34612345678"],
                ),
            ),
            workspace_id=acme,
            producer="contacts",
        )
    )
    conversations_api.consume(
        envelope(
            CONTACT_MERGED.name,
            contacts_pb2.ContactsMerged(survivor_id=ana, merged_ids=[twin]),
            workspace_id=acme,
            producer="contacts",
        )
    )

    def found(q: str) -> list[str]:
        answer = conversations_api.client.get("/v1/conversations", query_string={"q": q}, headers=headers)
        return [c["id"] for c in answer.get_json()["items"]]

    assert found("ortega") == [second["id"], first["id"]]
    assert found("lopez") == []
    assert found("612345678") == [second["id"], first["id"]]
    moved = conversations_api.client.get(f"/v1/conversations/{second['id']}", headers=headers).get_json()
    assert (moved["contact_id"], moved["contact"]["name"]) == (ana, "Anabel Ortega")
