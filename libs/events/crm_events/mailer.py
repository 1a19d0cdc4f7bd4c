"""The events the mailer service publishes."""

from __future__ import annotations

from crm.events.v1 import mailer_pb2
from crm_events.types import EventType

MESSAGE_SENT = EventType("mailer.message.sent", mailer_pb2.MessageSent)
DELIVERY_BOUNCED = EventType("mailer.delivery.bounced", mailer_pb2.DeliveryBounced)
RECIPIENT_UNSUBSCRIBED = EventType("mailer.recipient.unsubscribed", mailer_pb2.RecipientUnsubscribed)
RECIPIENT_COMPLAINED = EventType("mailer.recipient.complained", mailer_pb2.RecipientComplained)
MESSAGE_SUPPRESSED = EventType("mailer.message.suppressed", mailer_pb2.MessageSuppressed)
INBOUND_RECEIVED = EventType("mailer.inbound.received", mailer_pb2.InboundReceived)
