"""Use cases on messages: a member's message or note, the contact's inbound mail, the mailer's delivery reports."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.events.v1 import conversations_pb2
from crm_conversations.attachments import service as attachments
from crm_conversations.conversations import counts as view_counts
from crm_conversations.conversations import rules as conversation_rules
from crm_conversations.conversations import service as conversations
from crm_conversations.conversations.models import Conversation
from crm_conversations.messages import rules
from crm_conversations.messages.mailer import Mailer, OutgoingMail
from crm_conversations.messages.models import Message
from crm_conversations.notifications import service as notifications
from crm_conversations.templates import service as templates
from crm_conversations.unread import service as unread
from crm_events.conversations import MESSAGE_ADDED, MESSAGE_DELIVERY_CHANGED
from crm_platform import context
from crm_platform.attachments.store import StoredAttachment
from crm_platform.clients.contacts import ContactDirectory
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork, utcnow
from crm_platform.errors import FieldError, InvalidInput, Unavailable
from crm_platform.ids import new_id

log = logging.getLogger(__name__)
SYSTEM = "system:conversations"


def record(uow: UnitOfWork, conversation: Conversation, message: Message) -> int:
    """Add ``message`` to ``conversation`` in ``uow``'s open transaction: its count (in SQL, so concurrent
    messages all count), latest activity, first response, and conversations.message.added. The conversation's
    new message count."""
    uow.session.add(message)
    contact_id, assignee_id = conversation.contact_id, conversation.assignee_id
    now = message.created_at
    values: dict[str, object] = {
        "message_count": Conversation.message_count + 1,
        "last_activity_at": now,
        "last_message_at": now,
    }
    answered = conversation_rules.first_response(conversation.first_response_at, direction=message.direction, now=now)
    if answered != conversation.first_response_at:
        values["first_response_at"] = answered
    count, status, assignee, deleted_at = uow.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(**values)
        .returning(Conversation.message_count, Conversation.status, Conversation.assignee_id, Conversation.deleted_at)
        .execution_options(synchronize_session=False)
    ).one()
    if count == 1 and deleted_at is None:  # a Core UPDATE: the views' counters are told here
        view_counts.first_message(uow.session, conversation.workspace_id, status, assignee)
    uow.session.expire(conversation)
    uow.emit(
        MESSAGE_ADDED,
        conversations_pb2.ConversationMessageAdded(
            conversation_id=conversation.id,
            message_id=message.id,
            contact_id=contact_id,
            body=message.text or "",
            author_id=message.author_id,
            direction=message.direction,
            channel=message.channel,
            author_type=message.author_type,
            assignee_id=assignee_id or "",
            automatic=rules.is_automatic(message.author_type),
        ),
        workspace_id=message.workspace_id,
    )
    return int(count)


def add(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    mailer: Mailer | None,
    *,
    caller: Caller,
    conversation_id: str,
    body: str | None,
    note: bool = False,
    template_id: str | None = None,
    attachment_ids: list[str] | None = None,
) -> Message:
    """A member writes in a conversation: a private note stays inside; a message to the contact carries the
    member's signature and, on an email conversation, goes out through the mailer (after the commit: the
    message is kept ``pending`` when the mailer cannot be asked, and the worker sends it later). Files the member
    uploaded to the conversation (``attachment_ids``) become the message's, and go to the mailer by reference."""
    if template_id and not body:
        body = templates.fill_for(
            uow, contacts, caller=caller, template_id=template_id, conversation_id=conversation_id
        )
    if not body and attachment_ids:
        body = "\N{PAPERCLIP}"  # files alone: the body says so
    if not body:
        raise InvalidInput(
            "the message has invalid fields", errors=[FieldError("body", "must not be empty", "required")]
        )
    html_body, text = rules.compose(body)
    member = None if note else contacts.member(caller.user_id)
    with uow:
        conversation = conversations.find(uow.session, caller, conversation_id)
        email = conversation.channel == conversation_rules.EMAIL and not note
        message = Message(
            id=new_id(),
            workspace_id=caller.workspace_id,
            conversation_id=conversation.id,
            body=html_body,
            text=text,
            signature=member.signature if member else None,
            direction=rules.NOTE if note else rules.OUTBOUND,
            author_type=rules.MEMBER,
            author_id=caller.user_id,
            channel=conversation.channel,
            delivery_status=rules.PENDING if email else None,
            created_at=utcnow(),
        )
        count = record(uow, conversation, message)
        unread.advance(uow.session, caller.workspace_id, conversation.id, caller.user_id, count)  # one's own words
        uow.session.flush()
        files = attachments.claim(
            uow.session,
            uow.database,
            caller=caller,
            conversation_id=conversation.id,
            message_id=message.id,
            ids=attachment_ids or [],
        )
        mail = _mail_of(conversation, message, files) if email else None
        uow.commit()
    if mail is not None and mailer is not None:
        _hand_over(uow.database, mailer, message, mail)
    return message


