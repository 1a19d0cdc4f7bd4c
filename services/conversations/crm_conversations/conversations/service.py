"""Use cases on conversations; each one is one transaction."""

from __future__ import annotations

from sqlalchemy import select, update

from crm.events.v1 import conversations_pb2
from crm_conversations.conversations.models import Conversation, Message
from crm_platform.clients.contacts import ContactDirectory, require_contact
from crm_platform.db import UnitOfWork, get_in_workspace
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id

STARTED = "conversations.conversation.started"
MESSAGE_ADDED = "conversations.message.added"


def start(
    uow: UnitOfWork, contacts: ContactDirectory, *, workspace_id: str, contact_id: str, subject: str
) -> Conversation:
    """Start a conversation with a contact of the workspace; emits conversations.conversation.started."""
    subject = " ".join(subject.split())
    if not subject:
        raise InvalidInput(
            "the conversation has invalid fields", errors=[FieldError("subject", "must not be empty", "required")]
        )
    require_contact(contacts, contact_id, what="conversation")
    with uow:
        conversation = Conversation(id=new_id(), workspace_id=workspace_id, contact_id=contact_id, subject=subject)
        uow.session.add(conversation)
        uow.emit(
            STARTED,
            conversations_pb2.ConversationStarted(
                conversation_id=conversation.id,
                contact_id=contact_id,
                subject=subject,
                channel=conversation.channel or "email",
            ),
            workspace_id=workspace_id,
        )
        uow.commit()
    return conversation


def _get(uow: UnitOfWork, workspace_id: str, conversation_id: str) -> Conversation:
    return get_in_workspace(uow.session, Conversation, conversation_id, workspace_id=workspace_id, what="conversation")


def get(uow: UnitOfWork, *, workspace_id: str, conversation_id: str) -> Conversation:
    """One conversation of the workspace."""
    with uow:
        return _get(uow, workspace_id, conversation_id)


def list_page(
    uow: UnitOfWork, *, workspace_id: str, limit: int, after_id: str | None, contact_id: str | None
) -> list[Conversation]:
    """A page of the workspace's conversations, newest first; one row more than ``limit`` says a next page exists."""
    query = select(Conversation).where(Conversation.workspace_id == workspace_id)
    if contact_id:
        query = query.where(Conversation.contact_id == contact_id)
    if after_id:
        query = query.where(Conversation.id < after_id)
    with uow:
        return list(uow.session.scalars(query.order_by(Conversation.id.desc()).limit(limit + 1)))


def add_message(uow: UnitOfWork, *, workspace_id: str, user_id: str, conversation_id: str, body: str) -> Message:
    """Add a message to a conversation; emits conversations.message.added."""
    if not body.strip():
        raise InvalidInput(
            "the message has invalid fields", errors=[FieldError("body", "must not be empty", "required")]
        )
    with uow:
        conversation = _get(uow, workspace_id, conversation_id)
        message = Message(
            id=new_id(), workspace_id=workspace_id, conversation_id=conversation.id, body=body, author_id=user_id
        )
        uow.session.add(message)
        # Incremented in SQL, not in Python: concurrent messages would otherwise overwrite each other's count.
        uow.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(message_count=Conversation.message_count + 1)
            .execution_options(synchronize_session=False)
        )
        uow.emit(
            MESSAGE_ADDED,
            conversations_pb2.ConversationMessageAdded(
                conversation_id=conversation.id,
                message_id=message.id,
                contact_id=conversation.contact_id,
                body=body,
                author_id=user_id,
            ),
            workspace_id=workspace_id,
        )
        uow.commit()
    return message


def list_messages(uow: UnitOfWork, *, workspace_id: str, conversation_id: str) -> list[Message]:
    """The conversation's messages, oldest first."""
    with uow:
        conversation = _get(uow, workspace_id, conversation_id)
        query = select(Message).where(Message.workspace_id == workspace_id, Message.conversation_id == conversation.id)
        return list(uow.session.scalars(query.order_by(Message.id)))
