"""Merging contacts: what moves to the survivor, which values win, who may merge, and the event."""

from __future__ import annotations

from sqlalchemy import select

from crm.events.v1 import contacts_pb2
from crm_contacts.notes.models import Note
from crm_contacts.tasks.models import Task
from crm_platform.events import payload_of
from crm_platform.ids import new_id
from tests.integration.contacts.support.record import Contacts


def _note_and_task(contacts: Contacts, workspace_id: str, contact_id: str) -> None:
    with contacts.api.rt.database.unit_of_work() as uow:
        uow.session.add(Note(id=new_id(), workspace_id=workspace_id, contact_id=contact_id, author_id="x", body="hi"))
        uow.session.add(
            Task(id=new_id(), workspace_id=workspace_id, contact_id=contact_id, title="call", created_by="x")
        )
        uow.commit()


def _attached(contacts: Contacts, contact_id: str) -> tuple[int, int]:
    with contacts.api.rt.database.unit_of_work() as uow:
        notes = list(uow.session.scalars(select(Note.id).where(Note.contact_id == contact_id)))
        tasks = list(uow.session.scalars(select(Task.id).where(Task.contact_id == contact_id)))
    return len(notes), len(tasks)


def test_merge_moves_emails_phones_tags_notes_and_tasks_to_the_survivor(contacts: Contacts) -> None:
    acme = contacts.workspace(allow_duplicates=True)
    survivor = contacts.create(
        acme, name="Ana Ruiz", emails=["ana@example.com"], phones=["612345678"], tags=["vip"]
    ).get_json()
    other = contacts.create(
        acme,
        name="Ana R.",
        emails=["ANA@example.com", "ana@work.com"],
        phones=["699111222"],
        tags=["buyer", "vip"],
        color="#00ff00",
    ).get_json()
    _note_and_task(contacts, acme, other["id"])

    answer = contacts.api.client.post(
        "/v1/contacts/merge",
        json={"survivor_id": survivor["id"], "merged_ids": [other["id"]], "fields": {"phone": other["id"]}},
        headers=contacts.headers(acme),
    )

    assert answer.status_code == 200, answer.get_json()
    merged = answer.get_json()
    assert merged["name"] == "Ana Ruiz"
    assert [(e["address"], e["primary"]) for e in merged["emails"]] == [
        ("ana@example.com", True),
        ("ana@work.com", False),
    ]
    assert [(p["number"], p["primary"]) for p in merged["phones"]] == [("+34612345678", False), ("+34699111222", True)]
    assert merged["phone"] == "+34699111222"
    assert merged["tags"] == ["buyer", "vip"]
    assert merged["color"] == "#00ff00"  # the survivor had none
    assert _attached(contacts, survivor["id"]) == (1, 1)
    assert _attached(contacts, other["id"]) == (0, 0)
    gone = contacts.api.client.get(f"/v1/contacts/{other['id']}", headers=contacts.headers(acme))
    assert gone.status_code == 404
    [event] = contacts.outbox("contacts.contact.merged")
    payload = payload_of(event, contacts_pb2.ContactsMerged)
    assert (payload.survivor_id, list(payload.merged_ids)) == (survivor["id"], [other["id"]])
    [updated] = contacts.outbox("contacts.contact.updated")
    assert {"emails", "phones", "tags", "color"} <= set(payload_of(updated, contacts_pb2.ContactUpdated).changed_fields)
    kinds = [kind for kind, _ in contacts.history(survivor["id"])]
    assert kinds.count("created") == 2 and kinds[-1] == "merged"


def test_merged_contacts_free_their_addresses_for_new_contacts(contacts: Contacts) -> None:
    acme = contacts.workspace(allow_duplicates=True)
    survivor = contacts.create(acme, name="Ana").get_json()
    other = contacts.create(acme, name="Ana 2", email="ana@example.com").get_json()
    contacts.api.client.post(
        "/v1/contacts/merge",
        json={"survivor_id": survivor["id"], "merged_ids": [other["id"]], "fields": {"name": other["id"]}},
        headers=contacts.headers(acme),
    )

    survivor_now = contacts.api.client.get(f"/v1/contacts/{survivor['id']}", headers=contacts.headers(acme)).get_json()

    assert (survivor_now["name"], survivor_now["email"]) == ("Ana 2", "ana@example.com")


def test_agent_cannot_merge_contacts_they_do_not_own(contacts: Contacts) -> None:
    acme = contacts.workspace()
    luis, marta = contacts.member(acme, "Luis"), contacts.member(acme, "Marta")
    mine = contacts.create(acme, name="Ana", as_member=luis, role="agent").get_json()
    hers = contacts.create(acme, name="Ana R", as_member=marta, role="agent").get_json()

    answer = contacts.api.client.post(
        "/v1/contacts/merge",
        json={"survivor_id": mine["id"], "merged_ids": [hers["id"]]},
        headers=contacts.headers(acme, luis, "agent"),
    )

    assert answer.status_code == 403
    assert contacts.outbox("contacts.contact.merged") == []


def test_choosing_a_value_from_an_uninvolved_contact_is_a_field_error(contacts: Contacts) -> None:
    acme = contacts.workspace()
    one = contacts.create(acme, name="Ana").get_json()
    two = contacts.create(acme, name="Ana R").get_json()
    three = contacts.create(acme, name="Bob").get_json()

    answer = contacts.api.client.post(
        "/v1/contacts/merge",
        json={"survivor_id": one["id"], "merged_ids": [two["id"]], "fields": {"name": three["id"]}},
        headers=contacts.headers(acme),
    )

    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == "fields.name"
