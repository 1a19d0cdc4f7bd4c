"""Use cases on conversations; each one is one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.events.v1 import conversations_pb2
from crm_conversations.conversations import rules
from crm_conversations.conversations.models import Assignment, Conversation
from crm_conversations.models import visibility
from crm_conversations.unread.models import ReadMarker
from crm_events.conversations import (
    CONVERSATION_ARCHIVED,
    CONVERSATION_ASSIGNED,
    CONVERSATION_DELETED,
    CONVERSATION_REOPENED,
    CONVERSATION_STARTED,
    CONVERSATION_UPDATED,
)
from crm_platform.clients.contacts import ContactCard, ContactDirectory, require_visible_contact
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import FieldError, InvalidInput, NotFound, phrase
from crm_platform.ids import new_id


def copy_contact(conversation: Conversation, card: ContactCard) -> None:
    """Keep the contact's name, address and number on the conversation, for the lists' search."""
    conversation.contact_name = card.name or None
    conversation.contact_name_key = rules.fold(card.name) if card.name else None
    conversation.contact_email = card.email.lower() if card.email else None
    conversation.contact_phone = card.phone or None


def check_assignee(contacts: ContactDirectory, assignee_id: str | None) -> None:
    """An assignee is a member of the caller's workspace (or nobody): another is a 422 on assignee_id."""
    if assignee_id and contacts.member(assignee_id) is None:
        raise InvalidInput(
            phrase("the conversation has invalid fields"),
            errors=[
                FieldError("assignee_id", phrase("no member {id} in this workspace", id=assignee_id), "unknown_member")
            ],
        )


