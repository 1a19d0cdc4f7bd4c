"""What a ticket's comments do when the mailer's events arrive: the contact's reply lands on its ticket, and a
public comment's mail reports how far it got (sent, suppressed, bounced)."""

from __future__ import annotations

from crm.events.v1 import mailer_pb2
from crm_events import mailer
from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.events import Event
from crm_platform.service import Runtime
from crm_tickets.comments import rules, service


def subscribe(subscriptions: Subscriptions) -> None:
    subscriptions.on(mailer.INBOUND_RECEIVED)(on_inbound_received)
    subscriptions.on(mailer.MESSAGE_SENT)(on_message_sent)
    subscriptions.on(mailer.MESSAGE_SUPPRESSED)(on_message_suppressed)
    subscriptions.on(mailer.DELIVERY_BOUNCED)(on_delivery_bounced)


def on_inbound_received(_rt: Runtime, uow: UnitOfWork, event: Event[mailer_pb2.InboundReceived]) -> None:
    received = event.payload
    if received.routing.target != "ticket" or not received.routing.ticket_id:
        return  # a conversation's mail: the conversations service's
    service.append_customer_reply(
        uow, workspace_id=event.workspace_id, event_id=event.event_id, received=received, now=utcnow()
    )


def on_message_sent(_rt: Runtime, uow: UnitOfWork, event: Event[mailer_pb2.MessageSent]) -> None:
    sent = event.payload
    service.record_delivery(
        uow,
        workspace_id=event.workspace_id,
        status=rules.SENT,
        mail_event_id=sent.source_event_id,
        rfc822_message_id=sent.rfc822_message_id or None,
    )


def on_message_suppressed(_rt: Runtime, uow: UnitOfWork, event: Event[mailer_pb2.MessageSuppressed]) -> None:
    suppressed = event.payload
    service.record_delivery(
        uow,
        workspace_id=event.workspace_id,
        status=rules.SUPPRESSED,
        mail_event_id=suppressed.source_event_id,
        detail=suppressed.reason or None,
    )


def on_delivery_bounced(_rt: Runtime, uow: UnitOfWork, event: Event[mailer_pb2.DeliveryBounced]) -> None:
    bounced = event.payload
    if not bounced.rfc822_message_id:
        return
    service.record_delivery(
        uow,
        workspace_id=event.workspace_id,
        status=rules.BOUNCED,
        rfc822_message_id=bounced.rfc822_message_id,
        detail=f"{bounced.kind}: {bounced.diagnostic}" if bounced.diagnostic else bounced.kind or None,
    )
