"""Conversations and the history of who they were assigned to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_conversations.conversations.rules import EMAIL, OPEN
from crm_conversations.models import Base
from crm_platform.db import UtcDateTime, utcnow


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36))
    # A copy of the contact's name, address and number for the list's search, fed at creation from contacts
    # and by its updated and merged events; ``contact_name_key`` is the name folded (lower case, no accents).
    contact_name: Mapped[str | None] = mapped_column(String(300), default=None)
    contact_name_key: Mapped[str | None] = mapped_column(String(300), default=None)
    contact_email: Mapped[str | None] = mapped_column(String(320), default=None)
    contact_phone: Mapped[str | None] = mapped_column(String(40), default=None)
    subject: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(20), default=EMAIL)
    # active_history: the views' counters (conversations.counts) need the value a change replaces, even on an
    # expired object (messages' Core UPDATE expires it).
    status: Mapped[str] = mapped_column(String(20), default=OPEN, active_history=True)
    assignee_id: Mapped[str | None] = mapped_column(String(100), default=None, active_history=True)  # None: nobody
    started_by: Mapped[str | None] = mapped_column(String(100), default=None)  # a member, or "contact"
    message_count: Mapped[int] = mapped_column(Integer, default=0)  # every message and note; unread compares it
    version: Mapped[int] = mapped_column(Integer, default=1)  # the ETag; every change of its own fields bumps it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=utcnow)
    # The lists' order: the last message's time, the creation's before any.
    last_activity_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=utcnow)
    last_message_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # soft: gone from lists (and counts), 404
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None, active_history=True)
    deleted_by: Mapped[str | None] = mapped_column(String(100), default=None)

    __table_args__ = (
        Index("ix_conversations_workspace_id_id", "workspace_id", "id"),
        Index("ix_conversations_workspace_id_contact_id", "workspace_id", "contact_id"),
        Index("ix_conversations_workspace_id_status_activity", "workspace_id", "status", "last_activity_at", "id"),
        Index(
            "ix_conversations_workspace_id_assignee_status_activity",
            "workspace_id",
            "assignee_id",
            "status",
            "last_activity_at",
            "id",
        ),
        Index("ix_conversations_workspace_id_contact_name_key", "workspace_id", "contact_name_key"),
        Index("ix_conversations_workspace_id_contact_email", "workspace_id", "contact_email"),
        Index("ix_conversations_workspace_id_contact_phone", "workspace_id", "contact_phone"),
        # the search's patterns no b-tree serves (a word's prefix anywhere in the name, the phone's last
        # digits); PostgreSQL with pg_trgm only, see its migration
        Index(
            "ix_conversations_contact_name_key_trgm",
            "contact_name_key",
            postgresql_using="gin",
            postgresql_ops={"contact_name_key": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_conversations_contact_phone_trgm",
            "contact_phone",
            postgresql_using="gin",
            postgresql_ops={"contact_phone": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )


class Assignment(Base):
    """One change of a conversation's assignee: from whom, to whom, by whom, when."""

    __tablename__ = "conversation_assignments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    conversation_id: Mapped[str] = mapped_column(String(36))
    from_assignee_id: Mapped[str | None] = mapped_column(String(100))
    to_assignee_id: Mapped[str | None] = mapped_column(String(100))
    actor_id: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_conversation_assignments_workspace_id_conversation_id", "workspace_id", "conversation_id"),
    )


class ViewCount(Base):
    """The views' counts: how many live conversations a workspace has per status and assignee, and how many of
    them have no message yet (never unread); kept by ``conversations.counts`` in the transactions that change
    them."""

    __tablename__ = "conversation_view_counts"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    assignee_id: Mapped[str] = mapped_column(String(100), primary_key=True)  # "": unassigned
    conversations: Mapped[int] = mapped_column(BigInteger, default=0)
    empty: Mapped[int] = mapped_column(BigInteger, default=0)
