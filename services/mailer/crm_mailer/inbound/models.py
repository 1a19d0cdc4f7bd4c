"""Received mail: each original as it arrived, with what the pipeline made of it and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_mailer.models import Base
from crm_platform.db import UtcDateTime, utcnow

# A received message's life: stored (acknowledged, not yet processed), then one of the others for good.
STORED, ROUTED, RECORDED, QUARANTINED, DROPPED, FAILED = (
    "stored",
    "routed",
    "recorded",
    "quarantined",
    "dropped",
    "failed",
)
STATUSES = (STORED, ROUTED, RECORDED, QUARANTINED, DROPPED, FAILED)


class InboundMessageRow(Base):
    """One received message. ``raw`` is the original byte for byte; the rest is the pipeline's findings:
    ``kind`` and ``kind_why`` (rules.classify), the routing (``route_*``), ``quarantine`` or ``dropped_why``,
    and ``auth`` (SPF/DKIM/DMARC: the results that count, ours and the trusted relay's, with what they are about;
    ``spf``, ``dkim``, ``dmarc`` and ``dmarc_policy`` repeat the ones that count, to filter on)."""

    __tablename__ = "inbound_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # None until the recipient names a workspace (a bounce to our bounce address may name none we know).
    workspace_id: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    channel: Mapped[str] = mapped_column(String(10))  # smtp or http
    # The envelope sender: "" for a null one (bounces), None when unknown (a message posted over HTTP).
    mail_from: Mapped[str | None] = mapped_column(String(320))
    rcpt_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    client_ip: Mapped[str | None] = mapped_column(String(45))  # the SMTP client's address, for SPF
    helo: Mapped[str | None] = mapped_column(String(255))  # its HELO/EHLO name
    size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default=STORED)
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(1000))
    subject_key: Mapped[str | None] = mapped_column(String(1000))
    rfc822_message_id: Mapped[str | None] = mapped_column(String(1000))
    kind: Mapped[str | None] = mapped_column(String(20))
    kind_why: Mapped[str | None] = mapped_column(Text)
    route_target: Mapped[str | None] = mapped_column(String(20))  # ticket, conversation, new_conversation
    route_thread_id: Mapped[str | None] = mapped_column(String(36))
    route_rule: Mapped[str | None] = mapped_column(String(20))
    route_why: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[str | None] = mapped_column(String(36))
    quarantine: Mapped[str | None] = mapped_column(String(40))
    quarantine_why: Mapped[str | None] = mapped_column(Text)
    dropped_why: Mapped[str | None] = mapped_column(Text)
    defects: Mapped[list[str]] = mapped_column(JSON, default=list)
    auth: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    spf: Mapped[str | None] = mapped_column(String(20))  # pass, fail, softfail, neutral, none, temperror, ...
    dkim: Mapped[str | None] = mapped_column(String(20))
    dmarc: Mapped[str | None] = mapped_column(String(20))
    dmarc_policy: Mapped[str | None] = mapped_column(String(20))  # none, quarantine, reject
    error: Mapped[str | None] = mapped_column(Text)  # a processing failure (the message stays stored)

    __table_args__ = (
        Index("ix_inbound_messages_workspace_id_id", "workspace_id", "id"),
        Index("ix_inbound_messages_workspace_id_rfc822_message_id", "workspace_id", "rfc822_message_id"),
        Index("ix_inbound_messages_workspace_id_sender_subject_key", "workspace_id", "sender", "subject_key"),
        Index("ix_inbound_messages_status_received_at", "status", "received_at"),
    )


class SoftBounceRow(Base):
    """Soft bounces of an address in a row: reset by a hard outcome; the limit-th turns the address off."""

    __tablename__ = "inbound_soft_bounces"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    in_a_row: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
