"""HTTP API of conversations."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_conversations.conversations import represent, service
from crm_platform import paging
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "conversations",
    __name__,
    url_prefix="/v1/conversations",
    abp_tags=[Tag(name="conversations")],
    abp_security=SECURITY,
)


class ConversationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: str = Field(min_length=1, max_length=64)
    subject: str = Field(min_length=1, max_length=300)


class ConversationOut(BaseModel):
    id: str
    contact_id: str
    subject: str
    channel: str
    status: str
    message_count: int
    created_at: str


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class ConversationQuery(PageQuery):
    contact_id: str | None = None


class ConversationPath(BaseModel):
    conversation_id: str = Field(max_length=64)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=100_000)


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    body: str
    author_id: str
    created_at: str


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


@api.post("", responses={201: ConversationOut}, summary="Start a conversation with a contact")
@idempotent
def start_conversation(body: ConversationIn):  # type: ignore[no-untyped-def]
    conversation = service.start(
        runtime().database.unit_of_work(),
        GrpcContactDirectory(runtime().grpc),
        caller=caller(),
        contact_id=body.contact_id,
        subject=body.subject,
    )
    return json_response(
        represent.conversation(conversation), 201, {"Location": f"/v1/conversations/{conversation.id}"}
    )


@api.get("", responses={200: ConversationPage}, summary="List conversations, newest first")
def list_conversations(query: ConversationQuery):  # type: ignore[no-untyped-def]
    conversations = service.list_page(
        runtime().database.unit_of_work(),
        caller=caller(),
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
        contact_id=query.contact_id,
    )
    return json_response(paging.cut(conversations, query.limit, key=lambda row: row.id).body(represent.conversation))


@api.get("/<conversation_id>", responses={200: ConversationOut}, summary="Get a conversation")
def get_conversation(path: ConversationPath):  # type: ignore[no-untyped-def]
    conversation = service.get(runtime().database.unit_of_work(), caller=caller(), conversation_id=path.conversation_id)
    return json_response(represent.conversation(conversation))


@api.post("/<conversation_id>/messages", responses={201: MessageOut}, summary="Add a message to a conversation")
@idempotent
def add_message(path: ConversationPath, body: MessageIn):  # type: ignore[no-untyped-def]
    message = service.add_message(
        runtime().database.unit_of_work(),
        caller=caller(),
        conversation_id=path.conversation_id,
        body=body.body,
    )
    return json_response(represent.message(message), 201)


@api.get(
    "/<conversation_id>/messages", responses={200: MessagePage}, summary="List a conversation's messages, oldest first"
)
def list_messages(path: ConversationPath, query: PageQuery):  # type: ignore[no-untyped-def]
    messages = service.list_messages(
        runtime().database.unit_of_work(),
        caller=caller(),
        conversation_id=path.conversation_id,
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
    )
    return json_response(paging.cut(messages, query.limit, key=lambda row: row.id).body(represent.message))
