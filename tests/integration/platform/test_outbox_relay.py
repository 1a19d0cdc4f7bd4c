"""The outbox relay against real PostgreSQL and RabbitMQ: nothing committed is ever skipped or lost."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import insert, select

from crm.events.v1 import contacts_pb2
from crm_events import EventType
from crm_platform.bus import RetryPolicy
from crm_platform.bus.rabbitmq import RabbitBus
from crm_platform.consumer import IdempotentConsumer, Subscriptions
from crm_platform.db import Database
from crm_platform.events import Outgoing
from crm_platform.ids import new_id
from crm_platform.metrics import for_service
from crm_platform.outbox import OutboxRelay
from tests.integration.platform.tiny_service import (
    Collector,
    consuming,
    count,
    effects,
    eventually,
    tiny_database,
    tiny_event,
)
from tests.support.infra import AMQP_HOST, AMQP_PORT
from tests.support.proxy import TcpProxy

RETRY = RetryPolicy(max_attempts=3, base_delay=0.05)
METRICS = for_service("relaytest")


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    db = tiny_database(postgres_url)
    yield db
    db.dispose()


Tiny = EventType[contacts_pb2.ContactCreated]


@pytest.fixture
def event_type() -> Tiny:
    """An event type only this test binds, so the module's shared vhost does not mix tests."""
    return tiny_event(f"t{uuid.uuid4().hex[:8]}")


@pytest.fixture
def queue(vhost_url: str, event_type: Tiny) -> str:
    name = f"crm.relaytest.{event_type.name.split('.')[1]}"
    bus = RabbitBus(vhost_url, retry=RETRY)
    bus.declare(name, [event_type.name])
    bus.close()
    return name


def emit(database: Database, event_type: Tiny) -> str:
    with database.unit_of_work() as uow:
        event_id = uow.emit(event_type, contacts_pb2.ContactCreated(contact_id="c"), workspace_id="ws-1")
        uow.commit()
    return event_id


def unpublished(database: Database) -> set[str]:
    outbox = database.outbox
    with database.engine.connect() as connection:
        return set(connection.scalars(select(outbox.c.event_id).where(outbox.c.published_at.is_(None))))


def test_relay_publishes_a_row_committed_after_a_later_id_was_published(
    database: Database, vhost_url: str, queue: str, event_type: Tiny
) -> None:
    relay = OutboxRelay(database, lambda: RabbitBus(vhost_url, retry=RETRY), METRICS)
    outbox = database.outbox
    with database.unit_of_work() as slow:  # transaction A takes an id and holds it
        early = slow.emit(event_type, contacts_pb2.ContactCreated(contact_id="a"), workspace_id="ws-1")
        late = emit(database, event_type)  # transaction B takes a later id and commits first

        assert relay.relay_once() == 1
        assert unpublished(database) == set()  # A's row is not visible yet
        slow.commit()
    with database.engine.connect() as connection:
        ids = dict(connection.execute(select(outbox.c.event_id, outbox.c.id)).all())
    assert ids[early] < ids[late]

    assert relay.relay_once() == 1

    assert unpublished(database) == set()
    collector = Collector()
    with consuming(RabbitBus(vhost_url, retry=RETRY), queue, collector):
        eventually(lambda: collector.seen() == {early, late}, what="both events consumed")
    relay._drop_bus()


def test_an_event_no_queue_is_bound_to_is_marked_published_and_unroutable(
    database: Database, vhost_url: str, queue: str, event_type: Tiny
) -> None:
    relay = OutboxRelay(database, lambda: RabbitBus(vhost_url, retry=RETRY), METRICS)
    routed = emit(database, event_type)
    orphan = emit(database, tiny_event(f"nobody{uuid.uuid4().hex[:6]}"))

    assert relay.relay_once() == 2

    outbox = database.outbox
    with database.engine.connect() as connection:
        rows = {r.event_id: r for r in connection.execute(select(outbox))}
    assert rows[orphan].published_at is not None and rows[orphan].unroutable is True
    assert rows[routed].published_at is not None and rows[routed].unroutable is False
    assert relay.relay_once() == 0
    relay._drop_bus()


def test_a_rolled_back_event_is_never_published(
    database: Database, vhost_url: str, queue: str, event_type: Tiny
) -> None:
    relay = OutboxRelay(database, lambda: RabbitBus(vhost_url, retry=RETRY), METRICS)
    with database.unit_of_work() as uow:
        uow.emit(event_type, contacts_pb2.ContactCreated(contact_id="x"), workspace_id="ws-1")

    assert relay.relay_once() == 0
    assert count(database, database.outbox) == 0
    relay._drop_bus()


def through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"guest:guest@127.0.0.1:{proxy.port}"))


