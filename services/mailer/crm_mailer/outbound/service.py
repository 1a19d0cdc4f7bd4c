"""Use cases of outbound mail: queue a mail (for an event or a SendEmail request), and read what was sent.
Delivering what is queued is ``delivery.py``'s.

Suppression asks contacts, which owns the addresses' status: the contact card fetched for its address also says
whether the contact is blocked and its primary address inactive (bounced, complained, unsubscribed), in the same
call and the same transaction that records the request. No copy of that status is kept here, so none can lag
behind contacts' own answer or disagree with it; a message asked for while contacts is down is not queued (the
event is retried, the gRPC request fails UNAVAILABLE) rather than mailed unchecked.

An address can be turned off between queueing and sending (the contact blocked, the address bounced elsewhere):
``still_sendable`` asks again for each batch the delivery loop claims, one ``BatchGetContacts`` per workspace of
the batch, and suppresses those no longer sendable as ``queue`` does."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from crm.events.v1 import mailer_pb2
from crm_events.mailer import MESSAGE_SUPPRESSED
from crm_mailer.models import visibility
from crm_mailer.outbound import rules
from crm_mailer.outbound.models import (
    DIRECT,
    QUEUED,
    SKIPPED,
    SUPPRESSED,
    TICKET_COMMENT,
    OutboundAttempt,
    OutboundMessage,
)
from crm_platform import context
from crm_platform.clients.contacts import ContactCard, ContactDirectory
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import Conflict, InvalidInput, NotFound, Unavailable, phrase
from crm_platform.ids import new_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sender:
    address: str  # "Support <support@example.com>"
    domain: str  # for Message-IDs


@dataclass(frozen=True)
class MailRequest:
    """One mail another service asked for, by event or by ``SendEmail``."""

    workspace_id: str
    source_event_id: str  # the event's id, or the request id: one mail per id
    contact_id: str
    subject: str
    text_body: str
    html_body: str | None = None
    ticket_id: str | None = None  # the thread (Reply-To token, In-Reply-To/References)
    thread_kind: str = "ticket"  # what ticket_id names: a ticket or a conversation (lookups route replies to it)
    kind: str = DIRECT  # what the mail is (models.KINDS), for mailer.message.sent
    ticket_number: int | None = None  # the ticket's [#number], for replies that keep only the subject
    author_id: str | None = None
    append_signature: bool = False
    automatic: bool = False
    attachments: tuple[dict[str, Any], ...] = ()  # references (outbound/attachments.as_row), fetched when sent
    recipient_member_id: str | None = None  # instead of contact_id: a member of the workspace (a notification)


def suppression_reason(card: ContactCard) -> str | None:
    """Why no mail may go to this contact's address (``blocked``, ``inactive:<reason>``), or None."""
    if card.blocked:
        return "blocked"
    if card.email_status != "active":
        return f"inactive:{card.email_inactive_reason or 'unknown'}"
    return None


def ticket_comment_request(
    *,
    workspace_id: str,
    source_event_id: str,
    ticket_id: str,
    contact_id: str,
    ticket_subject: str,
    body: str,
    author_id: str | None = None,
    attachments: tuple[dict[str, Any], ...] = (),
    ticket_number: int = 0,
    html_body: str | None = None,
    with_signature: bool = False,
) -> MailRequest:
    """The mail that carries a public comment to the contact: a reply to a person, from the member who wrote it
    (their signature below it when the comment asks), its subject tagged ``[#number]``."""
    return MailRequest(
        workspace_id=workspace_id,
        source_event_id=source_event_id,
        contact_id=contact_id,
        subject=rules.ticket_subject(ticket_id, ticket_subject, ticket_number),
        text_body=body,
        html_body=html_body or None,
        ticket_id=ticket_id,
        ticket_number=ticket_number or None,
        author_id=author_id,
        attachments=attachments,
        append_signature=with_signature,
        kind=TICKET_COMMENT,
    )


def queue(uow: UnitOfWork, contacts: ContactDirectory, sender: Sender, request: MailRequest) -> OutboundMessage:
    """Queue one mail in the caller's transaction; the same ``source_event_id`` again answers the first one.
    A contact without an address is ``skipped``; a blocked one or an inactive address is ``suppressed``, with
    ``mailer.message.suppressed`` in the outbox."""
    return queue_many(uow, contacts, sender, [request])[0]