def _mail_of(conversation: Conversation, message: Message, files: list[StoredAttachment]) -> OutgoingMail:
    return OutgoingMail(
        request_id=message.id,
        contact_id=conversation.contact_id,
        subject=conversation.subject,
        text_body=rules.with_signature_text(message.text or "", message.signature),
        html_body=rules.with_signature_html(message.body, message.signature),
        author_id=message.author_id,
        thread_id=conversation.id,
        attachments=attachments.refs(files),
    )


def _hand_over(database: Database, mailer: Mailer, message: Message, mail: OutgoingMail) -> None:
    """Ask the mailer to send ``mail`` and keep its answer on the message; a mailer that cannot be asked leaves
    the message pending for the worker's retry."""
    try:
        queued = mailer.send(mail)
    except (Unavailable, InvalidInput) as exc:
        log.warning("message %s not handed to the mailer yet: %s", message.id, exc)
        return
    with database.unit_of_work() as uow:
        set_delivery(
            uow, message.workspace_id, message_id=message.id, status=queued.status, rfc822=queued.rfc822_message_id
        )
        uow.commit()
    message.delivery_status = (
        queued.status if rules.delivery_moves(message.delivery_status, queued.status) else message.delivery_status
    )
    message.rfc822_message_id = message.rfc822_message_id or queued.rfc822_message_id


def set_delivery(
    uow: UnitOfWork,
    workspace_id: str,
    *,
    message_id: str | None = None,
    rfc822: str | None = None,
    status: str,
    detail: str | None = None,
) -> Message | None:
    """Record what the mailer says of an email message (found by our id, else by its Message-ID), only forward;
    emits conversations.message.delivery_changed when it changed. None: not one of our messages."""
    session = uow.session
    query = select(Message).where(Message.workspace_id == workspace_id)
    if message_id:
        query = query.where(Message.id == message_id)
    elif rfc822:
        query = query.where(Message.rfc822_message_id == rfc822)
    else:
        return None
    message = session.scalars(query.limit(1)).first()
    if message is None:
        return None
    if rfc822 and not message.rfc822_message_id:
        message.rfc822_message_id = rfc822
    if status == message.delivery_status and detail and not message.delivery_detail:
        message.delivery_detail = detail[:500]  # the event says why the answer's status came
    elif rules.delivery_moves(message.delivery_status, status):
        message.delivery_status = status
        message.delivery_detail = (detail or "")[:500] or None
        uow.emit(
            MESSAGE_DELIVERY_CHANGED,
            conversations_pb2.ConversationMessageDeliveryChanged(
                conversation_id=message.conversation_id,
                message_id=message.id,
                delivery_status=status,
                detail=detail or "",
            ),
            workspace_id=workspace_id,
        )
    return message


# What a page shows of each message (``represent.message``): Core rows of these, no ORM objects.
LISTED_COLUMNS = (
    Message.id,
    Message.conversation_id,
    Message.body,
    Message.text,
    Message.signature,
    Message.direction,
    Message.author_type,
    Message.author_id,
    Message.channel,
    Message.delivery_status,
    Message.delivery_detail,
    Message.created_at,
)


