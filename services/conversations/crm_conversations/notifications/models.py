"""A notification waiting to be mailed (one per member and conversation: a burst of messages coalesces into it),
and a workspace's own notification settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_conversations.models import Base
from crm_platform.db import UtcDateTime, utcnow


class PendingNotification(Base):
    __tablename__ = "unread_notifications"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # The mail's request id at the mailer (SendEmail is idempotent on it): a retry after a crash mails once.
    id: Mapped[str] = mapped_column(String(36))
    # The burst's latest message, and the conversation's message_count with it: a read marker at or after this
    # count means the member read it.
    message_id: Mapped[str] = mapped_column(String(36))
    message_position: Mapped[int] = mapped_column(Integer)
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)  # the burst's first message
    # Set by the worker from the workspace's delay (None: not scheduled yet); the message's own transaction
    # does not read settings.
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (Index("ix_unread_notifications_due_at", "due_at"),)


class NotificationSettings(Base):
    """A workspace's choice; without a row, CONVERSATIONS_UNREAD_NOTIFICATION_DELAY_SECONDS applies."""

    __tablename__ = "notification_settings"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    delay_seconds: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
