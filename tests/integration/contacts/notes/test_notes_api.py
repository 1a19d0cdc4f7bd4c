"""Notes on a contact over HTTP: pinned first, author/admin rights, events and history entries."""

from __future__ import annotations

import grpc
import pytest

from crm.contacts.v1 import contacts_pb2 as rpc
from crm.contacts.v1 import contacts_pb2_grpc
from crm.events.v1 import contacts_pb2
from crm_contacts.app import SERVICE
from crm_platform.events import payload_of
from crm_platform.grpc_server import GrpcServer
from tests.integration.contacts.support.activity_world import World
from tests.support import service_keys
from tests.support.stack import problem_fields


def add_note(world: World, contact_id: str, body: str, *, as_: str | None = None) -> dict:
    answer = world.post(f"/v1/contacts/{contact_id}/notes", {"body": body}, as_=as_)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_pinned_notes_come_first_latest_pinned_first_then_the_rest_newest_first(world: World) -> None:
    contact = world.contact()
    first, second, third, fourth, fifth = (add_note(world, contact, f"note {n}")["id"] for n in range(1, 6))
    for pinned in (second, fourth, first):
        assert world.post(f"/v1/contacts/{contact}/notes/{pinned}/pin").status_code == 200
    assert world.post(f"/v1/contacts/{contact}/notes/{fourth}/pin").status_code == 200  # pinned again: to the top
    assert world.post(f"/v1/contacts/{contact}/notes/{second}/unpin").status_code == 200

    expected = [fourth, first, fifth, third, second]
    whole = world.get(f"/v1/contacts/{contact}/notes").get_json()
    pages = world.walk(f"/v1/contacts/{contact}/notes?limit=2")

    assert [note["id"] for note in whole["items"]] == expected
    assert [[note["id"] for note in page] for page in pages] == [expected[0:2], expected[2:4], expected[4:]]
    assert [note["pinned"] for note in whole["items"]] == [True, True, False, False, False]
    assert whole["items"][2]["pinned_at"] is None


def test_a_note_is_written_by_the_caller_and_edited_by_its_author(world: World) -> None:
    contact = world.contact()
    note = add_note(world, contact, "  Prefers calls after 6pm  ", as_=world.agent)

    edited = world.patch(
        f"/v1/contacts/{contact}/notes/{note['id']}", {"body": "Prefers calls after 7pm"}, as_=world.agent
    )

    assert (note["author_id"], note["body"]) == (world.agent, "Prefers calls after 6pm")
    assert edited.status_code == 200
    assert edited.get_json()["body"] == "Prefers calls after 7pm"
    assert edited.get_json()["author_id"] == world.agent


def test_an_agent_may_neither_edit_nor_delete_another_members_note(world: World) -> None:
    contact = world.contact()
    note = add_note(world, contact, "Owes us a signed contract", as_=world.agent)
    url = f"/v1/contacts/{contact}/notes/{note['id']}"

    edit = world.patch(url, {"body": "rewritten"}, as_=world.other_agent)
    delete = world.delete(url, as_=world.other_agent)

    assert (edit.status_code, delete.status_code) == (403, 403)
    assert edit.mimetype == "application/problem+json"
    assert world.get(f"/v1/contacts/{contact}/notes").get_json()["items"][0]["body"] == "Owes us a signed contract"


def test_an_admin_may_edit_and_delete_any_note(world: World) -> None:
    contact = world.contact()
    note = add_note(world, contact, "Typo in the adress", as_=world.agent)
    url = f"/v1/contacts/{contact}/notes/{note['id']}"

    assert world.patch(url, {"body": "Typo in the address"}, as_=world.admin).status_code == 200
    assert world.delete(url, as_=world.admin).status_code == 204

    assert world.get(f"/v1/contacts/{contact}/notes").get_json()["items"] == []
    assert world.patch(url, {"body": "again"}, as_=world.admin).status_code == 404


