"""The worker loop that processes stored inbound mail when MAILER_INBOUND_PROCESSING=worker: the SMTP listener then
only stores each message and answers 250 after the durable COMMIT, and each ``crm serve mailer worker`` claims the
stored rows (``FOR UPDATE SKIP LOCKED``: workers never wait on each other) and processes them in batches, on a GIL
of its own instead of the listener's event loop's."""

from __future__ import annotations

import threading
import time

from crm_mailer.inbound.smtp import RETRY_STORED_SECONDS, pipeline_of
from crm_mailer.settings import MailerSettings
from crm_platform.loops import repeat
from crm_platform.service import Runtime

BATCH = 50  # stored messages claimed and processed in one transaction
IDLE_SECONDS = 0.05  # between looks for stored mail when there was none: the most a message waits for a worker


def process_inbound_forever(rt: Runtime, stop: threading.Event) -> None:
    settings: MailerSettings = rt.service_settings
    if settings.inbound_processing != "worker":  # the listener processes what it stores
        stop.wait()
        return
    pipeline = pipeline_of(rt)
    retried = time.monotonic()

    def step() -> bool:
        nonlocal retried
        if time.monotonic() - retried > RETRY_STORED_SECONDS:  # what failed before, or a dead worker held
            retried = time.monotonic()
            pipeline.process_stored()
        return pipeline.process_next(limit=BATCH) > 0

    repeat(step, stop, idle_seconds=IDLE_SECONDS, failure_seconds=1.0, what="processing stored inbound mail")
