"""HTTP API of message templates: admins manage them; everyone lists them and fills one for a conversation."""

from __future__ import annotations

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_conversations.templates import represent, service
from crm_platform import paging
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, json_response, runtime

api = APIBlueprint(
    "conversation_templates",
    __name__,
    url_prefix="/v1/conversations",
    abp_tags=[Tag(name="message templates")],
    abp_security=SECURITY,
)


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(
        min_length=1,
        max_length=50_000,
        description="rich text with placeholders: {{contact.first_name}}, {{contact.last_name}}, {{contact.name}}, "
        "{{contact.email}}, {{member.name}}, {{member.first_name}}, {{conversation.subject}}",
    )


class TemplatePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=50_000)


class TemplateOut(BaseModel):
    id: str
    title: str
    body: str
    placeholders: list[str]
    version: int
    created_by: str
    created_at: str
    updated_at: str


class TemplatePage(BaseModel):
    items: list[TemplateOut]
    next_cursor: str | None


class TemplatePath(BaseModel):
    template_id: str = Field(max_length=64)


class FillPath(BaseModel):
    conversation_id: str = Field(max_length=64)
    template_id: str = Field(max_length=64)


class Filled(BaseModel):
    template_id: str
    conversation_id: str
    body: str


def _answer(template, status: int = 200) -> Response:  # type: ignore[no-untyped-def]
    return json_response(represent.template(template), status, {"ETag": f'"{template.version}"'})


@api.post("/templates", responses={201: TemplateOut}, summary="Create a message template (admins)")
def create_template(body: TemplateIn):  # type: ignore[no-untyped-def]
    template = service.create(runtime().database.unit_of_work(), caller=caller(), title=body.title, body=body.body)
    return _answer(template, 201)


@api.get("/templates", responses={200: TemplatePage}, summary="List the workspace's message templates")
def list_templates(query: PageQuery):  # type: ignore[no-untyped-def]
    rows = service.list_page(
        runtime().database.unit_of_work(), caller=caller(), limit=query.limit, after_id=paging.after_id(query.cursor)
    )
    return json_response(paging.cut(rows, query.limit, key=lambda row: row.id).body(represent.template))


@api.get("/templates/<template_id>", responses={200: TemplateOut}, summary="Get a message template")
def get_template(path: TemplatePath):  # type: ignore[no-untyped-def]
    return _answer(service.get(runtime().database.unit_of_work(), caller=caller(), template_id=path.template_id))


@api.patch(
    "/templates/<template_id>",
    responses={200: TemplateOut},
    summary='Change a message template (admins; If-Match: "<version>" refuses a stale write with 412)',
)
def update_template(path: TemplatePath, body: TemplatePatch):  # type: ignore[no-untyped-def]
    template = service.update(
        runtime().database.unit_of_work(),
        caller=caller(),
        template_id=path.template_id,
        title=body.title,
        body=body.body,
        if_match=request.headers.get("If-Match"),
    )
    return _answer(template)


@api.delete("/templates/<template_id>", responses={204: None}, summary="Delete a message template (admins)")
def delete_template(path: TemplatePath):  # type: ignore[no-untyped-def]
    service.delete(runtime().database.unit_of_work(), caller=caller(), template_id=path.template_id)
    return Response(status=204)


@api.post(
    "/<conversation_id>/templates/<template_id>/fill",
    responses={200: Filled},
    summary="A template's body filled for a conversation (its contact, you as the member), for the composer",
)
def fill_template(path: FillPath):  # type: ignore[no-untyped-def]
    rt = runtime()
    body = service.fill_for(
        rt.database.unit_of_work(),
        GrpcContactDirectory(rt.grpc),
        caller=caller(),
        template_id=path.template_id,
        conversation_id=path.conversation_id,
    )
    return json_response({"template_id": path.template_id, "conversation_id": path.conversation_id, "body": body})