def test_relay_rides_out_a_broker_outage_and_each_event_is_applied_exactly_once(
    database: Database, vhost_url: str, queue: str, event_type: Tiny
) -> None:
    proxy = TcpProxy((AMQP_HOST, AMQP_PORT))
    relay = OutboxRelay(
        database, lambda: RabbitBus(through(proxy, vhost_url), retry=RETRY), METRICS, idle_interval=0.05
    )
    stop = threading.Event()
    relay_thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    subscriptions = Subscriptions()

    @subscriptions.on(event_type)
    def record(_rt, uow, event) -> None:  # type: ignore[no-untyped-def]
        uow.session.execute(insert(effects).values(event_id=event.event_id, workspace_id="ws-1", applied_by="t"))

    deliveries = Collector(IdempotentConsumer("relaytest", database, subscriptions))
    relay_thread.start()
    try:
        with consuming(RabbitBus(vhost_url, retry=RETRY), queue, deliveries):  # the consumer is not cut off
            before = emit(database, event_type)
            eventually(lambda: count(database, effects) == 1, what="the event before the outage applied")

            proxy.cut()
            during = {emit(database, event_type) for _ in range(5)}
            time.sleep(1.5)

            assert unpublished(database) == during
            assert relay_thread.is_alive()

            proxy.restore()
            eventually(lambda: unpublished(database) == set(), timeout=20, what="outbox drained after the outage")
            eventually(lambda: deliveries.seen() == during | {before}, what="every event delivered")
            time.sleep(0.3)  # let any duplicate publish arrive too

        with database.engine.connect() as connection:
            applied = list(connection.scalars(select(effects.c.event_id)))
        assert sorted(applied) == sorted(during | {before})
    finally:
        stop.set()
        relay_thread.join(10)
        proxy.close()
    assert not relay_thread.is_alive()


@pytest.mark.parametrize(
    "lost",
    ["the publish", "the confirm"],
    ids=["publish-never-reaches-the-broker", "broker-has-it-but-the-confirm-is-lost"],
)
def test_a_broker_cut_between_publish_and_confirm_neither_loses_nor_doubles_the_event(
    database: Database, vhost_url: str, queue: str, event_type: Tiny, lost: str
) -> None:
    proxy = TcpProxy((AMQP_HOST, AMQP_PORT))
    relay = OutboxRelay(
        database, lambda: RabbitBus(through(proxy, vhost_url), retry=RETRY), METRICS, idle_interval=0.05
    )
    stop = threading.Event()
    relay_thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    subscriptions = Subscriptions()

    @subscriptions.on(event_type)
    def record(_rt, uow, event) -> None:  # type: ignore[no-untyped-def]
        uow.session.execute(insert(effects).values(event_id=event.event_id, workspace_id="ws-1", applied_by="t"))

    deliveries = Collector(IdempotentConsumer("relaytest", database, subscriptions))
    relay_thread.start()
    try:
        with consuming(RabbitBus(vhost_url, retry=RETRY), queue, deliveries):  # the consumer is not cut off
            emit(database, event_type)
            eventually(lambda: count(database, effects) == 1, what="the relay connected through the proxy")

            proxy.swallow(upstream=lost == "the publish", downstream=True)
            caught = emit(database, event_type)
            if lost == "the publish":
                eventually(lambda: proxy.swallowed["upstream"] > 0, what="the publish swallowed")
            else:
                eventually(lambda: caught in deliveries.seen(), what="the broker routed the publish")
            time.sleep(0.5)
            assert unpublished(database) == {caught}, "a row was marked before its confirm"

            proxy.cut()  # the relay's connection drops while it waits for the confirm
            proxy.restore()
            eventually(lambda: unpublished(database) == set(), timeout=20, what="the row published again")
            eventually(lambda: caught in deliveries.seen(), what="the event delivered")
            time.sleep(0.5)  # let a second copy arrive

            copies = deliveries.event_ids.count(caught)
        assert count(database, effects, effects.c.event_id == caught) == 1
        assert copies == (1 if lost == "the publish" else 2)  # the second copy was recognised as handled
    finally:
        stop.set()
        relay_thread.join(10)
        proxy.close()


def test_rows_the_broker_refuses_stay_unpublished_and_go_out_with_a_later_batch(
    database: Database, vhost_url: str, event_type: Tiny
) -> None:
    """A queue that is full and rejects publishes makes the broker nack them: only the confirmed rows are marked."""
    import pika

    name = f"crm.relaytest.full.{event_type.name.split('.')[1]}"
    connection = pika.BlockingConnection(pika.URLParameters(vhost_url))
    channel = connection.channel()
    channel.exchange_declare("crm.events", exchange_type="topic", durable=True)
    channel.queue_declare(name, durable=True, arguments={"x-max-length": 3, "x-overflow": "reject-publish"})
    channel.queue_bind(name, "crm.events", routing_key=event_type.name)
    relay = OutboxRelay(database, lambda: RabbitBus(vhost_url, retry=RETRY), METRICS)
    written = [emit(database, event_type) for _ in range(5)]
    try:
        assert relay.relay_once() == 3
        assert unpublished(database) == set(written[3:])  # nacked: not marked
        channel.queue_purge(name)
        assert relay.relay_once() == 2
        assert unpublished(database) == set()
        received = []
        for _ in range(2):
            _method, properties, _body = channel.basic_get(name, auto_ack=True)
            received.append(properties.message_id)
        assert received == written[3:]  # republished, in their order
    finally:
        relay._drop_bus()
        channel.queue_delete(name)
        connection.close()


def test_a_batch_not_confirmed_in_time_is_answered_unconfirmed_and_its_late_confirms_confuse_no_later_batch(
    vhost_url: str, queue: str, event_type: Tiny
) -> None:
    bus = RabbitBus(vhost_url, retry=RETRY)
    late = [Outgoing(new_id(), event_type.name, "ws-1", b"late") for _ in range(200)]
    try:
        answers = bus.publish_many(late, timeout=0.0)  # gives up at once: the confirms arrive afterwards
        assert None in answers
        assert set(answers) <= {True, None}
        later = [Outgoing(new_id(), event_type.name, "ws-1", b"later") for _ in range(3)]
        orphan = Outgoing(new_id(), f"nobody{uuid.uuid4().hex[:6]}.x.y", "ws-1", b"orphan")
        assert bus.publish_many([*later, orphan]) == [True, True, True, False]
    finally:
        bus.close()
