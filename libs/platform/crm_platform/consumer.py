"""Idempotent event consumers: the handled event id is recorded in the same transaction as the effect.

A redelivered event (the process died after commit but before the ack, or the relay published twice)
finds its id already recorded and is acknowledged without doing anything again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from google.protobuf.message import Message

from crm_events import EventType
from crm_platform import context, events
from crm_platform.bus import Delivery
from crm_platform.db import AlreadyProcessed, Database, UnitOfWork
from crm_platform.events import Event
from crm_platform.faults import failpoint
from crm_platform.metrics import ServiceMetrics

log = logging.getLogger(__name__)

P = TypeVar("P", bound=Message)

# A handler gets the service's runtime, the open unit of work (it must not commit) and the decoded event.
EventHandler = Callable[[Any, UnitOfWork, Event[P]], None]


@dataclass(frozen=True)
class Subscription:
    """One event type and the handler of its events."""

    event_type: EventType[Any]
    handler: EventHandler[Any]


@dataclass
class Subscriptions:
    """The event types one service reacts to, each with the handler that applies its effect; by event name."""

    handlers: dict[str, Subscription] = field(default_factory=dict)

    def on(self, event_type: EventType[P]) -> Callable[[EventHandler[P]], EventHandler[P]]:
        if not isinstance(event_type, EventType):
            raise TypeError(f"subscribe to an event type of the catalogue (crm_events), not {event_type!r}")

        def register(handler: EventHandler[P]) -> EventHandler[P]:
            self.handlers[event_type.name] = Subscription(event_type, handler)
            return handler

        return register

    @property
    def bindings(self) -> list[str]:
        return sorted(self.handlers)


class IdempotentConsumer:
    """Turns a bus delivery into one committed, deduplicated effect; raising makes the bus retry."""

    def __init__(
        self,
        name: str,
        database: Database,
        subscriptions: Subscriptions,
        runtime: Any = None,
        *,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.name = name
        self.database = database
        self.subscriptions = subscriptions
        self.runtime = runtime
        self.metrics = metrics

    def __call__(self, delivery: Delivery) -> None:
        envelope = events.unpack(delivery.body)
        subscription = self.subscriptions.handlers.get(envelope.type)
        if subscription is None:
            log.info("no handler for %s; acknowledged", envelope.type)
            return
        failpoint("consumer.before_handle", envelope.event_id)
        event = events.decode(envelope, subscription.event_type)  # a payload of another type is poison
        caller = context.Caller(
            workspace_id=envelope.workspace_id, user_id=f"system:{envelope.producer}", role="system"
        )
        with context.bound(request_id=envelope.correlation_id or envelope.event_id, caller=caller):
            with self.database.unit_of_work() as uow:
                # Recording the id first is the check: a handled event's id is there already, and the
                # INSERT refuses it before the handler runs (no SELECT round trip for every event).
                try:
                    uow.mark_processed(
                        consumer=self.name,
                        event_id=envelope.event_id,
                        event_type=envelope.type,
                        workspace_id=envelope.workspace_id,
                    )
                    subscription.handler(self.runtime, uow, event)
                    uow.commit()
                except AlreadyProcessed:
                    log.info("event %s already handled; acknowledged", envelope.event_id)
                    if self.metrics is not None:
                        self.metrics.events_duplicate.labels(envelope.type).inc()
                    return
            failpoint("consumer.after_commit", envelope.type)
