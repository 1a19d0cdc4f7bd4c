"""Team members: the people of a workspace who own contacts, get tasks and answer conversations."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_contacts.models import Base
from crm_platform.db import UtcDateTime, utcnow

ROLES = ("admin", "agent")


class Member(Base):
    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the ``sub`` of the member's tokens
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    role: Mapped[str] = mapped_column(String(10))
    signature: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("workspace_id", "email", name="uq_members_workspace_id_email"),)
