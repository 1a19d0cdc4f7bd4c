"""HTTP API of contacts: translate requests into use cases and back."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.contacts import represent, service
from crm_platform.web import SECURITY, caller, cursor_after, idempotent, json_response, page, runtime

api = APIBlueprint(
    "contacts", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="contacts")], abp_security=SECURITY
)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class ContactOut(BaseModel):
    id: str
    name: str
    email: str | None
    phone: str | None
    created_at: str
    updated_at: str
    version: int


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None


class ContactPath(BaseModel):
    contact_id: str = Field(max_length=64)


class ContactQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None
    email: str | None = None


@api.post("", responses={201: ContactOut}, summary="Create a contact")
@idempotent
def create_contact(body: ContactIn):  # type: ignore[no-untyped-def]
    who = caller()
    contact = service.create(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        name=body.name,
        email=body.email,
        phone=body.phone,
    )
    return json_response(
        represent.as_dict(contact), 201, {"Location": f"/v1/contacts/{contact.id}", "ETag": f'"{contact.version}"'}
    )


@api.get("/<contact_id>", responses={200: ContactOut}, summary="Get a contact")
def get_contact(path: ContactPath):  # type: ignore[no-untyped-def]
    contact = service.get(
        runtime().database.unit_of_work(), workspace_id=caller().workspace_id, contact_id=path.contact_id
    )
    return json_response(represent.as_dict(contact), 200, {"ETag": f'"{contact.version}"'})


@api.get("", responses={200: ContactPage}, summary="List contacts, newest first")
def list_contacts(query: ContactQuery):  # type: ignore[no-untyped-def]
    contacts = service.list_page(
        runtime().database.unit_of_work(),
        workspace_id=caller().workspace_id,
        limit=query.limit,
        after_id=cursor_after(query.cursor),
        email=query.email,
    )
    contacts, next_cursor = page(contacts, query.limit, key=lambda row: row.id)
    return json_response({"items": [represent.as_dict(c) for c in contacts], "next_cursor": next_cursor})
