"""HTTP API of website inboxes for members: admins create, change, rotate and delete them; everyone reads them
and their embed snippet; a member downloads a file a visitor sent."""

from __future__ import annotations

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_conversations.widget import represent, rules, service
from crm_conversations.widget.service import InboxFields
from crm_platform import paging
from crm_platform.attachments import http as attachments_http
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, json_response, runtime

api = APIBlueprint(
    "conversation_inboxes",
    __name__,
    url_prefix="/v1/conversations",
    abp_tags=[Tag(name="website inboxes")],
    abp_security=SECURITY,
)
ORIGINS = Field(
    default=None,
    max_length=rules.MAX_ORIGINS,
    description="the sites that may embed the widget, as origins: https://www.example.com",
)


class InboxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    allowed_origins: list[str] = Field(default_factory=list, max_length=rules.MAX_ORIGINS)
    primary_colour: str | None = Field(default=None, max_length=7, description="#rrggbb")
    text_colour: str | None = Field(default=None, max_length=7, description="#rrggbb")
    welcome_text: str | None = Field(default=None, max_length=2000)
    offline_message: str | None = Field(default=None, max_length=2000)
    prechat_form: bool | None = Field(default=None, description="ask an anonymous visitor's name and email first")
    strict: bool | None = Field(default=None, description="only visitors whose identity the site signs (HMAC)")


class InboxPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    allowed_origins: list[str] | None = ORIGINS
    primary_colour: str | None = Field(default=None, max_length=7)
    text_colour: str | None = Field(default=None, max_length=7)
    welcome_text: str | None = Field(default=None, max_length=2000)
    offline_message: str | None = Field(default=None, max_length=2000)
    prechat_form: bool | None = None
    strict: bool | None = None
    rotate_secret: bool = Field(default=False, description="a new identity secret, shown once in the answer")


class InboxOut(BaseModel):
    id: str
    name: str
    allowed_origins: list[str]
    primary_colour: str
    text_colour: str
    welcome_text: str
    offline_message: str
    prechat_form: bool
    strict: bool
    version: int
    created_at: str
    updated_at: str
    secret: str | None = Field(default=None, description="only when created or rotated: keep it on your server")


class InboxPage(BaseModel):
    items: list[InboxOut]
    next_cursor: str | None


class Snippet(BaseModel):
    inbox_id: str
    html: str
    identity: str


DOWNLOAD = {
    "description": "the file's bytes, as an attachment with its name",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}


class InboxPath(BaseModel):
    inbox_id: str = Field(max_length=64)


class FilePath(BaseModel):
    conversation_id: str = Field(max_length=64)
    attachment_id: str = Field(max_length=64)


def _fields(body: InboxIn | InboxPatch) -> InboxFields:
    return InboxFields(
        name=body.name,
        allowed_origins=body.allowed_origins,
        primary_colour=body.primary_colour,
        text_colour=body.text_colour,
        welcome_text=body.welcome_text,
        offline_message=body.offline_message,
        prechat_form=body.prechat_form,
        strict=body.strict,
    )


def _answer(inbox, status: int = 200, *, secret: bool = False) -> Response:  # type: ignore[no-untyped-def]
    return json_response(represent.inbox(inbox, secret=secret), status, {"ETag": f'"{inbox.version}"'})


@api.post(
    "/inboxes", responses={201: InboxOut}, summary="Create a website inbox (admins); the answer shows its secret once"
)
def create_inbox(body: InboxIn):  # type: ignore[no-untyped-def]
    inbox = service.create_inbox(runtime().database.unit_of_work(), caller=caller(), fields=_fields(body))
    return _answer(inbox, 201, secret=True)


@api.get("/inboxes", responses={200: InboxPage}, summary="List the workspace's website inboxes")
def list_inboxes(query: PageQuery):  # type: ignore[no-untyped-def]
    rows = service.list_inboxes(
        runtime().database.unit_of_work(), caller=caller(), limit=query.limit, after_id=paging.after_id(query.cursor)
    )
    return json_response(paging.cut(rows, query.limit, key=lambda row: row.id).body(represent.inbox))


@api.get("/inboxes/<inbox_id>", responses={200: InboxOut}, summary="Get a website inbox")
def get_inbox(path: InboxPath):  # type: ignore[no-untyped-def]
    return _answer(service.get_inbox(runtime().database.unit_of_work(), caller=caller(), inbox_id=path.inbox_id))


@api.patch(
    "/inboxes/<inbox_id>",
    responses={200: InboxOut},
    summary='Change a website inbox or rotate its secret (admins; If-Match: "<version>" refuses a stale write)',
)
def update_inbox(path: InboxPath, body: InboxPatch):  # type: ignore[no-untyped-def]
    inbox = service.update_inbox(
        runtime().database.unit_of_work(),
        caller=caller(),
        inbox_id=path.inbox_id,
        fields=_fields(body),
        rotate_secret=body.rotate_secret,
        if_match=request.headers.get("If-Match"),
    )
    return _answer(inbox, secret=body.rotate_secret)


@api.delete("/inboxes/<inbox_id>", responses={204: None}, summary="Delete a website inbox (admins)")
def delete_inbox(path: InboxPath):  # type: ignore[no-untyped-def]
    service.delete_inbox(runtime().database.unit_of_work(), caller=caller(), inbox_id=path.inbox_id)
    return Response(status=204)


@api.get(
    "/inboxes/<inbox_id>/snippet",
    responses={200: Snippet},
    summary="The embed snippet of a website inbox: one <script> tag for any site",
)
def get_snippet(path: InboxPath):  # type: ignore[no-untyped-def]
    inbox = service.get_inbox(runtime().database.unit_of_work(), caller=caller(), inbox_id=path.inbox_id)
    identity = (
        "<script>window.CrmChat = {user_id: '<your user id>', email: '<their email>', name: '<their name>', "
        "user_hash: '<hex HMAC-SHA256 of user_id with the inbox secret, computed on your server>'};</script>"
    )
    return json_response(
        {"inbox_id": inbox.id, "html": rules.snippet(request.url_root, inbox.id), "identity": identity}
    )


@api.get(
    "/<conversation_id>/attachments/<attachment_id>",
    responses={200: DOWNLOAD},
    summary="Download a file of the conversation's messages (a visitor's or a member's)",
)
def download_file(path: FilePath):  # type: ignore[no-untyped-def]
    files = service.store_of(runtime())
    stored = service.member_file(
        runtime().database.unit_of_work(),
        files,
        caller=caller(),
        conversation_id=path.conversation_id,
        attachment_id=path.attachment_id,
    )
    return attachments_http.download(files, stored)
