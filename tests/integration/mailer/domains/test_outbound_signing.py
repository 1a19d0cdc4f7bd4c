"""Mail of a workspace with a verified sender domain goes out From that domain and DKIM-signed; dkimpy verifies the
signature with the key published on the loopback DNS server, as a receiving server would."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import dkim
import pytest
from aiosmtpd.controller import Controller

from crm_mailer.outbound import delivery
from crm_mailer.outbound.transport import SmtpTransport
from tests.factories import tickets
from tests.integration.mailer.domains.helpers import DOMAIN, dkim_tags, verified_domain
from tests.support.dns_server import LoopbackDns
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, RunningService


class Keep:
    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.raw.append(envelope.original_content)
        return "250 accepted"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[SmtpTransport, Keep]]:
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    transport = SmtpTransport("127.0.0.1", controller.port, username=None, password=None, starttls=False)
    try:
        yield transport, handler
    finally:
        transport.close()
        controller.stop()


def test_mail_of_a_verified_domain_is_signed_and_verifies_against_the_published_key(
    api: RunningService,
    dns_server: LoopbackDns,
    contacts_peer_service: ContactsPeer,
    acme: str,
    smtp_sink: tuple[SmtpTransport, Keep],
) -> None:
    transport, sink = smtp_sink
    domain = verified_domain(api, dns_server, acme)
    api.consume(tickets.public_comment_added(acme, contacts_peer_service.contact(acme)))

    assert delivery.deliver_due(api.rt.database, transport, delivery.Composer.of(api.rt))["sent"] == 1

    [raw] = sink.raw
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["From"].addresses[0].domain == DOMAIN
    tags = dkim_tags(raw)
    assert tags["d"] == DOMAIN and tags["s"] in {r["name"].split(".")[0] for r in domain["records"]}
    signed = {name.lower() for name in tags["h"].split(":")}
    assert {"from", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} <= signed
    assert dkim.verify(raw, dnsfunc=dns_server.txt_for_dkimpy)
    tampered = raw.replace(b"Printer on fire", b"Printer on ice", 1)
    assert not dkim.verify(tampered, dnsfunc=dns_server.txt_for_dkimpy)


def test_mail_of_a_workspace_without_a_verified_domain_goes_out_unsigned_from_the_platform(
    api: RunningService, contacts_peer_service: ContactsPeer, acme: str, smtp_sink: tuple[SmtpTransport, Keep]
) -> None:
    transport, sink = smtp_sink
    api.consume(tickets.public_comment_added(acme, contacts_peer_service.contact(acme)))

    delivery.deliver_due(api.rt.database, transport, delivery.Composer.of(api.rt))

    [raw] = sink.raw
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["From"].addresses[0].addr_spec == "no-reply@mail.crm-platform.net"
    assert "DKIM-Signature" not in mail
