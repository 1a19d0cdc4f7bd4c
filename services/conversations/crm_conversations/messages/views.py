"""HTTP API of a conversation's messages: write (a message to the contact, or a private note) and read."""

from __future__ import annotations

from typing import Annotated

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_conversations.attachments import service as attachments
from crm_conversations.messages import represent, service
from crm_conversations.messages.mailer import GrpcMailer
from crm_platform import paging
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "conversation_messages",
    __name__,
    url_prefix="/v1/conversations",
    abp_tags=[Tag(name="messages")],
    abp_security=SECURITY,
)


class ConversationPath(BaseModel):
    conversation_id: str = Field(max_length=64)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str | None = Field(
        default=None, min_length=1, max_length=100_000, description="rich text (HTML: bold, italic, links, lists)"
    )
    note: bool = Field(default=False, description="a private note between members: never sent to the contact")
    template_id: str | None = Field(
        default=None, max_length=64, description="a message template, filled for this conversation, as the body"
    )
    attachment_ids: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=10,
        description="files you uploaded to this conversation (POST .../attachments): the message carries them",
    )


class FileOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int


class Delivery(BaseModel):
    status: str
    detail: str | None


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    body: str
    text: str
    signature: str | None
    direction: str
    note: bool
    author_type: str
    author_id: str
    channel: str
    delivery: Delivery | None
    created_at: str
    attachments: list[FileOut] = Field(description="the files it carries (GET .../attachments/{attachment_id})")


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class MessageQuery(PageQuery):
    order: str = Field(default="oldest", pattern="^(oldest|latest)$", description="latest: newest first")


@api.post(
    "/<conversation_id>/messages",
    responses={201: MessageOut},
    summary="Write in a conversation: a message to the contact (with your signature; emailed on an email "
    "conversation) or a private note",
)
@idempotent
def add_message(path: ConversationPath, body: MessageIn):  # type: ignore[no-untyped-def]
    rt = runtime()
    message = service.add(
        rt.database.unit_of_work(),
        GrpcContactDirectory(rt.grpc),
        GrpcMailer(rt.grpc),
        caller=caller(),
        conversation_id=path.conversation_id,
        body=body.body,
        note=body.note,
        template_id=body.template_id,
        attachment_ids=body.attachment_ids,
    )
    with rt.database.unit_of_work() as uow:
        files = attachments.files_of(uow.session, rt.database, workspace_id=message.workspace_id, message_id=message.id)
    return json_response(represent.message(message, files), 201)


@api.get(
    "/<conversation_id>/messages",
    responses={200: MessagePage},
    summary="List a conversation's messages, oldest first (order=latest: newest first)",
)
def list_messages(path: ConversationPath, query: MessageQuery):  # type: ignore[no-untyped-def]
    latest = query.order == "latest"
    rows, files = service.list_page(
        runtime().database.unit_of_work(),
        caller=caller(),
        conversation_id=path.conversation_id,
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
        latest=latest,
    )
    page = paging.cut(rows, query.limit, key=lambda row: row.id)
    return json_response(page.body(lambda row: represent.message(row, files.get(row.id, []))))
