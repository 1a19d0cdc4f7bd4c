"""The reports service as the platform sees it (no gRPC API of its own: the server only answers health)."""

from __future__ import annotations

from pathlib import Path

from flask_openapi3 import OpenAPI

from crm_platform.service import Runtime, ServiceSpec
from crm_reports.models import Base
from crm_reports.summary import models as _summary_models  # noqa: F401 - registers the tables
from crm_reports.summary.handlers import subscriptions
from crm_reports.summary.views import api as summary_api


def register_http(app: OpenAPI, _rt: Runtime) -> None:
    app.register_api(summary_api)


SERVICE = ServiceSpec(
    name="reports",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    register_http=register_http,
    subscriptions=subscriptions,
    dev_port_offset=40,
)
