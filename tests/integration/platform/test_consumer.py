"""Idempotent consumers: an event's effect and the record that it was handled commit together, once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert

from crm.events.v1 import contacts_pb2, envelope_pb2, tickets_pb2
from crm_events import EventType, contacts, tickets
from crm_platform import context, events
from crm_platform.bus import Delivery
from crm_platform.consumer import IdempotentConsumer, Subscriptions
from crm_platform.db import Database, UnitOfWork
from crm_platform.metrics import for_service
from tests.integration.platform.tiny_service import count, effects, tiny_database

EVENT = contacts.CONTACT_CREATED


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = tiny_database(database_url)
    yield db
    db.dispose()


def delivery(event_type: EventType[Any] = EVENT, workspace_id: str = "ws-1", payload: Any = None) -> Delivery:
    outgoing = events.pack(
        event_type,
        payload or event_type.payload(contact_id="c-1"),
        workspace_id=workspace_id,
        producer=event_type.producer,
    )
    return Delivery(body=outgoing.body, event_type=event_type.name, attempt=1)


def apply_effect(_rt: Any, uow: UnitOfWork, event: events.Event[Any]) -> None:
    caller = context.current_caller()
    assert caller is not None
    uow.session.execute(
        insert(effects).values(event_id=event.event_id, workspace_id=caller.workspace_id, applied_by=caller.user_id)
    )


def consumer_of(
    database: Database, handler: Any = apply_effect, name: str = "reports", metrics: Any = None
) -> IdempotentConsumer:
    subscriptions = Subscriptions()
    subscriptions.on(EVENT)(handler)
    return IdempotentConsumer(name, database, subscriptions, metrics=metrics)


def test_the_same_envelope_delivered_twice_applies_its_effect_once(database: Database) -> None:
    consume = consumer_of(database)
    twice = delivery()

    consume(twice)
    consume(twice)

    assert count(database, effects) == 1
    assert count(database, database.processed_events) == 1


def test_a_redelivery_is_counted_as_a_duplicate_not_as_a_failure(database: Database) -> None:
    service = f"dup{uuid.uuid4().hex[:6]}"
    consume = consumer_of(database, metrics=for_service(service))
    twice = delivery()

    consume(twice)
    consume(twice)

    assert REGISTRY.get_sample_value(f"crm_{service}_events_duplicate_total", {"type": EVENT.name}) == 1.0


def test_the_handler_runs_as_the_events_workspace_and_producer(database: Database) -> None:
    consumer_of(database)(delivery(workspace_id="ws-42"))

    with database.engine.connect() as connection:
        row = connection.execute(effects.select()).one()
    assert (row.workspace_id, row.applied_by) == ("ws-42", "system:contacts")


def test_a_failing_handler_rolls_back_both_its_effect_and_the_processed_record(database: Database) -> None:
    def apply_then_fail(rt: Any, uow: UnitOfWork, event: Any) -> None:
        apply_effect(rt, uow, event)
        uow.session.flush()
        raise RuntimeError("downstream refused")

    flaky = delivery()

    with pytest.raises(RuntimeError, match="downstream refused"):
        consumer_of(database, apply_then_fail)(flaky)

    assert count(database, effects) == 0
    assert count(database, database.processed_events) == 0
    consumer_of(database)(flaky)  # the bus redelivers it once the bug is fixed
    assert count(database, effects) == 1


def test_each_consumer_applies_the_same_event_once_for_itself(database: Database) -> None:
    shared = delivery()

    consumer_of(database, name="reports")(shared)
    consumer_of(database, name="mailer")(shared)
    consumer_of(database, name="mailer")(shared)

    assert count(database, effects) == 2


def test_an_event_type_without_handler_is_acknowledged_and_not_recorded(database: Database) -> None:
    consumer_of(database)(delivery(event_type=tickets.TICKET_OPENED, payload=tickets_pb2.TicketOpened()))

    assert count(database, effects) == 0
    assert count(database, database.processed_events) == 0


def test_an_undecodable_delivery_is_refused_as_poison_so_the_bus_parks_it(database: Database) -> None:
    with pytest.raises(events.PoisonMessage):
        consumer_of(database)(Delivery(body=b"\x00garbage", event_type=EVENT.name, attempt=1))


def test_the_handler_receives_the_event_decoded_as_its_types_payload(database: Database) -> None:
    received: list[events.Event[contacts_pb2.ContactCreated]] = []
    subscriptions = Subscriptions()

    @subscriptions.on(EVENT)
    def keep(_rt: Any, _uow: UnitOfWork, event: events.Event[contacts_pb2.ContactCreated]) -> None:
        received.append(event)

    with context.bound(request_id="req-7"):
        sent = delivery(workspace_id="ws-9")
    IdempotentConsumer("reports", database, subscriptions)(sent)

    [event] = received
    assert event.type is EVENT and event.payload == contacts_pb2.ContactCreated(contact_id="c-1")
    assert (event.workspace_id, event.producer, event.correlation_id) == ("ws-9", "contacts", "req-7")
    assert event.event_id == event.envelope.event_id and event.occurred_at.tzinfo is not None


def test_a_payload_of_another_message_type_is_poison_and_applies_nothing(database: Database) -> None:
    """A producer that packed the wrong message under the type's name: the consumer refuses it with a reason."""
    envelope = envelope_pb2.Envelope(event_id=str(uuid.uuid4()), type=EVENT.name, workspace_id="ws-1", producer="x")
    envelope.payload.Pack(tickets_pb2.TicketOpened(ticket_id="t-1"))
    wrong = Delivery(body=envelope.SerializeToString(), event_type=EVENT.name, attempt=1)

    with pytest.raises(events.PoisonMessage, match=r"expected crm\.events\.v1\.ContactCreated"):
        consumer_of(database)(wrong)

    assert count(database, effects) == 0
    assert count(database, database.processed_events) == 0


def test_a_subscription_names_a_catalogued_type_not_a_string() -> None:
    with pytest.raises(TypeError, match="catalogue"):
        Subscriptions().on("contacts.contact.created")  # type: ignore[arg-type]


def test_a_duplicate_handled_concurrently_is_acknowledged_without_a_second_effect(postgres_url: str) -> None:
    """Two workers got the same event (a redelivery while the first was still at work)."""
    database = tiny_database(postgres_url)
    inside, release = threading.Event(), threading.Event()

    def slow_effect(rt: Any, uow: UnitOfWork, event: Any) -> None:
        apply_effect(rt, uow, event)
        inside.set()
        assert release.wait(10)

    duplicate = delivery()
    first_error: list[BaseException] = []

    def first() -> None:
        try:
            consumer_of(database, slow_effect)(duplicate)
        except BaseException as exc:  # noqa: BLE001 - reported below
            first_error.append(exc)

    worker = threading.Thread(target=first)
    worker.start()
    assert inside.wait(10)
    threading.Timer(0.3, release.set).start()  # the first commits while the second waits on its row lock

    consumer_of(database)(duplicate)  # must neither raise nor apply twice

    worker.join(10)
    assert first_error == []
    assert count(database, effects) == 1
    database.dispose()
