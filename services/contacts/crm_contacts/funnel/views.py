"""HTTP API of contact types and their funnel stages (under /v1/contacts, routed here by the gateway)."""

from __future__ import annotations

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.funnel import represent, service
from crm_platform.context import require_admin
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts_funnel", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="funnel")], abp_security=SECURITY
)


class StageOut(BaseModel):
    id: str
    type_id: str
    name: str
    position: int


class TypeOut(BaseModel):
    id: str
    key: str = Field(description='stable: "contact", "collaborator", "other", or the slug of a custom type')
    name: str
    position: int
    builtin: bool
    stages: list[StageOut] = Field(description="in funnel order")


class TypeList(BaseModel):
    items: list[TypeOut]


class TypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    key: str | None = Field(default=None, max_length=60, description="default: the slug of the name")
    stages: list[str] | None = Field(default=None, max_length=50, description='first stages; default ["Contact"]')


class NameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    position: int | None = Field(default=None, ge=0, description="0 is first; default: last")


class StageOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage_ids: list[str] = Field(max_length=200, description="every stage of the type, in the new order")


class TypePath(BaseModel):
    type_id: str = Field(max_length=64)


class StagePath(BaseModel):
    stage_id: str = Field(max_length=64)


@api.get("/types", responses={200: TypeList}, summary="The workspace's contact types, each with its stages")
def list_types():  # type: ignore[no-untyped-def]
    types = service.list_types(runtime().database.unit_of_work(), workspace_id=caller().workspace_id)
    return json_response({"items": [represent.contact_type(t, stages) for t, stages in types]})


@api.get("/types/<type_id>", responses={200: TypeOut}, summary="One contact type with its stages")
def get_type(path: TypePath):  # type: ignore[no-untyped-def]
    contact_type, stages = service.get_type(
        runtime().database.unit_of_work(), workspace_id=caller().workspace_id, type_id=path.type_id
    )
    return json_response(represent.contact_type(contact_type, stages))


@api.post("/types", responses={201: TypeOut}, summary="Add a contact type (admins)")
@idempotent
def create_type(body: TypeIn):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "add contact types")
    contact_type, stages = service.create_type(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        name=body.name,
        key=body.key,
        stages=body.stages,
        actor_id=who.user_id,
    )
    return json_response(
        represent.contact_type(contact_type, stages), 201, {"Location": f"/v1/contacts/types/{contact_type.id}"}
    )


@api.patch("/types/<type_id>", responses={200: TypeOut}, summary="Rename a contact type (admins)")
def rename_type(path: TypePath, body: NameIn):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "rename contact types")
    contact_type, stages = service.rename_type(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        type_id=path.type_id,
        name=body.name,
        actor_id=who.user_id,
    )
    return json_response(represent.contact_type(contact_type, stages))


@api.delete("/types/<type_id>", responses={204: None}, summary="Delete a custom contact type no contact has (admins)")
def delete_type(path: TypePath):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "delete contact types")
    service.delete_type(
        runtime().database.unit_of_work(), workspace_id=who.workspace_id, type_id=path.type_id, actor_id=who.user_id
    )
    return Response(status=204)


@api.post("/types/<type_id>/stages", responses={201: StageOut}, summary="Add a stage to a type's funnel (admins)")
@idempotent
def add_stage(path: TypePath, body: StageIn):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "add stages")
    stage = service.add_stage(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        type_id=path.type_id,
        name=body.name,
        position=body.position,
        actor_id=who.user_id,
    )
    return json_response(represent.stage(stage), 201)


@api.put("/types/<type_id>/stages/order", responses={200: TypeOut}, summary="Reorder a type's stages (admins)")
def reorder_stages(path: TypePath, body: StageOrderIn):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "reorder stages")
    contact_type, stages = service.reorder_stages(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        type_id=path.type_id,
        stage_ids=body.stage_ids,
        actor_id=who.user_id,
    )
    return json_response(represent.contact_type(contact_type, stages))


@api.patch("/stages/<stage_id>", responses={200: StageOut}, summary="Rename a stage (admins)")
def rename_stage(path: StagePath, body: NameIn):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "rename stages")
    stage = service.rename_stage(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        stage_id=path.stage_id,
        name=body.name,
        actor_id=who.user_id,
    )
    return json_response(represent.stage(stage))


@api.delete("/stages/<stage_id>", responses={204: None}, summary="Delete a stage no contact is in (admins)")
def delete_stage(path: StagePath):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "delete stages")
    service.delete_stage(
        runtime().database.unit_of_work(), workspace_id=who.workspace_id, stage_id=path.stage_id, actor_id=who.user_id
    )
    return Response(status=204)
