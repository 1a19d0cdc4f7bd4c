"""The worker loop that closes solved tickets once they have had no reply for the workspace's days."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from crm_platform.db import utcnow
from crm_platform.loops import repeat
from crm_platform.service import Runtime
from crm_tickets.automation import service

IDLE_SECONDS = 30.0  # between looks when the last one found less than a batch


def auto_close_loop(
    clock: Callable[[], datetime] = utcnow, *, idle_seconds: float = IDLE_SECONDS
) -> Callable[[Runtime, threading.Event], None]:
    """The loop, on ``clock`` (the tests give it theirs)."""

    def auto_close_forever(rt: Runtime, stop: threading.Event) -> None:
        closed = rt.metrics.counter("tickets_auto_closed_total", "Solved tickets closed after days without a reply.")

        def step() -> bool:
            count = service.close_quiet_solved(rt.database, now=clock())
            closed.inc(count)
            return count >= service.AUTO_CLOSE_BATCH

        repeat(step, stop, idle_seconds=idle_seconds, what="closing solved tickets")

    return auto_close_forever
