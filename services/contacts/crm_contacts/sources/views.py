"""HTTP API of contact sources and their icons (under /v1/contacts, routed here by the gateway)."""

from __future__ import annotations

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.settings import DEFAULT_MAX_ICON_BYTES, MAX_ICON_BYTES
from crm_contacts.sources import represent, rules, service
from crm_platform.context import require_admin
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.inputs import UploadedFile
from crm_platform.limits import body_limit
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts_sources", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="sources")], abp_security=SECURITY
)

ICON_ENVELOPE = 16 * 1024  # room for the multipart envelope around the icon itself


class SourceOut(BaseModel):
    id: str
    key: str | None = Field(description="built-in sources only: manual, web, default, and portals")
    name_es: str
    name_en: str
    builtin: bool
    icon_url: str | None = Field(description="an icon given as a URL")
    uploaded_icon: str | None = Field(description="where the uploaded 22x22 icon is served, if there is one")


class SourceList(BaseModel):
    items: list[SourceOut]


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_es: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    icon_url: str | None = Field(default=None, max_length=500, description="http or https")


class SourcePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_es: str | None = Field(default=None, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    icon_url: str | None = Field(default=None, max_length=500, description="replaces an uploaded icon; null clears")


class IconForm(BaseModel):
    icon: UploadedFile | None = Field(default=None, description="PNG, GIF, JPEG, WebP or ICO, 22x22 px, at most 64 KiB")


class SourcePath(BaseModel):
    source_id: str = Field(max_length=64)


@api.get("/sources", responses={200: SourceList}, summary="The workspace's sources, built-in ones first")
def list_sources():  # type: ignore[no-untyped-def]
    sources = service.list_all(runtime().database.unit_of_work(), workspace_id=caller().workspace_id)
    return json_response({"items": [represent.source(s) for s in sources]})


@api.get("/sources/<source_id>", responses={200: SourceOut}, summary="One source")
def get_source(path: SourcePath):  # type: ignore[no-untyped-def]
    source = service.get(
        runtime().database.unit_of_work(), workspace_id=caller().workspace_id, source_id=path.source_id
    )
    return json_response(represent.source(source))


@api.post("/sources", responses={201: SourceOut}, summary="Add a custom source (admins)")
@idempotent
def create_source(body: SourceIn):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "add sources")
    source = service.create(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        name_es=body.name_es,
        name_en=body.name_en,
        icon_url=body.icon_url,
        actor_id=who.user_id,
    )
    return json_response(represent.source(source), 201, {"Location": f"/v1/contacts/sources/{source.id}"})


@api.patch("/sources/<source_id>", responses={200: SourceOut}, summary="Rename a custom source or set its icon URL")
def update_source(path: SourcePath, body: SourcePatch):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "change sources")
    source = service.update(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        source_id=path.source_id,
        changes=body.model_dump(exclude_unset=True),
        actor_id=who.user_id,
    )
    return json_response(represent.source(source))


@api.delete("/sources/<source_id>", responses={204: None}, summary="Delete a custom source no contact uses (admins)")
def delete_source(path: SourcePath):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "delete sources")
    service.delete(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        source_id=path.source_id,
        actor_id=who.user_id,
    )
    return Response(status=204)


@api.put("/sources/<source_id>/icon", responses={200: SourceOut}, summary="Upload a custom source's 22x22 icon")
@body_limit(MAX_ICON_BYTES, DEFAULT_MAX_ICON_BYTES, field="icon", envelope=ICON_ENVELOPE)
def upload_icon(path: SourcePath, form: IconForm):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "change sources")
    if form.icon is None:
        raise InvalidInput(
            "send the icon", errors=[FieldError("icon", "a multipart file field named icon", "required")]
        )
    data = form.icon.stream.read(rules.ICON_MAX_BYTES + 1)
    source = service.set_icon(
        runtime().database.unit_of_work(), workspace_id=who.workspace_id, source_id=path.source_id, data=data
    )
    return json_response(represent.source(source))


ICON = {
    "description": "the icon as uploaded",
    "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
}


@api.get("/sources/<source_id>/icon", responses={200: ICON}, summary="The uploaded icon of a source, as uploaded")
def get_icon(path: SourcePath):  # type: ignore[no-untyped-def]
    source = service.get(
        runtime().database.unit_of_work(), workspace_id=caller().workspace_id, source_id=path.source_id
    )
    if not source.icon:
        raise NotFound(f"source {source.id} has no uploaded icon")
    response = Response(source.icon, mimetype=source.icon_content_type or "application/octet-stream")
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
