"""The worker loop that hands email messages the mailer could not take at once (it was down) to it again."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from crm_conversations.messages import service
from crm_conversations.messages.mailer import GrpcMailer
from crm_platform.service import Runtime

log = logging.getLogger(__name__)


def retry_pending_forever(rt: Runtime, stop: threading.Event) -> None:
    wait = float(rt.service_settings.mail_retry_seconds)
    mailer = GrpcMailer(rt.grpc)
    while not stop.is_set():
        try:
            service.retry_pending(rt.database, mailer, older_than=timedelta(seconds=wait))
        except Exception:
            log.exception("handing pending email messages to the mailer failed; retrying")
        stop.wait(min(wait, 5.0))
