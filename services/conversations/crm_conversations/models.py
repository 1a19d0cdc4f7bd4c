"""The conversations service's database: one metadata holding every table, the platform's included."""

from sqlalchemy.orm import DeclarativeBase

from crm_platform.attachments.store import AttachmentTables
from crm_platform.db import new_metadata
from crm_platform.visibility import ContactVisibility


class Base(DeclarativeBase):
    metadata = new_metadata()


# Who owns each contact and what the workspace lets agents see, kept from contacts' events.
visibility = ContactVisibility(Base.metadata)

# The files visitors send through the chat widget (the shared attachments branch).
attachment_tables = AttachmentTables(Base.metadata)
