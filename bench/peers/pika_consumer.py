"""Raw pika consuming with manual acks: the same prefetch as the platform's consumer, one ack per message."""

from __future__ import annotations

import pika


def consume(url: str, queue: str, count: int, prefetch: int = 32) -> None:
    """Take ``count`` messages from ``queue``, acknowledging each after reading it."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=prefetch)
        taken = 0
        for method, _properties, _body in channel.consume(queue, inactivity_timeout=10):
            if method is None:
                raise RuntimeError(f"only {taken} of {count} messages arrived")
            channel.basic_ack(method.delivery_tag)
            taken += 1
            if taken == count:
                break
        channel.cancel()
    finally:
        connection.close()
