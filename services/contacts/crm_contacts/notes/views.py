"""HTTP API of notes (under /v1/contacts, which the gateway routes to this service)."""

from __future__ import annotations

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.notes import represent, service
from crm_platform import paging
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts_notes", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="notes")], abp_security=SECURITY
)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=20_000)


class NoteOut(BaseModel):
    id: str
    contact_id: str
    author_id: str
    body: str
    pinned: bool
    pinned_at: str | None
    created_at: str
    updated_at: str


class NotePage(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None


class ContactPath(BaseModel):
    contact_id: str = Field(max_length=64)


class NotePath(BaseModel):
    contact_id: str = Field(max_length=64)
    note_id: str = Field(max_length=64)


@api.get(
    "/<contact_id>/notes",
    responses={200: NotePage},
    summary="List a contact's notes: pinned first (latest pinned first), then newest first",
)
def list_notes(path: ContactPath, query: PageQuery):  # type: ignore[no-untyped-def]
    notes = service.list_page(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        limit=query.limit,
        after=paging.after(query.cursor, scope=service.ORDER),
    )
    return json_response(
        paging.cut(notes, query.limit, key=service.position_of, scope=service.ORDER).body(represent.as_dict)
    )


@api.post("/<contact_id>/notes", responses={201: NoteOut}, summary="Add a note to a contact (the caller is its author)")
@idempotent
def add_note(path: ContactPath, body: NoteIn):  # type: ignore[no-untyped-def]
    note = service.add(runtime().database.unit_of_work(), caller=caller(), contact_id=path.contact_id, body=body.body)
    return json_response(represent.as_dict(note), 201, {"Location": f"/v1/contacts/{path.contact_id}/notes/{note.id}"})


@api.patch("/<contact_id>/notes/<note_id>", responses={200: NoteOut}, summary="Edit a note (its author or an admin)")
def edit_note(path: NotePath, body: NoteIn):  # type: ignore[no-untyped-def]
    note = service.update(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        note_id=path.note_id,
        body=body.body,
    )
    return json_response(represent.as_dict(note))


@api.delete("/<contact_id>/notes/<note_id>", responses={204: None}, summary="Delete a note (its author or an admin)")
def delete_note(path: NotePath):  # type: ignore[no-untyped-def]
    service.delete(runtime().database.unit_of_work(), caller=caller(), contact_id=path.contact_id, note_id=path.note_id)
    return Response(status=204)


@api.post(
    "/<contact_id>/notes/<note_id>/pin",
    responses={200: NoteOut},
    summary="Pin a note to the top of the contact's notes (pinning again moves it to the very top)",
)
def pin_note(path: NotePath):  # type: ignore[no-untyped-def]
    return _set_pinned(path, pinned=True)


@api.post("/<contact_id>/notes/<note_id>/unpin", responses={200: NoteOut}, summary="Unpin a note")
def unpin_note(path: NotePath):  # type: ignore[no-untyped-def]
    return _set_pinned(path, pinned=False)


def _set_pinned(path: NotePath, *, pinned: bool) -> Response:
    note = service.set_pinned(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        note_id=path.note_id,
        pinned=pinned,
    )
    return json_response(represent.as_dict(note))
