"""Idempotent event consumers: the handled event id is recorded in the same transaction as the effect.

A redelivered event (the process died after commit but before the ack, or the relay published twice)
finds its id already recorded and is acknowledged without doing anything again.

The bus hands a consumer either one delivery (``__call__``) or the batch it has prefetched
(``handle_batch``): the whole batch is one transaction, its processed ids one INSERT, and the bus
acknowledges it with one multiple-ack after the commit. A batch that fails is rolled back and the bus
hands its messages again one at a time, so one poison message is retried and dead-lettered alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
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
# A handler's optional batch form: the same effect for several events of its type at once, in their order
# (e.g. one multi-row statement); it must do exactly what calling the handler for each in turn would.
BatchEventHandler = Callable[[Any, UnitOfWork, Sequence[Event[P]]], None]


@dataclass(frozen=True, eq=False)
class BatchGroup:
    """Event types one feature applies together: the consumer hands ``batch`` every run of consecutive events
    whose types are in the group, whatever their type and workspace (a feature that reads the workspace of each
    event itself, e.g. the reports' projections). No caller is bound for such a run: its handlers act for no one.
    Each type still has its own handler, for an event alone."""

    name: str
    batch: BatchEventHandler[Any]


@dataclass(frozen=True)
class Subscription:
    """One event type and the handler of its events."""

    event_type: EventType[Any]
    handler: EventHandler[Any]
    batch: BatchEventHandler[Any] | None = None
    group: BatchGroup | None = None


def _both(first: Subscription, second: Subscription) -> Subscription:
    """Two features of a service reacting to one event type: both handlers, in the order they were registered,
    in the same transaction (a batch form only where each has one, so neither is skipped)."""

    def handler(rt: Any, uow: UnitOfWork, event: Event[Any]) -> None:
        first.handler(rt, uow, event)
        second.handler(rt, uow, event)

    def batch(rt: Any, uow: UnitOfWork, batch_events: Sequence[Event[Any]]) -> None:
        for subscription in (first, second):
            if subscription.batch is not None:
                subscription.batch(rt, uow, batch_events)
            else:
                for event in batch_events:
                    subscription.handler(rt, uow, event)

    # A group's batch applies only its own feature's handler: composed, the type leaves its group.
    return Subscription(first.event_type, handler, batch if first.batch or second.batch else None)


@dataclass
class Subscriptions:
    """The event types one service reacts to, each with the handler that applies its effect; by event name.
    Several features may subscribe to one type: their handlers run one after the other, in one transaction."""

    handlers: dict[str, Subscription] = field(default_factory=dict)
    # What a feature keeps beside its subscriptions, by a name of its own (e.g. the reports' routes of a group).
    extras: dict[str, Any] = field(default_factory=dict)

    def on(
        self,
        event_type: EventType[P],
        *,
        batch: BatchEventHandler[P] | None = None,
        group: BatchGroup | None = None,
    ) -> Callable[[EventHandler[P]], EventHandler[P]]:
        """Register the decorated handler of ``event_type``; ``batch``, its optional form for several events
        of the type in a row (the consumer calls it for runs of consecutive events of one workspace); or
        ``group``, the batch form it shares with other types (runs of any of them, of any workspace)."""
        if batch is not None and group is not None:
            raise ValueError("a subscription has a batch form or a group, not both")
        if not isinstance(event_type, EventType):
            raise TypeError(f"subscribe to an event type of the catalogue (crm_events), not {event_type!r}")

        def register(handler: EventHandler[P]) -> EventHandler[P]:
            added = Subscription(event_type, handler, batch, group)
            earlier = self.handlers.get(event_type.name)
            self.handlers[event_type.name] = added if earlier is None else _both(earlier, added)
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
        event: Event[Any] = events.decode(envelope, subscription.event_type)  # another type's payload is poison
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

    def handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        """Apply a batch of deliveries in one transaction, each event once and in order; raising rolls the
        whole batch back (the bus then hands the messages again one by one, see ``__call__``)."""
        received: list[tuple[Any, Subscription, Event[Any]]] = []
        for delivery in deliveries:
            envelope = events.unpack(delivery.body)
            subscription = self.subscriptions.handlers.get(envelope.type)
            if subscription is None:
                log.info("no handler for %s; acknowledged", envelope.type)
                continue
            failpoint("consumer.before_handle", envelope.event_id)
            received.append((envelope, subscription, events.decode(envelope, subscription.event_type)))
        if not received:
            return
        with self.database.unit_of_work() as uow:
            # One INSERT of every id; the ones already there (handled before, or twice in this batch) are not
            # applied again.
            fresh = uow.mark_processed_many(
                self.name, [(env.event_id, env.type, env.workspace_id) for env, _sub, _event in received]
            )
            todo = []
            for envelope, subscription, event in received:
                if envelope.event_id in fresh:
                    fresh.discard(envelope.event_id)
                    todo.append((envelope, subscription, event))
                    continue
                log.info("event %s already handled; acknowledged", envelope.event_id)
                if self.metrics is not None:
                    self.metrics.events_duplicate.labels(envelope.type).inc()
            start = 0
            while start < len(todo):
                envelope, subscription, _event = todo[start]
                end = start + 1
                group = subscription.group
                if group is not None:  # a run of the group's types, of any workspace
                    while end < len(todo) and todo[end][1].group is group:
                        end += 1
                    if end - start > 1:
                        with context.bound(request_id=envelope.correlation_id or envelope.event_id):
                            group.batch(self.runtime, uow, [event for _env, _sub, event in todo[start:end]])
                        start = end
                        continue
                if subscription.batch is not None:  # a run of this type, workspace and producer
                    while end < len(todo) and _same_run(todo[end][0], envelope) and todo[end][1] is subscription:
                        end += 1
                caller = context.Caller(
                    workspace_id=envelope.workspace_id, user_id=f"system:{envelope.producer}", role="system"
                )
                with context.bound(request_id=envelope.correlation_id or envelope.event_id, caller=caller):
                    if subscription.batch is not None and end - start > 1:
                        subscription.batch(self.runtime, uow, [event for _env, _sub, event in todo[start:end]])
                    else:
                        subscription.handler(self.runtime, uow, todo[start][2])
                start = end
            uow.commit()
        for envelope, _subscription, _event in todo:
            failpoint("consumer.after_commit", envelope.type)


def _same_run(envelope: Any, first: Any) -> bool:
    return bool(
        envelope.type == first.type
        and envelope.workspace_id == first.workspace_id
        and envelope.producer == first.producer
    )
