"""The side panel of a conversation in one call: who answers it, the contact (with its source), its notes, its
other conversations and its tickets; tickets being down leaves the rest answering."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from crm_conversations.conversations import represent
from crm_conversations.conversations import service as conversations
from crm_conversations.panel.clients import PanelSources
from crm_platform.clients.contacts import ContactDirectory
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork
from crm_platform.errors import NotFound, Unavailable

RECENT, TICKETS, NOTES = 5, 10, 5


def panel(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    sources: PanelSources,
    *,
    caller: Caller,
    conversation_id: str,
    language: str = "en",
) -> dict[str, Any]:
    """``language`` (es or en) names the contact's source."""
    with uow:
        conversation = conversations.find(uow.session, caller, conversation_id)
        contact_id, assignee_id = conversation.contact_id, conversation.assignee_id
        fallback = {"name": conversation.contact_name, "email": conversation.contact_email}
    recent = conversations.recent_for_contact(uow, caller=caller, contact_id=contact_id, limit=RECENT + 1)
    assignee = contacts.member(assignee_id) if assignee_id else None
    return {
        "conversation_id": conversation_id,
        "assignee": {"id": assignee_id, "name": assignee.name if assignee else None} if assignee_id else None,
        "contact": _contact(sources, contact_id, fallback, language),
        "notes": _notes(sources, contact_id),
        "recent_conversations": [represent.summary(c) for c in recent if c.id != conversation_id][:RECENT],
        "tickets": _tickets(sources, contact_id),
    }


def _contact(sources: PanelSources, contact_id: str, fallback: dict[str, Any], language: str) -> dict[str, Any]:
    try:
        found = sources.contact(contact_id)
    except NotFound:
        return {"id": contact_id, "available": False, "deleted": True, **fallback}
    except Unavailable:
        return {"id": contact_id, "available": False, "deleted": False, **fallback}
    return {
        "id": found.id,
        "available": True,
        "name": found.name,
        "email": found.email,
        "phone": found.phone,
        "created_at": found.created_at.replace(tzinfo=UTC).isoformat() if found.created_at else None,
        "language": found.language,
        "source": _source(sources, found.source_id, language),
    }


def _source(sources: PanelSources, source_id: str | None, language: str) -> dict[str, Any] | None:
    """The contact's source by its name in ``language``; None when it has none (or it is gone meanwhile)."""
    if not source_id:
        return None
    try:
        found = sources.source(source_id)
    except (NotFound, Unavailable):
        return None
    return {"id": found.id, "key": found.key, "name": found.name_es if language == "es" else found.name_en}


def _notes(sources: PanelSources, contact_id: str) -> dict[str, Any]:
    try:
        found = sources.notes(contact_id, NOTES)
    except (NotFound, Unavailable):
        return {"available": False, "items": []}
    return {
        "available": True,
        "items": [
            {
                "id": n.id,
                "body": n.body,
                "author_id": n.author_id,
                "pinned": n.pinned,
                "created_at": n.created_at.replace(tzinfo=UTC).isoformat() if n.created_at else None,
            }
            for n in found
        ],
    }


def _tickets(sources: PanelSources, contact_id: str) -> dict[str, Any]:
    try:
        found = sources.tickets(contact_id, TICKETS)
    except Unavailable:
        return {"available": False, "items": []}
    return {"available": True, "items": [{"id": t.id, "subject": t.subject, "status": t.status} for t in found]}
