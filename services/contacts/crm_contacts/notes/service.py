"""Use cases on a contact's internal notes; each one is one transaction with its event and history entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.events.v1 import contacts_pb2
from crm_contacts.history import rules as history_rules
from crm_contacts.notes import rules
from crm_contacts.notes.models import Note
from crm_contacts.record.access import visible_contact
from crm_contacts.record.history import record
from crm_events.contacts import NOTE_CHANGES
from crm_platform import paging
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import Forbidden, InvalidInput, NotFound
from crm_platform.ids import new_id

ORDER = "notes:pinned-then-newest"  # the scope of a notes page's cursor


def list_page(uow: UnitOfWork, *, caller: Caller, contact_id: str, limit: int, after: Any = None) -> list[Note]:
    """Up to ``limit + 1`` notes after the cursor position: pinned ones first (latest pinned first), then newest."""
    section, pinned_at, after_id = _position(after)
    with uow:
        visible_contact(uow.session, caller, contact_id)
        of_contact = select(Note).where(Note.workspace_id == caller.workspace_id, Note.contact_id == contact_id)
        notes: list[Note] = []
        if section == "pinned":
            query = of_contact.where(Note.pinned.is_(True))
            if pinned_at is not None:
                query = query.where(
                    (Note.pinned_at < pinned_at) | ((Note.pinned_at == pinned_at) & (Note.id < after_id))
                )
            notes += uow.session.scalars(query.order_by(Note.pinned_at.desc(), Note.id.desc()).limit(limit + 1))
        if len(notes) <= limit:
            query = of_contact.where(Note.pinned.is_(False))
            if section == "notes" and after_id is not None:
                query = query.where(Note.id < after_id)
            notes += uow.session.scalars(query.order_by(Note.id.desc()).limit(limit + 1 - len(notes)))
        return notes


def position_of(note: Note) -> list[str]:
    """Where a page that ends with ``note`` stops, for the next page's cursor."""
    if note.pinned and note.pinned_at is not None:
        return ["pinned", note.pinned_at.isoformat(), note.id]
    return ["notes", "", note.id]


def add(uow: UnitOfWork, *, caller: Caller, contact_id: str, body: str) -> Note:
    """Add a note written by the caller; emits contacts.note.added and writes note_added to the history."""
    text = _clean(body)
    with uow:
        visible_contact(uow.session, caller, contact_id)
        note = Note(
            id=new_id(),
            workspace_id=caller.workspace_id,
            contact_id=contact_id,
            author_id=caller.user_id,
            body=text,
            pinned=False,
            pinned_at=None,
        )
        uow.session.add(note)
        uow.session.flush()
        _changed(uow, note, change="added", actor_id=caller.user_id)
        uow.commit()
    return note


def update(uow: UnitOfWork, *, caller: Caller, contact_id: str, note_id: str, body: str) -> Note:
    """Rewrite a note's body (its author or an admin); emits contacts.note.updated."""
    text = _clean(body)
    with uow:
        note = _note(uow.session, caller, contact_id, note_id)
        _require_author_or_admin(caller, note)
        if note.body != text:
            note.body = text
            uow.session.flush()
            _changed(uow, note, change="updated", actor_id=caller.user_id)
            uow.commit()
    return note


def delete(uow: UnitOfWork, *, caller: Caller, contact_id: str, note_id: str) -> None:
    """Delete a note (its author or an admin); emits contacts.note.deleted."""
    with uow:
        note = _note(uow.session, caller, contact_id, note_id)
        _require_author_or_admin(caller, note)
        uow.session.delete(note)
        _changed(uow, note, change="deleted", actor_id=caller.user_id)
        uow.commit()


def set_pinned(uow: UnitOfWork, *, caller: Caller, contact_id: str, note_id: str, pinned: bool) -> Note:
    """Pin a note to the top of the list, or unpin it; pinning again moves it to the very top."""
    with uow:
        note = _note(uow.session, caller, contact_id, note_id)
        if pinned or note.pinned:
            note.pinned = pinned
            note.pinned_at = utcnow() if pinned else None
            uow.session.flush()
            _changed(uow, note, change="pinned" if pinned else "unpinned", actor_id=caller.user_id)
            uow.commit()
    return note


def _clean(body: str) -> str:
    text, error = rules.clean_body(body)
    if error is not None or text is None:
        raise InvalidInput("the note has invalid fields", errors=[error] if error else [])
    return text


def _note(session: Session, caller: Caller, contact_id: str, note_id: str) -> Note:
    visible_contact(session, caller, contact_id)
    note = get_in_workspace(session, Note, note_id, workspace_id=caller.workspace_id, what="note")
    if note.contact_id != contact_id:
        raise NotFound(f"note {note_id} not found")
    return note


def _require_author_or_admin(caller: Caller, note: Note) -> None:
    if not rules.may_change(caller_id=caller.user_id, caller_is_admin=caller.is_admin, author_id=note.author_id):
        raise Forbidden("only the note's author or an admin may change it")


def _changed(uow: UnitOfWork, note: Note, *, change: str, actor_id: str) -> None:
    """The event and the history entry of one change, in the caller's transaction."""
    event = contacts_pb2.NoteChanged(
        note_id=note.id,
        contact_id=note.contact_id,
        author_id=note.author_id,
        pinned=note.pinned,
        change=change,
        actor_id=actor_id,
    )
    uow.emit(NOTE_CHANGES[change], event, workspace_id=note.workspace_id)
    record(
        uow,
        workspace_id=note.workspace_id,
        contact_id=note.contact_id,
        kind=f"note_{change}",
        actor_id=actor_id,
        data={"note_id": note.id, "excerpt": history_rules.excerpt(note.body)},
    )


def _position(after: Any) -> tuple[str, datetime | None, str | None]:
    """The section (pinned or notes) and place a cursor points at; no cursor starts with the pinned notes."""
    if after is None:
        return "pinned", None, None
    try:
        section, pinned_at, note_id = after
        if section == "pinned":
            return "pinned", datetime.fromisoformat(pinned_at), str(note_id)
        if section == "notes":
            return "notes", None, str(note_id)
    except (TypeError, ValueError):
        pass
    raise paging.invalid_cursor()
