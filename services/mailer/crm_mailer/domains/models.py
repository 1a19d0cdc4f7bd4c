"""Sender domains a workspace sends its mail from, and their DKIM keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_mailer.domains.rules import PENDING
from crm_mailer.models import Base
from crm_platform.db import UtcDateTime, utcnow

# A key's life: waiting for its DNS record, signing, replaced by a newer key (its record may then be removed).
KEY_PENDING, KEY_ACTIVE, KEY_RETIRED = "pending", "active", "retired"


class SenderDomain(Base):
    __tablename__ = "sender_domains"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(253))  # lower-case, ASCII (IDNA) form
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # first time every record was right
    last_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_check_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # What the last check could not find out (the DNS server did not answer), else None.
    check_error: Mapped[str | None] = mapped_column(Text)
    # The last check's findings of the SPF and DMARC records ({"spf": Finding.as_dict(), "dmarc": ...}).
    findings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    keys: Mapped[list[DomainKeyRow]] = relationship(
        back_populates="domain", cascade="all, delete-orphan", order_by="DomainKeyRow.created_at", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("workspace_id", "name", name="uq_sender_domains_workspace_id_name"),
        Index("ix_sender_domains_next_check_at", "next_check_at"),
    )


class DomainKeyRow(Base):
    """One DKIM key of a domain, published under its own selector."""

    __tablename__ = "sender_domain_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    domain_id: Mapped[str] = mapped_column(ForeignKey("sender_domains.id", ondelete="CASCADE"))
    selector: Mapped[str] = mapped_column(String(63))
    public_key: Mapped[str] = mapped_column(Text)  # base64 DER, the record's p=
    # The PEM private key encrypted with MAILER_DKIM_ENCRYPTION_KEYS (Fernet); dropped when the key retires.
    private_key_encrypted: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default=KEY_PENDING)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finding: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # its record at the last check

    domain: Mapped[SenderDomain] = relationship(back_populates="keys")

    __table_args__ = (Index("ix_sender_domain_keys_workspace_id_domain_id", "workspace_id", "domain_id"),)
