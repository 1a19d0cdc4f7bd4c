"""gRPC API of tickets, for the other services."""

from __future__ import annotations

from typing import Any

from crm.tickets.v1 import tickets_pb2, tickets_pb2_grpc
from crm_platform import context, paging
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.service import Runtime
from crm_tickets.tickets import lists, represent, rules

# The side panel's order: newest first, the cursor refusing any other list's.
_SIDE_PANEL = rules.parse_sort("-created")


class TicketsServicer(tickets_pb2_grpc.TicketsServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def ListContactTickets(  # noqa: N802
        self, request: tickets_pb2.ListContactTicketsRequest, _context: Any
    ) -> tickets_pb2.ListContactTicketsResponse:
        caller = context.require_caller()
        page = lists.list_tickets(
            self.rt.database.unit_of_work(),
            caller=caller,
            filters=lists.TicketFilter(contact_id=request.contact_id),
            sort=_SIDE_PANEL,
            limit=paging.bounded_limit(request.limit),
            cursor=None,
        )
        return tickets_pb2.ListContactTicketsResponse(
            tickets=[represent.ticket_message(shown.ticket) for shown in page.items]
        )

    def ListTicketsForContact(  # noqa: N802
        self, request: tickets_pb2.ListTicketsForContactRequest, _context: Any
    ) -> tickets_pb2.ListTicketsForContactResponse:
        caller = context.require_caller()
        if not request.contact_id:
            raise InvalidInput(
                "the request has invalid fields", errors=[FieldError("contact_id", "must not be empty", "required")]
            )
        unknown = [status for status in request.statuses if status not in rules.STATUSES]
        if unknown:
            raise InvalidInput(
                "the request has invalid fields",
                errors=[FieldError("statuses", f"must be among {', '.join(rules.STATUSES)}", "invalid_choice")],
            )
        page = lists.list_tickets(
            self.rt.database.unit_of_work(),
            caller=caller,
            filters=lists.TicketFilter(contact_id=request.contact_id, statuses=tuple(request.statuses)),
            sort=_SIDE_PANEL,
            limit=paging.bounded_limit(request.limit),
            cursor=request.cursor or None,
        )
        return tickets_pb2.ListTicketsForContactResponse(
            tickets=[represent.ticket_message(shown.ticket) for shown in page.items],
            next_cursor=page.next_cursor or "",
        )
