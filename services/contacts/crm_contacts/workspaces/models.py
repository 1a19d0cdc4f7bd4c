"""Workspaces: the tenants; every other row belongs to one."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from crm_contacts.models import Base
from crm_platform.db import UtcDateTime, utcnow


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    default_region: Mapped[str] = mapped_column(String(2))  # ISO 3166 alpha-2, for phone numbers
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
