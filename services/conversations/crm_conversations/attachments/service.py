"""Use cases of members' attachments: upload to a conversation, claim by a message, read by reference."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from crm.platform.v1 import attachments_pb2
from crm_conversations.attachments import rules
from crm_conversations.conversations import service as conversations
from crm_conversations.messages.models import Message
from crm_conversations.models import attachment_tables
from crm_platform.attachments import http as attachments_http
from crm_platform.attachments.rules import Limits, refuse_executable
from crm_platform.attachments.store import AttachmentStore, StoredAttachment
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork
from crm_platform.errors import FieldError, InvalidInput, NotFound, phrase
from crm_platform.limits import BodyLimit
from crm_platform.service import Runtime


def store_of(rt: Runtime) -> AttachmentStore:
    """The conversations' file store (in its database), with the members' upload limit."""
    limit = BodyLimit(rules.ATTACHMENT_SETTING, rules.ATTACHMENT_DEFAULT_BYTES).content_bytes(rt.settings)
    return AttachmentStore(
        attachment_tables, rt.database, service="conversations", limits=Limits(max_bytes=limit), directory=None
    )


def _reader(database: Database) -> AttachmentStore:
    """The store for reading only (limits apply to writing)."""
    return AttachmentStore(attachment_tables, database, service="conversations", limits=Limits(1), directory=None)


def upload(uow: UnitOfWork, store: AttachmentStore, *, caller: Caller, conversation_id: str) -> StoredAttachment:
    """The request's file, streamed into the store as the caller's draft on a conversation they may see; an
    executable is refused by its content, whatever its name says."""
    with uow:
        conversation = conversations.find(uow.session, caller, conversation_id)
        stored = attachments_http.upload(
            store,
            uow.session,
            workspace_id=caller.workspace_id,
            owner_id=rules.draft_owner(conversation.id, caller.user_id),
            check_head=refuse_executable,
        )
        uow.commit()
    return stored


def claim(
    session: Session, database: Database, *, caller: Caller, conversation_id: str, message_id: str, ids: list[str]
) -> list[StoredAttachment]:
    """In the message's transaction: the caller's drafts of this conversation named by ``ids`` become the
    message's files. Any id that is not such a draft refuses the message (422, field ``attachment_ids``)."""
    if not ids:
        return []
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > rules.MAX_PER_MESSAGE:
        raise _invalid(phrase("at most {n} attachments", n=rules.MAX_PER_MESSAGE), "too_many")
    files = attachment_tables.files.c
    draft = rules.draft_owner(conversation_id, caller.user_id)
    claimed = session.execute(
        update(attachment_tables.files)
        .where(files.workspace_id == caller.workspace_id, files.id.in_(wanted), files.owner_id == draft)
        .values(owner_id=message_id)
        .returning(files.id)
    ).scalars()
    if set(claimed) != set(wanted):
        raise _invalid(phrase("must name files you uploaded to this conversation"), "unknown")
    return files_of(session, database, workspace_id=caller.workspace_id, message_id=message_id)


def _invalid(message: object, code: str) -> InvalidInput:
    return InvalidInput(phrase("the message has invalid fields"), errors=[FieldError("attachment_ids", message, code)])


def files_of(session: Session, database: Database, *, workspace_id: str, message_id: str) -> list[StoredAttachment]:
    """A message's files, oldest first."""
    return _reader(database).of_owner(session, workspace_id=workspace_id, owner_id=message_id)


def files_by_message(
    session: Session, database: Database, *, workspace_id: str, message_ids: list[str]
) -> dict[str, list[StoredAttachment]]:
    """The files of a page of messages, by message id, in one query."""
    return _reader(database).of_owners(session, workspace_id=workspace_id, owner_ids=message_ids)


def refs(files: list[StoredAttachment]) -> tuple[attachments_pb2.AttachmentRef, ...]:
    """What the mailer is handed instead of the bytes."""
    return tuple(stored.ref() for stored in files)


def require_readable(session: Session, caller: Caller, stored: StoredAttachment) -> None:
    """Attachments.Read: a file of a message (not a draft), of a conversation the caller may see (a service
    acting for the workspace, such as the mailer building the mail, sees the workspace's)."""
    owner = None if rules.is_draft(stored.owner_id) else session.get(Message, stored.owner_id or "")
    if owner is None or owner.workspace_id != caller.workspace_id:
        raise NotFound(f"attachment {stored.id} not found")
    conversations.find(session, caller, owner.conversation_id)