def test_every_note_change_emits_its_event_and_writes_a_history_entry_with_an_excerpt(world: World) -> None:
    contact = world.contact()
    note = add_note(world, contact, "Wants a flat with a terrace " + "and a view " * 30, as_=world.agent)
    url = f"/v1/contacts/{contact}/notes/{note['id']}"
    world.patch(url, {"body": "Wants a flat with a terrace"}, as_=world.agent)
    world.post(f"{url}/pin", as_=world.other_agent)
    world.post(f"{url}/unpin", as_=world.other_agent)
    world.delete(url, as_=world.agent)

    changes = ["added", "updated", "pinned", "unpinned", "deleted"]
    events = [
        (envelope.type, payload_of(envelope, contacts_pb2.NoteChanged))
        for envelope in world.api.outbox()
        if envelope.type.startswith("contacts.note.") and envelope.workspace_id == world.workspace_id
    ]
    history = world.get(f"/v1/contacts/{contact}/history?kind=" + ",".join(f"note_{c}" for c in changes)).get_json()

    assert [event_type for event_type, _ in events] == [f"contacts.note.{change}" for change in changes]
    assert {(p.note_id, p.contact_id, p.author_id) for _, p in events} == {(note["id"], contact, world.agent)}
    assert [p.actor_id for _, p in events] == [
        world.agent,
        world.agent,
        world.other_agent,
        world.other_agent,
        world.agent,
    ]
    assert [p.pinned for _, p in events] == [False, False, True, False, False]
    assert [entry["kind"] for entry in history["items"]] == [f"note_{change}" for change in reversed(changes)]
    added = history["items"][-1]["data"]
    assert added["note_id"] == note["id"]
    assert added["excerpt"].startswith("Wants a flat with a terrace and a view")
    assert added["excerpt"].endswith("…") and len(added["excerpt"]) <= 140


def test_an_empty_note_is_a_problem_on_body(world: World) -> None:
    contact = world.contact()

    answer = world.post(f"/v1/contacts/{contact}/notes", {"body": "   "})

    assert answer.status_code == 422
    assert problem_fields(answer.get_json()) == {"body": "required"}


def test_a_note_is_only_reachable_through_its_own_contact(world: World) -> None:
    ana, bob = world.contact(name="Ana"), world.contact(name="Bob")
    note = add_note(world, ana, "Only about Ana")

    assert world.patch(f"/v1/contacts/{bob}/notes/{note['id']}", {"body": "hijacked"}).status_code == 404
    assert world.post(f"/v1/contacts/{bob}/notes/{note['id']}/pin").status_code == 404
    assert world.delete(f"/v1/contacts/{bob}/notes/{note['id']}").status_code == 404


def test_grpc_notes_answer_the_side_panel_with_the_forwarded_users_visibility(world: World) -> None:
    mine, theirs = world.contact(owner=world.agent), world.contact(name="Eva's", owner=world.other_agent)
    add_note(world, mine, "Prefers email")
    add_note(world, mine, "Called twice")
    add_note(world, theirs, "Not for Luis")
    world.agents_see_only_their_own()
    agent_token = world.headers(world.agent)["Authorization"].removeprefix("Bearer ")
    service = "crm.contacts.v1.ContactsService"
    as_luis = service_keys.credentials("conversations", service, user_token=agent_token)
    server = GrpcServer(
        [(b, world.api.rt.metrics) for b in SERVICE.grpc_bindings(world.api.rt)],
        address="127.0.0.1:0",
        settings=world.api.rt.settings,
    )
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = contacts_pb2_grpc.ContactsServiceStub(channel)
            listed = stub.ListContactNotes(rpc.ListContactNotesRequest(contact_id=mine), metadata=as_luis, timeout=5)
            one = stub.ListContactNotes(
                rpc.ListContactNotesRequest(contact_id=mine, limit=1), metadata=as_luis, timeout=5
            )
            with pytest.raises(grpc.RpcError) as hidden:
                stub.ListContactNotes(rpc.ListContactNotesRequest(contact_id=theirs), metadata=as_luis, timeout=5)
            as_tickets = service_keys.credentials("tickets", service, user_token=agent_token)
            with pytest.raises(grpc.RpcError) as refused:
                stub.ListContactNotes(rpc.ListContactNotesRequest(contact_id=mine), metadata=as_tickets, timeout=5)
    finally:
        server.stop(grace=0)

    assert [n.body for n in listed.notes] == ["Called twice", "Prefers email"]  # newest first
    assert [n.body for n in one.notes] == ["Called twice"]
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND  # another agent's contact, for an agent who sees own
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED  # only the side panel's service may ask
