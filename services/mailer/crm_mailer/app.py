"""The mailer service as the platform sees it."""

from __future__ import annotations

from pathlib import Path

from flask_openapi3 import OpenAPI

from crm.mailer.v1 import mailer_pb2_grpc
from crm_mailer import attachments
from crm_mailer.domains import cli as domains_cli
from crm_mailer.domains import views as domains_views
from crm_mailer.domains.loop import recheck_forever
from crm_mailer.domains.service import Domains
from crm_mailer.inbound import smtp as inbound_smtp
from crm_mailer.inbound import views as inbound_views
from crm_mailer.inbound.loop import process_inbound_forever
from crm_mailer.models import Base
from crm_mailer.outbound.grpc import MailerServicer
from crm_mailer.outbound.handlers import subscriptions
from crm_mailer.outbound.loops import deliver_forever
from crm_mailer.outbound.settings import Addressing
from crm_mailer.outbound.views import UNSUBSCRIBE_RULE
from crm_mailer.outbound.views import api as outbound_api
from crm_mailer.outbound.views import public as outbound_public
from crm_mailer.settings import MailerSettings
from crm_platform.service import GrpcBinding, ProcessType, Runtime, ServiceSpec


def register_http(app: OpenAPI, rt: Runtime) -> None:
    domains_views.install(app, Domains.of(rt))
    # Built once, which stops the process at start without the tokens' settings.
    app.extensions["crm.mailer.addressing"] = Addressing.of(rt.service_settings, rt.settings)
    app.register_api(outbound_api)
    app.register_api(outbound_public)
    inbound_views.install(app, inbound_smtp.pipeline_of(rt))


def grpc_bindings(rt: Runtime) -> list[GrpcBinding]:
    return [
        GrpcBinding(
            "crm.mailer.v1.MailerService",
            mailer_pb2_grpc.add_MailerServiceServicer_to_server,
            MailerServicer(rt),
            callers={
                "GetDeliveryBySourceEvent": ("tickets", "conversations"),
                "SendEmail": ("tickets", "conversations"),
            },
        ),
        attachments.grpc_binding(rt),  # crm.platform.v1.Attachments: inbound mail's files
    ]


def local_settings(var: Path, smtp_port: int | None) -> dict[str, str]:
    """On a development machine: mail to the stack's SMTP sink, or without one into a Maildir under var/."""
    if smtp_port is None:
        return {"MAILER_MAILDIR": str(var / "mail")}
    return {"MAILER_SMTP_HOST": "127.0.0.1", "MAILER_SMTP_PORT": str(smtp_port)}


SERVICE = ServiceSpec(
    name="mailer",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    register_http=register_http,
    grpc_bindings=grpc_bindings,
    subscriptions=subscriptions,
    loops=(deliver_forever, recheck_forever, process_inbound_forever),
    # The inbound SMTP listener: `crm serve mailer smtp`, and inside `crm run` on 127.0.0.1.
    process_types={
        "smtp": ProcessType(
            run=inbound_smtp.run_smtp, embed=inbound_smtp.embed, port_variable="MAILER_INBOUND_SMTP_PORT"
        )
    },
    cli=domains_cli.register,
    settings=MailerSettings,
    dev_port_offset=30,
    local_settings=local_settings,
    public_http=(UNSUBSCRIBE_RULE,),
)
