"""Contact types (contact, collaborator, other, and the workspace's own) and the funnel stages of each."""

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_contacts.models import Base


class ContactType(Base):
    __tablename__ = "contact_types"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id"))
    key: Mapped[str] = mapped_column(String(60))  # stable: "contact", "collaborator", "other", or a slug
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_contact_types_workspace_id_key"),)


class Stage(Base):
    __tablename__ = "stages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id"))
    type_id: Mapped[str] = mapped_column(String(36), ForeignKey("contact_types.id"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_stages_workspace_id_type_id_position", "workspace_id", "type_id", "position"),)
