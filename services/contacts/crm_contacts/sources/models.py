"""Where contacts come from: built-in sources (fixed) and the workspace's own, with an icon and two names."""

from sqlalchemy import Boolean, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_contacts.models import Base


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id"))
    key: Mapped[str | None] = mapped_column(String(60))  # built-in sources: "manual", "web", "default", portals
    name_es: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    icon_url: Mapped[str | None] = mapped_column(String(500))
    icon: Mapped[bytes | None] = mapped_column(LargeBinary)  # an uploaded 22x22 image
    icon_content_type: Mapped[str | None] = mapped_column(String(60))

    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_sources_workspace_id_key"),)
