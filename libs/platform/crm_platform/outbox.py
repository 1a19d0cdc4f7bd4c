"""The outbox relay: publishes committed outbox rows in id order and marks them only after the broker confirms.

Rows are picked by ``published_at IS NULL`` rather than by a high-water mark, so a row whose transaction
committed after a later id was already published is still picked up. ``FOR UPDATE SKIP LOCKED`` lets
several relays run side by side on PostgreSQL. A broker that is gone leaves the rows unpublished; the
relay reconnects with back-off and publishes them, possibly twice, which idempotent consumers absorb.

A batch is published at once and its confirms awaited once (``Bus.publish_many``): each row is marked
as its confirm says (published, or published and unroutable); a row the broker nacked or did not confirm
in time stays unpublished and goes out again with the next batch. On one channel the broker keeps the
rows' order, so a consumer sees an aggregate's events in the order they were written; only such a
republished row arrives after the rows behind it (the copies fed by events compare the facts' times).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, select, update

from crm_platform.bus import Bus, BusUnavailable
from crm_platform.db import Database, utcnow
from crm_platform.events import Outgoing
from crm_platform.metrics import ServiceMetrics

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        connect_bus: Callable[[], Bus],
        metrics: ServiceMetrics,
        *,
        batch_size: int = 500,
        idle_interval: float = 0.1,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.database = database
        self.connect_bus = connect_bus
        self.metrics = metrics
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.retention = retention
        self._bus: Bus | None = None
        self._last_prune = 0.0

    def _get_bus(self) -> Bus:
        if self._bus is None:
            self._bus = self.connect_bus()
        return self._bus

    def _drop_bus(self) -> None:
        if self._bus is not None:
            self._bus.close()
            self._bus = None

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set, riding out broker and database outages."""
        backoff = 0.5
        while not stop.is_set():
            try:
                published = self.relay_once()
                backoff = 0.5
            except BusUnavailable as exc:
                log.warning("outbox relay: broker unavailable, retrying in %.1fs: %s", backoff, exc)
                self._drop_bus()
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            except Exception:
                log.exception("outbox relay failed, retrying in %.1fs", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            self._housekeeping()
            if published < self.batch_size:
                stop.wait(self.idle_interval)
        self._drop_bus()

    def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published (confirmed)."""
        outbox = self.database.outbox
        with self.database.engine.connect() as connection, connection.begin():
            rows = connection.execute(
                select(outbox.c.id, outbox.c.event_id, outbox.c.event_type, outbox.c.workspace_id, outbox.c.body)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            bus = self._get_bus()
            confirmed = bus.publish_many(
                [Outgoing(row.event_id, row.event_type, row.workspace_id, row.body) for row in rows]
            )
            routed: list[int] = []
            unroutable: list[int] = []
            published: Counter[str] = Counter()
            for row, ok in zip(rows, confirmed, strict=True):
                if ok is None:
                    continue  # nacked or not confirmed in time: published again with the next batch
                if ok:
                    routed.append(row.id)
                    published[row.event_type] += 1
                else:
                    unroutable.append(row.id)
                    log.warning("event %s (%s) was published but no queue is bound to it", row.event_id, row.event_type)
                    self.metrics.events_unroutable.labels(row.event_type).inc()
            for event_type, n in published.items():
                self.metrics.events_published.labels(event_type).inc(n)
            now = utcnow()
            if routed:
                connection.execute(update(outbox).where(outbox.c.id.in_(routed)).values(published_at=now))
            if unroutable:
                connection.execute(
                    update(outbox).where(outbox.c.id.in_(unroutable)).values(published_at=now, unroutable=True)
                )
        return len(routed) + len(unroutable)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        outbox = self.database.outbox
        if now - self._last_prune >= 600:
            self._last_prune = now
            with self.database.engine.begin() as connection:
                connection.execute(delete(outbox).where(outbox.c.published_at < utcnow() - self.retention))
