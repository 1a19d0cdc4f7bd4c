"""The reports service as the platform sees it (no gRPC API of its own: the server only answers health).

Every report feature brings a projection (how its events become figures, ``crm_reports.projection``) and a
build function (``crm_reports.report``); ``PROJECTIONS`` is what ``crm reports rebuild`` derives again."""

from __future__ import annotations

from pathlib import Path

from flask_openapi3 import OpenAPI

from crm_platform.consumer import Subscriptions
from crm_platform.service import Runtime, ServiceSpec
from crm_reports import cli, endpoints, rebuilds
from crm_reports.conversations import handlers as conversations_handlers
from crm_reports.conversations import service as _conversations_report  # noqa: F401 - registers the report
from crm_reports.conversations.rules import PROJECTION as CONVERSATIONS
from crm_reports.funnel import handlers as funnel_handlers
from crm_reports.funnel import service as _funnel_report  # noqa: F401 - registers the report
from crm_reports.hours.views import api as hours_api
from crm_reports.labels import handlers as label_handlers
from crm_reports.mail import handlers as mail_handlers
from crm_reports.mail import service as _mail_report  # noqa: F401 - registers the report
from crm_reports.mail.rules import PROJECTION as MAIL
from crm_reports.models import Base
from crm_reports.projection import Projection
from crm_reports.sources import service as _sources_report  # noqa: F401 - registers the report
from crm_reports.summary import handlers as summary_handlers
from crm_reports.summary import models as _summary_models  # noqa: F401 - registers the tables
from crm_reports.summary.views import api as summary_api
from crm_reports.tickets import handlers as ticket_handlers
from crm_reports.tickets import service as _ticket_report  # noqa: F401 - registers the report
from crm_reports.tickets.rules import PROJECTION as TICKETS


def register_http(app: OpenAPI, _rt: Runtime) -> None:
    app.register_api(summary_api)
    app.register_api(hours_api)
    app.register_api(endpoints.api)  # /v1/reports/<report>: after the fixed paths


PROJECTIONS: tuple[Projection, ...] = (CONVERSATIONS, funnel_handlers.FUNNEL, TICKETS, MAIL)

subscriptions = Subscriptions()
summary_handlers.subscribe(subscriptions)
label_handlers.subscribe(subscriptions)
funnel_handlers.subscribe(subscriptions)
ticket_handlers.subscribe(subscriptions)
mail_handlers.subscribe(subscriptions)
conversations_handlers.subscribe(subscriptions)

SERVICE = ServiceSpec(
    name="reports",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    register_http=register_http,
    subscriptions=subscriptions,
    cli=cli.register,
    loops=(rebuilds.rebuild_loop(),),
    dev_port_offset=40,
)
