"""Real services for the integration tests: migrated databases, HTTP apps, and a contacts gRPC server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import ContactsPeer, RunningService, contacts_peer, running


@pytest.fixture
def contacts_peer_service(tmp_path: Path) -> Iterator[ContactsPeer]:
    """The contacts service on its own SQLite database, answering gRPC on a loopback port."""
    with contacts_peer(tmp_path) as peer:
        yield peer


@pytest.fixture
def contacts_api(database_url: str, tmp_path: Path) -> Iterator[RunningService]:
    from crm_contacts.app import SERVICE

    with running(SERVICE, database_url, tmp_path) as service:
        yield service


@pytest.fixture
def tickets_api(database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer) -> Iterator[RunningService]:
    from crm_tickets.app import SERVICE

    with running(SERVICE, database_url, tmp_path, CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target) as service:
        yield service


@pytest.fixture
def conversations_api(
    database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer
) -> Iterator[RunningService]:
    from crm_conversations.app import SERVICE

    with running(SERVICE, database_url, tmp_path, CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target) as service:
        yield service


@pytest.fixture
def mailer_api(database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer) -> Iterator[RunningService]:
    from crm_mailer.app import SERVICE

    with running(
        SERVICE,
        database_url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target,
        MAILER_FROM="Acme Support <support@acme.test>",
        MAILER_PUBLIC_URL="https://mail.acme.test",
    ) as service:
        yield service


@pytest.fixture
def reports_api(database_url: str, tmp_path: Path) -> Iterator[RunningService]:
    from crm_reports.app import SERVICE

    with running(SERVICE, database_url, tmp_path) as service:
        yield service