def list_page(
    uow: UnitOfWork, *, caller: Caller, conversation_id: str, limit: int, after_id: str | None, latest: bool = False
) -> tuple[list[Any], dict[str, list[StoredAttachment]]]:
    """A page of a conversation's messages (rows of ``LISTED_COLUMNS``), oldest first (``latest``: newest
    first), one row more than ``limit`` saying a next page exists; and the files of the page's messages."""
    with uow:
        conversations.require_visible(uow.session, caller, conversation_id)
        query = select(*LISTED_COLUMNS).where(
            Message.workspace_id == caller.workspace_id, Message.conversation_id == conversation_id
        )
        if after_id:
            query = query.where(Message.id < after_id if latest else Message.id > after_id)
        order = Message.id.desc() if latest else Message.id
        # On the session's connection: plain Core rows, without the ORM's execution and loading steps.
        rows = list(uow.session.connection().execute(query.order_by(order).limit(limit + 1)))
        files = attachments.files_by_message(
            uow.session, uow.database, workspace_id=caller.workspace_id, message_ids=[row.id for row in rows[:limit]]
        )
        return rows, files


def already_received(session: Session, workspace_id: str, inbound_id: str) -> bool:
    """Whether the mailer's inbound mail ``inbound_id`` is a message here already."""
    found = session.scalar(
        select(Message.id).where(Message.workspace_id == workspace_id, Message.inbound_id == inbound_id).limit(1)
    )
    return found is not None


def receive(
    uow: UnitOfWork,
    conversation: Conversation,
    *,
    author_id: str,
    text: str,
    channel: str,
    inbound_id: str | None = None,
    rfc822_message_id: str | None = None,
    author_type: str = rules.CONTACT,
) -> Message | None:
    """The contact's (or visitor's) message lands on ``conversation`` in ``uow``'s open transaction; an archived
    conversation is reopened. None when this inbound mail was received already."""
    if inbound_id and already_received(uow.session, conversation.workspace_id, inbound_id):
        return None
    body = rules.from_text(text) or "<p></p>"
    message = Message(
        id=new_id(),
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        body=body,
        text=text.strip(),
        direction=rules.INBOUND,
        author_type=author_type,
        author_id=author_id,
        channel=channel,
        inbound_id=inbound_id,
        rfc822_message_id=rfc822_message_id,
        created_at=utcnow(),
    )
    conversations.move_status(
        uow,
        conversation,
        conversation_rules.reopen(conversation.status),
        actor_id=conversation_rules.CONTACT_ACTOR,
        reason="contact_replied",
    )
    assignee_id = conversation.assignee_id
    position = record(uow, conversation, message)
    # The assignee, if not connected when it comes due and not having read it, is emailed (notifications/).
    notifications.schedule(uow, conversation, message, assignee_id=assignee_id, position=position)
    return message


def pending(database: Database, *, older_than: timedelta, limit: int = 100) -> list[tuple[Message, Conversation]]:
    """Email messages not handed to the mailer for ``older_than`` (the mailer was down), oldest first."""
    cutoff: datetime = utcnow() - older_than
    with database.unit_of_work() as uow:
        rows = uow.session.execute(
            select(Message, Conversation)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.delivery_status == rules.PENDING, Message.created_at < cutoff)
            .order_by(Message.created_at)
            .limit(limit)
        ).all()
        return [(row[0], row[1]) for row in rows]


def retry_pending(database: Database, mailer: Mailer, *, older_than: timedelta) -> int:
    """Hand the pending email messages to the mailer again (idempotent on the message id); how many were tried."""
    found = pending(database, older_than=older_than)
    for message, conversation in found:
        # The worker acts for the message's workspace; the author's display name still comes from author_id.
        caller = Caller(workspace_id=message.workspace_id, user_id=SYSTEM, role="system")
        with database.unit_of_work() as uow:
            files = attachments.files_of(
                uow.session, database, workspace_id=message.workspace_id, message_id=message.id
            )
        with context.bound(request_id=message.id, caller=caller):
            _hand_over(database, mailer, message, _mail_of(conversation, message, files))
    return len(found)
