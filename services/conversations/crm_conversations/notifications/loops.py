"""The worker loop that mails the unread notifications when they come due."""

from __future__ import annotations

import threading

from crm_conversations.messages.mailer import GrpcMailer
from crm_conversations.notifications import service
from crm_conversations.presence import service as presence
from crm_platform.db import utcnow
from crm_platform.loops import repeat
from crm_platform.service import Runtime

EVERY_SECONDS = 5.0  # how late a notification may go out after it is due


def notify_unread_forever(rt: Runtime, stop: threading.Event) -> None:
    settings = rt.service_settings
    mailer = GrpcMailer(rt.grpc)

    heartbeat = float(settings.presence_heartbeat_seconds)

    def step() -> bool:
        now = utcnow()
        presence.forget_stale(rt.database, now=now, heartbeat_seconds=heartbeat)
        outcome = service.send_due(
            rt.database,
            mailer,
            now=now,
            heartbeat_seconds=heartbeat,
            link=settings.conversation_link,
            default_delay_seconds=int(settings.unread_notification_delay_seconds),
        )
        return sum((outcome.sent, outcome.read, outcome.connected, outcome.gone)) >= service.BATCH

    repeat(step, stop, idle_seconds=EVERY_SECONDS, what="mailing unread notifications")
