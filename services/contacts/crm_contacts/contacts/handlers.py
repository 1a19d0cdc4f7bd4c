"""What the contacts service does when the mailer reports on an address: bounces, unsubscribes, complaints.

Each report turns the address off on every live contact of the workspace having it. The platform's
``IdempotentConsumer`` records the event id in the same transaction, so a redelivered report does nothing.
"""

from __future__ import annotations

from typing import Any

from crm.events.v1 import mailer_pb2
from crm_contacts.contacts import emailstatus as addresses
from crm_contacts.record import emailstatus
from crm_events import mailer
from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.events import Event

subscriptions = Subscriptions()


def _actor(event: Event[Any]) -> str:
    return f"system:{event.producer or 'mailer'}"


@subscriptions.on(mailer.DELIVERY_BOUNCED)
def delivery_bounced(_rt: Any, uow: UnitOfWork, event: Event[mailer_pb2.DeliveryBounced]) -> None:
    bounce = event.payload
    reason = emailstatus.reason_of_bounce(bounce.kind)
    if reason is None:  # a soft bounce: the next attempt may well get through
        return
    addresses.deactivate_address_everywhere(
        uow, workspace_id=event.workspace_id, address=bounce.recipient, reason=reason, actor_id=_actor(event)
    )


@subscriptions.on(mailer.RECIPIENT_UNSUBSCRIBED)
def recipient_unsubscribed(_rt: Any, uow: UnitOfWork, event: Event[mailer_pb2.RecipientUnsubscribed]) -> None:
    report = event.payload
    addresses.deactivate_address_everywhere(
        uow,
        workspace_id=event.workspace_id,
        address=report.recipient,
        reason=emailstatus.UNSUBSCRIBED,
        actor_id=_actor(event),
    )


@subscriptions.on(mailer.RECIPIENT_COMPLAINED)
def recipient_complained(_rt: Any, uow: UnitOfWork, event: Event[mailer_pb2.RecipientComplained]) -> None:
    report = event.payload
    addresses.deactivate_address_everywhere(
        uow,
        workspace_id=event.workspace_id,
        address=report.recipient,
        reason=emailstatus.SPAM_COMPLAINT,
        actor_id=_actor(event),
    )
