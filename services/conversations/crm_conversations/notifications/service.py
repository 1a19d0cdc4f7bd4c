"""Unread notifications: scheduled in the transaction of the contact's message, mailed by the worker when due
unless the member read the conversation or is connected; and a workspace's notification settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_conversations.conversations.models import Conversation
from crm_conversations.messages.mailer import NotificationMailer
from crm_conversations.messages.models import Message
from crm_conversations.notifications import rules
from crm_conversations.notifications.models import NotificationSettings, PendingNotification
from crm_conversations.presence import service as presence
from crm_conversations.unread.models import ReadMarker
from crm_platform import context
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork, utcnow
from crm_platform.errors import FieldError, Forbidden, InvalidInput, NotFound, Unavailable, phrase
from crm_platform.ids import new_id

log = logging.getLogger(__name__)
SYSTEM = "system:conversations"
BATCH = 100  # notifications one pass of the worker handles


def schedule(
    uow: UnitOfWork, conversation: Conversation, message: Message, *, assignee_id: str | None, position: int
) -> None:
    """In the message's transaction: the member to tell of it (rules.recipient) gets a pending notification, or
    the one pending for this conversation takes the message as its latest (one mail per burst)."""
    member_id = rules.recipient(direction=message.direction, author_type=message.author_type, assignee_id=assignee_id)
    if member_id is None:
        return
    if uow.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(PendingNotification).values(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        member_id=member_id,
        id=new_id(),
        message_id=message.id,
        message_position=position,
        arrived_at=message.created_at,
        due_at=None,
    )
    uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                PendingNotification.workspace_id,
                PendingNotification.conversation_id,
                PendingNotification.member_id,
            ],
            set_={"message_id": statement.excluded.message_id, "message_position": statement.excluded.message_position},
            where=PendingNotification.message_position < statement.excluded.message_position,
        )
    )


def delay_of(session: Session, workspace_id: str, default_seconds: int) -> int:
    """The workspace's delay before a notification, in seconds."""
    chosen = session.get(NotificationSettings, workspace_id)
    return chosen.delay_seconds if chosen is not None else default_seconds


def plan(database: Database, *, default_delay_seconds: int, limit: int = 500) -> int:
    """Give the notifications not scheduled yet their due time, from their workspace's delay; how many."""
    with database.unit_of_work() as uow:
        rows = uow.session.execute(
            select(
                PendingNotification.workspace_id,
                PendingNotification.conversation_id,
                PendingNotification.member_id,
                PendingNotification.arrived_at,
            )
            .where(PendingNotification.due_at.is_(None))
            .limit(limit)
        ).all()
        delays: dict[str, int] = {}
        for workspace_id, conversation_id, member_id, arrived_at in rows:
            if workspace_id not in delays:
                delays[workspace_id] = delay_of(uow.session, workspace_id, default_delay_seconds)
            uow.session.execute(
                update(PendingNotification)
                .where(
                    PendingNotification.workspace_id == workspace_id,
                    PendingNotification.conversation_id == conversation_id,
                    PendingNotification.member_id == member_id,
                    PendingNotification.due_at.is_(None),
                )
                .values(due_at=rules.due_at(arrived_at, delays[workspace_id]))
            )
        uow.commit()
    return len(rows)


@dataclass(frozen=True)
class Outcome:
    sent: int = 0
    read: int = 0
    connected: int = 0
    gone: int = 0


def send_due(
    database: Database,
    mailer: NotificationMailer,
    *,
    now: datetime,
    heartbeat_seconds: float,
    link: str,
    default_delay_seconds: int,
    limit: int = BATCH,
) -> Outcome:
    """Mail the notifications due at ``now`` whose member neither read the conversation nor is connected; drop
    those (and those of conversations deleted or no longer theirs). One transaction per notification, the row
    locked (another worker skips it); the mailer's request id is the notification's, so a retry mails once."""
    plan(database, default_delay_seconds=default_delay_seconds)
    counts = {"sent": 0, "read": 0, "connected": 0, "gone": 0}
    with database.unit_of_work() as uow:
        keys = uow.session.execute(
            select(PendingNotification.workspace_id, PendingNotification.conversation_id, PendingNotification.member_id)
            .where(PendingNotification.due_at <= now)
            .order_by(PendingNotification.due_at)
            .limit(limit)
        ).all()
    for key in keys:
        try:
            outcome = _handle(database, mailer, tuple(key), now=now, heartbeat_seconds=heartbeat_seconds, link=link)
        except Unavailable as exc:
            log.warning("notification for %s not handed to the mailer yet: %s", key, exc)
            continue
        if outcome:
            counts[outcome] += 1
    return Outcome(**counts)


