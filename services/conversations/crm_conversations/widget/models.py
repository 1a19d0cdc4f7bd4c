"""Website inboxes (one per site that embeds the chat widget) and the visitors' chats started through them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_conversations.models import Base
from crm_platform.db import UtcDateTime, utcnow


class Inbox(Base):
    __tablename__ = "widget_inboxes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)  # normalised scheme://host[:port]
    primary_colour: Mapped[str] = mapped_column(String(7), default="#1f6feb")
    text_colour: Mapped[str] = mapped_column(String(7), default="#ffffff")
    welcome_text: Mapped[str] = mapped_column(Text, default="")
    offline_message: Mapped[str] = mapped_column(Text, default="")
    prechat_form: Mapped[bool] = mapped_column(Boolean, default=False)  # ask an anonymous visitor name and email
    strict: Mapped[bool] = mapped_column(Boolean, default=False)  # only visitors the site vouches for (HMAC)
    # The identity secret the site signs its users' ids with; shown once (at creation and rotation).
    secret: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_widget_inboxes_workspace_id_id", "workspace_id", "id"),)


class Chat(Base):
    """One visitor's chat through an inbox: which conversation it is and who the visitor is."""

    __tablename__ = "widget_chats"

    conversation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    inbox_id: Mapped[str] = mapped_column(String(36))
    visitor_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(36), default=None)  # a known contact (email or identity)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)  # the site vouched for the identity
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_widget_chats_workspace_id_inbox_id", "workspace_id", "inbox_id"),)
