"""The mailer on a real database (SQLite and PostgreSQL) checking DNS records on a loopback DNS server (dnslib)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.mailer.domains.helpers import SPF_INCLUDE
from tests.support.dns_server import LoopbackDns, loopback_dns
from tests.support.stack import ContactsPeer, RunningService, contacts_peer, running


@pytest.fixture
def contacts_peer_service(tmp_path: Path) -> Iterator[ContactsPeer]:
    """The contacts service the mailer asks whether a token's workspace exists."""
    with contacts_peer(tmp_path) as peer:
        yield peer


@pytest.fixture
def dns_server() -> Iterator[LoopbackDns]:
    with loopback_dns() as server:
        yield server


@pytest.fixture
def api(
    database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer, dns_server: LoopbackDns
) -> Iterator[RunningService]:
    from crm_mailer.app import SERVICE

    with running(
        SERVICE,
        database_url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target,
        MAILER_FROM="CRM <no-reply@mail.crm-platform.net>",
        MAILER_SPF_INCLUDE=SPF_INCLUDE,
        MAILER_DNS_RESOLVER=dns_server.address,
        MAILER_DNS_TIMEOUT_SECONDS="2",
    ) as running_service:
        yield running_service


@pytest.fixture
def acme(contacts_peer_service: ContactsPeer) -> str:
    return contacts_peer_service.workspace(name="Acme")
