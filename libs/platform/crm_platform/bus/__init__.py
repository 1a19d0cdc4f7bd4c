"""The event bus: one interface, two transports (RabbitMQ, and a local SQLite-backed bus for all-in-one).

Contract, whatever the transport:
- ``publish`` returns only once the broker has the message (publisher confirm / commit); it answers
  False when no queue is bound to the event type, and raises ``BusUnavailable`` when it cannot tell.
- ``publish_many`` publishes several in order and waits for their confirms once: for each, True or
  False as ``publish`` would answer, or None when the broker refused it (nack) or did not confirm it in
  time (the caller publishes it again later); it raises ``BusUnavailable`` when the connection is lost.
- ``consume`` delivers each message at least once; a handler that returns acknowledges it, one that
  raises has it retried with exponential back-off, and after ``max_attempts`` it is parked in the
  queue's dead-letter queue with the error as the reason. Other messages keep flowing meanwhile.
  Given ``batch``, a transport may hand it several messages already received at once instead: when it
  returns they are all acknowledged; when it raises, each is handed to ``handler`` alone as above
  (RabbitMQ batches; the local bus of all-in-one mode hands one message at a time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from crm_platform.events import Outgoing

EXCHANGE = "crm.events"
DEAD_EXCHANGE = "crm.dead"


def queue_name(service: str) -> str:
    return f"crm.{service}"


class BusUnavailable(Exception):
    """The broker cannot be reached or did not confirm; nothing was lost, try again later."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    # Deliveries never acknowledged (the process died handling them) after which RabbitMQ dead-letters
    # the message; fixed when the queue is first declared.
    delivery_limit: int = 20

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt + 1``."""
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


@dataclass(frozen=True)
class Delivery:
    body: bytes
    event_type: str
    attempt: int


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    event_type: str
    reason: str
    attempts: int
    body: bytes


class Observer(Protocol):
    def on_consumed(self, event_type: str) -> None: ...
    def on_retried(self, event_type: str) -> None: ...
    def on_dead_lettered(self, event_type: str) -> None: ...


class _NullObserver:
    def on_consumed(self, event_type: str) -> None:
        pass

    def on_retried(self, event_type: str) -> None:
        pass

    def on_dead_lettered(self, event_type: str) -> None:
        pass


NULL_OBSERVER = _NullObserver()

Handler = Callable[[Delivery], None]
BatchHandler = Callable[[Sequence[Delivery]], None]


class Bus(Protocol):
    def declare(self, queue: str, bindings: Sequence[str]) -> None: ...
    def publish(self, message: Outgoing) -> bool: ...
    def publish_many(self, messages: Sequence[Outgoing]) -> list[bool | None]: ...
    def consume(
        self,
        queue: str,
        handler: Handler,
        *,
        stop: threading.Event,
        observer: Observer = ...,
        batch: BatchHandler | None = ...,
    ) -> None: ...
    def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]: ...
    def replay_dead_letters(self, queue: str) -> int: ...
    def delete_queue(self, queue: str) -> None: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


def connect(*, amqp_url: str | None, local_bus_url: str | None, retry: RetryPolicy) -> Bus:
    """A new bus connection for the calling thread (connections are not shared between threads)."""
    if amqp_url:
        from crm_platform.bus.rabbitmq import RabbitBus

        return RabbitBus(amqp_url, retry=retry)
    if local_bus_url:
        from crm_platform.bus.local import LocalBus

        return LocalBus(local_bus_url, retry=retry)
    raise BusUnavailable("no bus configured")
