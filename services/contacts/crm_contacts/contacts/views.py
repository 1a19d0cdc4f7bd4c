"""HTTP API of the contact record: translate requests into use cases and back.

The contact list (``GET /v1/contacts`` with its filters) lives in ``filters/views.py``.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.contacts import create, emailstatus, merge, reads, service
from crm_contacts.record import represent
from crm_contacts.record.models import INACTIVE_REASONS, STATUSES
from crm_contacts.record.rules import INTEREST_OPERATORS
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="contacts")], abp_security=SECURITY
)

Operator = Literal[INTEREST_OPERATORS]  # type: ignore[valid-type]


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(max_length=320)
    primary: bool = False


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(max_length=40)
    label: str | None = Field(default=None, max_length=30)
    primary: bool = False


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=120)
    region: str | None = Field(default=None, max_length=120)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=120)


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(min_length=1, max_length=100)
    operator: Operator
    value: Any = None


class InterestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    criteria: list[CriterionIn] = Field(default_factory=list, max_length=50)
    text: str = Field(default="", max_length=5000)


class ContactFields(BaseModel):
    """The fields of a contact that a create or an update may set."""

    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(default=None, max_length=320, description="the primary email")
    phone: str | None = Field(default=None, max_length=40, description="the primary phone")
    emails: list[str | EmailIn] | None = Field(
        default=None, max_length=50, description="replaces the set; the first (or the one marked) is primary"
    )
    phones: list[str | PhoneIn] | None = Field(
        default=None, max_length=50, description="replaces the set; the first (or the one marked) is primary"
    )
    type: str | None = Field(default=None, max_length=60, description="contact type key or id")
    stage_id: str | None = Field(default=None, max_length=64)
    owner_id: str | None = Field(default=None, max_length=64, description="an active member; default: you")
    source_id: str | None = Field(default=None, max_length=64, description="default: the built-in manual source")
    language: str | None = Field(default=None, max_length=12)
    location: LocationIn | None = None
    messengers: dict[str, str] | None = Field(default=None, description="{messenger: handle}")
    tags: list[str] | None = Field(default=None, max_length=100)
    interests: list[InterestIn] | None = Field(default=None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    stars: int | None = None
    color: str | None = Field(default=None, max_length=9, description="#rrggbb; null removes it")
    emoji: str | None = Field(default=None, max_length=16, description="one emoji; null removes it")


class ContactIn(ContactFields):
    name: str = Field(min_length=1, max_length=200)


class ContactPatch(ContactFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class EmailOut(BaseModel):
    address: str
    primary: bool
    status: str
    inactive_reason: str | None
    inactive_since: str | None


class PhoneOut(BaseModel):
    number: str
    primary: bool
    label: str | None


class InterestOut(BaseModel):
    id: str
    criteria: list[dict[str, Any]]
    text: str


class ContactOut(BaseModel):
    id: str
    name: str
    type: str | None
    type_id: str | None
    stage_id: str | None
    status: str
    stars: int
    color: str | None
    emoji: str | None
    owner_id: str | None
    source_id: str | None
    language: str | None
    email: str | None
    phone: str | None
    emails: list[EmailOut]
    phones: list[PhoneOut]
    messengers: dict[str, str]
    location: dict[str, str]
    tags: list[str]
    interests: list[InterestOut]
    custom_fields: dict[str, Any]
    blocked: bool
    campaign_eligible: bool
    links: dict[str, str | None]
    version: int
    created_at: str
    updated_at: str


class DuplicateOut(BaseModel):
    contact: ContactOut
    reasons: list[Literal["email", "phone", "name"]]


class DuplicateList(BaseModel):
    items: list[DuplicateOut]


class ContactPath(BaseModel):
    contact_id: str = Field(max_length=64)


class EmailPath(BaseModel):
    contact_id: str = Field(max_length=64)
    address: str = Field(max_length=320)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal[STATUSES] = Field(  # type: ignore[valid-type]
        description="won or lost from active; active reopens"
    )
    reason: str | None = Field(default=None, max_length=500)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    survivor_id: str = Field(max_length=64)
    merged_ids: list[str] = Field(min_length=1, max_length=20)
    fields: dict[str, str] = Field(
        default_factory=dict,
        description=f"{{field: contact id whose value wins}}; fields: {', '.join(merge.CHOOSABLE_FIELDS)}",
    )


class DeactivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Literal[INACTIVE_REASONS] = "manual"  # type: ignore[valid-type]


class ReactivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent_confirmed: bool = Field(default=False, description="the contact confirmed they want this mail again")


def _answer(record: reads.Record, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = represent.as_dict(record.contact, record.type_key)
    return json_response(body, status, {"ETag": f'"{record.contact.version}"', **(headers or {})})


@api.post("", responses={201: ContactOut}, summary="Create a contact")
@idempotent
def create_contact(body: ContactIn):  # type: ignore[no-untyped-def]
    who = caller()
    record = create.create_record(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        values=body.model_dump(exclude_unset=True),
        actor=who,
    )
    return _answer(record, 201, {"Location": f"/v1/contacts/{record.contact.id}"})


@api.post("/merge", responses={200: ContactOut}, summary="Merge contacts into a survivor, choosing values per field")
@idempotent
def merge_contacts(body: MergeIn):  # type: ignore[no-untyped-def]
    record = merge.merge(
        runtime().database.unit_of_work(),
        caller=caller(),
        survivor_id=body.survivor_id,
        merged_ids=body.merged_ids,
        fields=body.fields,
    )
    return _answer(record)


@api.get("/<contact_id>", responses={200: ContactOut}, summary="Get a contact")
def get_contact(path: ContactPath):  # type: ignore[no-untyped-def]
    return _answer(reads.read(runtime().database.unit_of_work(), caller=caller(), contact_id=path.contact_id))


@api.patch(
    "/<contact_id>",
    responses={200: ContactOut},
    summary='Change a contact (send If-Match: "<version>" to refuse a stale write with 412)',
)
def update_contact(path: ContactPath, body: ContactPatch):  # type: ignore[no-untyped-def]
    record = service.update(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        values=body.model_dump(exclude_unset=True),
        if_match=request.headers.get("If-Match"),
    )
    return _answer(record)


@api.delete(
    "/<contact_id>",
    responses={204: None},
    summary="Delete a contact (soft, audited); marking it lost is usually better than deleting it",
)
def delete_contact(path: ContactPath):  # type: ignore[no-untyped-def]
    service.delete(runtime().database.unit_of_work(), caller=caller(), contact_id=path.contact_id)
    return Response(status=204)


@api.post("/<contact_id>/status", responses={200: ContactOut}, summary="Win, lose or reopen a contact")
def set_status(path: ContactPath, body: StatusIn):  # type: ignore[no-untyped-def]
    record = service.set_status(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        status=body.status,
        reason=body.reason,
    )
    return _answer(record)


@api.post("/<contact_id>/block", responses={200: ContactOut}, summary="Block a contact: its mail and chats are dropped")
def block_contact(path: ContactPath):  # type: ignore[no-untyped-def]
    record = service.set_blocked(
        runtime().database.unit_of_work(), caller=caller(), contact_id=path.contact_id, blocked=True
    )
    return _answer(record)


@api.post("/<contact_id>/unblock", responses={200: ContactOut}, summary="Unblock a contact")
def unblock_contact(path: ContactPath):  # type: ignore[no-untyped-def]
    record = service.set_blocked(
        runtime().database.unit_of_work(), caller=caller(), contact_id=path.contact_id, blocked=False
    )
    return _answer(record)


@api.get(
    "/<contact_id>/duplicates",
    responses={200: DuplicateList},
    summary="Likely duplicates: same email or phone, or a similar name",
)
def list_duplicates(path: ContactPath):  # type: ignore[no-untyped-def]
    found = reads.likely_duplicates(runtime().database.unit_of_work(), caller=caller(), contact_id=path.contact_id)
    items = [{"contact": represent.as_dict(r.contact, r.type_key), "reasons": reasons} for r, reasons in found]
    return json_response({"items": items})


@api.post(
    "/<contact_id>/emails/<address>/deactivate",
    responses={200: ContactOut},
    summary="Turn an email address off (no mail is sent to it)",
)
def deactivate_email(path: EmailPath, body: DeactivateIn):  # type: ignore[no-untyped-def]
    record = emailstatus.deactivate_email(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        address=path.address,
        reason=body.reason,
    )
    return _answer(record)


@api.post(
    "/<contact_id>/emails/<address>/reactivate",
    responses={200: ContactOut},
    summary="Turn an email address back on: needs consent, at most once every 30 days",
)
def reactivate_email(path: EmailPath, body: ReactivateIn):  # type: ignore[no-untyped-def]
    record = emailstatus.reactivate_email(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        address=path.address,
        consent_confirmed=body.consent_confirmed,
    )
    return _answer(record)
