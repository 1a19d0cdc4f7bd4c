"""Writing to a contact's timeline; every feature records its changes through ``record``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crm_contacts.history.models import HistoryEntry
from crm_platform.ids import new_id


def record(
    session: Session,
    *,
    workspace_id: str,
    contact_id: str,
    kind: str,
    actor_id: str | None,
    data: dict[str, Any] | None = None,
) -> HistoryEntry:
    """Add an entry to the contact's timeline, inside the caller's transaction."""
    entry = HistoryEntry(
        id=new_id(), workspace_id=workspace_id, contact_id=contact_id, kind=kind, actor_id=actor_id, data=data or {}
    )
    session.add(entry)
    return entry
