"""The worker loop that delivers queued mail."""

from __future__ import annotations

import logging
import threading

from crm_mailer.outbound import delivery, transport
from crm_platform.service import Runtime

log = logging.getLogger(__name__)


def deliver_forever(rt: Runtime, stop: threading.Event) -> None:
    mail_transport = transport.from_settings(rt.service_settings)
    composer = delivery.Composer.of(rt)
    sent = rt.metrics.counter("mail_sent_total", "Mail accepted by the receiving server.")
    deferred = rt.metrics.counter("mail_deferred_total", "Mail that failed temporarily and will be retried.")
    failed = rt.metrics.counter("mail_failed_total", "Mail given up on.")
    try:
        while not stop.is_set():
            try:
                outcomes = delivery.deliver_due(rt.database, mail_transport, composer)
            except Exception:
                log.exception("mail delivery failed; retrying")
                stop.wait(2.0)
                continue
            sent.inc(outcomes["sent"])
            deferred.inc(outcomes["deferred"])
            failed.inc(outcomes["failed"])
            if not any(outcomes.values()):
                stop.wait(0.2)
    finally:
        close = getattr(mail_transport, "close", None)
        if close is not None:
            close()
