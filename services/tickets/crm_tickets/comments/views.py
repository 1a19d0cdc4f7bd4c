"""HTTP API of a ticket's comments: /v1/tickets/{id}/comments."""

from __future__ import annotations

from typing import Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform import paging
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.mentions import MENTION_SYNTAX
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime
from crm_tickets.comments import represent, service
from crm_tickets.comments.rules import DELIVERY_STATUSES

api = APIBlueprint(
    "ticket_comments", __name__, url_prefix="/v1/tickets", abp_tags=[Tag(name="tickets")], abp_security=SECURITY
)


class TicketPath(BaseModel):
    ticket_id: str = Field(max_length=64)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str | None = Field(
        default=None, min_length=1, max_length=100_000, description=f"plain text; mentions written {MENTION_SYNTAX}"
    )
    body_html: str | None = Field(
        default=None,
        min_length=1,
        max_length=200_000,
        description="HTML instead of body: sanitised (formatting and links only); its text is the plain part",
    )
    public: bool = Field(description="true: mailed to the contact; false: a private note, never sent")
    with_signature: bool = Field(default=False, description="the mail carries the author's signature")


class DeliveryOut(BaseModel):
    status: Literal[DELIVERY_STATUSES]  # type: ignore[valid-type]
    detail: str | None
    message_id: str | None


class SenderOut(BaseModel):
    address: str | None
    name: str | None
    inbound_id: str | None
    raw_url: str | None = Field(description="the original mail, from the mailer")
    notice: str | None = Field(description="e.g. the sender is not the ticket's contact")


class CommentOut(BaseModel):
    id: str
    ticket_id: str
    body: str
    body_html: str | None
    public: bool
    visibility: Literal["public", "private"]
    author_kind: Literal["member", "customer"]
    author_id: str
    with_signature: bool
    delivery: DeliveryOut | None = Field(description="a public comment's mail: queued, sent, bounced, suppressed")
    from_: SenderOut | None = Field(alias="from", description="a customer comment's sender and original mail")
    created_at: str


class CommentPage(BaseModel):
    items: list[CommentOut]
    next_cursor: str | None


@api.post("/<ticket_id>/comments", responses={201: CommentOut}, summary="Comment on a ticket (public or private)")
@idempotent
def add_comment(path: TicketPath, body: CommentIn):  # type: ignore[no-untyped-def]
    comment = service.add_comment(
        runtime().database.unit_of_work(),
        GrpcContactDirectory(runtime().grpc),
        caller=caller(),
        ticket_id=path.ticket_id,
        body=body.body,
        body_html=body.body_html,
        public=body.public,
        with_signature=body.with_signature,
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
