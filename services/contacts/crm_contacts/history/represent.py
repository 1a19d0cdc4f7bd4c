"""How a contact's timeline entry is shown: its JSON (the API)."""

from __future__ import annotations

from typing import Any

from crm_contacts.record.history import HistoryEntry


def as_dict(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "contact_id": entry.contact_id,
        "kind": entry.kind,
        "actor_id": entry.actor_id,
        "data": entry.data,
        "created_at": entry.created_at.isoformat(),
    }
