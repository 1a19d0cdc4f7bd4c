"""The contacts service as the platform sees it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from flask_openapi3 import OpenAPI

from crm.contacts.v1 import contacts_pb2_grpc
from crm_contacts import all_models as _all_models  # noqa: F401 - registers every table
from crm_contacts.bulk import cli as bulk_cli
from crm_contacts.bulk.loops import run_jobs_forever
from crm_contacts.bulk.views import api as bulk_api
from crm_contacts.contacts.grpc import ContactsServicer
from crm_contacts.contacts.handlers import subscriptions as contact_subscriptions
from crm_contacts.contacts.views import api as contacts_api
from crm_contacts.customfields.views import api as custom_fields_api
from crm_contacts.files.views import api as files_api
from crm_contacts.filters.views import api as filters_api
from crm_contacts.funnel.views import api as funnel_api
from crm_contacts.history.views import api as history_api
from crm_contacts.members import service as members
from crm_contacts.members.views import api as members_api
from crm_contacts.models import Base
from crm_contacts.notes.views import api as notes_api
from crm_contacts.record.workspace import Workspace
from crm_contacts.settings import ContactsSettings
from crm_contacts.sources.views import api as sources_api
from crm_contacts.tasks.views import api as tasks_api
from crm_contacts.workspaces import cli as workspace_cli
from crm_contacts.workspaces import service as workspaces
from crm_contacts.workspaces.views import api as settings_api
from crm_platform.openapi import register_apis
from crm_platform.service import GrpcBinding, Runtime, ServiceSpec

# Static paths (/v1/contacts/members, ...) are registered before /v1/contacts/<contact_id> would shadow them;
# werkzeug also ranks static segments first, so the order is for readers.
BLUEPRINTS = (
    settings_api,
    members_api,
    funnel_api,
    sources_api,
    custom_fields_api,
    filters_api,
    bulk_api,
    notes_api,
    tasks_api,
    history_api,
    files_api,
    contacts_api,
)


def register_http(app: OpenAPI, _rt: Runtime) -> None:
    register_apis(app, BLUEPRINTS)


# Who may call which method of contacts over gRPC; any other service gets PERMISSION_DENIED.
READERS = ("tickets", "conversations", "mailer", "reports")
GRPC_CALLERS = {
    "GetContact": READERS,
    "BatchGetContacts": READERS,
    "FindContactsByEmail": ("conversations", "mailer"),
    "FindOrCreateContactByEmail": ("conversations", "mailer"),  # creates contacts: inbound mail only
    "IsEmailSendable": ("mailer",),
    "GetMember": READERS,
    "ListMembers": READERS,
    # Visibility: tickets and conversations ask once when something is opened on a contact (for the user).
    "GetContactAccess": ("tickets", "conversations"),
    # Every service checks that a token's workspace exists (crm_platform.workspaces) before serving it.
    "GetWorkspace": ("tickets", "conversations", "mailer", "reports"),
    # The conversations side panel: the contact's notes and the name of its source.
    "ListContactNotes": ("conversations",),
    "GetSource": READERS,
}


def grpc_bindings(rt: Runtime) -> list[GrpcBinding]:
    return [
        GrpcBinding(
            "crm.contacts.v1.ContactsService",
            contacts_pb2_grpc.add_ContactsServiceServicer_to_server,
            ContactsServicer(rt),
            callers=GRPC_CALLERS,
        )
    ]


def register_cli(sub: argparse._SubParsersAction) -> None:
    workspace_cli.register(sub)
    bulk_cli.register(sub)


DEMO_ADMIN_NAME, DEMO_ADMIN_EMAIL = "Demo Admin", "admin@example.com"


def demo_seed(rt: Runtime) -> dict[str, str]:
    """A demo workspace with its first admin member for all-in-one mode's first run (reused afterwards).

    The printed token is the admin's, so ``/members/me`` answers and the contacts they create are theirs.
    """
    existing = workspaces.get_by_name(rt.database.unit_of_work(), name="Demo")
    if existing is None:
        workspace, admin = workspaces.create_with_admin(
            rt.database.unit_of_work(),
            name="Demo",
            default_region="ES",
            admin_name=DEMO_ADMIN_NAME,
            admin_email=DEMO_ADMIN_EMAIL,
        )
    else:  # a var/ from before the demo had an admin gets one now
        workspace = existing
        found = members.get_by_email(rt.database.unit_of_work(), workspace_id=workspace.id, email=DEMO_ADMIN_EMAIL)
        admin = found or members.create(
            rt.database.unit_of_work(),
            workspace_id=workspace.id,
            name=DEMO_ADMIN_NAME,
            email=DEMO_ADMIN_EMAIL,
            role="admin",
        )
    return {"workspace_id": workspace.id, "admin_id": admin.id}


def workspace_languages(rt: Runtime, workspace_id: str) -> list[str]:
    """The workspace's languages, first preferred: the language of its problems when none is asked for."""
    with rt.database.unit_of_work() as uow:
        workspace = uow.session.get(Workspace, workspace_id)
        return list(workspace.languages or []) if workspace is not None else []


def workspace_lookup(rt: Runtime) -> Callable[[str], bool]:
    """Contacts owns workspaces: it looks in its own table."""
    return lambda workspace_id: workspaces.exists(rt.database.unit_of_work(), workspace_id=workspace_id)


def local_settings(var: Path, _smtp_port: int | None) -> dict[str, str]:
    """On a development machine the uploaded files live under var/ (the http and worker processes share them)."""
    return {"CONTACTS_STORAGE_DIR": str(var / "contacts-files")}


SERVICE = ServiceSpec(
    name="contacts",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    register_http=register_http,
    grpc_bindings=grpc_bindings,
    subscriptions=contact_subscriptions,
    loops=(run_jobs_forever,),
    cli=register_cli,
    demo_seed=demo_seed,
    workspace_languages=workspace_languages,
    workspace_lookup=workspace_lookup,
    settings=ContactsSettings,
    dev_port_offset=0,
    local_settings=local_settings,
    demo_requests=(
        ("POST", "/v1/contacts", '{"name": "Ana Ruiz", "email": "Ana@Example.com", "phone": "612 345 678"}'),
        ("GET", "/v1/contacts", None),
    ),
)
