"""The conversations service as the platform sees it."""

from __future__ import annotations

from pathlib import Path

from flask_openapi3 import OpenAPI

from crm.conversations.v1 import conversations_pb2_grpc
from crm_conversations.attachments import grpc as attachments_grpc
from crm_conversations.attachments.views import api as attachments_api
from crm_conversations.conversations import handlers as conversation_handlers
from crm_conversations.conversations.grpc import ConversationsServicer
from crm_conversations.conversations.views import api as conversations_api
from crm_conversations.messages import handlers as message_handlers
from crm_conversations.messages.loops import retry_pending_forever
from crm_conversations.messages.views import api as messages_api
from crm_conversations.models import Base, visibility
from crm_conversations.notifications.loops import notify_unread_forever
from crm_conversations.notifications.views import api as notification_settings_api
from crm_conversations.panel.views import api as panel_api
from crm_conversations.presence import models as presence_models  # noqa: F401 - its table in the metadata
from crm_conversations.realtime import models as realtime_models  # noqa: F401 - its table in the metadata
from crm_conversations.realtime import server as realtime_server
from crm_conversations.realtime import service as realtime_log
from crm_conversations.settings import ConversationsSettings
from crm_conversations.templates.views import api as templates_api
from crm_conversations.unread.views import api as unread_api
from crm_conversations.widget import public as widget_public
from crm_conversations.widget.views import api as inboxes_api
from crm_platform.consumer import Subscriptions
from crm_platform.service import GrpcBinding, ProcessType, Runtime, ServiceSpec


def register_http(app: OpenAPI, rt: Runtime) -> None:
    # The widget's public routes and the inboxes first: fixed paths beside /<conversation_id>, like /templates.
    widget_public.install(app, rt)
    for blueprint in (
        inboxes_api,
        templates_api,
        notification_settings_api,
        conversations_api,
        messages_api,
        attachments_api,
        unread_api,
        panel_api,
    ):
        app.register_api(blueprint)


def grpc_bindings(rt: Runtime) -> list[GrpcBinding]:
    readers = ("contacts", "tickets", "reports")
    return [
        GrpcBinding(
            "crm.conversations.v1.ConversationsService",
            conversations_pb2_grpc.add_ConversationsServiceServicer_to_server,
            ConversationsServicer(rt),
            callers={"ListContactConversations": readers, "ListRecentConversationsForContact": readers},
        ),
        attachments_grpc.binding(rt),  # crm.platform.v1.Attachments: members' files, read by the mailer
    ]


# The visibility copy of contacts' events, the contact's search copy and merges, and the mailer's mail.
subscriptions = Subscriptions()
visibility.subscribe(subscriptions)
conversation_handlers.subscribe(subscriptions)
message_handlers.subscribe(subscriptions)

SERVICE = ServiceSpec(
    name="conversations",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    register_http=register_http,
    grpc_bindings=grpc_bindings,
    subscriptions=subscriptions,
    loops=(retry_pending_forever, notify_unread_forever),
    # The realtime stream: `crm serve conversations realtime`, and inside `crm run` on 127.0.0.1; every event
    # it streams is logged in the transaction that emits it, for reconnects' catch-up.
    process_types={
        "realtime": ProcessType(
            run=realtime_server.run_realtime,
            embed=realtime_server.embed,
            port_variable="CONVERSATIONS_REALTIME_PORT",
        )
    },
    on_emit=realtime_log.record,
    settings=ConversationsSettings,
    public_http=widget_public.PUBLIC_RULES,
    dev_port_offset=20,
)
