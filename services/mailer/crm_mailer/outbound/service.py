"""Use cases of outbound mail: queue a mail for an event, and deliver what is due."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from crm.events.v1 import mailer_pb2
from crm_events.mailer import MESSAGE_SENT
from crm_mailer.models import visibility
from crm_mailer.outbound import rules
from crm_mailer.outbound.models import FAILED, QUEUED, SENT, SKIPPED, OutboundMessage
from crm_mailer.outbound.transport import PermanentFailure, TemporaryFailure, Transport
from crm_platform.clients.contacts import ContactDirectory
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import NotFound, phrase
from crm_platform.ids import new_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sender:
    address: str  # "Support <support@example.com>"
    domain: str  # for Message-IDs


def queue_ticket_comment(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    sender: Sender,
    *,
    workspace_id: str,
    source_event_id: str,
    ticket_id: str,
    contact_id: str,
    ticket_subject: str,
    body: str,
) -> OutboundMessage:
    """Queue the mail that carries a public comment to the contact, inside the consumer's transaction."""
    asked_at = utcnow()
    try:
        card = contacts.get(contact_id)
    except NotFound:
        recipient = None
    else:
        recipient = card.email
        # The copy of who owns the contact learns it here too, in case this mail is read before the
        # contacts event is consumed.
        visibility.record_owner(
            uow.session, workspace_id=workspace_id, contact_id=contact_id, owner_id=card.owner_id, as_of=asked_at
        )
    outbound_id = new_id()
    message = OutboundMessage(
        id=outbound_id,
        workspace_id=workspace_id,
        source_event_id=source_event_id,
        ticket_id=ticket_id,
        contact_id=contact_id,
        recipient=recipient,
        subject=rules.ticket_subject(ticket_id, ticket_subject),
        body=body,
        rfc822_message_id=rules.message_id(outbound_id, sender.domain),
        status=QUEUED if recipient else SKIPPED,
        last_error=None if recipient else "the contact has no email address",
    )
    uow.session.add(message)
    return message


def deliver_due(database: Database, transport: Transport, sender: Sender, *, limit: int = 20) -> dict[str, int]:
    """Send the queued mail that is due; each mail is its own transaction. Returns counts by outcome."""
    outcomes = {"sent": 0, "deferred": 0, "failed": 0}
    for _ in range(limit):
        with database.unit_of_work() as uow:
            message = uow.session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.status == QUEUED, OutboundMessage.next_attempt_at <= utcnow())
                .order_by(OutboundMessage.next_attempt_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if message is None:
                break
            outcome = attempt(message, transport, sender, now=utcnow())
            if outcome == "sent":
                uow.emit(
                    MESSAGE_SENT,
                    mailer_pb2.MessageSent(
                        message_id=message.id,
                        rfc822_message_id=message.rfc822_message_id,
                        recipient=message.recipient or "",
                        subject=message.subject,
                        source_event_id=message.source_event_id,
                        ticket_id=message.ticket_id or "",
                        contact_id=message.contact_id or "",
                    ),
                    workspace_id=message.workspace_id,
                )
            outcomes[outcome] += 1
            uow.commit()
    return outcomes


def attempt(message: OutboundMessage, transport: Transport, sender: Sender, *, now: datetime) -> str:
    """Try to send one queued mail and record how it went on its row: ``sent``, ``deferred`` (retried later,
    as ``rules.next_attempt`` says) or ``failed`` (refused for good, or given up). No database: the caller
    owns the transaction."""
    message.attempts += 1
    mail = rules.build(
        sender=sender.address,
        recipient=message.recipient or "",
        subject=message.subject,
        body=message.body,
        rfc822_message_id=message.rfc822_message_id,
        ticket_id=message.ticket_id,
        when=message.created_at,
    )
    try:
        transport.send(mail)
    except PermanentFailure as exc:
        message.status, message.last_error = FAILED, str(exc)[:2000]
        log.warning("mail %s failed: %s", message.id, exc)
        return "failed"
    except Exception as exc:  # noqa: BLE001 - TemporaryFailure, or an unforeseen error that must not block the queue
        retry_at = rules.next_attempt(message.attempts, now)
        reason = str(exc) if isinstance(exc, TemporaryFailure) else f"{type(exc).__name__}: {exc}"
        message.last_error = reason[:2000]
        log.warning("mail %s deferred: %s", message.id, exc)
        if retry_at is None:
            message.status = FAILED
            return "failed"
        message.next_attempt_at = retry_at
        return "deferred"
    message.status, message.sent_at, message.last_error = SENT, now, None
    return "sent"


def get(uow: UnitOfWork, *, caller: Caller, message_id: str) -> OutboundMessage:
    """One outbound mail to a contact the caller may see; otherwise not found, as for another workspace."""
    with uow:
        message = get_in_workspace(
            uow.session, OutboundMessage, message_id, workspace_id=caller.workspace_id, what="message"
        )
        visibility.require(uow.session, caller, message.contact_id, not_found=f"message {message_id} not found")
        return message


def get_by_source_event(uow: UnitOfWork, *, caller: Caller, source_event_id: str) -> OutboundMessage:
    """The mail sent for an event of another service, in the caller's workspace."""
    with uow:
        message = uow.session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.workspace_id == caller.workspace_id,
                OutboundMessage.source_event_id == source_event_id,
            )
        ).first()
        if message is None:
            raise NotFound(phrase("no mail for event {id}", id=source_event_id))
        return message


def list_page(
    uow: UnitOfWork, *, caller: Caller, limit: int, after_id: str | None, ticket_id: str | None
) -> list[OutboundMessage]:
    """A page of the mail to contacts the caller may see, newest first; one row more than ``limit`` says a next
    page exists."""
    query = select(OutboundMessage).where(OutboundMessage.workspace_id == caller.workspace_id)
    if ticket_id:
        query = query.where(OutboundMessage.ticket_id == ticket_id)
    if after_id:
        query = query.where(OutboundMessage.id < after_id)
    with uow:
        query = visibility.restrict(query, uow.session, caller, OutboundMessage.contact_id)
        return list(uow.session.scalars(query.order_by(OutboundMessage.id.desc()).limit(limit + 1)))
