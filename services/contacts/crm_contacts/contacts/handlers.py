"""What the contacts service does when the mailer reports on an address: bounces, unsubscribes, complaints.

Each report turns the address off on every live contact of the workspace having it. The platform's
``IdempotentConsumer`` records the event id in the same transaction, so a redelivered report does nothing.
"""

from __future__ import annotations

from typing import Any

from crm.events.v1 import envelope_pb2, mailer_pb2
from crm_contacts.contacts import emailstatus as addresses
from crm_contacts.record import emailstatus
from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.events import payload_of

subscriptions = Subscriptions()


def _actor(envelope: envelope_pb2.Envelope) -> str:
    return f"system:{envelope.producer or 'mailer'}"


@subscriptions.on("mailer.delivery.bounced")
def delivery_bounced(_rt: Any, uow: UnitOfWork, envelope: envelope_pb2.Envelope) -> None:
    bounce = payload_of(envelope, mailer_pb2.DeliveryBounced)
    reason = emailstatus.reason_of_bounce(bounce.kind)
    if reason is None:  # a soft bounce: the next attempt may well get through
        return
    addresses.deactivate_address_everywhere(
        uow, workspace_id=envelope.workspace_id, address=bounce.recipient, reason=reason, actor_id=_actor(envelope)
    )


@subscriptions.on("mailer.recipient.unsubscribed")
def recipient_unsubscribed(_rt: Any, uow: UnitOfWork, envelope: envelope_pb2.Envelope) -> None:
    report = payload_of(envelope, mailer_pb2.RecipientUnsubscribed)
    addresses.deactivate_address_everywhere(
        uow,
        workspace_id=envelope.workspace_id,
        address=report.recipient,
        reason=emailstatus.UNSUBSCRIBED,
        actor_id=_actor(envelope),
    )


@subscriptions.on("mailer.recipient.complained")
def recipient_complained(_rt: Any, uow: UnitOfWork, envelope: envelope_pb2.Envelope) -> None:
    report = payload_of(envelope, mailer_pb2.RecipientComplained)
    addresses.deactivate_address_everywhere(
        uow,
        workspace_id=envelope.workspace_id,
        address=report.recipient,
        reason=emailstatus.SPAM_COMPLAINT,
        actor_id=_actor(envelope),
    )
