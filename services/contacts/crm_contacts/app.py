"""The contacts service as the platform sees it."""

from __future__ import annotations

from pathlib import Path

from flask_openapi3 import OpenAPI

from crm.contacts.v1 import contacts_pb2_grpc
from crm_contacts.contacts import models as _contact_models  # noqa: F401 - registers the tables
from crm_contacts.contacts.grpc import ContactsServicer
from crm_contacts.contacts.views import api as contacts_api
from crm_contacts.models import Base
from crm_contacts.workspaces import cli as workspace_cli
from crm_contacts.workspaces import service as workspaces
from crm_platform.service import GrpcBinding, Runtime, ServiceSpec


def register_http(app: OpenAPI, _rt: Runtime) -> None:
    app.register_api(contacts_api)


def grpc_bindings(rt: Runtime) -> list[GrpcBinding]:
    return [
        GrpcBinding(
            "crm.contacts.v1.ContactsService",
            contacts_pb2_grpc.add_ContactsServiceServicer_to_server,
            ContactsServicer(rt),
        )
    ]


def demo_seed(rt: Runtime) -> dict[str, str]:
    """A demo workspace for all-in-one mode's first run (reused afterwards)."""
    existing = workspaces.get_by_name(rt.database.unit_of_work(), name="Demo")
    workspace = existing or workspaces.create(rt.database.unit_of_work(), name="Demo", default_region="ES")
    return {"workspace_id": workspace.id}


SERVICE = ServiceSpec(
    name="contacts",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    register_http=register_http,
    grpc_bindings=grpc_bindings,
    cli=workspace_cli.register,
    demo_seed=demo_seed,
)
