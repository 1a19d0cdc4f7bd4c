"""The mailer's inbound side as production runs it: a migrated database, the SMTP listener on loopback, the
contacts service answering gRPC, the mailer's HTTP API, and a DNS server on loopback for the senders' SPF, DKIM
and DMARC records (empty unless a test publishes some)."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_mailer.inbound import smtp
from crm_mailer.inbound.models import STORED, InboundMessageRow
from crm_mailer.inbound.smtp import Listener
from tests.support.dns_server import LoopbackDns, loopback_dns
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, RunningService, contacts_peer, running

INBOUND_DOMAIN = "in.acme.test"
TRUSTED_RELAY = "mx.acme.test"
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mail"


@dataclass
class Inbound:
    mailer: RunningService
    contacts: ContactsPeer
    listener: Listener
    dns: LoopbackDns

    @property
    def port(self) -> int:
        return int(self.listener.controller.port)

    def address(self, workspace_id: str) -> str:
        return f"{workspace_id}@{INBOUND_DOMAIN}"

    def smtp(self) -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
        client.ehlo("relay.test")
        return client

    def send(self, raw: bytes, *, to: str, mail_from: str = "sender@example.com") -> str:
        """Deliver over SMTP (lines ending CRLF, as on the wire); returns the stored message's id (the 250 answer)."""
        raw = crlf(raw)
        with self.smtp() as client:
            client.mail(mail_from)
            code, text = client.rcpt(to)
            assert code == 250, (code, text)
            code, text = client.data(raw)
            assert code == 250, (code, text)
        return text.decode().rsplit(" ", 1)[-1]

    def processed(self, inbound_id: str, timeout: float = 10.0) -> InboundMessageRow:
        deadline = time.monotonic() + timeout
        while True:
            with self.mailer.rt.database.unit_of_work() as uow:
                row = uow.session.scalars(select(InboundMessageRow).where(InboundMessageRow.id == inbound_id)).first()
                if row is not None and row.status != STORED:
                    uow.session.expunge(row)
                    return row
            assert time.monotonic() < deadline, f"inbound message {inbound_id} was not processed"
            time.sleep(0.05)


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def inbound(database_url: str, tmp_path: Path) -> Iterator[Inbound]:
    from crm_mailer.app import SERVICE

    with (
        contacts_peer(tmp_path) as peer,
        loopback_dns() as dns_server,
        running(
            SERVICE,
            database_url,
            tmp_path,
            CRM_CONTACTS_GRPC_TARGET=peer.target,
            MAILER_FROM="Acme Support <support@acme.test>",
            MAILER_INBOUND_DOMAIN=INBOUND_DOMAIN,
            MAILER_INBOUND_AUTHSERV_ID=TRUSTED_RELAY,
            MAILER_INBOUND_MAX_BYTES="200000",
            MAILER_DNS_RESOLVER=dns_server.address,
            MAILER_INBOUND_DNS_TIMEOUT_SECONDS="1",
        ) as mailer,
    ):
        listener = smtp.listen(mailer.rt, host="127.0.0.1", port=free_port())
        try:
            yield Inbound(mailer=mailer, contacts=peer, listener=listener, dns=dns_server)
        finally:
            listener.stop()