def _handle(
    database: Database,
    mailer: NotificationMailer,
    key: tuple[str, str, str],
    *,
    now: datetime,
    heartbeat_seconds: float,
    link: str,
) -> str | None:
    workspace_id, conversation_id, member_id = key
    with database.unit_of_work() as uow:
        session = uow.session
        query = select(PendingNotification).where(
            PendingNotification.workspace_id == workspace_id,
            PendingNotification.conversation_id == conversation_id,
            PendingNotification.member_id == member_id,
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        pending = session.scalars(query).first()
        if pending is None or pending.due_at is None:
            return None  # another worker has it, or it was sent meanwhile
        conversation = session.get(Conversation, conversation_id)
        marker = session.get(ReadMarker, (workspace_id, conversation_id, member_id))
        connected = member_id in presence.connected(
            session, workspace_id=workspace_id, member_ids=[member_id], now=now, heartbeat_seconds=heartbeat_seconds
        )
        decision = rules.notification_due(
            due=pending.due_at,
            now=now,
            read_count=marker.read_count if marker is not None else None,
            message_position=pending.message_position,
            connected=connected,
        )
        if decision is rules.Decision.WAIT:
            return None
        outcome = decision.value
        if conversation is None or conversation.deleted_at is not None or conversation.assignee_id != member_id:
            outcome = "gone"
        elif decision is rules.Decision.SEND:
            latest = session.get(Message, pending.message_id)
            contact = conversation.contact_name or conversation.contact_email or "A contact"
            read = marker.read_count if marker is not None else 0
            content = rules.mail(
                subject=conversation.subject,
                contact=contact,
                latest=rules.excerpt(latest.text if latest is not None and latest.text else ""),
                unread=max(pending.message_position - read, 1),
                link=rules.link_of(link, conversation_id),
            )
            caller = Caller(workspace_id=workspace_id, user_id=SYSTEM, role="system")
            try:
                with context.bound(request_id=pending.id, caller=caller):
                    mailer.notify(
                        request_id=pending.id, member_id=member_id, subject=content.subject, text=content.text_body
                    )
            except (InvalidInput, NotFound) as exc:  # e.g. not a member's id: no mail will ever go, drop it
                log.warning("notification %s for member %s dropped: %s", pending.id, member_id, exc)
                outcome = "gone"
        session.delete(pending)
        uow.commit()
    return outcome


# settings --------------------------------------------------------------------------------------------------
def get_settings(uow: UnitOfWork, *, caller: Caller, default_delay_seconds: int) -> int:
    """The caller's workspace's delay before a notification."""
    with uow:
        return delay_of(uow.session, caller.workspace_id, default_delay_seconds)


def set_settings(uow: UnitOfWork, *, caller: Caller, delay_seconds: int) -> int:
    """An admin sets the workspace's delay (new bursts use it)."""
    if not caller.is_admin:
        raise Forbidden(phrase("only an admin may change the workspace's notification settings"))
    if not 0 <= delay_seconds <= rules.MAX_DELAY_SECONDS:
        raise InvalidInput(
            phrase("the settings have invalid fields"),
            errors=[
                FieldError(
                    "delay_seconds", phrase("must be between 0 and {n}", n=rules.MAX_DELAY_SECONDS), "out_of_range"
                )
            ],
        )
    with uow:
        chosen = uow.session.get(NotificationSettings, caller.workspace_id)
        if chosen is None:
            uow.session.add(
                NotificationSettings(workspace_id=caller.workspace_id, delay_seconds=delay_seconds, updated_at=utcnow())
            )
        else:
            chosen.delay_seconds, chosen.updated_at = delay_seconds, utcnow()
        uow.commit()
    return delay_seconds
