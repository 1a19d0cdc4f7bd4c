"""HTTP API of tickets."""

from __future__ import annotations

from typing import Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform import paging
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime
from crm_tickets.sla.views import TicketSlaOut
from crm_tickets.tickets import represent, rules, service
from crm_tickets.tickets.rules import NORMAL, PRIORITIES, STATUSES

api = APIBlueprint("tickets", __name__, url_prefix="/v1/tickets", abp_tags=[Tag(name="tickets")], abp_security=SECURITY)


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=300)
    contact_id: str = Field(min_length=1, max_length=64)
    priority: Literal[PRIORITIES] = NORMAL  # type: ignore[valid-type]
    responsible_id: str | None = Field(default=None, min_length=1, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=rules.MAX_TAGS)


class TicketOut(BaseModel):
    id: str
    number: int = Field(description="the workspace's ticket number, shown to the contact as [#number]")
    contact_id: str
    subject: str
    status: Literal[STATUSES]  # type: ignore[valid-type]
    priority: Literal[PRIORITIES]  # type: ignore[valid-type]
    responsible_id: str | None
    opened_by: str
    channel: str
    version: int = Field(description='the ETag: send If-Match: "<version>" on a change')
    created_at: str
    updated_at: str
    first_response_at: str | None
    solved_at: str | None
    closed_at: str | None
    sla: TicketSlaOut | None = Field(default=None, description="the deadlines; null when no SLA policy applies")


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class TicketQuery(PageQuery):
    contact_id: str | None = None


class TicketPath(BaseModel):
    ticket_id: str = Field(max_length=64)


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
        priority=body.priority,
        responsible_id=body.responsible_id,
        tags=body.tags,
    )
    return json_response(represent.ticket(ticket), 201, {"Location": f"/v1/tickets/{ticket.id}"})


@api.get("", responses={200: TicketPage}, summary="List tickets, newest first")
def list_tickets(query: TicketQuery):  # type: ignore[no-untyped-def]
    tickets = service.list_page(
        runtime().database.unit_of_work(),
        caller=caller(),
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
        contact_id=query.contact_id,
    )
    return json_response(paging.cut(tickets, query.limit, key=lambda row: row.id).body(represent.ticket))


@api.get("/<ticket_id>", responses={200: TicketOut}, summary="Get a ticket")
def get_ticket(path: TicketPath):  # type: ignore[no-untyped-def]
    ticket = service.get(runtime().database.unit_of_work(), caller=caller(), ticket_id=path.ticket_id)
    return json_response(represent.ticket(ticket))