def queue_many(
    uow: UnitOfWork, contacts: ContactDirectory, sender: Sender, requests: list[MailRequest]
) -> list[OutboundMessage]:
    """Queue several mails of one workspace as ``queue`` queues each, one answer per request in order, with one
    ``BatchGetContacts`` for all their contacts and one ``GetMember`` per distinct author (the consumer's batch
    of comment events: asking contacts once per comment made the mailer fall behind at 50 comments a second)."""
    if not requests:
        return []
    workspaces = {request.workspace_id for request in requests}
    if len(workspaces) != 1:
        raise ValueError("queue_many queues the mail of one workspace")
    known = {
        message.source_event_id: message
        for message in uow.session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.source_event_id.in_([request.source_event_id for request in requests])
            )
        )
    }
    for message in known.values():
        if message.workspace_id not in workspaces:  # another workspace's id: never its mail
            raise Conflict(phrase("request {id} was already used", id=message.source_event_id))
    new = list({r.source_event_id: r for r in requests if r.source_event_id not in known}.values())
    asked_at = utcnow()
    to_contacts = [request.contact_id for request in new if not request.recipient_member_id]
    cards = contacts.get_many(to_contacts) if to_contacts else {}
    wanted = (
        *(r.author_id for r in new if r.author_id),
        *(r.recipient_member_id for r in new if r.recipient_member_id),
    )
    members = {member_id: _member(contacts, member_id) for member_id in dict.fromkeys(wanted) if member_id}
    for contact_id, card in cards.items():
        # The copy of who owns the contact learns it here too, in case this mail is read before the
        # contacts event is consumed.
        visibility.record_owner(
            uow.session, workspace_id=new[0].workspace_id, contact_id=contact_id, owner_id=card.owner_id, as_of=asked_at
        )
    for request in new:
        member = members.get(request.author_id) if request.author_id else None
        if request.recipient_member_id:
            recipient = members.get(request.recipient_member_id)
            known[request.source_event_id] = _new_message(
                uow, sender, request, None, member, asked_at, member_address=recipient.email if recipient else None
            )
            continue
        known[request.source_event_id] = _new_message(
            uow, sender, request, cards.get(request.contact_id), member, asked_at
        )
    return [known[request.source_event_id] for request in requests]


def _new_message(
    uow: UnitOfWork,
    sender: Sender,
    request: MailRequest,
    card: ContactCard | None,
    member: Any,
    asked_at: datetime,
    *,
    member_address: str | None = None,
) -> OutboundMessage:
    # A member's address (a notification to the team) is not a contact's: no consent or suppression applies.
    recipient = member_address if request.recipient_member_id else (card.email if card else None)
    suppressed = suppression_reason(card) if card and recipient else None
    author_name, body, html_body = None, request.text_body, request.html_body or None
    if member is not None:
        author_name = member.name
        if request.append_signature:
            body = rules.with_signature(body, member.signature)
            if html_body:
                html_body = rules.html_with_signature(html_body, member.signature)
    parent = _thread_parent(uow, request.workspace_id, request.ticket_id)
    outbound_id = new_id()
    status, reason = QUEUED, None
    if not recipient:
        whose = "the member" if request.recipient_member_id else "the contact"
        status, reason = SKIPPED, f"{whose} has no email address"
    elif suppressed:
        status, reason = SUPPRESSED, suppressed
    message = OutboundMessage(
        id=outbound_id,
        workspace_id=request.workspace_id,
        source_event_id=request.source_event_id,
        ticket_id=request.ticket_id,
        thread_kind=request.thread_kind,
        kind=request.kind,
        contact_id=None if request.recipient_member_id else request.contact_id,
        recipient=recipient,
        subject=rules.header_text(request.subject),
        body=body,
        html_body=html_body,
        ticket_number=request.ticket_number,
        rfc822_message_id=rules.message_id(outbound_id, sender.domain),
        status=status,
        last_error=reason,
        author_id=request.author_id,
        author_name=author_name,
        in_reply_to=parent.rfc822_message_id if parent else None,
        references=" ".join(rules.references(_split(parent.references), parent.rfc822_message_id)) if parent else None,
        automatic=request.automatic,
        attachments=list(request.attachments) or None,
        created_at=asked_at,
        next_attempt_at=asked_at,
    )
    uow.session.add(message)
    if status == SUPPRESSED:
        _announce_suppressed(uow, message)
    return message


