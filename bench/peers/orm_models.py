"""The naive peers' SQLAlchemy models of the contacts tables, as a team would declare them: declarative
classes with Python defaults, one-to-many relationships to emails and phones. The peers map the project's own
tables (the bench runs them on the same database), so only the columns they use are declared; the others
have server defaults."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import uuid6
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def _now() -> datetime:
    return datetime.now(UTC)


def _id() -> str:
    return str(uuid6.uuid7())


class Base(DeclarativeBase):
    pass


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_id)
    workspace_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    type_id: Mapped[str | None] = mapped_column(String(36))
    stage_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10), default="active")
    stars: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    source_id: Mapped[str | None] = mapped_column(String(36))
    language: Mapped[str | None] = mapped_column(String(10))
    location: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    messengers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    emails: Mapped[list[ContactEmail]] = relationship(order_by="ContactEmail.position")
    phones: Mapped[list[ContactPhone]] = relationship(order_by="ContactPhone.position")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "type_id": self.type_id,
            "stage_id": self.stage_id,
            "status": self.status,
            "stars": self.stars,
            "owner_id": self.owner_id,
            "source_id": self.source_id,
            "language": self.language,
            "location": self.location,
            "messengers": self.messengers,
            "custom_fields": self.custom_fields,
            "blocked": self.blocked,
            "emails": [{"address": e.address, "primary": e.is_primary, "status": e.status} for e in self.emails],
            "phones": [{"number": p.number, "primary": p.is_primary, "label": p.label} for p in self.phones],
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


class ContactEmail(Base):
    __tablename__ = "contact_emails"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_id)
    workspace_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36), ForeignKey("contacts.id"))
    address: Mapped[str] = mapped_column(String(320))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="active")


class ContactPhone(Base):
    __tablename__ = "contact_phones"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_id)
    workspace_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36), ForeignKey("contacts.id"))
    number: Mapped[str] = mapped_column(String(20))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str | None] = mapped_column(String(30))


def engine_from_env() -> Any:
    """PEER_DATABASE_URL, a pool as large as a gunicorn worker's threads (or the gRPC server's)."""
    return create_engine(os.environ["PEER_DATABASE_URL"], pool_size=8, max_overflow=8, pool_pre_ping=False)
