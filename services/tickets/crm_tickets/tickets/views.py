"""HTTP API of tickets."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.openapi import QueryModel
from crm_platform.web import SECURITY, caller, cursor_after, idempotent, json_response, page, runtime
from crm_tickets.tickets import service

api = APIBlueprint("tickets", __name__, url_prefix="/v1/tickets", abp_tags=[Tag(name="tickets")], abp_security=SECURITY)


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=300)
    contact_id: str = Field(min_length=1, max_length=64)


class TicketOut(BaseModel):
    id: str
    contact_id: str
    subject: str
    status: str
    opened_by: str
    created_at: str


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class TicketQuery(QueryModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None
    contact_id: str | None = None


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


class CommentList(BaseModel):
    items: list[CommentOut]


def _directory() -> GrpcContactDirectory:
    return GrpcContactDirectory(runtime().grpc)


@api.post("", responses={201: TicketOut}, summary="Open a ticket for a contact")
@idempotent
def open_ticket(body: TicketIn):  # type: ignore[no-untyped-def]
    ticket = service.open_ticket(
        runtime().database.unit_of_work(),
        _directory(),
        caller=caller(),
        subject=body.subject,
        contact_id=body.contact_id,
    )
    return json_response(ticket.as_dict(), 201, {"Location": f"/v1/tickets/{ticket.id}"})


@api.get("", responses={200: TicketPage}, summary="List tickets, newest first")
def list_tickets(query: TicketQuery):  # type: ignore[no-untyped-def]
    tickets = service.list_page(
        runtime().database.unit_of_work(),
        caller=caller(),
        limit=query.limit,
        after_id=cursor_after(query.cursor),
        contact_id=query.contact_id,
    )
    tickets, next_cursor = page(tickets, query.limit, key=lambda row: row.id)
    return json_response({"items": [t.as_dict() for t in tickets], "next_cursor": next_cursor})


@api.get("/<ticket_id>", responses={200: TicketOut}, summary="Get a ticket")
def get_ticket(path: TicketPath):  # type: ignore[no-untyped-def]
    ticket = service.get(runtime().database.unit_of_work(), caller=caller(), ticket_id=path.ticket_id)
    return json_response(ticket.as_dict())


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
    return json_response(comment.as_dict(), 201)


@api.get("/<ticket_id>/comments", responses={200: CommentList}, summary="List a ticket's comments")
def list_comments(path: TicketPath):  # type: ignore[no-untyped-def]
    comments = service.list_comments(runtime().database.unit_of_work(), caller=caller(), ticket_id=path.ticket_id)
    return json_response({"items": [c.as_dict() for c in comments]})