def open_conversation(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    contact_id: str,
    subject: str,
    channel: str,
    started_by: str,
    card: ContactCard | None,
    assignee_id: str | None = None,
    now: datetime | None = None,
) -> Conversation:
    """Insert a conversation in ``uow``'s open transaction and emit conversations.conversation.started; a member
    or the contact's first message (inbound mail, a chat) starts one through here."""
    now = now or utcnow()
    conversation = Conversation(
        id=new_id(),
        workspace_id=workspace_id,
        contact_id=contact_id,
        subject=subject,
        channel=channel,
        status=rules.OPEN,
        assignee_id=assignee_id,
        started_by=started_by,
        message_count=0,
        version=1,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    if card is not None:
        copy_contact(conversation, card)
    uow.session.add(conversation)
    if assignee_id:
        uow.session.add(
            Assignment(
                id=new_id(),
                workspace_id=workspace_id,
                conversation_id=conversation.id,
                from_assignee_id=None,
                to_assignee_id=assignee_id,
                actor_id=started_by,
                assigned_at=now,
            )
        )
    uow.emit(
        CONVERSATION_STARTED,
        conversations_pb2.ConversationStarted(
            conversation_id=conversation.id,
            contact_id=contact_id,
            subject=subject,
            channel=channel,
            assignee_id=assignee_id or "",
            started_by=started_by,
        ),
        workspace_id=workspace_id,
    )
    return conversation


def start(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    *,
    caller: Caller,
    contact_id: str,
    subject: str,
    channel: str = rules.EMAIL,
    assignee_id: str | None = None,
) -> Conversation:
    """Start a conversation with a contact the caller may see; emits conversations.conversation.started."""
    subject = rules.clean_subject(subject)
    asked_at = utcnow()
    access = require_visible_contact(contacts, contact_id, what="conversation")
    card = contacts.get(contact_id)
    check_assignee(contacts, assignee_id)
    workspace_id = caller.workspace_id
    with uow:
        # What contacts just said is recorded with the conversation, so the caller sees it at once.
        visibility.record_owner(
            uow.session, workspace_id=workspace_id, contact_id=contact_id, owner_id=access.owner_id, as_of=asked_at
        )
        visibility.record_setting(
            uow.session, workspace_id=workspace_id, agents_see_all=access.agents_see_all, as_of=asked_at
        )
        conversation = open_conversation(
            uow,
            workspace_id=workspace_id,
            contact_id=contact_id,
            subject=subject,
            channel=channel,
            started_by=caller.user_id,
            card=card,
            assignee_id=assignee_id,
            now=asked_at,
        )
        uow.commit()
    return conversation


def find(session: Session, caller: Caller, conversation_id: str) -> Conversation:
    """The conversation, if the caller may see its contact and it is not deleted; otherwise not found, as for
    another workspace."""
    conversation = session.get(Conversation, conversation_id)
    not_found = f"conversation {conversation_id} not found"
    if conversation is None or conversation.workspace_id != caller.workspace_id or conversation.deleted_at is not None:
        raise NotFound(not_found)
    visibility.require(session, caller, conversation.contact_id, not_found=not_found)
    return conversation


def require_visible(session: Session, caller: Caller, conversation_id: str) -> None:
    """``find``'s check for a read that needs no more of the conversation: one indexed row, no ORM object."""
    contact_id = session.execute(
        select(Conversation.contact_id).where(
            Conversation.id == conversation_id,
            Conversation.workspace_id == caller.workspace_id,
            Conversation.deleted_at.is_(None),
        )
    ).scalar()
    not_found = f"conversation {conversation_id} not found"
    if contact_id is None:
        raise NotFound(not_found)
    visibility.require(session, caller, contact_id, not_found=not_found)


def get(uow: UnitOfWork, *, caller: Caller, conversation_id: str) -> tuple[Conversation, int]:
    """One conversation the caller may see, with how many of its messages the caller has not read."""
    with uow:
        conversation = find(uow.session, caller, conversation_id)
        read = uow.session.get(ReadMarker, (caller.workspace_id, conversation.id, caller.user_id))
        return conversation, max(conversation.message_count - (read.read_count if read else 0), 0)


def update(
    uow: UnitOfWork, *, caller: Caller, conversation_id: str, subject: str | None, if_match: str | None
) -> Conversation:
    """Change a conversation's subject; emits conversations.conversation.updated."""
    with uow:
        conversation = find(uow.session, caller, conversation_id)
        rules.check_version(conversation.version, if_match)
        if subject is not None:
            cleaned = rules.clean_subject(subject)
            if cleaned != conversation.subject:
                conversation.subject = cleaned
                _touch(conversation)
                uow.emit(
                    CONVERSATION_UPDATED,
                    conversations_pb2.ConversationUpdated(
                        conversation_id=conversation.id,
                        contact_id=conversation.contact_id,
                        subject=cleaned,
                        version=conversation.version,
                        actor_id=caller.user_id,
                    ),
                    workspace_id=caller.workspace_id,
                )
        uow.commit()
    return conversation


def assign(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    *,
    caller: Caller,
    conversation_id: str,
    assignee_id: str | None,
    if_match: str | None = None,
) -> Conversation:
    """Give a conversation to a member, or to nobody; recorded in its history, emits
    conversations.conversation.assigned."""
    check_assignee(contacts, assignee_id)
    with uow:
        conversation = find(uow.session, caller, conversation_id)
        rules.check_version(conversation.version, if_match)
        previous = conversation.assignee_id
        if previous != (assignee_id or None):
            now = utcnow()
            conversation.assignee_id = assignee_id or None
            _touch(conversation, now)
            uow.session.add(
                Assignment(
                    id=new_id(),
                    workspace_id=caller.workspace_id,
                    conversation_id=conversation.id,
                    from_assignee_id=previous,
                    to_assignee_id=assignee_id or None,
                    actor_id=caller.user_id,
                    assigned_at=now,
                )
            )
            uow.emit(
                CONVERSATION_ASSIGNED,
                conversations_pb2.ConversationAssigned(
                    conversation_id=conversation.id,
                    contact_id=conversation.contact_id,
                    from_assignee_id=previous or "",
                    to_assignee_id=assignee_id or "",
                    actor_id=caller.user_id,
                ),
                workspace_id=caller.workspace_id,
            )
        uow.commit()
    return conversation


def assignments(uow: UnitOfWork, *, caller: Caller, conversation_id: str) -> list[Assignment]:
    """Who a conversation was given to, oldest first."""
    with uow:
        conversation = find(uow.session, caller, conversation_id)
        return list(
            uow.session.scalars(
                select(Assignment)
                .where(Assignment.workspace_id == caller.workspace_id, Assignment.conversation_id == conversation.id)
                .order_by(Assignment.assigned_at, Assignment.id)
            )
        )


def move_status(uow: UnitOfWork, conversation: Conversation, move: rules.Move, *, actor_id: str, reason: str) -> bool:
    """Apply an archive or reopen to a conversation loaded in ``uow``: timestamps, version, the event. Every
    status change goes through here, whoever makes it. False when nothing changed."""
    if not move.changes:
        return False
    now = utcnow()
    conversation.status = move.to_status
    for column, value in rules.timestamps_after(move, now).items():
        setattr(conversation, column, value)
    _touch(conversation, now)
    uow.emit(
        CONVERSATION_ARCHIVED if move.to_status == rules.ARCHIVED else CONVERSATION_REOPENED,
        conversations_pb2.ConversationStatusChanged(
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            from_status=move.from_status,
            to_status=move.to_status,
            actor_id=actor_id,
            reason=reason,
            assignee_id=conversation.assignee_id or "",
        ),
        workspace_id=conversation.workspace_id,
    )
    return True


def set_status(
    uow: UnitOfWork, *, caller: Caller, conversation_id: str, status: str, if_match: str | None = None
) -> Conversation:
    """Archive or reopen a conversation the caller sees."""
    with uow:
        conversation = find(uow.session, caller, conversation_id)
        rules.check_version(conversation.version, if_match)
        move = rules.archive(conversation.status) if status == rules.ARCHIVED else rules.reopen(conversation.status)
        move_status(uow, conversation, move, actor_id=caller.user_id, reason=status)
        uow.commit()
    return conversation


def delete(uow: UnitOfWork, *, caller: Caller, conversation_id: str, if_match: str | None = None) -> None:
    """Delete a conversation (soft: who and when are kept); it vanishes from lists and answers 404."""
    with uow:
        conversation = find(uow.session, caller, conversation_id)
        rules.check_version(conversation.version, if_match)
        now = utcnow()
        conversation.deleted_at = now
        conversation.deleted_by = caller.user_id
        _touch(conversation, now)
        uow.emit(
            CONVERSATION_DELETED,
            conversations_pb2.ConversationDeleted(
                conversation_id=conversation.id, contact_id=conversation.contact_id, actor_id=caller.user_id
            ),
            workspace_id=caller.workspace_id,
        )
        uow.commit()


def _touch(conversation: Conversation, now: datetime | None = None) -> None:
    conversation.version += 1
    conversation.updated_at = now or utcnow()
