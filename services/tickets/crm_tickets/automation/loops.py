"""The worker loop that closes solved tickets once they have had no reply for the workspace's days."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from crm_platform.db import utcnow
from crm_platform.service import Runtime
from crm_tickets.automation import service

log = logging.getLogger(__name__)

IDLE_SECONDS = 30.0  # between looks when the last one found less than a batch


def auto_close_loop(
    clock: Callable[[], datetime] = utcnow, *, idle_seconds: float = IDLE_SECONDS
) -> Callable[[Runtime, threading.Event], None]:
    """The loop, on ``clock`` (the tests give it theirs)."""

    def auto_close_forever(rt: Runtime, stop: threading.Event) -> None:
        closed = rt.metrics.counter("tickets_auto_closed_total", "Solved tickets closed after days without a reply.")
        while not stop.is_set():
            try:
                count = service.close_quiet_solved(rt.database, now=clock())
            except Exception:
                log.exception("closing solved tickets failed; retrying")
                stop.wait(idle_seconds)
                continue
            closed.inc(count)
            if count < service.AUTO_CLOSE_BATCH:
                stop.wait(idle_seconds)

    return auto_close_forever
