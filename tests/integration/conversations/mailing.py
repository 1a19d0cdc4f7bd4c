"""The real mailer beside conversations for tests that follow mail to the SMTP sink: its gRPC server on its own
SQLite database (fed by the contacts peer), and an aiosmtpd sink on loopback its delivery loop hands mail to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from crm_mailer.outbound import delivery
from crm_mailer.outbound.transport import SmtpTransport
from crm_platform import migrations
from crm_platform.grpc_server import GrpcServer
from crm_platform.service import bootstrap
from crm_platform.settings import load
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, RunningService, running, service_env


@dataclass
class Sink:
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@dataclass
class Mailer:
    rt: Any
    target: str


@pytest.fixture
def mailer_peer(tmp_path: Path, contacts_peer_service: ContactsPeer) -> Iterator[Mailer]:
    from crm_mailer.app import SERVICE as MAILER

    url = f"sqlite:///{tmp_path}/mailer-peer.db"
    migrations.upgrade(MAILER, url)
    env = service_env(
        "mailer",
        url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target,
        MAILER_FROM="Acme Support <support@acme.test>",
    )
    rt = bootstrap(MAILER, load("mailer", env))
    server = GrpcServer(
        [(b, rt.metrics) for b in MAILER.grpc_bindings(rt)], address="127.0.0.1:0", settings=rt.settings
    )
    server.start()
    try:
        yield Mailer(rt=rt, target=f"127.0.0.1:{server.port}")
    finally:
        server.stop(grace=0)
        rt.close()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpTransport, Sink]]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpTransport("127.0.0.1", controller.port, username=None, password=None, starttls=False), sink
    finally:
        controller.stop()


def deliver(mailer: Mailer, transport: SmtpTransport) -> int:
    """One pass of the mailer's delivery loop: what is queued goes to the sink; how many were sent."""
    return int(delivery.deliver_due(mailer.rt.database, transport, delivery.Composer.of(mailer.rt))["sent"])


@contextmanager
def conversations_beside(
    database_url: str, tmp_path: Path, contacts: ContactsPeer, mailer: Mailer, **settings: str
) -> Iterator[RunningService]:
    """The conversations service asking the contacts peer and this mailer over gRPC, with ``settings`` of its own."""
    from crm_conversations.app import SERVICE

    with running(
        SERVICE,
        database_url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=contacts.target,
        CRM_MAILER_GRPC_TARGET=mailer.target,
        **settings,
    ) as service:
        yield service
