"""HTTP API of tickets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.paging import PageQuery
from crm_platform.versioning import etag
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime
from crm_tickets.sla.views import TicketSlaOut
from crm_tickets.tickets import lists, represent, rules, service
from crm_tickets.tickets.rules import NORMAL, PRIORITIES, STATUSES

api = APIBlueprint("tickets", __name__, url_prefix="/v1/tickets", abp_tags=[Tag(name="tickets")], abp_security=SECURITY)


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=300)
    contact_id: str = Field(min_length=1, max_length=64)
    priority: Literal[PRIORITIES] = NORMAL  # type: ignore[valid-type]
    responsible_id: str | None = Field(default=None, min_length=1, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=rules.MAX_TAGS)


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    reopen: bool | None = Field(default=None, description="with status open: reopen a closed ticket")
    reason: str | None = Field(default=None, max_length=rules.MAX_REASON_LENGTH, description="why (with status)")
    priority: Literal[PRIORITIES] | None = None  # type: ignore[valid-type]
    responsible_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="a member of the workspace; null unassigns"
    )
    tags: list[str] | None = Field(default=None, max_length=rules.MAX_TAGS, description="replaces the tags")


class ContactSnapshot(BaseModel):
    id: str
    name: str | None = Field(description="as contacts said when the ticket was opened (or its contact merged)")
    email: str | None
    deleted: bool = Field(description="contacts deleted the contact; the ticket stays")


class TicketOut(BaseModel):
    id: str
    number: int = Field(description="the workspace's ticket number, shown to the contact as [#number]")
    contact_id: str
    contact: ContactSnapshot
    subject: str
    status: Literal[STATUSES]  # type: ignore[valid-type]
    priority: Literal[PRIORITIES]  # type: ignore[valid-type]
    responsible_id: str | None
    opened_by: str
    channel: str
    tags: list[str]
    merged_into_id: str | None
    followup_of_id: str | None
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
    contact_id: str | None = Field(default=None, max_length=64)
    status: list[Literal[STATUSES]] | None = Field(  # type: ignore[valid-type]
        default=None, max_length=len(STATUSES), description="repeatable: any of these statuses"
    )
    responsible: str | None = Field(default=None, max_length=100, description="`me`, `unassigned` or a member id")
    priority: Literal[PRIORITIES] | None = None  # type: ignore[valid-type]
    tag: str | None = Field(default=None, max_length=rules.MAX_TAG_LENGTH)
    number: int | None = Field(default=None, ge=1, le=2**62)
    q: str | None = Field(default=None, min_length=1, max_length=100, description="text in the subject, any case")
    created_after: datetime | None = Field(default=None, description="ISO date-time (UTC unless it says), inclusive")
    created_before: datetime | None = Field(default=None, description="ISO date-time, exclusive")
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    sort: str | None = Field(
        default=None, max_length=20, description="created, updated, number, priority; `-` first: descending (-created)"
    )


class TicketPath(BaseModel):
    ticket_id: str = Field(max_length=64)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into_ticket_id: str = Field(min_length=1, max_length=64, description="the ticket that stays")


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str | None = Field(alias="from", description="null: the ticket was opened")
    to: str
    actor: str = Field(description='a member id, or "system" for automation')
    reason: str | None
    at: str


class StatusHistory(BaseModel):
    items: list[StatusChangeOut]


class ViewsBar(BaseModel):
    statuses: dict[str, int] = Field(description="tickets per status")
    mine: int = Field(description="active tickets (new, open, pending, stopped) you are responsible for")
    unassigned: int = Field(description="active tickets nobody is responsible for")
    open: int = Field(description="new or open tickets")
    pending: int


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
    shown = service.Shown(ticket, sorted(rules.clean_tags(body.tags)))
    return _answer(shown, 201, {"Location": f"/v1/tickets/{ticket.id}"})


def _answer(shown: service.Shown, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = represent.ticket(shown.ticket, shown.tags)
    return json_response(body, status, {"ETag": etag(shown.ticket.version), **(headers or {})})


def _utc(moment: datetime | None) -> datetime | None:
    """A query's date-time, UTC when it names no offset."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@api.get("", responses={200: TicketPage}, summary="List tickets: filters, sort (newest first), cursor")
def list_tickets(query: TicketQuery):  # type: ignore[no-untyped-def]
    filters = lists.TicketFilter(
        contact_id=query.contact_id,
        statuses=tuple(query.status or ()),
        responsible=query.responsible,
        priority=query.priority,
        tag=query.tag,
        number=query.number,
        q=query.q,
        created_after=_utc(query.created_after),
        created_before=_utc(query.created_before),
        updated_after=_utc(query.updated_after),
        updated_before=_utc(query.updated_before),
    )
    page = lists.list_tickets(
        runtime().database.unit_of_work(),
        caller=caller(),
        filters=filters,
        sort=rules.parse_sort(query.sort),
        limit=query.limit,
        cursor=query.cursor,
    )
    return json_response(page.body(represent.listed))


@api.get(
    "/counts", responses={200: ViewsBar}, summary="The views bar: tickets per status, mine, unassigned, open, pending"
)
def ticket_counts():  # type: ignore[no-untyped-def]
    return json_response(lists.views_bar(runtime().database.unit_of_work(), caller=caller()))


@api.get("/<ticket_id>", responses={200: TicketOut}, summary="Get a ticket")
def get_ticket(path: TicketPath):  # type: ignore[no-untyped-def]
    return _answer(service.get_shown(runtime().database.unit_of_work(), caller=caller(), ticket_id=path.ticket_id))


@api.patch(
    "/<ticket_id>",
    responses={200: TicketOut},
    summary='Change a ticket: subject, status, priority, responsible, tags (If-Match: "<version>" or 412)',
)
def update_ticket(path: TicketPath, body: TicketPatch):  # type: ignore[no-untyped-def]
    shown = service.update(
        runtime().database.unit_of_work(),
        _directory(),
        caller=caller(),
        ticket_id=path.ticket_id,
        changes=body.model_dump(exclude_unset=True),
        if_match=request.headers.get("If-Match"),
    )
    return _answer(shown)


@api.get("/<ticket_id>/history", responses={200: StatusHistory}, summary="A ticket's status history, oldest first")
def ticket_history(path: TicketPath):  # type: ignore[no-untyped-def]
    changes = service.history(runtime().database.unit_of_work(), caller=caller(), ticket_id=path.ticket_id)
    return json_response({"items": [represent.status_change(change) for change in changes]})


@api.post(
    "/<ticket_id>/merge",
    responses={200: TicketOut},
    summary="Merge a ticket into another: it closes, linked; its comments move (answers the target)",
)
@idempotent
def merge_ticket(path: TicketPath, body: MergeIn):  # type: ignore[no-untyped-def]
    shown = service.merge(
        runtime().database.unit_of_work(), caller=caller(), ticket_id=path.ticket_id, into_ticket_id=body.into_ticket_id
    )
    return _answer(shown)