def _announce_suppressed(uow: UnitOfWork, message: OutboundMessage) -> None:
    log.info("mail %s to %s suppressed: %s", message.id, message.recipient, message.last_error)
    uow.emit(
        MESSAGE_SUPPRESSED,
        mailer_pb2.MessageSuppressed(
            message_id=message.id,
            recipient=message.recipient or "",
            reason=message.last_error or "",
            source_event_id=message.source_event_id,
            ticket_id=message.ticket_id or "",
            contact_id=message.contact_id or "",
        ),
        workspace_id=message.workspace_id,
    )


RECHECK_LATER = timedelta(seconds=30)  # a batch whose contacts cannot be asked now waits this long


def still_sendable(
    uow: UnitOfWork, contacts: ContactDirectory, messages: list[OutboundMessage], *, now: datetime
) -> list[OutboundMessage]:
    """Of a claimed batch, the mails that may still go out. The others become ``suppressed`` (the contact was
    blocked, the address turned inactive since it was queued: ``mailer.message.suppressed`` in the outbox) or
    ``skipped`` (the contact was deleted), in the batch's transaction. One call per workspace of the batch; a
    workspace whose contacts cannot be asked has its mail put off by ``RECHECK_LATER``, never sent unchecked."""
    by_workspace: dict[str, list[OutboundMessage]] = {}
    for message in messages:
        by_workspace.setdefault(message.workspace_id, []).append(message)
    sendable: list[OutboundMessage] = []
    for workspace_id, group in by_workspace.items():
        ids = [message.contact_id for message in group if message.contact_id]
        try:
            with context.bound(caller=Caller(workspace_id=workspace_id, user_id="system:mailer", role="system")):
                cards = contacts.get_many(ids)
        except Unavailable as exc:
            log.warning("cannot check %d mails of workspace %s before sending: %s", len(group), workspace_id, exc)
            for message in group:
                message.next_attempt_at = now + RECHECK_LATER
            continue
        for message in group:
            card = cards.get(message.contact_id) if message.contact_id else None
            if message.contact_id and card is None:
                message.status, message.last_error = SKIPPED, "the contact was deleted before the mail was sent"
                continue
            reason = suppression_reason(card) if card is not None else None
            if reason and (card is not None and not card.blocked):
                # Only the primary address' status is on the card: another address queued earlier is not judged.
                if (card.email or "").lower() != (message.recipient or "").lower():
                    reason = None
            if reason:
                message.status, message.last_error = SUPPRESSED, reason
                _announce_suppressed(uow, message)
                continue
            sendable.append(message)
    return sendable


def _member(contacts: ContactDirectory, member_id: str):  # type: ignore[no-untyped-def]
    try:
        return contacts.member(member_id)
    except (NotFound, InvalidInput):  # not a member's id (e.g. an automation): the workspace's name instead
        return None


def _split(references: str | None) -> list[str]:
    return references.split() if references else []


def _thread_parent(uow: UnitOfWork, workspace_id: str, ticket_id: str | None) -> OutboundMessage | None:
    """The latest mail of the same thread that went out or will (not one that was suppressed or skipped)."""
    if not ticket_id:
        return None
    return uow.session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.workspace_id == workspace_id,
            OutboundMessage.ticket_id == ticket_id,
            OutboundMessage.status.not_in((SKIPPED, SUPPRESSED)),
        )
        .order_by(OutboundMessage.id.desc())
        .limit(1)
    ).first()


def get(uow: UnitOfWork, *, caller: Caller, message_id: str) -> tuple[OutboundMessage, list[OutboundAttempt]]:
    """One outbound mail to a contact the caller may see, with its attempts oldest first; otherwise not found,
    as for another workspace."""
    with uow:
        message = get_in_workspace(
            uow.session, OutboundMessage, message_id, workspace_id=caller.workspace_id, what="message"
        )
        visibility.require(uow.session, caller, message.contact_id, not_found=f"message {message_id} not found")
        attempts = list(
            uow.session.scalars(
                select(OutboundAttempt)
                .where(OutboundAttempt.message_id == message.id)
                .order_by(OutboundAttempt.attempted_at, OutboundAttempt.id)
            )
        )
        return message, attempts


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
