"""The contacts gRPC API other services call: find-or-create for inbound mail, and whether mail may be sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import pytest

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm.events.v1 import contacts_pb2 as events_pb2
from crm_platform.events import payload_of
from tests.integration.contacts.support.record import Contacts
from tests.support import service_keys


@pytest.fixture
def stub(grpc_target: str) -> Iterator[contacts_pb2_grpc.ContactsServiceStub]:
    with grpc.insecure_channel(grpc_target) as channel:
        yield contacts_pb2_grpc.ContactsServiceStub(channel)


def _as(workspace_id: str) -> list[tuple[str, str]]:
    """What the mailer sends when it acts on its own for ``workspace_id`` (an inbound mail, an event)."""
    return service_keys.credentials("mailer", "crm.contacts.v1.ContactsService", workspace_id=workspace_id)


def test_find_or_create_makes_one_contact_named_after_the_address_and_then_finds_it(
    contacts: Contacts, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme = contacts.workspace()
    request = contacts_pb2.FindOrCreateContactByEmailRequest(address="Ana.Ruiz@Example.com", source_key="web")

    first = stub.FindOrCreateContactByEmail(request, metadata=_as(acme), timeout=5)
    second = stub.FindOrCreateContactByEmail(request, metadata=_as(acme), timeout=5)

    assert first.created is True
    assert (first.contact.name, first.contact.email, first.contact.type) == (
        "ana.ruiz",
        "ana.ruiz@example.com",
        "contact",
    )
    assert first.contact.owner_id == ""
    assert (second.created, second.contact.id) == (False, first.contact.id)
    [event] = contacts.outbox("contacts.contact.created")
    assert payload_of(event, events_pb2.ContactCreated).contact_id == first.contact.id
    web = contacts.api.client.get(f"/v1/contacts/{first.contact.id}", headers=contacts.headers(acme)).get_json()
    assert web["source_id"] is not None


def test_find_or_create_returns_a_blocked_contact_found_by_a_secondary_address(
    contacts: Contacts, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme = contacts.workspace()
    ana = contacts.create(acme, emails=["ana@example.com", "ana@work.com"]).get_json()
    contacts.api.client.post(f"/v1/contacts/{ana['id']}/block", headers=contacts.headers(acme))

    found = stub.FindOrCreateContactByEmail(
        contacts_pb2.FindOrCreateContactByEmailRequest(address="ana@work.com", name="Someone"),
        metadata=_as(acme),
        timeout=5,
    )

    assert (found.created, found.contact.id, found.contact.blocked) == (False, ana["id"], True)


def test_find_contacts_by_any_email_leaves_out_deleted_contacts(
    contacts: Contacts, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme = contacts.workspace(allow_duplicates=True)
    ana = contacts.create(acme, emails=["ana@example.com", "ana@work.com"]).get_json()
    gone = contacts.create(acme, name="Gone", email="ana@work.com").get_json()
    contacts.api.client.delete(f"/v1/contacts/{gone['id']}", headers=contacts.headers(acme))

    found = stub.FindContactsByEmail(
        contacts_pb2.FindContactsByEmailRequest(address="ANA@work.com"), metadata=_as(acme), timeout=5
    )

    assert [c.id for c in found.contacts] == [ana["id"]]
    assert [(e.address, e.primary) for e in found.contacts[0].emails] == [
        ("ana@example.com", True),
        ("ana@work.com", False),
    ]


def test_is_email_sendable_says_why_not(contacts: Contacts, stub: contacts_pb2_grpc.ContactsServiceStub) -> None:
    acme = contacts.workspace()
    contacts.create(acme, name="Ana", email="ana@example.com")
    lost = contacts.create(acme, name="Lost", email="lost@example.com").get_json()
    blocked = contacts.create(acme, name="Blocked", email="blocked@example.com").get_json()
    off = contacts.create(acme, name="Off", email="off@example.com").get_json()
    contacts.api.client.post(
        f"/v1/contacts/{lost['id']}/status", json={"status": "lost"}, headers=contacts.headers(acme)
    )
    contacts.api.client.post(f"/v1/contacts/{blocked['id']}/block", headers=contacts.headers(acme))
    contacts.api.client.post(
        f"/v1/contacts/{off['id']}/emails/off@example.com/deactivate",
        json={"reason": "unsubscribed"},
        headers=contacts.headers(acme),
    )

    def ask(address: str, *, campaign: bool = False) -> tuple[bool, str]:
        answer = stub.IsEmailSendable(
            contacts_pb2.IsEmailSendableRequest(address=address, campaign=campaign), metadata=_as(acme), timeout=5
        )
        return answer.sendable, answer.reason

    assert ask("Ana@Example.com") == (True, "")
    assert ask("nobody@example.com") == (False, "unknown_address")
    assert ask("blocked@example.com") == (False, "blocked")
    assert ask("off@example.com") == (False, "inactive:unsubscribed")
    assert ask("lost@example.com") == (True, "")
    assert ask("lost@example.com", campaign=True) == (False, "lost")


def test_get_contact_of_a_deleted_contact_is_not_found(
    contacts: Contacts, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme = contacts.workspace()
    ana = contacts.create(acme, email="ana@example.com").get_json()
    contacts.api.client.delete(f"/v1/contacts/{ana['id']}", headers=contacts.headers(acme))

    with pytest.raises(grpc.RpcError) as failure:
        stub.GetContact(contacts_pb2.GetContactRequest(contact_id=ana["id"]), metadata=_as(acme), timeout=5)

    assert failure.value.code() == grpc.StatusCode.NOT_FOUND


def test_get_contact_answers_every_field_of_the_record(
    contacts: Contacts, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme = contacts.workspace()
    luis = contacts.member(acme, "Luis")
    ana = contacts.create(
        acme,
        name="Ana Ruiz",
        emails=["ana@work.com", {"address": "ana@example.com", "primary": True}, "old@example.com"],
        phones=["612 000 001", {"number": "612 000 002", "primary": True}, {"number": "612 000 003", "label": "work"}],
        type="collaborator",
        owner_id=luis,
        language="es",
    ).get_json()
    contacts.api.client.post(
        f"/v1/contacts/{ana['id']}/emails/old@example.com/deactivate",
        json={"reason": "hard_bounce"},
        headers=contacts.headers(acme),
    )
    contacts.api.client.post(f"/v1/contacts/{ana['id']}/block", headers=contacts.headers(acme))

    found = stub.GetContact(contacts_pb2.GetContactRequest(contact_id=ana["id"]), metadata=_as(acme), timeout=5)

    assert (found.id, found.workspace_id, found.name) == (ana["id"], acme, "Ana Ruiz")
    assert (found.email, found.phone) == ("ana@example.com", "+34612000002")
    assert [(e.address, e.primary, e.status, e.inactive_reason) for e in found.emails] == [
        ("ana@work.com", False, "active", ""),
        ("ana@example.com", True, "active", ""),
        ("old@example.com", False, "inactive", "hard_bounce"),
    ]
    assert list(found.phones) == ["+34612000002", "+34612000001", "+34612000003"]  # primary first
    assert (found.type, found.stage_id, found.status, found.owner_id) == (
        "collaborator",
        ana["stage_id"],
        "active",
        luis,
    )
    assert (found.blocked, found.campaign_eligible, found.language) == (True, False, "es")
    assert found.created_at.ToDatetime(tzinfo=UTC) == datetime.fromisoformat(ana["created_at"])
    [batch] = stub.BatchGetContacts(
        contacts_pb2.BatchGetContactsRequest(contact_ids=[ana["id"]]), metadata=_as(acme), timeout=5
    ).contacts
    assert found == batch  # the same message as the other reads build from the loaded record


def test_get_contact_of_a_lost_contact_says_it_is_not_campaign_eligible(
    contacts: Contacts, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme = contacts.workspace()
    ana = contacts.create(acme).get_json()
    contacts.api.client.post(
        f"/v1/contacts/{ana['id']}/status", json={"status": "lost"}, headers=contacts.headers(acme)
    )

    found = stub.GetContact(contacts_pb2.GetContactRequest(contact_id=ana["id"]), metadata=_as(acme), timeout=5)

    assert (found.status, found.campaign_eligible, found.blocked) == ("lost", False, False)
    assert (found.email, found.phone, list(found.emails), list(found.phones)) == ("", "", [], [])


@pytest.mark.parametrize("contact_id", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_get_contact_of_an_unknown_id_is_not_found(
    contacts: Contacts, stub: contacts_pb2_grpc.ContactsServiceStub, contact_id: str
) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        stub.GetContact(
            contacts_pb2.GetContactRequest(contact_id=contact_id), metadata=_as(contacts.workspace()), timeout=5
        )

    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    assert failure.value.details() == f"contact {contact_id} not found"


def test_get_contact_of_another_workspace_is_not_found(
    contacts: Contacts, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme, other = contacts.workspace(), contacts.workspace()
    ana = contacts.create(acme, email="ana@example.com").get_json()

    with pytest.raises(grpc.RpcError) as failure:
        stub.GetContact(contacts_pb2.GetContactRequest(contact_id=ana["id"]), metadata=_as(other), timeout=5)

    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
