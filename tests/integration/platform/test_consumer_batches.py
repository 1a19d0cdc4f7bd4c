"""A consumer handed a batch: one transaction, each event once and in order, and the whole batch or nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from prometheus_client import REGISTRY

from crm.events.v1 import tickets_pb2
from crm_events import contacts, tickets
from crm_platform import events
from crm_platform.consumer import IdempotentConsumer, Subscriptions
from crm_platform.db import Database, UnitOfWork
from crm_platform.metrics import for_service
from tests.integration.platform.test_consumer import EVENT, apply_effect, consumer_of, delivery
from tests.integration.platform.tiny_service import count, effects, tiny_database


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = tiny_database(database_url)
    yield db
    db.dispose()


def test_a_batch_applies_each_event_once_and_counts_the_others_as_duplicates(database: Database) -> None:
    service = f"batch{uuid.uuid4().hex[:6]}"
    consumer = consumer_of(database, metrics=for_service(service))
    handled_before = delivery()
    consumer(handled_before)
    twice_in_the_batch = delivery()
    fresh = [delivery() for _ in range(3)]

    consumer.handle_batch([handled_before, fresh[0], twice_in_the_batch, fresh[1], twice_in_the_batch, fresh[2]])

    assert count(database, effects) == 1 + 3 + 1
    assert count(database, database.processed_events) == 5
    duplicates = REGISTRY.get_sample_value(f"crm_{service}_events_duplicate_total", {"type": EVENT.name})
    assert duplicates == 2.0
    consumer.handle_batch(fresh)  # the whole batch redelivered (died after commit, before the ack)
    assert count(database, effects) == 5


def test_a_failure_in_a_batch_rolls_back_every_event_of_it(database: Database) -> None:
    poison = delivery()
    poison_id = events.unpack(poison.body).event_id

    def fail_on_poison(rt: Any, uow: UnitOfWork, event: Any) -> None:
        apply_effect(rt, uow, event)
        uow.session.flush()
        if event.event_id == poison_id:
            raise RuntimeError("downstream refused")

    batch = [delivery(), delivery(), poison, delivery()]
    with pytest.raises(RuntimeError, match="downstream refused"):
        consumer_of(database, fail_on_poison).handle_batch(batch)

    assert count(database, effects) == 0
    assert count(database, database.processed_events) == 0
    consumer = consumer_of(database, fail_on_poison)
    for message in batch:  # what the bus does next: one by one, so only the poison fails
        if message is poison:
            with pytest.raises(RuntimeError):
                consumer(message)
        else:
            consumer(message)
    assert count(database, effects) == 3


def test_a_batch_form_gets_each_run_of_its_type_and_workspace_in_order(database: Database) -> None:
    calls: list[tuple[str, list[str]]] = []

    def one(_rt: Any, _uow: UnitOfWork, event: events.Event[Any]) -> None:
        calls.append(("one", [event.event_id]))

    def many(_rt: Any, _uow: UnitOfWork, batch: Sequence[events.Event[Any]]) -> None:
        calls.append(("many", [event.event_id for event in batch]))

    subscriptions = Subscriptions()
    subscriptions.on(contacts.CONTACT_CREATED, batch=many)(one)
    subscriptions.on(tickets.TICKET_OPENED)(one)
    opened = [delivery(tickets.TICKET_OPENED, payload=tickets_pb2.TicketOpened()) for _ in range(2)]
    run = [delivery(), delivery(), delivery()]
    other_workspace = delivery(workspace_id="ws-2")
    lone = delivery()
    batch = [*run, other_workspace, opened[0], opened[1], lone]

    IdempotentConsumer("reports", database, subscriptions).handle_batch(batch)

    ids = [events.unpack(message.body).event_id for message in batch]
    assert calls == [
        ("many", ids[0:3]),
        ("one", [ids[3]]),
        ("one", [ids[4]]),
        ("one", [ids[5]]),
        ("one", [ids[6]]),
    ]


def test_two_features_subscribed_to_one_type_both_apply_it_once_in_one_transaction(database: Database) -> None:
    calls: list[tuple[str, str]] = []

    def first(_rt: Any, _uow: UnitOfWork, event: events.Event[Any]) -> None:
        calls.append(("first", event.event_id))

    def first_many(_rt: Any, _uow: UnitOfWork, batch: Sequence[events.Event[Any]]) -> None:
        calls.extend(("first", event.event_id) for event in batch)

    def second(rt: Any, uow: UnitOfWork, event: events.Event[Any]) -> None:
        calls.append(("second", event.event_id))
        apply_effect(rt, uow, event)

    subscriptions = Subscriptions()
    subscriptions.on(contacts.CONTACT_CREATED, batch=first_many)(first)
    subscriptions.on(contacts.CONTACT_CREATED)(second)  # another feature's: it must not replace the first
    consumer = IdempotentConsumer("reports", database, subscriptions)
    alone, *batch = [delivery() for _ in range(3)]
    ids = [events.unpack(message.body).event_id for message in (alone, *batch)]

    consumer(alone)
    consumer.handle_batch(batch)
    consumer.handle_batch(batch)  # redelivered: nothing again

    assert calls == [("first", ids[0]), ("second", ids[0])] + [("first", i) for i in ids[1:]] + [
        ("second", i) for i in ids[1:]
    ]
    assert count(database, effects) == 3
