"""The conversations service as the platform sees it."""

from __future__ import annotations

from pathlib import Path

from flask_openapi3 import OpenAPI

from crm.conversations.v1 import conversations_pb2_grpc
from crm_conversations.conversations.grpc import ConversationsServicer
from crm_conversations.conversations.views import api as conversations_api
from crm_conversations.models import Base, visibility
from crm_platform.consumer import Subscriptions
from crm_platform.service import GrpcBinding, Runtime, ServiceSpec


def register_http(app: OpenAPI, _rt: Runtime) -> None:
    app.register_api(conversations_api)


def grpc_bindings(rt: Runtime) -> list[GrpcBinding]:
    return [
        GrpcBinding(
            "crm.conversations.v1.ConversationsService",
            conversations_pb2_grpc.add_ConversationsServiceServicer_to_server,
            ConversationsServicer(rt),
            callers={"ListContactConversations": ("contacts", "tickets", "reports")},
        )
    ]


# The only events this service consumes keep its copy of who may see which contact.
subscriptions = Subscriptions()
visibility.subscribe(subscriptions)

SERVICE = ServiceSpec(
    name="conversations",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    register_http=register_http,
    grpc_bindings=grpc_bindings,
    subscriptions=subscriptions,
    dev_port_offset=20,
)
