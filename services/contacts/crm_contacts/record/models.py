"""The contact record: identity, funnel position, ownership, ways to reach them and what they look for."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_contacts.models import Base
from crm_platform.db import UtcDateTime, utcnow

# Each enumeration is defined here once; every other module names its values through these constants.
ACTIVE, WON, LOST = "active", "won", "lost"
STATUSES = (ACTIVE, WON, LOST)  # a contact's
EMAIL_ACTIVE, EMAIL_INACTIVE = "active", "inactive"
EMAIL_STATUSES = (EMAIL_ACTIVE, EMAIL_INACTIVE)  # an address's
INACTIVE_REASONS = ("hard_bounce", "mailbox_full", "spam_complaint", "unsubscribed", "invalid", "manual")


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(200))
    # lower-cased, accents removed: prefix search whatever the case and accents (see record.rules.search_key)
    name_key: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # the primary email and phone, copied from contact_emails / contact_phones for lists and exports
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    type_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("contact_types.id"))
    stage_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("stages.id"))
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE, server_default=ACTIVE)
    stars: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    color: Mapped[str | None] = mapped_column(String(9))  # "#rrggbb"
    emoji: Mapped[str | None] = mapped_column(String(16))
    owner_id: Mapped[str | None] = mapped_column(String(36))  # a member id
    source_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("sources.id"))
    language: Mapped[str | None] = mapped_column(String(10))
    location: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )  # address, city, region, postal_code, country
    messengers: Mapped[dict[str, str]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )  # {"telegram": "@ana", ...}
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    blocked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # soft delete
    deleted_by: Mapped[str | None] = mapped_column(String(36))
    merged_into: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    emails: Mapped[list["ContactEmail"]] = relationship(
        order_by="ContactEmail.position", cascade="all, delete-orphan", lazy="selectin"
    )
    phones: Mapped[list["ContactPhone"]] = relationship(
        order_by="ContactPhone.position", cascade="all, delete-orphan", lazy="selectin"
    )
    tags: Mapped[list["ContactTag"]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    interests: Mapped[list["Interest"]] = relationship(
        order_by="Interest.created_at", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_contacts_workspace_id_id", "workspace_id", "id"),
        Index("ix_contacts_workspace_id_email", "workspace_id", "email"),
        Index("ix_contacts_workspace_id_phone", "workspace_id", "phone"),
        Index("ix_contacts_workspace_id_created_at", "workspace_id", "created_at"),
        Index("ix_contacts_workspace_id_owner_id_id", "workspace_id", "owner_id", "id"),
        Index("ix_contacts_workspace_id_stage_id_id", "workspace_id", "stage_id", "id"),
        Index("ix_contacts_workspace_id_status_id", "workspace_id", "status", "id"),
        Index("ix_contacts_workspace_id_source_id_id", "workspace_id", "source_id", "id"),
        Index("ix_contacts_workspace_id_type_id_id", "workspace_id", "type_id", "id"),
        Index(
            "ix_contacts_workspace_id_name_key",
            "workspace_id",
            "name_key",
            postgresql_ops={"name_key": "varchar_pattern_ops"},
        ),
        # word-prefix name search (LIKE '% p%'); PostgreSQL with pg_trgm only, see its migration
        Index(
            "ix_contacts_name_key_trgm",
            "name_key",
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )


class ContactEmail(Base):
    __tablename__ = "contact_emails"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36), ForeignKey("contacts.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))  # lower-cased
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default=EMAIL_ACTIVE)
    inactive_reason: Mapped[str | None] = mapped_column(String(20))
    inactive_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the 30-day rule counts from here
    consent_confirmed_by: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        Index("ix_contact_emails_workspace_id_address", "workspace_id", "address"),
        Index("ix_contact_emails_contact_id", "contact_id"),
    )


class ContactPhone(Base):
    __tablename__ = "contact_phones"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36), ForeignKey("contacts.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(20))  # E.164
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str | None] = mapped_column(String(30))

    __table_args__ = (
        Index("ix_contact_phones_workspace_id_number", "workspace_id", "number"),
        Index("ix_contact_phones_contact_id", "contact_id"),
    )


class ContactTag(Base):
    __tablename__ = "contact_tags"

    contact_id: Mapped[str] = mapped_column(String(36), ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))

    __table_args__ = (Index("ix_contact_tags_workspace_id_tag_contact_id", "workspace_id", "tag", "contact_id"),)


class Interest(Base):
    """What the contact is looking for: structured criteria (field, operator, value) plus free text."""

    __tablename__ = "contact_interests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36), ForeignKey("contacts.id", ondelete="CASCADE"))
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_contact_interests_workspace_id_contact_id", "workspace_id", "contact_id"),)
