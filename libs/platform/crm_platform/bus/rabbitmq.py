"""RabbitMQ transport (pika): topic exchange, one quorum queue per service, a retry queue and a dead-letter queue.

Topology per service ``crm.<svc>``:
- ``crm.<svc>`` quorum queue bound to ``crm.events`` by event type, with ``x-delivery-limit`` as a
  safety net: a message whose handler keeps crashing the process is dead-lettered by the broker itself.
  The broker counts a delivery for every unacknowledged message of a dead consumer, so a consumer
  takes one message at a time while it is handed redelivered ones: otherwise the messages prefetched
  behind a crasher would reach the limit with it and be dead-lettered too.
- ``crm.<svc>.retry`` holds failed messages for their back-off delay (per-message TTL), then
  dead-letters them back to ``crm.<svc>`` through the default exchange.
- ``crm.<svc>.dead`` (bound to ``crm.dead``) parks messages that failed ``max_attempts`` times, with the
  error in the ``x-crm-error`` header, until an operator replays them.

``publish_many`` uses a second confirm-mode channel whose confirms it collects itself (pika's blocking
channel waits for each publish's confirm): it publishes the batch, then waits once for the acks and nacks
of its delivery tags (``multiple`` covers a run of them) and for the returns of unroutable ones. ``consume``
hands a batch handler the new messages already received (up to BATCH) and acknowledges them with one
``basic_ack(last tag, multiple=True)`` after the handler returned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from crm_platform.bus import (
    DEAD_EXCHANGE,
    EXCHANGE,
    NULL_OBSERVER,
    BatchHandler,
    BusUnavailable,
    DeadLetter,
    Delivery,
    Handler,
    Observer,
    RetryPolicy,
)
from crm_platform.events import Outgoing

log = logging.getLogger(__name__)

# A batch is at most BATCH messages; the broker may send twice as many, so the next batch is on its way
# while one is handled and acknowledged (with only one batch in flight, each would wait for the broker).
BATCH = 64
PREFETCH = 2 * BATCH
CONFIRM_TIMEOUT = 10.0  # seconds publish_many waits for a batch's confirms; the unconfirmed are retried later
_CONNECTION_ERRORS = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    pika.exceptions.StreamLostError,
    pika.exceptions.ConnectionWrongStateError,
    pika.exceptions.ChannelWrongStateError,
    pika.exceptions.NackError,
    ConnectionError,
    OSError,
)


class RabbitBus:
    """One connection and one confirm-mode channel; use one instance per thread."""

    def __init__(self, url: str, *, retry: RetryPolicy) -> None:
        self.parameters = pika.URLParameters(url)
        self.parameters.heartbeat = 30
        self.parameters.blocked_connection_timeout = 30
        self.parameters.connection_attempts = 1
        self.parameters.socket_timeout = 5
        self.retry = retry
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._batch_channel: _ConfirmTracker | None = None

    # connection handling -------------------------------------------------------------------
    def _open(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        try:
            self._connection = pika.BlockingConnection(self.parameters)
            channel = self._connection.channel()
            channel.confirm_delivery()
            channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
            channel.exchange_declare(DEAD_EXCHANGE, exchange_type="direct", durable=True)
        except _CONNECTION_ERRORS as exc:
            self.close()
            raise BusUnavailable(f"RabbitMQ unreachable: {exc!r}") from exc
        self._channel = channel
        return channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._batch_channel = None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail in many ways
                pass

    def ping(self) -> None:
        self._open()
        assert self._connection is not None
        try:
            self._connection.process_data_events(0)
        except _CONNECTION_ERRORS as exc:
            self.close()
            raise BusUnavailable(f"RabbitMQ unreachable: {exc!r}") from exc

    # topology ------------------------------------------------------------------------------
    def declare(self, queue: str, bindings: Sequence[str]) -> None:
        channel = self._open()
        try:
            channel.queue_declare(
                queue,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-delivery-limit": self.retry.delivery_limit,
                    "x-dead-letter-exchange": DEAD_EXCHANGE,
                    "x-dead-letter-routing-key": queue,
                },
            )
            channel.queue_declare(
                f"{queue}.retry",
                durable=True,
                arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue},
            )
            channel.queue_declare(f"{queue}.dead", durable=True, arguments={"x-queue-type": "quorum"})
            channel.queue_bind(f"{queue}.dead", DEAD_EXCHANGE, routing_key=queue)
            for pattern in bindings:
                channel.queue_bind(queue, EXCHANGE, routing_key=pattern)
        except _CONNECTION_ERRORS as exc:
            self.close()
            raise BusUnavailable(f"cannot declare {queue}: {exc!r}") from exc

    def delete_queue(self, queue: str) -> None:
        channel = self._open()
        for name in (queue, f"{queue}.retry", f"{queue}.dead"):
            channel.queue_delete(name)

    # publishing ----------------------------------------------------------------------------
    def publish(self, message: Outgoing) -> bool:
        return self._publish(
            EXCHANGE,
            message.event_type,
            message.body,
            pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=message.event_id,
                type=message.event_type,
                content_type="application/x-protobuf",
                headers={"x-crm-workspace": message.workspace_id},
            ),
            mandatory=True,
        )

    def publish_many(self, messages: Sequence[Outgoing], *, timeout: float = CONFIRM_TIMEOUT) -> list[bool | None]:
        self._open()
        try:
            if self._batch_channel is None or not self._batch_channel.channel.is_open:
                assert self._connection is not None
                self._batch_channel = _ConfirmTracker(self._connection)
            return self._batch_channel.publish(messages, timeout)
        except _CONNECTION_ERRORS as exc:
            self.close()
            raise BusUnavailable(f"batch of {len(messages)} not confirmed: {exc!r}") from exc

    def _publish(
        self, exchange: str, routing_key: str, body: bytes, properties: pika.BasicProperties, *, mandatory: bool
    ) -> bool:
        channel = self._open()
        try:
            channel.basic_publish(exchange, routing_key, body, properties, mandatory=mandatory)
        except pika.exceptions.UnroutableError:
            return False
        except _CONNECTION_ERRORS as exc:
            self.close()
            raise BusUnavailable(f"publish of {routing_key} not confirmed: {exc!r}") from exc
        return True

    # consuming -----------------------------------------------------------------------------
    def consume(
        self,
        queue: str,
        handler: Handler,
        *,
        stop: threading.Event,
        observer: Observer = NULL_OBSERVER,
        batch: BatchHandler | None = None,
    ) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                channel = self._open()
                prefetch = 1  # until the messages a dead consumer left behind are through, see above
                while not stop.is_set():
                    # A consumer keeps the prefetch it started with (quorum queues have no channel-wide
                    # one): to take more at a time, it is cancelled and started again.
                    channel.basic_qos(prefetch_count=prefetch)
                    if not self._consume_with(channel, queue, prefetch, handler, batch, observer, stop):
                        break
                    prefetch, backoff = PREFETCH, 0.5
                if channel.is_open:
                    channel.cancel()
                backoff = 0.5
            except (BusUnavailable, *_CONNECTION_ERRORS) as exc:
                log.warning("consumer of %s lost the broker, reconnecting in %.1fs: %r", queue, backoff, exc)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _consume_with(
        self,
        channel: BlockingChannel,
        queue: str,
        prefetch: int,
        handler: Handler,
        batch: BatchHandler | None,
        observer: Observer,
        stop: threading.Event,
    ) -> bool:
        """Deliver until ``stop``; True (the consumer cancelled) when the prefetch should grow."""
        messages = channel.consume(queue, inactivity_timeout=0.5)
        for method, properties, body in messages:
            if stop.is_set():
                return False
            if method is None:
                continue
            received = [(method, properties, body)]
            if batch is not None and prefetch > 1:
                assert self._connection is not None
                self._connection.process_data_events(0)  # what has arrived meanwhile, without waiting
                while len(received) < BATCH and channel.get_waiting_message_count():
                    received.append(next(messages))
            # Runs of new messages in batches; a redelivered one (maybe one that kills the process) alone.
            start = 0
            while start < len(received):
                end = start + 1
                while batch is not None and end < len(received) and not received[end][0].redelivered:
                    end += 1
                if batch is not None and end - start > 1 and not received[start][0].redelivered:
                    self._deliver_batch(channel, queue, received[start:end], handler, batch, observer)
                else:
                    end = start + 1
                    self._deliver(channel, queue, *received[start], handler, observer)
                start = end
            if prefetch == 1 and not method.redelivered:
                channel.cancel()
                return True
        return False

    def _deliver_batch(
        self,
        channel: BlockingChannel,
        queue: str,
        received: list[tuple[Any, pika.BasicProperties, bytes]],
        handler: Handler,
        batch: BatchHandler,
        observer: Observer,
    ) -> None:
        deliveries = [
            Delivery(
                body=body,
                event_type=properties.type or method.routing_key,
                attempt=int((properties.headers or {}).get("x-crm-attempt", 1)),
            )
            for method, properties, body in received
        ]
        try:
            batch(deliveries)
        except Exception as exc:  # noqa: BLE001 - rolled back: each message is handled (and retried) alone
            log.warning("a batch of %d failed, handling its messages one at a time: %r", len(received), exc)
            for item in received:
                self._deliver(channel, queue, *item, handler, observer)
            return
        for delivery in deliveries:
            observer.on_consumed(delivery.event_type)
        channel.basic_ack(received[-1][0].delivery_tag, multiple=True)

    def _deliver(
        self,
        channel: BlockingChannel,
        queue: str,
        method: Any,
        properties: pika.BasicProperties,
        body: bytes,
        handler: Handler,
        observer: Observer,
    ) -> None:
        headers = dict(properties.headers or {})
        attempt = int(headers.get("x-crm-attempt", 1))
        event_type = properties.type or method.routing_key
        try:
            handler(Delivery(body=body, event_type=event_type, attempt=attempt))
        except Exception as exc:  # noqa: BLE001 - any failure is retried, then parked with its reason
            reason = f"{type(exc).__name__}: {exc}"[:1000]
            if attempt >= self.retry.max_attempts:
                log.error("event %s dead-lettered after %d attempts: %s", properties.message_id, attempt, reason)
                headers.update({"x-crm-error": reason, "x-crm-attempt": attempt, "x-crm-failed-at": int(time.time())})
                self._publish(DEAD_EXCHANGE, queue, body, _copy(properties, headers), mandatory=True)
                observer.on_dead_lettered(event_type)
            else:
                delay = self.retry.delay(attempt)
                log.warning(
                    "event %s failed (attempt %d), retry in %.1fs: %s", properties.message_id, attempt, delay, reason
                )
                headers.update({"x-crm-attempt": attempt + 1, "x-crm-last-error": reason})
                retry_properties = _copy(properties, headers)
                retry_properties.expiration = str(int(delay * 1000))
                self._publish("", f"{queue}.retry", body, retry_properties, mandatory=True)
                observer.on_retried(event_type)
        else:
            observer.on_consumed(event_type)
        channel.basic_ack(method.delivery_tag)

    # operator tools ------------------------------------------------------------------------
    def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        channel = self._open()
        found = []
        try:
            for _ in range(limit):
                method, properties, body = channel.basic_get(f"{queue}.dead", auto_ack=False)
                if method is None:
                    break
                found.append(_dead_letter(properties, body))
        finally:
            self.close()  # unacknowledged messages go back to the dead-letter queue
        return found

    def replay_dead_letters(self, queue: str) -> int:
        channel = self._open()
        replayed = 0
        while True:
            method, properties, body = channel.basic_get(f"{queue}.dead", auto_ack=False)
            if method is None:
                return replayed
            headers = {k: v for k, v in (properties.headers or {}).items() if k not in ("x-crm-attempt", "x-death")}
            self._publish("", queue, body, _copy(properties, headers), mandatory=True)
            channel.basic_ack(method.delivery_tag)
            replayed += 1


class _ConfirmTracker:
    """A confirm-mode channel whose acks, nacks and returns are collected by delivery tag, not waited for
    one publish at a time (pika's BlockingChannel has no batched confirms: its underlying channel does)."""

    def __init__(self, connection: pika.BlockingConnection) -> None:
        self.connection = connection
        self.channel = connection.channel()
        self._impl: Any = self.channel._impl
        self._next_tag = 1
        self._lowest = 1  # no tag below it is outstanding
        self._outstanding: dict[int, str] = {}  # delivery tag -> message id, until acked or nacked
        self._acked: set[str] = set()
        self._nacked: set[str] = set()
        self._returned: set[str] = set()
        selected: list[bool] = []
        self._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _frame: selected.append(True))
        self.channel._flush_output(lambda: bool(selected))
        self._impl.add_on_return_callback(self._on_return)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        last = method.delivery_tag
        # Tags are consecutive: a multiple confirm covers those from the lowest still outstanding to its own.
        tags = range(self._lowest, last + 1) if method.multiple else (last,)
        if method.multiple:
            self._lowest = max(self._lowest, last + 1)
        into = self._acked if isinstance(method, pika.spec.Basic.Ack) else self._nacked
        for tag in tags:
            message_id = self._outstanding.pop(tag, None)
            if message_id is not None:
                into.add(message_id)

    def _on_return(self, _channel: Any, _method: Any, properties: pika.BasicProperties, _body: bytes) -> None:
        self._returned.add(properties.message_id or "")  # sent before the message's ack

    def publish(self, messages: Sequence[Outgoing], timeout: float) -> list[bool | None]:
        self._outstanding.clear()
        self._lowest = self._next_tag
        self._acked, self._nacked, self._returned = set(), set(), set()
        for message in messages:
            properties = pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=message.event_id,
                type=message.event_type,
                content_type="application/x-protobuf",
                headers={"x-crm-workspace": message.workspace_id},
            )
            self._impl.basic_publish(EXCHANGE, message.event_type, message.body, properties, mandatory=True)
            self._outstanding[self._next_tag] = message.event_id
            self._next_tag += 1
        deadline = time.monotonic() + timeout
        wakeup = self.connection.call_later(timeout, lambda: None)  # so that the wait below ends at the deadline
        try:
            self.channel._flush_output(lambda: not self._outstanding or time.monotonic() >= deadline)
        finally:
            self.connection.remove_timeout(wakeup)
        if self._outstanding:  # tags left from a timed-out batch must not be taken for this channel's next
            log.warning("%d of %d messages not confirmed in %.0fs", len(self._outstanding), len(messages), timeout)
            self._outstanding.clear()
        return [
            (message.event_id not in self._returned) if message.event_id in self._acked else None
            for message in messages
        ]


def _copy(properties: pika.BasicProperties, headers: dict[str, Any]) -> pika.BasicProperties:
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=properties.message_id,
        type=properties.type,
        content_type=properties.content_type,
        headers=headers,
    )


def _dead_letter(properties: pika.BasicProperties, body: bytes) -> DeadLetter:
    headers = properties.headers or {}
    reason = headers.get("x-crm-error")
    if reason is None and headers.get("x-death"):
        reason = f"broker: {headers['x-death'][0].get('reason')}"
    value = reason or "unknown"
    return DeadLetter(
        event_id=properties.message_id or "",
        event_type=properties.type or "",
        reason=value.decode() if isinstance(value, bytes) else str(value),
        attempts=int(headers.get("x-crm-attempt", 0)),
        body=body,
    )
