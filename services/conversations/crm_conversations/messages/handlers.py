"""What the mailer's events do to conversations: the contact's mail lands on its conversation (or starts one),
and an email message's delivery status follows what the mailer reports."""

from __future__ import annotations

import logging
from typing import Any

from crm.events.v1 import mailer_pb2
from crm_conversations.conversations import rules as conversation_rules
from crm_conversations.conversations import service as conversations
from crm_conversations.conversations.models import Conversation
from crm_conversations.messages import rules, service
from crm_events import mailer
from crm_platform.clients.contacts import ContactCard, GrpcContactDirectory
from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.errors import NotFound
from crm_platform.events import Event

log = logging.getLogger(__name__)


def _thread(uow: UnitOfWork, workspace_id: str, routing: mailer_pb2.InboundRouting) -> Conversation | None:
    """The live conversation an inbound mail's routing names, if any. We ask the mailer for conversation threads
    (``thread_kind``), but mail it queued before it knew thread kinds is routed as ``ticket`` naming the
    conversation's id: that is ours too (a ticket's id never names a conversation)."""
    if routing.target == "conversation":
        thread_id = routing.conversation_id
    elif routing.target == "ticket":
        thread_id = routing.ticket_id
    else:
        return None
    if not thread_id:
        return None
    found = uow.session.get(Conversation, thread_id)
    if found is None or found.workspace_id != workspace_id or found.deleted_at is not None:
        return None
    return found


def on_inbound_received(rt: Any, uow: UnitOfWork, event: Event[mailer_pb2.InboundReceived]) -> None:
    """The contact's mail: appended to its conversation (reopened if archived), or a new email conversation;
    a blocked contact's mail is dropped. Idempotent on the mailer's inbound id."""
    received = event.payload
    routing = received.routing
    if routing.target not in ("conversation", "new_conversation", "ticket") or not received.contact_id:
        return
    if received.inbound_id and service.already_received(uow.session, event.workspace_id, received.inbound_id):
        return  # the same mail in another event (the mailer processed it twice): once is enough
    conversation = _thread(uow, event.workspace_id, routing)
    if conversation is None and routing.target == "ticket":
        return  # a ticket's mail: the tickets service takes it
    card = _card(rt, received.contact_id)
    if card is None or card.blocked:
        log.info("inbound %s dropped: contact %s blocked or gone", received.inbound_id, received.contact_id)
        return
    if conversation is None:
        conversation = conversations.open_conversation(
            uow,
            workspace_id=event.workspace_id,
            contact_id=received.contact_id,
            subject=conversation_rules.subject_of_mail(received.subject),
            channel=conversation_rules.EMAIL,
            started_by=conversation_rules.CONTACT_ACTOR,
            card=card,
        )
        uow.session.flush()
    service.receive(
        uow,
        conversation,
        author_id=received.contact_id,
        text=received.reply_text or received.subject or "",
        channel=conversation_rules.EMAIL,
        inbound_id=received.inbound_id or None,
        rfc822_message_id=received.rfc822_message_id or None,
    )


def _card(rt: Any, contact_id: str) -> ContactCard | None:
    """The contact as contacts knows it now (blocked or not); None when it is gone. Contacts being down raises,
    and the event is retried."""
    try:
        return GrpcContactDirectory(rt.grpc).get(contact_id)
    except NotFound:
        return None


def on_message_sent(_rt: Any, uow: UnitOfWork, event: Event[mailer_pb2.MessageSent]) -> None:
    sent = event.payload
    service.set_delivery(
        uow,
        event.workspace_id,
        message_id=sent.source_event_id,
        rfc822=sent.rfc822_message_id or None,
        status=rules.SENT,
    )


def on_message_suppressed(_rt: Any, uow: UnitOfWork, event: Event[mailer_pb2.MessageSuppressed]) -> None:
    suppressed = event.payload
    service.set_delivery(
        uow,
        event.workspace_id,
        message_id=suppressed.source_event_id,
        status=rules.SUPPRESSED,
        detail=suppressed.reason,
    )


def on_delivery_bounced(_rt: Any, uow: UnitOfWork, event: Event[mailer_pb2.DeliveryBounced]) -> None:
    bounced = event.payload
    if bounced.kind == "soft" or not bounced.rfc822_message_id:
        return  # a soft bounce is retried by the mailer; only one for good is the message's fate
    service.set_delivery(
        uow,
        event.workspace_id,
        rfc822=bounced.rfc822_message_id,
        status=rules.BOUNCED,
        detail=f"{bounced.kind}: {bounced.diagnostic}",
    )


def subscribe(subscriptions: Subscriptions) -> None:
    subscriptions.on(mailer.INBOUND_RECEIVED)(on_inbound_received)
    subscriptions.on(mailer.MESSAGE_SENT)(on_message_sent)
    subscriptions.on(mailer.MESSAGE_SUPPRESSED)(on_message_suppressed)
    subscriptions.on(mailer.DELIVERY_BOUNCED)(on_delivery_bounced)
