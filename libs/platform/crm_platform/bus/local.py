"""The local bus of all-in-one mode: the same contract as RabbitMQ, kept in one SQLite file.

A message is "confirmed" when its rows are committed, so a crash loses nothing; a consumer leases a
message, and a lease that runs out (the process died mid-handling) makes it deliverable again.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import (
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)

from crm_platform.bus import (
    NULL_OBSERVER,
    BatchHandler,
    DeadLetter,
    Delivery,
    Handler,
    Observer,
    RetryPolicy,
    topic_matches,
)
from crm_platform.db import BigIntId, create_db_engine
from crm_platform.events import Outgoing

LEASE_SECONDS = 30.0

metadata = MetaData()
bindings_table = Table(
    "bus_bindings",
    metadata,
    Column("queue", String(200), primary_key=True),
    Column("pattern", String(200), primary_key=True),
)
messages_table = Table(
    "bus_messages",
    metadata,
    Column("id", BigIntId, primary_key=True, autoincrement=True),
    Column("queue", String(200), nullable=False, index=True),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(120), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("attempt", Integer, nullable=False, default=1),
    Column("not_before", Float, nullable=False, default=0.0),
    Column("leased_until", Float),
    Column("state", String(10), nullable=False, default="ready"),
    Column("error", Text),
)

# Consumers in this process wake up as soon as something is published to their queue.
_wakeups: dict[str, threading.Condition] = defaultdict(threading.Condition)
_schema_lock = threading.Lock()


class LocalBus:
    def __init__(self, url: str, *, retry: RetryPolicy) -> None:
        self.url = url
        self.retry = retry
        self.engine = create_db_engine(url)
        with _schema_lock:  # several threads open the bus at start-up; create its tables once
            metadata.create_all(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def close(self) -> None:
        self.engine.dispose()

    def declare(self, queue: str, bindings: Sequence[str]) -> None:
        with self.engine.begin() as connection:
            existing = set(connection.scalars(select(bindings_table.c.pattern).where(bindings_table.c.queue == queue)))
            new = [{"queue": queue, "pattern": p} for p in bindings if p not in existing]
            if new:
                connection.execute(insert(bindings_table), new)

    def delete_queue(self, queue: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(bindings_table).where(bindings_table.c.queue == queue))
            connection.execute(delete(messages_table).where(messages_table.c.queue == queue))

    def publish(self, message: Outgoing) -> bool:
        with self.engine.begin() as connection:
            rows = connection.execute(select(bindings_table.c.queue, bindings_table.c.pattern)).all()
            queues = sorted({queue for queue, pattern in rows if topic_matches(pattern, message.event_type)})
            if not queues:
                return False
            connection.execute(
                insert(messages_table),
                [
                    {
                        "queue": queue,
                        "event_id": message.event_id,
                        "event_type": message.event_type,
                        "body": message.body,
                        "attempt": 1,
                        "not_before": 0.0,
                        "state": "ready",
                    }
                    for queue in queues
                ],
            )
        for queue in queues:
            with _wakeups[queue]:
                _wakeups[queue].notify_all()
        return True

    def publish_many(self, messages: Sequence[Outgoing]) -> list[bool | None]:
        """One commit per message, as ``publish``: SQLite has nothing like asynchronous confirms to batch."""
        return [self.publish(message) for message in messages]

    def _lease(self, queue: str) -> tuple[int, str, bytes, int] | None:
        now = time.time()
        table = messages_table
        ready = and_(
            table.c.queue == queue,
            table.c.state == "ready",
            table.c.not_before <= now,
            or_(table.c.leased_until.is_(None), table.c.leased_until < now),
        )
        with self.engine.begin() as connection:
            row = connection.execute(
                select(table.c.id, table.c.event_type, table.c.body, table.c.attempt)
                .where(ready)
                .order_by(table.c.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            claimed = connection.execute(
                update(table).where(table.c.id == row.id, ready).values(leased_until=now + LEASE_SECONDS)
            )
            if claimed.rowcount != 1:
                return None
        return row.id, row.event_type, row.body, row.attempt

    def consume(
        self,
        queue: str,
        handler: Handler,
        *,
        stop: threading.Event,
        observer: Observer = NULL_OBSERVER,
        batch: BatchHandler | None = None,
    ) -> None:
        """One message at a time (``batch`` is not used): a lease is one message, and all-in-one mode's load
        does not need more."""
        wakeup = _wakeups[queue]
        while not stop.is_set():
            leased = self._lease(queue)
            if leased is None:
                with wakeup:
                    wakeup.wait(0.2)
                continue
            message_id, event_type, body, attempt = leased
            try:
                handler(Delivery(body=body, event_type=event_type, attempt=attempt))
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then parked with its reason
                self._fail(message_id, attempt, f"{type(exc).__name__}: {exc}"[:1000])
                if attempt >= self.retry.max_attempts:
                    observer.on_dead_lettered(event_type)
                else:
                    observer.on_retried(event_type)
            else:
                with self.engine.begin() as connection:
                    connection.execute(delete(messages_table).where(messages_table.c.id == message_id))
                observer.on_consumed(event_type)

    def _fail(self, message_id: int, attempt: int, reason: str) -> None:
        values: dict[str, object]
        if attempt >= self.retry.max_attempts:
            values = {"state": "dead", "error": reason, "leased_until": None}
        else:
            values = {
                "attempt": attempt + 1,
                "not_before": time.time() + self.retry.delay(attempt),
                "leased_until": None,
                "error": reason,
            }
        with self.engine.begin() as connection:
            connection.execute(update(messages_table).where(messages_table.c.id == message_id).values(**values))

    def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        table = messages_table
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(table).where(table.c.queue == queue, table.c.state == "dead").order_by(table.c.id).limit(limit)
            ).all()
        return [DeadLetter(r.event_id, r.event_type, r.error or "", r.attempt, r.body) for r in rows]

    def replay_dead_letters(self, queue: str) -> int:
        table = messages_table
        with self.engine.begin() as connection:
            result = connection.execute(
                update(table)
                .where(table.c.queue == queue, table.c.state == "dead")
                .values(state="ready", attempt=1, not_before=0.0, leased_until=None)
            )
        with _wakeups[queue]:
            _wakeups[queue].notify_all()
        return result.rowcount
