"""The full contact record over HTTP: create with every field, read, update with If-Match, status, delete."""

from __future__ import annotations

from crm.events.v1 import contacts_pb2
from crm_platform.events import payload_of
from tests.integration.contacts.support.record import Contacts
from tests.support.stack import problem_fields


def test_contact_created_with_every_field_is_read_back_normalised(contacts: Contacts) -> None:
    acme = contacts.workspace()
    luis = contacts.member(acme, "Luis")

    created = contacts.create(
        acme,
        name="Ana  Ruiz",
        emails=["Ana@Example.com", "ana.work@example.com"],
        phones=["612 34 56 78", {"number": "+34 699 111 222", "label": "work"}],
        type="collaborator",
        owner_id=luis,
        language="ES",
        location={"city": " Madrid ", "country": "ES"},
        messengers={"Telegram": "@ana"},
        tags=[" VIP ", "vip", "Buyer"],
        interests=[{"criteria": [{"field": "price", "operator": "lte", "value": 300000}], "text": "flat near metro"}],
        stars=2,
        color="#FF8800",
        emoji="🏠",
    )

    assert created.status_code == 201, created.get_json()
    contact = created.get_json()
    assert (contact["email"], contact["phone"]) == ("ana@example.com", "+34612345678")
    assert [(e["address"], e["primary"], e["status"]) for e in contact["emails"]] == [
        ("ana@example.com", True, "active"),
        ("ana.work@example.com", False, "active"),
    ]
    assert [(p["number"], p["primary"], p["label"]) for p in contact["phones"]] == [
        ("+34612345678", True, None),
        ("+34699111222", False, "work"),
    ]
    assert (contact["type"], contact["owner_id"], contact["language"]) == ("collaborator", luis, "es")
    assert contact["stage_id"] is not None and contact["source_id"] is not None
    assert contact["location"] == {"city": "Madrid", "country": "ES"}
    assert contact["messengers"] == {"telegram": "@ana"}
    assert contact["tags"] == ["buyer", "vip"]
    assert contact["interests"][0]["criteria"] == [{"field": "price", "operator": "lte", "value": 300000}]
    assert (contact["stars"], contact["color"], contact["emoji"]) == (2, "#ff8800", "🏠")
    assert contact["links"] == {"whatsapp": "https://wa.me/34612345678", "mailto": "mailto:ana@example.com"}
    assert created.headers["ETag"] == '"1"'
    fetched = contacts.api.client.get(f"/v1/contacts/{contact['id']}", headers=contacts.headers(acme))
    assert fetched.get_json() == contact
    [event] = contacts.outbox("contacts.contact.created")
    snapshot = payload_of(event, contacts_pb2.ContactCreated).contact
    assert (snapshot.id, snapshot.type, list(snapshot.phones)) == (
        contact["id"],
        "collaborator",
        ["+34612345678", "+34699111222"],
    )
    assert [kind for kind, _ in contacts.history(contact["id"])] == ["created"]


def test_caller_who_is_a_member_owns_what_they_create(contacts: Contacts) -> None:
    acme = contacts.workspace()
    luis = contacts.member(acme, "Luis")

    contact = contacts.create(acme, as_member=luis, role="agent").get_json()

    assert contact["owner_id"] == luis


def test_invalid_fields_are_each_named_in_one_problem(contacts: Contacts) -> None:
    acme = contacts.workspace()

    answer = contacts.create(
        acme,
        owner_id="0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        type="customer-of-mars",
        stars=5,
        color="orange",
        emoji="ok",
        emails=["ana@example.com", "nope@"],
        custom_fields={"unknown": 1},
    )

    assert answer.status_code == 422
    assert problem_fields(answer.get_json()) == {
        "owner_id": "unknown_member",
        "type": "unknown",
        "stars": "out_of_range",
        "color": "invalid_color",
        "emoji": "invalid_emoji",
        "emails.1": "invalid_email",
        "custom_fields.unknown": "unknown_field",
    }
    assert [e for e in contacts.outbox() if e.type.startswith("contacts.contact.")] == []


def test_custom_fields_are_validated_against_the_workspace_definitions(contacts: Contacts) -> None:
    from crm_contacts.customfields.models import CustomField
    from crm_platform.ids import new_id

    acme = contacts.workspace()
    with contacts.api.rt.database.unit_of_work() as uow:
        uow.session.add(
            CustomField(id=new_id(), workspace_id=acme, key="budget", label="Budget", kind="number", options=[])
        )
        uow.session.add(
            CustomField(id=new_id(), workspace_id=acme, key="rooms", label="Rooms", kind="select", options=["1", "2"])
        )
        uow.commit()

    refused = contacts.create(acme, custom_fields={"budget": "lots", "rooms": "7"})
    accepted = contacts.create(acme, custom_fields={"budget": 250000, "rooms": "2"})

    assert problem_fields(refused.get_json()) == {
        "custom_fields.budget": "invalid_type",
        "custom_fields.rooms": "invalid_choice",
    }
    assert accepted.get_json()["custom_fields"] == {"budget": 250000, "rooms": "2"}


