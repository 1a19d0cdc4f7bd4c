"""gRPC methods about a contact's notes (the conversations side panel); mixed into the contacts servicer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crm.contacts.v1 import contacts_pb2
from crm_contacts.notes import service
from crm_contacts.notes.models import Note
from crm_platform.context import require_caller

if TYPE_CHECKING:
    from crm_platform.service import Runtime

DEFAULT_NOTES, MAX_NOTES = 5, 50


def to_message(note: Note) -> contacts_pb2.ContactNote:
    message = contacts_pb2.ContactNote(id=note.id, body=note.body, author_id=note.author_id or "", pinned=note.pinned)
    message.created_at.FromDatetime(note.created_at)
    return message


class NotesRpc:
    """``ListContactNotes``; the servicer that mixes this in provides ``self.rt``."""

    rt: Runtime

    def ListContactNotes(  # noqa: N802
        self, request: contacts_pb2.ListContactNotesRequest, context: Any
    ) -> contacts_pb2.ListContactNotesResponse:
        limit = min(max(request.limit, 0), MAX_NOTES) or DEFAULT_NOTES
        # The forwarded user's own visibility applies, as on the HTTP list of notes.
        notes = service.list_page(
            self.rt.database.unit_of_work(), caller=require_caller(), contact_id=request.contact_id, limit=limit
        )
        return contacts_pb2.ListContactNotesResponse(notes=[to_message(note) for note in notes[:limit]])
