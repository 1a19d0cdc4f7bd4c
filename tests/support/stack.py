"""Builders for services as production runs them: settings from env, migrations, bootstrap, create_app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from google.protobuf.message import Message
from sqlalchemy import select

from crm.events.v1 import envelope_pb2
from crm_events import by_name
from crm_platform import migrations
from crm_platform.auth import mint_for
from crm_platform.bus import Delivery
from crm_platform.consumer import IdempotentConsumer
from crm_platform.events import pack, unpack
from crm_platform.grpc_server import GrpcServer
from crm_platform.service import Runtime, ServiceSpec, bootstrap
from crm_platform.settings import load
from crm_platform.web import create_app
from tests.support import service_keys

JWT_SECRET = "integration-tests-only-secret-0123456789abcdef"


def service_env(name: str, database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        f"{name.upper()}_DATABASE_URL": database_url,
        "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp_path}/bus.db",
        "CRM_JWT_SECRET": JWT_SECRET,
        "CRM_ENV": "test",
        "CRM_GRPC_DEADLINE_SECONDS": "5",
        # The mailer refuses to start without somewhere to deliver; the tests hand it transports of their own.
        **({"MAILER_MAILDIR": str(tmp_path / "mail")} if name == "mailer" else {}),
        **service_keys.env(),
        **extra,
    }


@dataclass
class RunningService:
    """One service's runtime and a test client of its HTTP API."""

    rt: Runtime
    client: FlaskClient

    def auth(self, workspace_id: str, *, user_id: str = "agent-1", role: str = "admin") -> dict[str, str]:
        token = mint_for(self.rt.settings, workspace_id=workspace_id, user_id=user_id, role=role)
        return {"Authorization": f"Bearer {token}"}

    def outbox(self, event_type: str | None = None) -> list[envelope_pb2.Envelope]:
        """The events written to the outbox, oldest first."""
        table = self.rt.database.outbox
        query = select(table.c.body).order_by(table.c.id)
        if event_type is not None:
            query = query.where(table.c.event_type == event_type)
        with self.rt.database.engine.connect() as connection:
            return [unpack(row.body) for row in connection.execute(query)]

    def consume(self, body: bytes, *, consumer: str | None = None) -> None:
        """Hand one bus delivery to the service's idempotent consumer, as the worker process does."""
        envelope = unpack(body)
        handler = IdempotentConsumer(
            consumer or self.rt.spec.name, self.rt.database, self.rt.spec.subscriptions, self.rt
        )
        handler(Delivery(body=body, event_type=envelope.type, attempt=1))


@contextmanager
def running(spec: ServiceSpec, database_url: str, tmp_path: Path, **extra_env: str) -> Iterator[RunningService]:
    migrations.upgrade(spec, database_url)
    rt = bootstrap(spec, load(spec.name, service_env(spec.name, database_url, tmp_path, **extra_env)))
    client = create_app(rt).test_client()
    # These tests read problems in English; a workspace's default languages put Spanish first, and
    # tests/integration/platform/test_problem_language.py pins that choice.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    try:
        yield RunningService(rt=rt, client=client)
    finally:
        rt.close()


@dataclass
class ContactsPeer:
    """The contacts service other services call over gRPC, with factories for its data."""

    rt: Runtime
    target: str

    def workspace(self, *, name: str = "Acme", region: str = "ES") -> str:
        from tests.factories import contacts

        return contacts.workspace(self.rt.database, name=name, region=region)

    def contact(self, workspace_id: str, *, name: str = "Ana López", email: str | None = "ana@example.com") -> str:
        from tests.factories import contacts

        return contacts.contact(self.rt.database, workspace_id, name=name, email=email)


@contextmanager
def contacts_peer(tmp_path: Path) -> Iterator[ContactsPeer]:
    from crm_contacts.app import SERVICE as CONTACTS

    url = f"sqlite:///{tmp_path}/contacts-peer.db"
    migrations.upgrade(CONTACTS, url)
    rt = bootstrap(CONTACTS, load("contacts", service_env("contacts", url, tmp_path)))
    server = GrpcServer(
        [(b, rt.metrics) for b in CONTACTS.grpc_bindings(rt)], address="127.0.0.1:0", settings=rt.settings
    )
    server.start()
    try:
        yield ContactsPeer(rt=rt, target=f"127.0.0.1:{server.port}")
    finally:
        server.stop(grace=0)
        rt.close()


def envelope(
    event_type: str, payload: Message, *, workspace_id: str, producer: str, occurred_at: datetime | None = None
) -> bytes:
    """A serialized envelope as the producer's outbox relay would publish it."""
    body = pack(by_name(event_type), payload, workspace_id=workspace_id, producer=producer).body
    if occurred_at is None:
        return body
    parsed = unpack(body)
    parsed.occurred_at.FromDatetime(occurred_at)
    return parsed.SerializeToString()


def problem_fields(body: Any) -> dict[str, str]:
    """``{field: code}`` of a problem+json answer's field errors."""
    return {e["field"]: e["code"] for e in body.get("errors", [])}
