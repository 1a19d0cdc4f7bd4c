"""Event envelopes: what goes in comes out, and what cannot be read is a poison message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.events.v1 import contacts_pb2, envelope_pb2, tickets_pb2
from crm_events import EventType, contacts, tickets
from crm_platform import context, events
from crm_platform.ids import is_uuid

CREATED = contacts.CONTACT_CREATED


def created(name: str = "Ada") -> contacts_pb2.ContactCreated:
    return contacts_pb2.ContactCreated(contact_id="c-1", name=name, email="ada@example.com")


def test_a_packed_event_unpacks_to_the_same_type_workspace_producer_and_payload() -> None:
    outgoing = events.pack(CREATED, created(), workspace_id="ws-1", producer="contacts")

    envelope = events.unpack(outgoing.body)

    assert (outgoing.event_type, outgoing.workspace_id) == ("contacts.contact.created", "ws-1")
    assert envelope.event_id == outgoing.event_id and is_uuid(envelope.event_id)
    assert (envelope.type, envelope.workspace_id, envelope.producer) == ("contacts.contact.created", "ws-1", "contacts")
    assert events.payload_of(envelope, contacts_pb2.ContactCreated) == created()
    assert abs(events.occurred_at(envelope) - datetime.now(UTC)) < timedelta(seconds=5)


def test_every_packed_event_gets_its_own_id() -> None:
    ids = {events.pack(CREATED, created(), workspace_id="ws", producer="contacts").event_id for _ in range(50)}

    assert len(ids) == 50


def test_the_request_id_travels_as_correlation_id() -> None:
    with context.bound(request_id="req-42"):
        outgoing = events.pack(CREATED, created(), workspace_id="ws-1", producer="contacts")

    assert events.unpack(outgoing.body).correlation_id == "req-42"


def test_garbage_bytes_are_a_poison_message() -> None:
    with pytest.raises(events.PoisonMessage, match="undecodable envelope"):
        events.unpack(b"\xff\xff\xff\xff not protobuf")


def test_an_envelope_without_id_type_or_workspace_is_a_poison_message() -> None:
    body = envelope_pb2.Envelope(type="contacts.contact.created", workspace_id="ws-1").SerializeToString()

    with pytest.raises(events.PoisonMessage, match="lacks event_id"):
        events.unpack(body)


def test_empty_bytes_are_a_poison_message() -> None:
    with pytest.raises(events.PoisonMessage):
        events.unpack(b"")


def test_asking_for_the_wrong_payload_type_is_a_poison_message() -> None:
    envelope = events.unpack(events.pack(CREATED, created(), workspace_id="ws", producer="contacts").body)

    with pytest.raises(events.PoisonMessage, match=r"expected crm\.events\.v1\.TicketOpened"):
        events.payload_of(envelope, tickets_pb2.TicketOpened)


def test_a_corrupt_payload_is_a_poison_message() -> None:
    envelope = events.unpack(events.pack(CREATED, created(), workspace_id="ws", producer="contacts").body)
    envelope.payload.value = b"\xff\xff\xff"

    with pytest.raises(events.PoisonMessage, match=r"undecodable crm\.events\.v1\.ContactCreated"):
        events.payload_of(envelope, contacts_pb2.ContactCreated)


def test_a_payload_of_another_message_than_the_types_is_refused_when_packed() -> None:
    with pytest.raises(TypeError, match=r"contacts\.contact\.created carries crm\.events\.v1\.ContactCreated"):
        events.pack(CREATED, tickets_pb2.TicketOpened(), workspace_id="ws", producer="contacts")  # type: ignore[arg-type]


def test_an_event_name_as_a_string_is_refused_when_packed() -> None:
    with pytest.raises(TypeError, match="catalogue"):
        events.pack("contacts.contact.created", created(), workspace_id="ws", producer="contacts")  # type: ignore[arg-type]


def test_a_service_may_not_publish_another_services_event() -> None:
    with pytest.raises(ValueError, match=r"tickets may not publish contacts\.contact\.created"):
        events.pack(CREATED, created(), workspace_id="ws", producer="tickets")


def test_decoding_gives_the_typed_event_with_the_envelopes_facts() -> None:
    with context.bound(request_id="req-1"):
        envelope = events.unpack(events.pack(CREATED, created(), workspace_id="ws-1", producer="contacts").body)

    event = events.decode(envelope, CREATED)

    assert event.type is CREATED and event.payload == created()
    assert (event.event_id, event.workspace_id, event.producer, event.correlation_id) == (
        envelope.event_id,
        "ws-1",
        "contacts",
        "req-1",
    )
    assert event.occurred_at == events.occurred_at(envelope) and event.envelope is envelope


def test_decoding_as_another_event_type_is_a_poison_message() -> None:
    envelope = events.unpack(events.pack(CREATED, created(), workspace_id="ws", producer="contacts").body)

    with pytest.raises(events.PoisonMessage, match=r"is not tickets\.ticket\.opened"):
        events.decode(envelope, tickets.TICKET_OPENED)


def test_decoding_a_payload_of_another_message_under_the_types_name_is_a_poison_message() -> None:
    envelope = events.unpack(events.pack(CREATED, created(), workspace_id="ws", producer="contacts").body)
    envelope.payload.Pack(tickets_pb2.TicketOpened(ticket_id="t-1"))

    with pytest.raises(events.PoisonMessage, match=r"expected crm\.events\.v1\.ContactCreated"):
        events.decode(envelope, CREATED)


@pytest.mark.parametrize("name", ["contacts.created", "Contacts.contact.created", "contacts.contact.created.now", ""])
def test_an_event_type_name_must_read_service_entity_verb(name: str) -> None:
    with pytest.raises(ValueError, match=r"<service>\.<entity>\.<past-tense verb>"):
        EventType(name, contacts_pb2.ContactCreated)
