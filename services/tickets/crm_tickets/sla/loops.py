"""The worker loop that computes stale deadlines again and reports the breached ones."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from crm_platform.db import utcnow
from crm_platform.loops import repeat
from crm_platform.service import Runtime
from crm_tickets.sla import service

IDLE_SECONDS = 5.0  # between looks when the last one found less than a batch


def breach_loop(
    clock: Callable[[], datetime] = utcnow, *, idle_seconds: float = IDLE_SECONDS
) -> Callable[[Runtime, threading.Event], None]:
    """The loop, on ``clock`` (the tests give it theirs)."""

    def report_breaches_forever(rt: Runtime, stop: threading.Event) -> None:
        breached = rt.metrics.counter("tickets_sla_breaches_total", "SLA targets reported breached.")

        def step() -> bool:
            refreshed = service.refresh_stale(rt.database, now=clock())
            count = service.report_breaches(rt.database, now=clock())
            breached.inc(count)
            return refreshed >= service.STALE_BATCH or count >= service.BREACH_BATCH

        repeat(step, stop, idle_seconds=idle_seconds, what="checking SLA deadlines")

    return report_breaches_forever