def test_update_with_a_stale_if_match_is_refused_with_412(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme).get_json()
    url = f"/v1/contacts/{contact['id']}"

    first = contacts.api.client.patch(url, json={"stars": 3}, headers={**contacts.headers(acme), "If-Match": '"1"'})
    stale = contacts.api.client.patch(url, json={"stars": 1}, headers={**contacts.headers(acme), "If-Match": '"1"'})

    assert first.status_code == 200
    assert (first.get_json()["version"], first.headers["ETag"]) == (2, '"2"')
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert contacts.api.client.get(url, headers=contacts.headers(acme)).get_json()["stars"] == 3


def test_update_emits_changed_fields_and_replaces_emails_with_the_chosen_primary(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme, email="ana@example.com").get_json()

    answer = contacts.api.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={
            "name": "Ana María Ruiz",
            "emails": [{"address": "ana@example.com"}, {"address": "Ana@Work.com", "primary": True}],
        },
        headers=contacts.headers(acme),
    )

    assert answer.status_code == 200, answer.get_json()
    updated = answer.get_json()
    assert updated["email"] == "ana@work.com"
    assert [(e["address"], e["primary"]) for e in updated["emails"]] == [
        ("ana@example.com", False),
        ("ana@work.com", True),
    ]
    [event] = contacts.outbox("contacts.contact.updated")
    payload = payload_of(event, contacts_pb2.ContactUpdated)
    assert sorted(payload.changed_fields) == ["emails", "name"]
    assert payload.contact.emails[1].primary


def test_stage_and_owner_changes_are_events_and_history_entries(contacts: Contacts) -> None:
    acme = contacts.workspace()
    luis = contacts.member(acme, "Luis")
    contact = contacts.create(acme).get_json()
    stages = [entry for entry in contacts.outbox("contacts.contact.created")]
    assert stages
    from crm_contacts.funnel import service as funnel

    with contacts.api.rt.database.unit_of_work() as uow:
        contact_type, first = funnel.resolve(uow.session, acme)
        prospect = funnel.stages_of(uow.session, contact_type.id)[1]

    answer = contacts.api.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"stage_id": prospect.id, "owner_id": luis},
        headers=contacts.headers(acme),
    )

    assert answer.status_code == 200, answer.get_json()
    [stage_event] = contacts.outbox("contacts.contact.stage_changed")
    stage_changed = payload_of(stage_event, contacts_pb2.ContactStageChanged)
    assert (stage_changed.from_stage_id, stage_changed.to_stage_id) == (first.id, prospect.id)
    assert (stage_changed.owner_id, stage_changed.source_id, stage_changed.status, stage_changed.contact_type) == (
        luis,  # the contact's owner at the move: the same change gave it to Luis
        contact["source_id"],
        "active",
        "contact",
    )
    [owner_event] = contacts.outbox("contacts.contact.owner_changed")
    assert payload_of(owner_event, contacts_pb2.ContactOwnerChanged).to_owner_id == luis
    entries = dict(contacts.history(contact["id"])[1:])
    assert entries["stage_changed"]["from"] == first.id and entries["stage_changed"]["to"] == prospect.id
    assert entries["owner_changed"] == {"from": contact["owner_id"], "to": luis}


def test_changing_type_moves_the_contact_to_the_first_stage_of_the_new_type(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme).get_json()

    answer = contacts.api.client.patch(
        f"/v1/contacts/{contact['id']}", json={"type": "other"}, headers=contacts.headers(acme)
    )

    from crm_contacts.funnel import service as funnel

    with contacts.api.rt.database.unit_of_work() as uow:
        _other, first_of_other = funnel.resolve(uow.session, acme, type_key_or_id="other")
    assert answer.status_code == 200
    assert (answer.get_json()["type"], answer.get_json()["stage_id"]) == ("other", first_of_other.id)


