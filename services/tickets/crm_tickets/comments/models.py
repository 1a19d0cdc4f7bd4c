"""A ticket's comments: public ones are mailed to the contact, private notes stay inside the team, and the
contact's replies by mail land here as customer comments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from crm_platform.db import UtcDateTime, utcnow
from crm_tickets.comments.rules import MEMBER
from crm_tickets.models import Base


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    ticket_id: Mapped[str] = mapped_column(String(36), ForeignKey("tickets.id"))
    body: Mapped[str] = mapped_column(Text)  # the plain text (of the HTML, when there is HTML)
    public: Mapped[bool] = mapped_column(Boolean)
    author_id: Mapped[str] = mapped_column(String(100))  # a member's id, or the contact's for a customer comment
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # member (an agent wrote it here) or customer (the contact's mail, routed here by the mailer).
    author_kind: Mapped[str] = mapped_column(String(20), default=MEMBER, server_default=MEMBER)
    body_html: Mapped[str | None] = mapped_column(Text, default=None)  # sanitised (crm_platform.html)
    with_signature: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A public comment's mail: the event that asked for it (the mailer's source_event_id), its Message-ID once
    # sent, and where it stands: queued, sent, bounced or suppressed (with the mailer's words in delivery_detail).
    mail_event_id: Mapped[str | None] = mapped_column(String(36), default=None)
    rfc822_message_id: Mapped[str | None] = mapped_column(String(300), default=None)
    delivery_status: Mapped[str | None] = mapped_column(String(20), default=None)
    delivery_detail: Mapped[str | None] = mapped_column(String(500), default=None)
    # A customer comment: who sent it, the mailer's stored original (raw_url downloads it), the
    # mailer.inbound.received event it came from (one comment per event), and a notice when the sender is not
    # the ticket's contact.
    sender: Mapped[str | None] = mapped_column(String(320), default=None)
    sender_name: Mapped[str | None] = mapped_column(String(200), default=None)
    inbound_id: Mapped[str | None] = mapped_column(String(36), default=None)
    raw_url: Mapped[str | None] = mapped_column(String(500), default=None)
    source_event_id: Mapped[str | None] = mapped_column(String(36), default=None, unique=True)
    notice: Mapped[str | None] = mapped_column(String(500), default=None)

    __table_args__ = (
        Index("ix_comments_workspace_id_ticket_id_id", "workspace_id", "ticket_id", "id"),
        Index("ix_comments_mail_event_id", "mail_event_id"),
        Index("ix_comments_workspace_id_rfc822_message_id", "workspace_id", "rfc822_message_id"),
    )
