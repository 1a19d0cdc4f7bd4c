"""The tickets service as the platform sees it."""

from __future__ import annotations

from pathlib import Path

from flask_openapi3 import OpenAPI

from crm.tickets.v1 import tickets_pb2_grpc
from crm_platform.consumer import Subscriptions
from crm_platform.service import GrpcBinding, Runtime, ServiceSpec
from crm_tickets.automation.loops import auto_close_loop
from crm_tickets.automation.views import api as automation_api
from crm_tickets.comments import handlers as comment_handlers
from crm_tickets.comments.views import api as comments_api
from crm_tickets.models import Base, visibility
from crm_tickets.sla import handlers as sla_handlers
from crm_tickets.sla.loops import breach_loop
from crm_tickets.sla.views import api as sla_api
from crm_tickets.tickets import handlers as ticket_handlers
from crm_tickets.tickets.grpc import TicketsServicer
from crm_tickets.tickets.views import api as tickets_api


def register_http(app: OpenAPI, _rt: Runtime) -> None:
    app.register_api(automation_api)  # /v1/tickets/settings/...: before the tickets' /<ticket_id> routes
    app.register_api(sla_api)
    app.register_api(tickets_api)
    app.register_api(comments_api)


def grpc_bindings(rt: Runtime) -> list[GrpcBinding]:
    return [
        GrpcBinding(
            "crm.tickets.v1.TicketsService",
            tickets_pb2_grpc.add_TicketsServiceServicer_to_server,
            TicketsServicer(rt),
            callers={
                "ListContactTickets": ("contacts", "conversations", "reports"),
                "ListTicketsForContact": ("contacts", "conversations", "reports"),
            },
        )
    ]


# The events this service consumes: its copy of who may see which contact, what contacts' merges and
# deletions do to tickets (after the copy's own handling of the same events), the mailer's replies and delivery
# news, and its own ticket events, which compute a ticket's SLA deadlines again.
subscriptions = Subscriptions()
visibility.subscribe(subscriptions)
ticket_handlers.subscribe(subscriptions)
comment_handlers.subscribe(subscriptions)
sla_handlers.subscribe(subscriptions)

SERVICE = ServiceSpec(
    name="tickets",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    register_http=register_http,
    grpc_bindings=grpc_bindings,
    subscriptions=subscriptions,
    loops=(auto_close_loop(), breach_loop()),
    dev_port_offset=10,
)
