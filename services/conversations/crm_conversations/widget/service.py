"""Use cases of the web chat: admins manage website inboxes; visitors start a chat, write, read and send files.

The visitor's messages go through the conversations' own message service (``messages.service.receive``), so
they count, reopen, and emit conversations.message.added like any contact's message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_conversations.conversations import rules as conversation_rules
from crm_conversations.conversations import service as conversations
from crm_conversations.conversations.models import Conversation
from crm_conversations.messages import rules as message_rules
from crm_conversations.messages import service as messages
from crm_conversations.messages.models import Message
from crm_conversations.models import attachment_tables, visibility
from crm_conversations.widget import rules, tokens
from crm_conversations.widget.models import Chat, Inbox
from crm_platform import context
from crm_platform.attachments.rules import Limits, executable_kind
from crm_platform.attachments.store import AttachmentStore, StoredAttachment
from crm_platform.clients.contacts import ContactDirectory
from crm_platform.context import Caller, require_admin
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import FieldError, Forbidden, InvalidInput, NotFound, phrase
from crm_platform.ids import is_uuid, new_id
from crm_platform.limits import BodyLimit
from crm_platform.service import Runtime

MANAGE = "manage website inboxes"
ATTACHMENT_SETTING = "CONVERSATIONS_WIDGET_ATTACHMENT_MAX_BYTES"
ATTACHMENT_DEFAULT_BYTES = 10 * 1024 * 1024
WIDGET_ACTOR = "system:widget"


def store_of(rt: Runtime) -> AttachmentStore:
    """The conversations' file store (in its database), with the widget's upload limit."""
    limits = Limits(max_bytes=BodyLimit(ATTACHMENT_SETTING, ATTACHMENT_DEFAULT_BYTES).content_bytes(rt.settings))
    return AttachmentStore(attachment_tables, rt.database, service="conversations", limits=limits, directory=None)


# inboxes (admins write, members read) --------------------------------------------------------------
@dataclass(frozen=True)
class InboxFields:
    name: str | None = None
    allowed_origins: list[str] | None = None
    primary_colour: str | None = None
    text_colour: str | None = None
    welcome_text: str | None = None
    offline_message: str | None = None
    prechat_form: bool | None = None
    strict: bool | None = None


def _apply(inbox: Inbox, fields: InboxFields) -> None:
    if fields.name is not None:
        inbox.name = rules.clean_name(fields.name)
    if fields.allowed_origins is not None:
        inbox.allowed_origins = rules.clean_origins(fields.allowed_origins)
    if fields.primary_colour is not None:
        inbox.primary_colour = rules.clean_colour("primary_colour", fields.primary_colour)
    if fields.text_colour is not None:
        inbox.text_colour = rules.clean_colour("text_colour", fields.text_colour)
    if fields.welcome_text is not None:
        inbox.welcome_text = fields.welcome_text.strip()
    if fields.offline_message is not None:
        inbox.offline_message = fields.offline_message.strip()
    if fields.prechat_form is not None:
        inbox.prechat_form = fields.prechat_form
    if fields.strict is not None:
        inbox.strict = fields.strict


def create_inbox(uow: UnitOfWork, *, caller: Caller, fields: InboxFields) -> Inbox:
    """A new website inbox (admins), with a fresh identity secret the answer shows once."""
    require_admin(caller, MANAGE)
    now = utcnow()
    inbox = Inbox(
        id=new_id(),
        workspace_id=caller.workspace_id,
        name="",
        allowed_origins=[],
        primary_colour="#1f6feb",
        text_colour="#ffffff",
        welcome_text="",
        offline_message="",
        prechat_form=False,
        strict=False,
        secret=rules.new_secret(),
        version=1,
        created_at=now,
        updated_at=now,
    )
    _apply(inbox, fields)
    with uow:
        uow.session.add(inbox)
        uow.commit()
    return inbox


def get_inbox(uow: UnitOfWork, *, caller: Caller, inbox_id: str) -> Inbox:
    with uow:
        return get_in_workspace(uow.session, Inbox, inbox_id, workspace_id=caller.workspace_id, what="inbox")


def list_inboxes(uow: UnitOfWork, *, caller: Caller, limit: int, after_id: str | None) -> list[Inbox]:
    query = select(Inbox).where(Inbox.workspace_id == caller.workspace_id)
    if after_id:
        query = query.where(Inbox.id > after_id)
    with uow:
        return list(uow.session.scalars(query.order_by(Inbox.id).limit(limit + 1)))


def update_inbox(
    uow: UnitOfWork, *, caller: Caller, inbox_id: str, fields: InboxFields, rotate_secret: bool, if_match: str | None
) -> Inbox:
    """Change an inbox (admins); ``rotate_secret`` replaces the identity secret (the old one stops verifying)."""
    require_admin(caller, MANAGE)
    with uow:
        inbox = get_in_workspace(uow.session, Inbox, inbox_id, workspace_id=caller.workspace_id, what="inbox")
        conversation_rules.check_version(inbox.version, if_match, what="inbox")
        _apply(inbox, fields)
        if rotate_secret:
            inbox.secret = rules.new_secret()
        inbox.version += 1
        inbox.updated_at = utcnow()
        uow.commit()
    return inbox


def delete_inbox(uow: UnitOfWork, *, caller: Caller, inbox_id: str) -> None:
    """Delete an inbox (admins): its widget stops answering; its conversations stay."""
    require_admin(caller, MANAGE)
    with uow:
        inbox = get_in_workspace(uow.session, Inbox, inbox_id, workspace_id=caller.workspace_id, what="inbox")
        uow.session.delete(inbox)
        uow.commit()


# visitors ---------------------------------------------------------------------------------------
def public_inbox(session: Session, inbox_id: str) -> Inbox:
    """The inbox a widget names (its id is all the widget knows); NotFound for an unknown one."""
    inbox = session.get(Inbox, inbox_id) if is_uuid(inbox_id) else None
    if inbox is None:
        raise NotFound(f"inbox {inbox_id} not found")
    return inbox


def acting_for(workspace_id: str) -> Any:
    """Bind the widget as the caller of its workspace's gRPC calls (a visitor is no member)."""
    return context.bound(caller=Caller(workspace_id=workspace_id, user_id=WIDGET_ACTOR, role="system"))


