"""Workspaces: the tenants and their settings; every other row belongs to one."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_contacts.models import Base
from crm_platform.db import UtcDateTime, utcnow


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    default_region: Mapped[str] = mapped_column(String(2))  # ISO 3166 alpha-2, for phone numbers
    allow_duplicates: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    languages: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: ["es", "en"], server_default=text('\'["es", "en"]\'')
    )
    agents_see_all: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    recent_colors: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    def settings_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default_region": self.default_region,
            "allow_duplicates": self.allow_duplicates,
            "time_zone": self.time_zone,
            "languages": list(self.languages or []),
            "agents_see_all": self.agents_see_all,
            "recent_colors": list(self.recent_colors or []),
        }
