"""Idempotent event consumers: the handled event id is recorded in the same transaction as the effect.

A redelivered event (the process died after commit but before the ack, or the relay published twice)
finds its id already recorded and is acknowledged without doing anything again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm.events.v1 import envelope_pb2
from crm_platform import context, events
from crm_platform.bus import Delivery
from crm_platform.db import AlreadyProcessed, Database, UnitOfWork
from crm_platform.faults import failpoint
from crm_platform.metrics import ServiceMetrics

log = logging.getLogger(__name__)

# A handler gets the service's runtime, the open unit of work (it must not commit) and the envelope.
EventHandler = Callable[[Any, UnitOfWork, envelope_pb2.Envelope], None]


@dataclass
class Subscriptions:
    """The event types one service reacts to, each with the handler that applies its effect."""

    handlers: dict[str, EventHandler] = field(default_factory=dict)

    def on(self, event_type: str) -> Callable[[EventHandler], EventHandler]:
        def register(handler: EventHandler) -> EventHandler:
            self.handlers[event_type] = handler
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
        handler = self.subscriptions.handlers.get(envelope.type)
        if handler is None:
            log.info("no handler for %s; acknowledged", envelope.type)
            return
        failpoint("consumer.before_handle", envelope.event_id)
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
                    handler(self.runtime, uow, envelope)
                    uow.commit()
                except AlreadyProcessed:
                    log.info("event %s already handled; acknowledged", envelope.event_id)
                    if self.metrics is not None:
                        self.metrics.events_duplicate.labels(envelope.type).inc()
                    return
            failpoint("consumer.after_commit", envelope.type)