def test_won_contact_can_be_reopened_and_each_change_is_in_the_history(contacts: Contacts) -> None:
    acme = contacts.workspace()
    luis = contacts.member(acme, "Luis")
    contact = contacts.create(acme, owner_id=luis).get_json()
    url = f"/v1/contacts/{contact['id']}/status"

    won = contacts.api.client.post(url, json={"status": "won"}, headers=contacts.headers(acme))
    again = contacts.api.client.post(url, json={"status": "won"}, headers=contacts.headers(acme))
    lost_from_won = contacts.api.client.post(url, json={"status": "lost"}, headers=contacts.headers(acme))
    reopened = contacts.api.client.post(
        url, json={"status": "active", "reason": "came back"}, headers=contacts.headers(acme)
    )

    assert (won.status_code, won.get_json()["status"]) == (200, "won")
    assert again.status_code == 409
    assert lost_from_won.status_code == 409
    assert (reopened.status_code, reopened.get_json()["status"]) == (200, "active")
    events = [
        payload_of(e, contacts_pb2.ContactStatusChanged) for e in contacts.outbox("contacts.contact.status_changed")
    ]
    assert [(e.from_status, e.to_status) for e in events] == [("active", "won"), ("won", "active")]
    assert {(e.owner_id, e.source_id, e.stage_id, e.contact_type) for e in events} == {
        (luis, contact["source_id"], contact["stage_id"], "contact")  # where the contact was when won, reopened
    }
    assert contact["source_id"] and contact["stage_id"]
    assert [kind for kind, _ in contacts.history(contact["id"])] == ["created", "status_changed", "status_changed"]


def test_lost_contact_is_not_campaign_eligible(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme).get_json()

    lost = contacts.api.client.post(
        f"/v1/contacts/{contact['id']}/status", json={"status": "lost"}, headers=contacts.headers(acme)
    )

    assert lost.get_json()["campaign_eligible"] is False
    [event] = contacts.outbox("contacts.contact.status_changed")
    assert payload_of(event, contacts_pb2.ContactStatusChanged).campaign_eligible is False


def test_agent_who_sees_only_their_own_contacts_gets_404_on_others(contacts: Contacts) -> None:
    acme = contacts.workspace(agents_see_all=False)
    luis, marta = contacts.member(acme, "Luis"), contacts.member(acme, "Marta")
    martas = contacts.create(acme, as_member=marta, role="agent").get_json()
    luis_headers = contacts.headers(acme, luis, "agent")

    read = contacts.api.client.get(f"/v1/contacts/{martas['id']}", headers=luis_headers)
    patched = contacts.api.client.patch(f"/v1/contacts/{martas['id']}", json={"stars": 1}, headers=luis_headers)
    deleted = contacts.api.client.delete(f"/v1/contacts/{martas['id']}", headers=luis_headers)

    assert (read.status_code, patched.status_code, deleted.status_code) == (404, 404, 404)


def test_agent_may_not_delete_a_contact_they_do_not_own(contacts: Contacts) -> None:
    acme = contacts.workspace()
    luis, marta = contacts.member(acme, "Luis"), contacts.member(acme, "Marta")
    martas = contacts.create(acme, as_member=marta, role="agent").get_json()

    answer = contacts.api.client.delete(f"/v1/contacts/{martas['id']}", headers=contacts.headers(acme, luis, "agent"))

    assert answer.status_code == 403


def test_deleted_contact_is_gone_audited_and_frees_its_phone(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme, phone="612345678").get_json()

    deleted = contacts.api.client.delete(f"/v1/contacts/{contact['id']}", headers=contacts.headers(acme))
    fetched = contacts.api.client.get(f"/v1/contacts/{contact['id']}", headers=contacts.headers(acme))
    again = contacts.create(acme, name="Ana Again", phone="+34 612 345 678")

    assert deleted.status_code == 204
    assert fetched.status_code == 404
    assert again.status_code == 201
    assert [kind for kind, _ in contacts.history(contact["id"])] == ["created", "deleted"]
    [event] = contacts.outbox("contacts.contact.deleted")
    assert payload_of(event, contacts_pb2.ContactDeleted).contact_id == contact["id"]


def test_blocking_and_unblocking_tell_other_services_the_addresses(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme, emails=["ana@example.com", "ana@work.com"]).get_json()
    base = f"/v1/contacts/{contact['id']}"

    blocked = contacts.api.client.post(f"{base}/block", headers=contacts.headers(acme))
    twice = contacts.api.client.post(f"{base}/block", headers=contacts.headers(acme))
    unblocked = contacts.api.client.post(f"{base}/unblock", headers=contacts.headers(acme))

    assert (blocked.status_code, blocked.get_json()["blocked"]) == (200, True)
    assert twice.status_code == 409
    assert unblocked.get_json()["blocked"] is False
    [event] = contacts.outbox("contacts.contact.blocked")
    assert list(payload_of(event, contacts_pb2.ContactBlockChanged).emails) == ["ana@example.com", "ana@work.com"]
    assert len(contacts.outbox("contacts.contact.unblocked")) == 1
    assert [kind for kind, _ in contacts.history(contact["id"])] == ["created", "blocked", "unblocked"]
