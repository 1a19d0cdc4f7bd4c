"""Figure 3: the outbox relay against raw pika publishing the same bodies with batched confirms, interleaved."""

from __future__ import annotations

import time
from contextlib import ExitStack

from peers.pika_publisher import BatchedConfirmPublisher
from support.infra import BenchError, fresh_database, fresh_vhost
from support.report import Measure, note


def relay_bench(exits: ExitStack, run_id: str, events: int) -> tuple[Measure, Measure]:
    import pika

    from crm.events.v1 import contacts_pb2 as events_pb2
    from crm_events.contacts import CONTACT_CREATED
    from crm_platform.bus import EXCHANGE, RetryPolicy
    from crm_platform.bus.rabbitmq import RabbitBus
    from crm_platform.db import Database, create_db_engine, new_metadata
    from crm_platform.ids import new_id
    from crm_platform.metrics import ServiceMetrics
    from crm_platform.outbox import OutboxRelay

    amqp_url = fresh_vhost(exits, f"crm-bench-{run_id}-relay")
    db_url = fresh_database(exits, f"crm_bench_{run_id}_relay")
    engine = create_db_engine(db_url)
    exits.callback(engine.dispose)
    metadata = new_metadata()
    metadata.create_all(engine)
    database = Database("contacts", engine, metadata)
    workspace = new_id()
    event_type = CONTACT_CREATED.name

    began = time.perf_counter()
    for first in range(0, events, 1000):
        with database.unit_of_work() as uow:
            for n in range(first, min(first + 1000, events)):
                payload = events_pb2.ContactCreated(
                    contact_id=new_id(), name=f"Bench Contact {n}", email=f"bench.{n}@example.com", phone="+34612345678"
                )
                payload.created_at.GetCurrentTime()
                uow.emit(CONTACT_CREATED, payload, workspace_id=workspace)
            uow.commit()
    note(f"{events} outbox rows written with UnitOfWork.emit in {time.perf_counter() - began:.1f}s")
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT event_id, event_type, workspace_id, body FROM outbox ORDER BY id"
        ).all()

    queue = "crm.bench"
    bus = RabbitBus(amqp_url, retry=RetryPolicy())
    exits.callback(bus.close)
    bus.declare(queue, [event_type])  # a quorum queue bound to the type, like a service's queue

    def depth(expected: int) -> int:
        """Messages in the queue (waiting up to 5s for ``expected``), which is then purged."""
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        try:
            channel = connection.channel()
            for _ in range(50):  # quorum queues count deliveries a moment after the confirm
                count = channel.queue_declare(queue, passive=True).method.message_count
                if count >= expected:
                    break
                time.sleep(0.1)
            channel.queue_purge(queue)
            return count
        finally:
            connection.close()

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))

    def close() -> None:  # idle through the later figures, its heartbeats unanswered: the broker may have dropped it
        try:
            connection.close()
        except pika.exceptions.AMQPError:
            pass

    exits.callback(close)
    peer = BatchedConfirmPublisher(connection, EXCHANGE)

    def raw_publish(batch: list) -> float:  # type: ignore[type-arg]
        started = time.perf_counter()
        peer.publish(batch)
        return time.perf_counter() - started

    raw_publish(rows[:1000])  # warm-up of the broker and the queue
    depth(1000)

    # Interleaved: one relay_once() batch, then raw pika publishes the same bodies, and so on until the
    # outbox is empty. Both see the same broker and disk conditions, whose drift over a run is larger
    # than the difference being measured.
    relay = OutboxRelay(database, lambda: bus, ServiceMetrics("bench"))
    bus.ping()  # connected beforehand, like the raw publisher
    relay_seconds = raw_seconds = 0.0
    published = 0
    while True:
        started = time.perf_counter()
        batch = relay.relay_once()
        relay_seconds += time.perf_counter() - started
        if batch == 0:
            break
        raw_seconds += raw_publish(rows[published : published + batch])
        published += batch
    if published != events:
        raise BenchError(f"relay published {published} of {events} rows")
    if (count := depth(2 * events)) != 2 * events:
        raise BenchError(f"{count} of {2 * events} messages (relay + raw) reached the queue")
    with engine.connect() as db:
        left = db.exec_driver_sql("SELECT count(*) FROM outbox WHERE published_at IS NULL").scalar()
    if left:
        raise BenchError(f"relay left {left} rows unpublished")
    raw = Measure("raw pika, confirms batched", events, raw_seconds)
    return Measure(f"OutboxRelay.relay_once x{events}", events, relay_seconds), raw