@dataclass(frozen=True)
class Started:
    chat: Chat
    conversation: Conversation
    token: str
    expires_at: datetime


def start_chat(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    key: tokens.TokenKey,
    *,
    inbox: Inbox,
    visitor: rules.Visitor,
    ttl: timedelta,
) -> Started:
    """Let a visitor in (identity, strict mode, pre-chat form), tie the chat to a contact when there is an email
    (FindOrCreateContactByEmail; a blocked contact is refused) and open its web-chat conversation."""
    admission = rules.admit(visitor, secret=inbox.secret, strict=inbox.strict, prechat_form=inbox.prechat_form)
    visitor_id = new_id()
    card = None
    if admission.email:
        with acting_for(inbox.workspace_id):
            card, _created = contacts.find_or_create_by_email(admission.email, name=admission.name)
        if card.blocked:
            raise _blocked()
    now = utcnow()
    with uow:
        if card is not None:
            visibility.record_owner(
                uow.session, workspace_id=inbox.workspace_id, contact_id=card.id, owner_id=card.owner_id, as_of=now
            )
        who = card.name if card is not None else (admission.name or "Visitor")
        conversation = conversations.open_conversation(
            uow,
            workspace_id=inbox.workspace_id,
            # An anonymous visitor is no contact yet: the conversation names the visitor until someone links it.
            contact_id=card.id if card is not None else visitor_id,
            subject=conversation_rules.clean_subject(f"{inbox.name}: {who}"),
            channel=conversation_rules.WEB_CHAT,
            started_by=conversation_rules.CONTACT_ACTOR,
            card=card,
            now=now,
        )
        if card is None and admission.name:  # the name the visitor gave, for the lists' search
            conversation.contact_name = admission.name
            conversation.contact_name_key = conversation_rules.fold(admission.name)
        chat = Chat(
            conversation_id=conversation.id,
            workspace_id=inbox.workspace_id,
            inbox_id=inbox.id,
            visitor_id=visitor_id,
            contact_id=card.id if card is not None else None,
            verified=admission.verified,
            created_at=now,
        )
        uow.session.add(chat)
        uow.commit()
    token = tokens.mint_visitor_token(
        key,
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        conversation_id=conversation.id,
        visitor_id=visitor_id,
        contact_id=chat.contact_id,
        ttl=ttl,
        now=now,
    )
    return Started(chat=chat, conversation=conversation, token=token, expires_at=now + ttl)


def renew(key: tokens.TokenKey, claims: tokens.VisitorSession, *, ttl: timedelta) -> tuple[str, datetime]:
    """A fresh token for the same chat (the widget renews while the visitor is there)."""
    now = utcnow()
    token = tokens.mint_visitor_token(
        key,
        workspace_id=claims.workspace_id,
        inbox_id=claims.inbox_id,
        conversation_id=claims.conversation_id,
        visitor_id=claims.visitor_id,
        contact_id=claims.contact_id,
        ttl=ttl,
        now=now,
    )
    return token, now + ttl


def chat_of(session: Session, inbox: Inbox, claims: tokens.VisitorSession) -> tuple[Chat, Conversation]:
    """The chat a token names, on this inbox; a token of another inbox or workspace finds nothing (404)."""
    chat = session.get(Chat, claims.conversation_id)
    if (
        chat is None
        or claims.inbox_id != inbox.id
        or chat.inbox_id != inbox.id
        or chat.workspace_id != claims.workspace_id
        or chat.visitor_id != claims.visitor_id
    ):
        raise NotFound("chat not found")
    conversation = session.get(Conversation, chat.conversation_id)
    if conversation is None or conversation.deleted_at is not None:
        raise NotFound("chat not found")
    return chat, conversation


def _require_not_blocked(contacts: ContactDirectory, chat: Chat) -> None:
    """A contact blocked since the chat began is not heard (contacts' card says so now)."""
    if chat.contact_id is None:
        return
    with acting_for(chat.workspace_id):
        try:
            card = contacts.get(chat.contact_id)
        except NotFound:
            raise _blocked() from None
    if card.blocked:
        raise _blocked()


