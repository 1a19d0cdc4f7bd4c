"""How a contact's file is shown: its JSON (the API)."""

from __future__ import annotations

from typing import Any

from crm_contacts.files.models import ContactFile


def as_dict(stored: ContactFile) -> dict[str, Any]:
    return {
        "id": stored.id,
        "contact_id": stored.contact_id,
        "filename": stored.filename,
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "uploaded_by": stored.uploaded_by,
        "created_at": stored.created_at.isoformat(),
    }
