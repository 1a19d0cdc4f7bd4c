"""Custom fields a workspace defines for its contacts; values live in ``Contact.custom_fields``."""

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_contacts.models import Base

KINDS = ("text", "number", "date", "boolean", "select", "multiselect", "url", "email", "phone")


class CustomField(Base):
    __tablename__ = "custom_fields"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id"))
    key: Mapped[str] = mapped_column(String(60))  # the key in Contact.custom_fields
    label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[Any]] = mapped_column(JSON, default=list)  # choices of select / multiselect
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_custom_fields_workspace_id_key"),)
