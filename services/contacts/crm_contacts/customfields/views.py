"""HTTP API of custom field definitions (under /v1/contacts, which the gateway routes to this service)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.customfields import represent, service
from crm_contacts.customfields.models import KINDS
from crm_platform.context import require_admin
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts_custom_fields",
    __name__,
    url_prefix="/v1/contacts",
    abp_tags=[Tag(name="custom fields")],
    abp_security=SECURITY,
)


class CustomFieldOut(BaseModel):
    id: str
    key: str = Field(description="the key of the value in a contact's custom_fields")
    label: str
    kind: str = Field(description=", ".join(KINDS))
    options: list[str]
    required: bool
    position: int


class CustomFieldList(BaseModel):
    items: list[CustomFieldOut]


class CustomFieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=100)
    kind: str = Field(description=", ".join(KINDS))
    key: str | None = Field(default=None, max_length=60, description="default: made from the label")
    options: list[Any] | None = Field(default=None, description="required for select and multiselect")
    required: bool = False


class CustomFieldPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str | None = Field(default=None, max_length=100)
    kind: str | None = Field(default=None, description="cannot change: a different kind answers 409")
    options: list[Any] | None = None
    required: bool | None = None


class CustomFieldPath(BaseModel):
    field_id: str = Field(max_length=64)


@api.get("/custom-fields", responses={200: CustomFieldList}, summary="The workspace's custom fields in order")
def list_custom_fields():  # type: ignore[no-untyped-def]
    fields = service.list_all(runtime().database.unit_of_work(), workspace_id=caller().workspace_id)
    return json_response({"items": [represent.field(f) for f in fields]})


@api.get("/custom-fields/<field_id>", responses={200: CustomFieldOut}, summary="One custom field")
def get_custom_field(path: CustomFieldPath):  # type: ignore[no-untyped-def]
    field = service.get(runtime().database.unit_of_work(), workspace_id=caller().workspace_id, field_id=path.field_id)
    return json_response(represent.field(field))


@api.post("/custom-fields", responses={201: CustomFieldOut}, summary="Define a custom field (admins)")
@idempotent
def create_custom_field(body: CustomFieldIn):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "define custom fields")
    field = service.create(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        label=body.label,
        kind=body.kind,
        key=body.key,
        options=body.options,
        required=body.required,
    )
    return json_response(represent.field(field), 201, {"Location": f"/v1/contacts/custom-fields/{field.id}"})


@api.patch("/custom-fields/<field_id>", responses={200: CustomFieldOut}, summary="Change a custom field (admins)")
def update_custom_field(path: CustomFieldPath, body: CustomFieldPatch):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "change custom fields")
    field = service.update(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        field_id=path.field_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return json_response(represent.field(field))


@api.delete("/custom-fields/<field_id>", responses={204: None}, summary="Remove a custom field (admins)")
def delete_custom_field(path: CustomFieldPath):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "remove custom fields")
    service.delete(runtime().database.unit_of_work(), workspace_id=who.workspace_id, field_id=path.field_id)
    return Response(status=204)
