"""An owner of files as a service would plug the store in: the platform's tables in its own database (SQLite
and PostgreSQL), its Attachments gRPC service on loopback with the production interceptor, and the settings
of the service that fetches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crm_platform.attachments import grpc as attachments_grpc
from crm_platform.attachments.client import AttachmentFetcher
from crm_platform.attachments.rules import Limits
from crm_platform.attachments.store import AttachmentStore, AttachmentTables, StoredAttachment
from crm_platform.db import Database, create_db_engine, new_metadata
from crm_platform.grpc_client import GrpcClients
from crm_platform.grpc_server import GrpcServer
from crm_platform.ids import new_id
from crm_platform.metrics import for_service
from crm_platform.settings import load
from tests.support.stack import service_env

OWNER = "tickets"  # the service the files belong to in these tests: only the mailer may read them


@dataclass
class Owner:
    store: AttachmentStore
    target: str
    tmp_path: Path

    def put(
        self, data: bytes, *, workspace_id: str, filename: str = "report.pdf", **kwargs: object
    ) -> StoredAttachment:
        with self.store.database.unit_of_work() as uow:
            stored = self.store.put(
                uow.session,
                data,
                workspace_id=workspace_id,
                filename=filename,
                content_type="application/pdf",
                **kwargs,  # type: ignore[arg-type]
            )
            uow.commit()
        return stored

    def fetcher(self, service: str = "mailer") -> AttachmentFetcher:
        """The fetcher of ``service``, whose settings point at this owner's gRPC port."""
        env = service_env(service, f"sqlite:///{self.tmp_path}/{service}.db", self.tmp_path)
        env[f"CRM_{OWNER.upper()}_GRPC_TARGET"] = self.target
        return AttachmentFetcher(GrpcClients(load(service, env)), timeout=10)


def store_on(url: str, *, directory: Path | None = None, max_bytes: int = 1024 * 1024) -> AttachmentStore:
    metadata = new_metadata()
    tables = AttachmentTables(metadata)
    database = Database(f"files-{new_id()[:8]}", create_db_engine(url), metadata)
    metadata.create_all(database.engine)
    return AttachmentStore(tables, database, service=OWNER, limits=Limits(max_bytes=max_bytes), directory=directory)


@pytest.fixture(params=["database", "disk"])
def owner(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[Owner]:
    """Files kept in the database, or under a folder (the metadata in the database either way)."""
    directory = tmp_path / "files" if request.param == "disk" else None
    store = store_on(database_url, directory=directory)
    settings = load(OWNER, service_env(OWNER, database_url, tmp_path))
    server = GrpcServer(
        [(attachments_grpc.binding(store, callers=("mailer",)), for_service(OWNER))],
        address="127.0.0.1:0",
        settings=settings,
    )
    server.start()
    try:
        yield Owner(store=store, target=f"127.0.0.1:{server.port}", tmp_path=tmp_path)
    finally:
        server.stop(grace=0)
        store.database.engine.dispose()
