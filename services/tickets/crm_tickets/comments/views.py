"""HTTP API of a ticket's comments: /v1/tickets/{id}/comments."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform import paging
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime
from crm_tickets.comments import represent, service

api = APIBlueprint(
    "ticket_comments", __name__, url_prefix="/v1/tickets", abp_tags=[Tag(name="tickets")], abp_security=SECURITY
)


class TicketPath(BaseModel):
    ticket_id: str = Field(max_length=64)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=100_000)
    public: bool = Field(description="true: mailed to the contact; false: a private note")


class CommentOut(BaseModel):
    id: str
    ticket_id: str
    body: str
    public: bool
    author_id: str
    created_at: str


class CommentPage(BaseModel):
    items: list[CommentOut]
    next_cursor: str | None


@api.post("/<ticket_id>/comments", responses={201: CommentOut}, summary="Comment on a ticket (public or private)")
@idempotent
def add_comment(path: TicketPath, body: CommentIn):  # type: ignore[no-untyped-def]
    comment = service.add_comment(
        runtime().database.unit_of_work(),
        caller=caller(),
        ticket_id=path.ticket_id,
        body=body.body,
        public=body.public,
    )
    return json_response(represent.comment(comment), 201)


@api.get("/<ticket_id>/comments", responses={200: CommentPage}, summary="List a ticket's comments, oldest first")
def list_comments(path: TicketPath, query: PageQuery):  # type: ignore[no-untyped-def]
    comments = service.list_comments(
        runtime().database.unit_of_work(),
        caller=caller(),
        ticket_id=path.ticket_id,
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
    )
    return json_response(paging.cut(comments, query.limit, key=lambda row: row.id).body(represent.comment))
