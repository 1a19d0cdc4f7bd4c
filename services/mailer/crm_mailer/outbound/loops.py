"""The worker loop that delivers queued mail."""

from __future__ import annotations

import threading

from crm_mailer.outbound import delivery, service, transport
from crm_mailer.outbound.models import OutboundMessage
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.loops import repeat
from crm_platform.service import Runtime


def recheck_of(rt: Runtime) -> delivery.Recheck:
    """Each claimed batch asked of contacts again before it is sent (``service.still_sendable``)."""
    contacts = GrpcContactDirectory(rt.grpc)

    def recheck(uow: UnitOfWork, batch: list[OutboundMessage]) -> list[OutboundMessage]:
        return service.still_sendable(uow, contacts, batch, now=utcnow())

    return recheck


def deliver_forever(rt: Runtime, stop: threading.Event) -> None:
    mail_transport = transport.from_settings(rt.service_settings)
    composer = delivery.Composer.of(rt)
    recheck = recheck_of(rt)
    sent = rt.metrics.counter("mail_sent_total", "Mail accepted by the receiving server.")
    deferred = rt.metrics.counter("mail_deferred_total", "Mail that failed temporarily and will be retried.")
    failed = rt.metrics.counter("mail_failed_total", "Mail given up on.")

    def step() -> bool:
        outcomes = delivery.deliver_due(rt.database, mail_transport, composer, recheck=recheck)
        sent.inc(outcomes["sent"])
        deferred.inc(outcomes["deferred"])
        failed.inc(outcomes["failed"])
        return any(outcomes.values())

    try:
        repeat(step, stop, idle_seconds=0.2, failure_seconds=2.0, what="mail delivery")
    finally:
        close = getattr(mail_transport, "close", None)
        if close is not None:
            close()
