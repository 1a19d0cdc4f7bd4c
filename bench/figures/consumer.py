"""Figure 6: the reports service's consumer on one worker against raw pika consuming with manual acks.

Rounds, interleaved: N events the reports service counts (tickets.ticket.opened) are published to its
queue, then consumed by the service's own consumer (RabbitBus.consume with the reports IdempotentConsumer
and its batch form, on a migrated reports database), timed until the last is committed; then N more by
the raw pika peer (bench/peers/pika_consumer.py). CPU per event is this process's CPU (the consumer's
thread; the bench's other threads sleep meanwhile) and, for the consumer, its PostgreSQL backends'.
"""

from __future__ import annotations

import statistics
import threading
import time
from contextlib import ExitStack

from peers.pika_consumer import consume as raw_consume
from support.cpu import process_cpu
from support.infra import PG_ADMIN, BenchError, fresh_database, fresh_vhost
from support.report import note


class _Counting:
    """The bus observer: counts consumed events and stops the consumer at the expected count."""

    def __init__(self, expected: int, stop: threading.Event) -> None:
        self.expected = expected
        self.stop = stop
        self.consumed = 0
        self.done_at = 0.0
        self.cpu_at = 0.0

    def on_consumed(self, _event_type: str) -> None:
        self.consumed += 1
        if self.consumed == self.expected:
            self.done_at = time.perf_counter()
            self.cpu_at = time.process_time()
            self.stop.set()

    def on_retried(self, event_type: str) -> None:
        raise BenchError(f"an event of {event_type} failed in the consumer")

    def on_dead_lettered(self, event_type: str) -> None:
        raise BenchError(f"an event of {event_type} was dead-lettered")


def consumer_bench(exits: ExitStack, run_id: str, events: int, rounds: int, lines: list[str]) -> None:
    from crm.events.v1 import tickets_pb2
    from crm_events.tickets import TICKET_OPENED
    from crm_platform import events as platform_events
    from crm_platform import migrations
    from crm_platform.bus import RetryPolicy, queue_name
    from crm_platform.bus.rabbitmq import RabbitBus
    from crm_platform.consumer import IdempotentConsumer
    from crm_platform.db import Database, create_db_engine
    from crm_platform.ids import new_id
    from crm_reports.app import SERVICE

    amqp_url = fresh_vhost(exits, f"crm-bench-{run_id}-consumer")
    db_url = fresh_database(exits, f"crm_bench_{run_id}_reports")
    migrations.upgrade(SERVICE, db_url)
    engine = create_db_engine(db_url)
    exits.callback(engine.dispose)
    database = Database("reports", engine, SERVICE.metadata)
    queue = queue_name("reports")
    bus = RabbitBus(amqp_url, retry=RetryPolicy())
    exits.callback(bus.close)
    bus.declare(queue, SERVICE.subscriptions.bindings)
    workspace = new_id()

    import psycopg

    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    exits.callback(admin.close)

    def backends_cpu() -> float:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            (db_url.rsplit("/", 1)[1],),
        ).fetchall()
        return sum(process_cpu(pid) for (pid,) in rows)

    def publish(n: int) -> None:
        batch = []
        for _ in range(n):
            payload = tickets_pb2.TicketOpened(ticket_id=new_id(), contact_id=new_id(), subject="Bench")
            batch.append(platform_events.pack(TICKET_OPENED, payload, workspace_id=workspace, producer="tickets"))
        for first in range(0, n, 1000):
            if not all(bus.publish_many(batch[first : first + 1000])):
                raise BenchError("the bench's events were not all confirmed")

    def ours() -> tuple[float, float, float]:
        stop = threading.Event()
        counting = _Counting(events, stop)
        consumer = IdempotentConsumer("reports", database, SERVICE.subscriptions)
        worker = RabbitBus(amqp_url, retry=RetryPolicy())
        pg = backends_cpu()
        started, cpu = time.perf_counter(), time.process_time()
        worker.consume(queue, consumer, stop=stop, observer=counting, batch=consumer.handle_batch)
        pg = backends_cpu() - pg  # the pool's connections live on: their CPU before and after
        worker.close()
        if counting.consumed != events:
            raise BenchError(f"the consumer took {counting.consumed} of {events} events")
        seconds = counting.done_at - started
        return events / seconds, (counting.cpu_at - cpu) / events * 1000, pg / events * 1000

    def raw() -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        raw_consume(amqp_url, queue, events)
        return events / (time.perf_counter() - started), (time.process_time() - cpu) / events * 1000

    publish(events)
    raw()  # warm-up of the broker, the queue and the database
    results: list[tuple[float, float, float]] = []
    peers: list[tuple[float, float]] = []
    for _ in range(rounds):
        publish(events)
        results.append(ours())
        publish(events)
        peers.append(raw())
    with engine.connect() as connection:
        counted = connection.exec_driver_sql("SELECT count(*) FROM processed_events").scalar()
    if counted != rounds * events:
        raise BenchError(f"{counted} of {rounds * events} events recorded as processed")
    rate = statistics.median(r[0] for r in results)
    cpu = statistics.median(r[1] for r in results)
    pg_cpu = statistics.median(r[2] for r in results)
    peer_rate = statistics.median(p[0] for p in peers)
    peer_cpu = statistics.median(p[1] for p in peers)
    ratio = statistics.median(r[0] / p[0] for r, p in zip(results, peers, strict=True))
    note(f"rounds: ours {', '.join(f'{r[0]:,.0f}' for r in results)}; raw {', '.join(f'{p[0]:,.0f}' for p in peers)}")
    for line in (
        f"reports consumer {rate:,.0f} events/s, {cpu:.3f} ms CPU per event in the consumer (+ {pg_cpu:.3f} ms PG) "
        f"| raw pika consume + manual ack {peer_rate:,.0f} msg/s, {peer_cpu:.3f} ms CPU per message "
        f"| ratio {ratio:.2f} (medians of {rounds} rounds of {events}); targets >= 2,000 events/s "
        f"{'PASS' if rate >= 2000 else 'MISS'}, <= 0.4 ms CPU per event {'PASS' if cpu <= 0.4 else 'MISS'}",
    ):
        lines.append(line)
        print(line, flush=True)
