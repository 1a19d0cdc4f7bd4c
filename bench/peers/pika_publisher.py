"""Raw pika publishing with batched publisher confirms: publish a batch, then wait once for its confirms.

pika's BlockingChannel confirms each publish before returning; the channel underneath it takes an
ack/nack callback, which is how a team batches confirms without leaving BlockingConnection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pika


class BatchedConfirmPublisher:
    def __init__(self, connection: pika.BlockingConnection, exchange: str) -> None:
        self.exchange = exchange
        self.channel = connection.channel()
        self._impl: Any = self.channel._impl
        self._sent = 0
        self._confirmed = 0
        selected: list[bool] = []
        self._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _frame: selected.append(True))
        self.channel._flush_output(lambda: bool(selected))

    def _on_confirm(self, frame: Any) -> None:
        # acks and nacks alike: the peer only waits for the broker's answer
        self._confirmed = frame.method.delivery_tag if frame.method.multiple else self._confirmed + 1

    def publish(self, rows: Sequence[Any]) -> None:
        """``rows`` with event_id, event_type, workspace_id and body, as the outbox holds them."""
        for row in rows:
            self._impl.basic_publish(
                self.exchange,
                row.event_type,
                row.body,
                pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=row.event_id,
                    type=row.event_type,
                    content_type="application/x-protobuf",
                    headers={"x-crm-workspace": row.workspace_id},
                ),
                mandatory=True,
            )
        self._sent += len(rows)
        self.channel._flush_output(lambda: self._confirmed >= self._sent)
