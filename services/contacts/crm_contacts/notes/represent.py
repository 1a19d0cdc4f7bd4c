"""How a note is shown: its JSON (the API)."""

from __future__ import annotations

from typing import Any

from crm_contacts.notes.models import Note


def as_dict(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "contact_id": note.contact_id,
        "author_id": note.author_id,
        "body": note.body,
        "pinned": note.pinned,
        "pinned_at": note.pinned_at.isoformat() if note.pinned_at else None,
        "created_at": note.created_at.isoformat(),
        "updated_at": note.updated_at.isoformat(),
    }
