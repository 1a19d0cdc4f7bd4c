"""The contacts service on a real database (SQLite and PostgreSQL), with factories for its data.

One migrated database per backend serves the whole folder: every test makes its own workspace, and
workspaces share nothing, so tests stay independent while the run stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from crm.events.v1 import envelope_pb2
from crm_contacts.record.history import HistoryEntry
from tests.factories import contacts as factories
from tests.support import infra
from tests.support.stack import RunningService, running


@dataclass
class Contacts:
    """The contacts HTTP API and factories: workspaces, members, contacts, and a look at the history."""

    api: RunningService
    workspaces: list[str]

    def outbox(self, event_type: str | None = None) -> list[envelope_pb2.Envelope]:
        """The events this test's workspaces wrote to the outbox, oldest first."""
        return [e for e in self.api.outbox(event_type) if e.workspace_id in self.workspaces]

    def workspace(self, *, region: str = "ES", allow_duplicates: bool = False, agents_see_all: bool = True) -> str:
        workspace_id = factories.workspace(
            self.api.rt.database, region=region, allow_duplicates=allow_duplicates, agents_see_all=agents_see_all
        )
        self.workspaces.append(workspace_id)
        return workspace_id

    def member(self, workspace_id: str, name: str, *, role: str = "agent") -> str:
        return factories.member(self.api.rt.database, workspace_id, name, role=role)

    def headers(self, workspace_id: str, member_id: str = "admin-1", role: str = "admin") -> dict[str, str]:
        return self.api.auth(workspace_id, user_id=member_id, role=role)

    def create(self, workspace_id: str, *, as_member: str = "admin-1", role: str = "admin", **fields: Any) -> Any:
        body = {"name": "Ana Ruiz", **fields}
        return self.api.client.post("/v1/contacts", json=body, headers=self.headers(workspace_id, as_member, role))

    def history(self, contact_id: str) -> list[tuple[str, dict[str, Any]]]:
        with self.api.rt.database.unit_of_work() as uow:
            rows = uow.session.scalars(
                select(HistoryEntry).where(HistoryEntry.contact_id == contact_id).order_by(HistoryEntry.id)
            )
            return [(row.kind, dict(row.data or {})) for row in rows]


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def contacts_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    from crm_contacts.app import SERVICE

    tmp_path = tmp_path_factory.mktemp(f"contacts-{request.param}")
    if request.param == "sqlite":
        with running(SERVICE, f"sqlite:///{tmp_path}/contacts.db", tmp_path) as service:
            yield service
    else:
        with infra.fresh_postgres() as url, running(SERVICE, url, tmp_path) as service:
            yield service


@pytest.fixture
def contacts(contacts_service: RunningService) -> Contacts:
    return Contacts(contacts_service, [])


@pytest.fixture(scope="package")
def grpc_target(contacts_service: RunningService) -> Iterator[str]:
    """The contacts gRPC server on a loopback port, over the same database as the HTTP API."""
    from crm_contacts.app import SERVICE
    from crm_platform.grpc_server import GrpcServer

    server = GrpcServer(
        [(b, contacts_service.rt.metrics) for b in SERVICE.grpc_bindings(contacts_service.rt)],
        address="127.0.0.1:0",
        settings=contacts_service.rt.settings,
    )
    server.start()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop(grace=0)
