"""A consumer process for the worker-crash tests: the tiny service's idempotent consumer on RabbitMQ.

Run as ``python -m tests.integration.platform.crashing_worker AMQP_URL DATABASE_URL QUEUE EVENT_TYPE
DELIVERY_LIMIT``; ``CRM_FAILPOINTS`` in its environment decides which event kills it.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from sqlalchemy import insert

from crm.events.v1 import contacts_pb2
from crm_events import EventType
from crm_platform.bus import RetryPolicy
from crm_platform.bus.rabbitmq import RabbitBus
from crm_platform.consumer import IdempotentConsumer, Subscriptions
from tests.integration.platform.tiny_service import effects, tiny_database


def main(amqp_url: str, database_url: str, queue: str, event_type: str, delivery_limit: str) -> None:
    database = tiny_database(database_url)
    subscriptions = Subscriptions()

    @subscriptions.on(EventType(event_type, contacts_pb2.ContactCreated))
    def record(_rt: Any, uow: Any, event: Any) -> None:
        uow.session.execute(insert(effects).values(event_id=event.event_id, workspace_id="ws-1", applied_by="w"))

    bus = RabbitBus(amqp_url, retry=RetryPolicy(max_attempts=3, base_delay=0.05, delivery_limit=int(delivery_limit)))
    consumer = IdempotentConsumer("crashtest", database, subscriptions)
    bus.consume(queue, consumer, stop=threading.Event(), batch=consumer.handle_batch)  # as the worker does


if __name__ == "__main__":
    main(*sys.argv[1:])
