"""gRPC API of tickets, for the other services."""

from __future__ import annotations

from typing import Any

from crm.tickets.v1 import tickets_pb2, tickets_pb2_grpc
from crm_platform import context, paging
from crm_platform.service import Runtime
from crm_tickets.tickets import represent, service


class TicketsServicer(tickets_pb2_grpc.TicketsServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def ListContactTickets(  # noqa: N802
        self, request: tickets_pb2.ListContactTicketsRequest, _context: Any
    ) -> tickets_pb2.ListContactTicketsResponse:
        caller = context.require_caller()
        limit = paging.bounded_limit(request.limit)
        tickets = service.list_page(
            self.rt.database.unit_of_work(),
            caller=caller,
            limit=limit,
            after_id=None,
            contact_id=request.contact_id,
        )[:limit]
        return tickets_pb2.ListContactTicketsResponse(tickets=[represent.ticket_message(t) for t in tickets])
