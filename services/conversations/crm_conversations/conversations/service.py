"""Use cases on conversations; each one is one transaction."""

from __future__ import annotations

from sqlalchemy import select, update

from crm.events.v1 import conversations_pb2
from crm_conversations.conversations import rules
from crm_conversations.conversations.models import Conversation, Message
from crm_conversations.models import visibility
from crm_events.conversations import CONVERSATION_STARTED, MESSAGE_ADDED
from crm_platform.clients.contacts import ContactDirectory, require_visible_contact
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.ids import new_id


def start(
    uow: UnitOfWork, contacts: ContactDirectory, *, caller: Caller, contact_id: str, subject: str
) -> Conversation:
    """Start a conversation with a contact the caller may see; emits conversations.conversation.started."""
    subject = rules.clean_subject(subject)
    asked_at = utcnow()
    access = require_visible_contact(contacts, contact_id, what="conversation")
    workspace_id = caller.workspace_id
    with uow:
        # What contacts just said is recorded with the conversation, so the caller sees it at once.
        visibility.record_owner(
            uow.session, workspace_id=workspace_id, contact_id=contact_id, owner_id=access.owner_id, as_of=asked_at
        )
        visibility.record_setting(
            uow.session, workspace_id=workspace_id, agents_see_all=access.agents_see_all, as_of=asked_at
        )
        conversation = Conversation(id=new_id(), workspace_id=workspace_id, contact_id=contact_id, subject=subject)
        uow.session.add(conversation)
        uow.emit(
            CONVERSATION_STARTED,
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


def _get(uow: UnitOfWork, caller: Caller, conversation_id: str) -> Conversation:
    """The conversation, if the caller may see its contact; otherwise not found, as for another workspace."""
    conversation = get_in_workspace(
        uow.session, Conversation, conversation_id, workspace_id=caller.workspace_id, what="conversation"
    )
    visibility.require(
        uow.session, caller, conversation.contact_id, not_found=f"conversation {conversation_id} not found"
    )
    return conversation


def get(uow: UnitOfWork, *, caller: Caller, conversation_id: str) -> Conversation:
    """One conversation the caller may see."""
    with uow:
        return _get(uow, caller, conversation_id)


def list_page(
    uow: UnitOfWork, *, caller: Caller, limit: int, after_id: str | None, contact_id: str | None
) -> list[Conversation]:
    """A page of the conversations the caller may see, newest first; one row more than ``limit`` says a next
    page exists."""
    query = select(Conversation).where(Conversation.workspace_id == caller.workspace_id)
    if contact_id:
        query = query.where(Conversation.contact_id == contact_id)
    if after_id:
        query = query.where(Conversation.id < after_id)
    with uow:
        query = visibility.restrict(query, uow.session, caller, Conversation.contact_id)
        return list(uow.session.scalars(query.order_by(Conversation.id.desc()).limit(limit + 1)))


def add_message(uow: UnitOfWork, *, caller: Caller, conversation_id: str, body: str) -> Message:
    """Add a message to a conversation; emits conversations.message.added."""
    rules.check_message_body(body)
    workspace_id, user_id = caller.workspace_id, caller.user_id
    with uow:
        conversation = _get(uow, caller, conversation_id)
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


def list_messages(
    uow: UnitOfWork, *, caller: Caller, conversation_id: str, limit: int, after_id: str | None
) -> list[Message]:
    """A page of the messages of a conversation the caller may see, oldest first; one row more than ``limit``
    says a next page exists."""
    with uow:
        conversation = _get(uow, caller, conversation_id)
        query = select(Message).where(
            Message.workspace_id == caller.workspace_id, Message.conversation_id == conversation.id
        )
        if after_id:
            query = query.where(Message.id > after_id)
        return list(uow.session.scalars(query.order_by(Message.id).limit(limit + 1)))
