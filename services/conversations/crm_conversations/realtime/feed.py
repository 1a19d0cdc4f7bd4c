"""What wakes the server when events were committed: this replica's own RabbitMQ queue, or a short poll.

Each replica declares an exclusive, auto-delete queue bound to the streamed event types on ``crm.events``,
so every replica hears of every event and any replica serves any client. A delivery carries no data the
server uses: it only says "read the log now" (``realtime.hub``), and the log, read in id order, is what
clients get, so live frames and a reconnect's catch-up are the same rows with the same cursors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pika
import pika.exceptions

from crm_conversations.realtime.rules import STREAMED
from crm_platform.bus import EXCHANGE

log = logging.getLogger(__name__)


class RabbitFeed:
    """A thread consuming this replica's queue; ``wake()`` is called for each delivery and after each connect."""

    def __init__(self, url: str, wake: Callable[[], object]) -> None:
        self.parameters = pika.URLParameters(url)
        self.parameters.heartbeat = 30
        self.parameters.connection_attempts = 1
        self.parameters.socket_timeout = 5
        self.wake = wake
        self.stop = threading.Event()
        self.error: str | None = "not connected yet"
        self.thread = threading.Thread(target=self._run, name="realtime-feed", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)

    def _run(self) -> None:
        while not self.stop.is_set():
            connection = None
            try:
                connection = pika.BlockingConnection(self.parameters)
                channel = connection.channel()
                channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
                queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
                for event_type in sorted(STREAMED):
                    channel.queue_bind(queue, EXCHANGE, routing_key=event_type)
                channel.basic_consume(queue, lambda *_args: self.wake(), auto_ack=True)
                self.error = None
                self.wake()  # what was committed while no queue was bound
                while not self.stop.is_set():
                    connection.process_data_events(time_limit=0.5)
            except Exception as exc:  # noqa: BLE001 - the broker comes back; meanwhile the server polls
                self.error = f"broker: {exc!r}"
                log.warning("realtime feed lost the broker, reconnecting: %r", exc)
                self.stop.wait(1.0)
            finally:
                if connection is not None and connection.is_open:
                    try:
                        connection.close()
                    except Exception:  # noqa: BLE001
                        pass
