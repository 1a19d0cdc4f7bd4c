"""The shape of a service's background loop (``ServiceSpec.loops``): one step, again and again, until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def repeat(
    step: Callable[[], bool],
    stop: threading.Event,
    *,
    idle_seconds: float,
    what: str,
    failure_seconds: float | None = None,
) -> None:
    """Run ``step`` until ``stop`` is set: straight again while it answers True (a full batch: there may be more),
    after ``idle_seconds`` when it answers False, and after ``failure_seconds`` (``idle_seconds`` unless given)
    when it raises: the failure is logged as "<what> failed" and the loop lives on."""
    while not stop.is_set():
        try:
            more = step()
        except Exception:
            log.exception("%s failed; retrying", what)
            stop.wait(idle_seconds if failure_seconds is None else failure_seconds)
            continue
        if not more:
            stop.wait(idle_seconds)
