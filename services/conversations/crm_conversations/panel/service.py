"""The side panel of a conversation in one call: who answers it, the contact (with its source), its notes, its
other conversations and its tickets; tickets being down leaves the rest answering."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from crm_conversations.conversations import lists, represent
from crm_conversations.conversations import service as conversations
from crm_conversations.panel.clients import PanelAnswers, PanelSources
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork
from crm_platform.errors import NotFound, Unavailable

RECENT, TICKETS, NOTES = 5, 10, 5


def panel(
    uow: UnitOfWork,
    sources: PanelSources,
    *,
    caller: Caller,
    conversation_id: str,
    language: str = "en",
) -> dict[str, Any]:
    """``language`` (es or en) names the contact's source. The other services are asked side by side while this
    one reads the contact's other conversations."""
    with uow:
        conversation = conversations.find(uow.session, caller, conversation_id)
        contact_id, assignee_id = conversation.contact_id, conversation.assignee_id
        fallback = {"name": conversation.contact_name, "email": conversation.contact_email}
    asked = sources.ask(contact_id, assignee_id=assignee_id, notes=NOTES, tickets=TICKETS)
    recent = lists.recent_for_contact(uow, caller=caller, contact_id=contact_id, limit=RECENT + 1)
    return {
        "conversation_id": conversation_id,
        "assignee": {"id": assignee_id, "name": _assignee_name(asked)} if assignee_id else None,
        "contact": _contact(sources, asked, contact_id, fallback, language),
        "notes": _notes(asked),
        "recent_conversations": [represent.summary(c) for c in recent if c.id != conversation_id][:RECENT],
        "tickets": _tickets(asked),
    }


def _assignee_name(asked: PanelAnswers) -> str | None:
    try:
        return asked.assignee_name()
    except Unavailable:  # the panel answers without the name rather than not at all
        return None


def _contact(
    sources: PanelSources, asked: PanelAnswers, contact_id: str, fallback: dict[str, Any], language: str
) -> dict[str, Any]:
    try:
        found = asked.contact()
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


def _notes(asked: PanelAnswers) -> dict[str, Any]:
    try:
        found = asked.notes()
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


def _tickets(asked: PanelAnswers) -> dict[str, Any]:
    try:
        found = asked.tickets()
    except Unavailable:
        return {"available": False, "items": []}
    return {"available": True, "items": [{"id": t.id, "subject": t.subject, "status": t.status} for t in found]}
