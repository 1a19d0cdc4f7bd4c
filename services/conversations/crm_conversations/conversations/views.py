"""HTTP API of conversations: start, read, list by view, count, edit, assign, archive, reopen, delete."""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_conversations.conversations import lists, represent, rules, service
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.openapi import QueryModel
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
    assignee_id: str | None = Field(default=None, min_length=1, max_length=100)


class ConversationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    assignee_id: str | None = Field(default=None, max_length=100, description="a member's id; null: unassigned")
    status: Literal["open", "archived"] | None = None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee_id: str | None = Field(default=None, max_length=100, description="a member's id; null: unassigned")


class ContactCopy(BaseModel):
    name: str | None
    email: str | None
    phone: str | None


class ConversationOut(BaseModel):
    id: str
    contact_id: str
    contact: ContactCopy
    subject: str
    channel: str
    status: str
    assignee_id: str | None
    message_count: int
    unread: bool
    unread_count: int
    version: int
    created_at: str
    updated_at: str | None
    last_message_at: str | None
    first_response_at: str | None
    archived_at: str | None


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class ConversationQuery(PageQuery):
    view: Literal["mine", "unassigned", "member", "all"] = Field(default="all")
    member_id: str | None = Field(default=None, max_length=100, description="the member of view=member")
    status: Literal["open", "archived", "any"] = Field(default="open")
    q: str | None = Field(default=None, max_length=200, description="a contact's name (prefix), email or phone")
    contact_id: str | None = Field(default=None, max_length=64)


class CountQuery(QueryModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "archived", "any"] = Field(default="open")
    q: str | None = Field(default=None, max_length=200)


class ViewCount(BaseModel):
    count: int
    unread: int


class Counts(BaseModel):
    status: str | None
    all: ViewCount
    mine: ViewCount
    unassigned: ViewCount
    members: dict[str, ViewCount]


class ConversationPath(BaseModel):
    conversation_id: str = Field(max_length=64)


class AssignmentOut(BaseModel):
    from_assignee_id: str | None
    to_assignee_id: str | None
    actor_id: str
    assigned_at: str


class AssignmentList(BaseModel):
    items: list[AssignmentOut]


def _answer(conversation: Any, status: int = 200, unread_count: int = 0, headers: dict[str, str] | None = None) -> Any:
    return json_response(
        represent.conversation(conversation, unread_count),
        status,
        {"ETag": f'"{conversation.version}"', **(headers or {})},
    )


def _uow() -> Any:
    return runtime().database.unit_of_work()


@api.post("", responses={201: ConversationOut}, summary="Start a conversation with a contact")
@idempotent
def start_conversation(body: ConversationIn):  # type: ignore[no-untyped-def]
    conversation = service.start(
        _uow(),
        GrpcContactDirectory(runtime().grpc),
        caller=caller(),
        contact_id=body.contact_id,
        subject=body.subject,
        assignee_id=body.assignee_id,
    )
    return _answer(conversation, 201, headers={"Location": f"/v1/conversations/{conversation.id}"})


@api.get(
    "",
    responses={200: ConversationPage},
    summary="List a view of conversations (mine, unassigned, a member's, all), latest activity first",
)
def list_conversations(query: ConversationQuery):  # type: ignore[no-untyped-def]
    page = lists.list_page(
        _uow(),
        caller=caller(),
        wanted=lists.ListQuery(
            view=query.view,
            member_id=query.member_id,
            status=None if query.status == "any" else query.status,
            search=query.q,
            contact_id=query.contact_id,
        ),
        limit=query.limit,
        cursor=query.cursor,
    )
    return json_response(page.body(lambda item: represent.conversation(item.conversation, item.unread_count)))


@api.get("/counts", responses={200: Counts}, summary="How many conversations each view holds, and how many unread")
def count_conversations(query: CountQuery):  # type: ignore[no-untyped-def]
    status = None if query.status == "any" else query.status
    return json_response(lists.counts(_uow(), caller=caller(), status=status, search=query.q))


@api.get("/<conversation_id>", responses={200: ConversationOut}, summary="Get a conversation")
def get_conversation(path: ConversationPath):  # type: ignore[no-untyped-def]
    conversation, unread_count = service.get(_uow(), caller=caller(), conversation_id=path.conversation_id)
    return _answer(conversation, unread_count=unread_count)


@api.patch(
    "/<conversation_id>",
    responses={200: ConversationOut},
    summary='Change a conversation\'s subject, assignee or status (send If-Match: "<version>" to refuse a stale '
    "write with 412)",
)
def update_conversation(path: ConversationPath, body: ConversationPatch):  # type: ignore[no-untyped-def]
    who, if_match = caller(), request.headers.get("If-Match")
    changes = body.model_dump(exclude_unset=True)
    contacts = GrpcContactDirectory(runtime().grpc)
    if "assignee_id" in changes:  # checked before any step is written: a refused PATCH changes nothing
        service.check_assignee(contacts, changes["assignee_id"])
    conversation = service.update(
        _uow(), caller=who, conversation_id=path.conversation_id, subject=changes.get("subject"), if_match=if_match
    )
    if_match = None if if_match is None else f'"{conversation.version}"'  # the same request's later steps
    if "assignee_id" in changes:
        conversation = service.assign(
            _uow(),
            contacts,
            caller=who,
            conversation_id=path.conversation_id,
            assignee_id=changes["assignee_id"],
            if_match=if_match,
        )
        if_match = None if if_match is None else f'"{conversation.version}"'
    if changes.get("status"):
        conversation = service.set_status(
            _uow(), caller=who, conversation_id=path.conversation_id, status=changes["status"], if_match=if_match
        )
    return _answer(conversation)


@api.post("/<conversation_id>/assign", responses={200: ConversationOut}, summary="Assign to a member, or to nobody")
def assign_conversation(path: ConversationPath, body: AssignIn):  # type: ignore[no-untyped-def]
    conversation = service.assign(
        _uow(),
        GrpcContactDirectory(runtime().grpc),
        caller=caller(),
        conversation_id=path.conversation_id,
        assignee_id=body.assignee_id,
    )
    return _answer(conversation)


@api.get(
    "/<conversation_id>/assignments", responses={200: AssignmentList}, summary="Who it was assigned to, oldest first"
)
def list_assignments(path: ConversationPath):  # type: ignore[no-untyped-def]
    rows = service.assignments(_uow(), caller=caller(), conversation_id=path.conversation_id)
    return json_response({"items": [represent.assignment(row) for row in rows]})


@api.post("/<conversation_id>/archive", responses={200: ConversationOut}, summary="Archive a conversation")
def archive_conversation(path: ConversationPath):  # type: ignore[no-untyped-def]
    conversation = service.set_status(
        _uow(), caller=caller(), conversation_id=path.conversation_id, status=rules.ARCHIVED
    )
    return _answer(conversation)


@api.post("/<conversation_id>/reopen", responses={200: ConversationOut}, summary="Reopen an archived conversation")
def reopen_conversation(path: ConversationPath):  # type: ignore[no-untyped-def]
    conversation = service.set_status(_uow(), caller=caller(), conversation_id=path.conversation_id, status=rules.OPEN)
    return _answer(conversation)


@api.delete(
    "/<conversation_id>",
    responses={204: None},
    summary="Delete a conversation (soft, audited: it leaves every list and answers 404)",
)
def delete_conversation(path: ConversationPath):  # type: ignore[no-untyped-def]
    service.delete(_uow(), caller=caller(), conversation_id=path.conversation_id)
    return Response(status=204)
