"""The mailer's events the mail report keeps as facts: a message's own (sent, bounced, suppressed) with the
message as their subject, so a bounce finds its sent mail; a recipient's (complained, unsubscribed) each their
own subject."""

from __future__ import annotations

from crm.events.v1 import mailer_pb2
from crm_events import mailer
from crm_platform.consumer import Subscriptions
from crm_platform.events import Event
from crm_reports import projection
from crm_reports.facts import FactRow
from crm_reports.mail.rules import PROJECTION, message_subject


def _fact(event: Event, subject: str, **attrs: object) -> list[FactRow]:  # type: ignore[type-arg]
    return [
        FactRow(
            event.event_id, event.workspace_id, event.type.name, subject or event.event_id, event.occurred_at, "", attrs
        )
    ]


def sent(event: Event[mailer_pb2.MessageSent]) -> list[FactRow]:
    p = event.payload
    return _fact(event, message_subject(p.message_id, p.rfc822_message_id), kind=p.kind)


def bounced(event: Event[mailer_pb2.DeliveryBounced]) -> list[FactRow]:
    p = event.payload
    return _fact(event, message_subject(p.message_id, p.rfc822_message_id), kind=p.kind)


def suppressed(event: Event[mailer_pb2.MessageSuppressed]) -> list[FactRow]:
    p = event.payload
    return _fact(event, p.message_id, reason=p.reason)


def recipient_event(
    event: Event[mailer_pb2.RecipientComplained] | Event[mailer_pb2.RecipientUnsubscribed],
) -> list[FactRow]:
    return _fact(event, event.event_id)


def subscribe(subscriptions: Subscriptions) -> None:
    projection.subscribe(subscriptions, mailer.MESSAGE_SENT, PROJECTION, sent)
    projection.subscribe(subscriptions, mailer.DELIVERY_BOUNCED, PROJECTION, bounced)
    projection.subscribe(subscriptions, mailer.MESSAGE_SUPPRESSED, PROJECTION, suppressed)
    projection.subscribe(subscriptions, mailer.RECIPIENT_COMPLAINED, PROJECTION, recipient_event)
    projection.subscribe(subscriptions, mailer.RECIPIENT_UNSUBSCRIBED, PROJECTION, recipient_event)