def _blocked() -> Forbidden:
    return Forbidden(
        phrase("this visitor may not chat here"),
        errors=[FieldError("visitor", phrase("this chat is not available"), "blocked")],
    )


def send(
    uow: UnitOfWork, contacts: ContactDirectory, *, inbox: Inbox, claims: tokens.VisitorSession, text: str
) -> Message:
    """The visitor's message, received on the chat's conversation (inbound, web_chat)."""
    if not text.strip():
        raise InvalidInput(
            phrase("the message has invalid fields"),
            errors=[FieldError("body", phrase("must not be empty"), "required")],
        )
    with uow:
        chat, _ = chat_of(uow.session, inbox, claims)
    _require_not_blocked(contacts, chat)
    with uow:
        chat, conversation = chat_of(uow.session, inbox, claims)
        message = _receive(uow, chat, conversation, text)
        uow.commit()
    return message


def _receive(uow: UnitOfWork, chat: Chat, conversation: Conversation, text: str) -> Message:
    found = messages.receive(
        uow,
        conversation,
        author_id=chat.contact_id or chat.visitor_id,
        text=text,
        channel=conversation_rules.WEB_CHAT,
        author_type=message_rules.CONTACT if chat.contact_id else message_rules.VISITOR,
    )
    assert found is not None  # only inbound mail can be received twice
    return found


def upload(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    store: AttachmentStore,
    *,
    inbox: Inbox,
    claims: tokens.VisitorSession,
    data: bytes,
    filename: str | None,
    content_type: str | None,
) -> tuple[Message, StoredAttachment]:
    """A file the visitor sends: a message naming it, the file kept under that message. Executables are refused
    by their content, whatever their name says."""
    kind = executable_kind(data[:64])
    if kind is not None:
        raise InvalidInput(
            phrase("executable files are not accepted"),
            errors=[
                FieldError("file", phrase("the content is {kind}; executables are refused", kind=kind), "executable")
            ],
        )
    with uow:
        chat, _ = chat_of(uow.session, inbox, claims)
    _require_not_blocked(contacts, chat)
    with uow:
        chat, conversation = chat_of(uow.session, inbox, claims)
        message = _receive(uow, chat, conversation, f"\N{PAPERCLIP} {filename or 'attachment'}")
        uow.session.flush()
        stored = store.put(
            uow.session,
            data,
            workspace_id=chat.workspace_id,
            filename=filename,
            content_type=content_type,
            declared_size=len(data),
            owner_id=message.id,
        )
        uow.commit()
    return message, stored


@dataclass(frozen=True)
class Shown:
    """A message as the visitor sees it: who wrote it (a member's name) and its files."""

    message: Message
    author_name: str | None
    files: list[StoredAttachment]


def history(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    store: AttachmentStore,
    *,
    inbox: Inbox,
    claims: tokens.VisitorSession,
    after_id: str | None,
    limit: int,
) -> list[Shown]:
    """The chat's messages after ``after_id``, oldest first, without the members' private notes."""
    with uow:
        chat, conversation = chat_of(uow.session, inbox, claims)
        query = select(Message).where(
            Message.workspace_id == chat.workspace_id,
            Message.conversation_id == conversation.id,
            Message.direction != message_rules.NOTE,
        )
        if after_id:
            query = query.where(Message.id > after_id)
        rows = list(uow.session.scalars(query.order_by(Message.id).limit(limit)))
        files = {row.id: store.of_owner(uow.session, workspace_id=chat.workspace_id, owner_id=row.id) for row in rows}
    names: dict[str, str | None] = {}
    with acting_for(chat.workspace_id):
        for row in rows:
            if row.author_type == message_rules.MEMBER and row.author_id not in names:
                member = contacts.member(row.author_id)
                names[row.author_id] = member.name if member else None
    return [Shown(row, names.get(row.author_id), files[row.id]) for row in rows]


def visitor_file(
    uow: UnitOfWork, store: AttachmentStore, *, inbox: Inbox, claims: tokens.VisitorSession, attachment_id: str
) -> StoredAttachment:
    """A file of the visitor's own chat; any other is not found."""
    with uow:
        _chat, conversation = chat_of(uow.session, inbox, claims)
        return _file_of(uow.session, store, conversation, attachment_id)


def member_file(
    uow: UnitOfWork, store: AttachmentStore, *, caller: Caller, conversation_id: str, attachment_id: str
) -> StoredAttachment:
    """A file of a conversation the member may see."""
    with uow:
        conversation = conversations.find(uow.session, caller, conversation_id)
        return _file_of(uow.session, store, conversation, attachment_id)


def _file_of(
    session: Session, store: AttachmentStore, conversation: Conversation, attachment_id: str
) -> StoredAttachment:
    stored = store.get(session, workspace_id=conversation.workspace_id, attachment_id=attachment_id)
    owner = session.get(Message, stored.owner_id) if stored.owner_id else None
    if owner is None or owner.conversation_id != conversation.id:
        raise NotFound(f"attachment {attachment_id} not found")
    return stored
