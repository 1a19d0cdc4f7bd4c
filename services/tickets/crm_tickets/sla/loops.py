"""The worker loop that computes stale deadlines again and reports the breached ones."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from crm_platform.db import utcnow
from crm_platform.service import Runtime
from crm_tickets.sla import service

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # between looks when the last one found less than a batch


def breach_loop(
    clock: Callable[[], datetime] = utcnow, *, idle_seconds: float = IDLE_SECONDS
) -> Callable[[Runtime, threading.Event], None]:
    """The loop, on ``clock`` (the tests give it theirs)."""

    def report_breaches_forever(rt: Runtime, stop: threading.Event) -> None:
        breached = rt.metrics.counter("tickets_sla_breaches_total", "SLA targets reported breached.")
        while not stop.is_set():
            try:
                refreshed = service.refresh_stale(rt.database, now=clock())
                count = service.report_breaches(rt.database, now=clock())
            except Exception:
                log.exception("checking SLA deadlines failed; retrying")
                stop.wait(idle_seconds)
                continue
            breached.inc(count)
            if refreshed < service.STALE_BATCH and count < service.BREACH_BATCH:
                stop.wait(idle_seconds)

    return report_breaches_forever
