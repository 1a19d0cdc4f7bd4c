"""The shared inbox's conversations over HTTP: edit with If-Match, assign, archive, reopen, delete, views,
search, paging and counts, each scoped to the caller's workspace."""

from __future__ import annotations

from typing import Any

from crm.events.v1 import conversations_pb2
from crm_platform.events import payload_of
from tests.factories import conversations
from tests.support.stack import ContactsPeer, RunningService, problem_fields
from tests.support.team import every_page


def start(api: RunningService, workspace_id: str, contact_id: str, subject: str = "Invoice question", **extra: Any):  # type: ignore[no-untyped-def]
    return api.client.post(
        "/v1/conversations",
        json={"contact_id": contact_id, "subject": subject, **extra},
        headers=api.auth(workspace_id),
    )


def test_subject_is_edited_with_if_match_and_a_stale_version_is_412(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    started = start(conversations_api, acme, contacts_peer_service.contact(acme))
    url = f"/v1/conversations/{started.get_json()['id']}"
    assert started.headers["ETag"] == '"1"'
    headers = conversations_api.auth(acme)

    edited = conversations_api.client.patch(url, json={"subject": "Invoice 42"}, headers={**headers, "If-Match": '"1"'})
    stale = conversations_api.client.patch(url, json={"subject": "Other"}, headers={**headers, "If-Match": '"1"'})

    assert (edited.status_code, edited.get_json()["subject"], edited.headers["ETag"]) == (200, "Invoice 42", '"2"')
    assert stale.status_code == 412
    assert stale.get_json()["current_version"] == 2
    assert conversations_api.client.get(url, headers=headers).get_json()["subject"] == "Invoice 42"
    [event] = conversations_api.outbox("conversations.conversation.updated")
    assert payload_of(event, conversations_pb2.ConversationUpdated).subject == "Invoice 42"


def test_bad_fields_are_422_with_their_details(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    conversation = start(conversations_api, acme, ana).get_json()
    url = f"/v1/conversations/{conversation['id']}"
    headers = conversations_api.auth(acme)

    blank = conversations_api.client.patch(url, json={"subject": "   "}, headers=headers)
    stranger = conversations_api.client.patch(
        url, json={"subject": "Changed", "assignee_id": "nobody-here"}, headers=headers
    )
    unknown_field = conversations_api.client.patch(url, json={"colour": "red"}, headers=headers)
    bad_status = conversations_api.client.patch(url, json={"status": "closed"}, headers=headers)
    bad_view = conversations_api.client.get("/v1/conversations?view=member", headers=headers)
    started_for_stranger = start(conversations_api, acme, ana, assignee_id="nobody-here")

    assert problem_fields(blank.get_json()) == {"subject": "required"}
    assert problem_fields(stranger.get_json()) == {"assignee_id": "unknown_member"}
    assert conversations_api.client.get(url, headers=headers).get_json()["subject"] == "Invoice question"
    assert started_for_stranger.status_code == 422
    assert problem_fields(started_for_stranger.get_json()) == {"assignee_id": "unknown_member"}
    for answer in (unknown_field, bad_status, bad_view):
        assert answer.status_code == 422
    assert list(problem_fields(unknown_field.get_json())) == ["colour"]
    assert list(problem_fields(bad_status.get_json())) == ["status"]
    assert problem_fields(bad_view.get_json()) == {"member_id": "required"}


def test_reassigning_is_recorded_in_the_history_with_an_event_each_time(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    marta = conversations.member(contacts_peer_service, acme, "Marta Sanz")
    conversation = start(conversations_api, acme, contacts_peer_service.contact(acme), assignee_id=luis).get_json()
    url = f"/v1/conversations/{conversation['id']}"
    headers = conversations_api.auth(acme, user_id="boss")

    to_marta = conversations_api.client.post(f"{url}/assign", json={"assignee_id": marta}, headers=headers)
    again = conversations_api.client.post(f"{url}/assign", json={"assignee_id": marta}, headers=headers)
    to_nobody = conversations_api.client.patch(url, json={"assignee_id": None}, headers=headers)

    assert (to_marta.get_json()["assignee_id"], to_nobody.get_json()["assignee_id"]) == (marta, None)
    assert again.get_json()["version"] == to_marta.get_json()["version"]  # the same assignee changes nothing
    history = conversations_api.client.get(f"{url}/assignments", headers=headers).get_json()["items"]
    assert [(h["from_assignee_id"], h["to_assignee_id"], h["actor_id"]) for h in history] == [
        (None, luis, "agent-1"),
        (luis, marta, "boss"),
        (marta, None, "boss"),
    ]
    events = [
        payload_of(e, conversations_pb2.ConversationAssigned)
        for e in conversations_api.outbox("conversations.conversation.assigned")
    ]
    assert [(e.from_assignee_id, e.to_assignee_id) for e in events] == [(luis, marta), (marta, "")]


def test_archiving_and_reopening_move_the_status_stamp_the_close_and_emit_events(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    conversation = start(conversations_api, acme, contacts_peer_service.contact(acme), assignee_id=luis).get_json()
    url = f"/v1/conversations/{conversation['id']}"
    headers = conversations_api.auth(acme)

    archived = conversations_api.client.post(f"{url}/archive", headers=headers).get_json()
    archived_again = conversations_api.client.post(f"{url}/archive", headers=headers).get_json()
    open_list = conversations_api.client.get("/v1/conversations", headers=headers).get_json()["items"]
    archived_list = conversations_api.client.get("/v1/conversations?status=archived", headers=headers).get_json()
    reopened = conversations_api.client.post(f"{url}/reopen", headers=headers).get_json()

    assert (archived["status"], archived["archived_at"] is not None) == ("archived", True)
    assert archived_again["version"] == archived["version"]
    assert open_list == []
    assert [c["id"] for c in archived_list["items"]] == [conversation["id"]]
    assert (reopened["status"], reopened["archived_at"]) == ("open", None)
    [archiving] = conversations_api.outbox("conversations.conversation.archived")
    [event] = conversations_api.outbox("conversations.conversation.reopened")
    changes = [payload_of(e, conversations_pb2.ConversationStatusChanged) for e in (archiving, event)]
    assert [(c.to_status, c.assignee_id) for c in changes] == [("archived", luis), ("open", luis)]


def test_a_deleted_conversation_is_audited_leaves_the_lists_and_answers_404(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    kept = start(conversations_api, acme, ana, "Kept").get_json()
    gone = start(conversations_api, acme, ana, "Gone").get_json()
    url = f"/v1/conversations/{gone['id']}"
    headers = conversations_api.auth(acme, user_id="boss")

    assert conversations_api.client.delete(url, headers=headers).status_code == 204

    for answer in (
        conversations_api.client.get(url, headers=headers),
        conversations_api.client.get(f"{url}/messages", headers=headers),
        conversations_api.client.post(f"{url}/messages", json={"body": "hi"}, headers=headers),
        conversations_api.client.patch(url, json={"subject": "back"}, headers=headers),
        conversations_api.client.delete(url, headers=headers),
    ):
        assert answer.status_code == 404
    listed = conversations_api.client.get("/v1/conversations?status=any", headers=headers).get_json()["items"]
    assert [c["id"] for c in listed] == [kept["id"]]
    counts = conversations_api.client.get("/v1/conversations/counts", headers=headers).get_json()
    assert counts["all"]["count"] == 1
    [event] = conversations_api.outbox("conversations.conversation.deleted")
    assert payload_of(event, conversations_pb2.ConversationDeleted).actor_id == "boss"
    from crm_conversations.conversations.models import Conversation

    with conversations_api.rt.database.unit_of_work() as uow:
        row = uow.session.get(Conversation, gone["id"])
        assert row is not None and row.deleted_by == "boss" and row.deleted_at is not None


def test_another_workspaces_conversation_is_404_on_every_endpoint(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, globex = contacts_peer_service.workspace(name="Acme"), contacts_peer_service.workspace(name="Globex")
    conversation = start(conversations_api, acme, contacts_peer_service.contact(acme)).get_json()
    url = f"/v1/conversations/{conversation['id']}"
    theirs = conversations_api.auth(globex)
    client = conversations_api.client

    for answer in (
        client.get(url, headers=theirs),
        client.patch(url, json={"subject": "mine now"}, headers=theirs),
        client.post(f"{url}/assign", json={"assignee_id": None}, headers=theirs),
        client.get(f"{url}/assignments", headers=theirs),
        client.post(f"{url}/archive", headers=theirs),
        client.post(f"{url}/reopen", headers=theirs),
        client.post(f"{url}/read", headers=theirs),
        client.get(f"{url}/panel", headers=theirs),
        client.get(f"{url}/messages", headers=theirs),
        client.post(f"{url}/messages", json={"body": "hi", "note": True}, headers=theirs),
        client.delete(url, headers=theirs),
    ):
        assert answer.status_code == 404, answer.request.path
    assert client.get("/v1/conversations?status=any", headers=theirs).get_json()["items"] == []
    assert client.get(url, headers=conversations_api.auth(acme)).get_json()["subject"] == "Invoice question"


def test_views_split_mine_unassigned_a_members_and_all_with_counts(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    me = conversations.member(contacts_peer_service, acme, "Me Myself")
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    ana = contacts_peer_service.contact(acme)
    mine = [start(conversations_api, acme, ana, f"mine {n}", assignee_id=me).get_json()["id"] for n in range(2)]
    luis_one = start(conversations_api, acme, ana, "luis", assignee_id=luis).get_json()["id"]
    nobodys = start(conversations_api, acme, ana, "nobody").get_json()["id"]
    archived_mine = start(conversations_api, acme, ana, "old", assignee_id=me).get_json()["id"]
    headers = conversations_api.auth(acme, user_id=me)
    conversations_api.client.post(f"/v1/conversations/{archived_mine}/archive", headers=headers)

    def ids(query: str) -> list[str]:
        answer = conversations_api.client.get(f"/v1/conversations?{query}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return [c["id"] for c in answer.get_json()["items"]]

    assert ids("view=mine") == mine[::-1]
    assert ids("view=unassigned") == [nobodys]
    assert ids(f"view=member&member_id={luis}") == [luis_one]
    assert ids("view=all") == [nobodys, luis_one, *mine[::-1]]
    assert ids("view=mine&status=archived") == [archived_mine]
    assert ids("view=mine&status=any") == [archived_mine, *mine[::-1]]
    counts = conversations_api.client.get("/v1/conversations/counts", headers=headers).get_json()
    assert counts["all"]["count"] == 4
    assert counts["mine"]["count"] == 2
    assert counts["unassigned"]["count"] == 1
    assert counts["members"] == {
        me: {"count": 2, "unread": 0},
        luis: {"count": 1, "unread": 0},
    }
    archived_counts = conversations_api.client.get("/v1/conversations/counts?status=archived", headers=headers)
    assert archived_counts.get_json()["mine"] == {"count": 1, "unread": 0}


def test_search_finds_the_contacts_name_by_prefix_whatever_the_case_and_accents_and_its_email_or_phone(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    from tests.factories import contacts

    acme = contacts_peer_service.workspace()
    angela = contacts.contact(
        contacts_peer_service.rt.database, acme, name="Ángela Ruíz", email="angela@example.com", phone="612345678"
    )
    bob = contacts.contact(contacts_peer_service.rt.database, acme, name="Bob Angel", email="bob@example.com")
    percent = contacts.contact(contacts_peer_service.rt.database, acme, name="100% Cotton", email=None)
    to_angela = start(conversations_api, acme, angela).get_json()["id"]
    to_bob = start(conversations_api, acme, bob).get_json()["id"]
    start(conversations_api, acme, percent)
    headers = conversations_api.auth(acme)

    def found(q: str) -> list[str]:
        answer = conversations_api.client.get("/v1/conversations", query_string={"q": q}, headers=headers)
        return [c["id"] for c in answer.get_json()["items"]]

    assert found("angela") == [to_angela]
    assert found("ÁNGEL") == [to_bob, to_angela]  # Ángela's first name, and Bob's surname Angel
    assert found("ruiz") == [to_angela]
    assert found("ángela r") == [to_angela]
    assert found("Angela@Example.com") == [to_angela]
    assert found("612 345 678") == [to_angela]
    assert found("+34 612 345 678") == [to_angela]
    assert found("ngela") == []  # a prefix, not any part of the name
    assert found("10_%") == []  # LIKE's wildcards are taken literally
    counts = conversations_api.client.get("/v1/conversations/counts?q=ruiz", headers=headers).get_json()
    assert counts["all"]["count"] == 1


def test_lists_page_by_latest_activity_and_a_new_message_moves_a_conversation_up(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    started = [start(conversations_api, acme, ana, f"n{n}").get_json()["id"] for n in range(7)]
    headers = conversations_api.auth(acme)
    assert conversations.say(conversations_api, headers, started[0], "bump").status_code == 201

    pages = every_page(conversations_api, "/v1/conversations", headers, limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [c["id"] for p in pages for c in p] == [started[0], *started[:0:-1]]
    broken = conversations_api.client.get("/v1/conversations?cursor=not-a-cursor", headers=headers)
    assert broken.status_code == 422
    assert list(problem_fields(broken.get_json())) == ["cursor"]
