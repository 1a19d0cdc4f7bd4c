"""The SMTP transport upgrades with STARTTLS when the relay offers it and logs in with the configured
credentials, against aiosmtpd requiring both (a self-signed certificate made for the test)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crm_mailer.outbound import rules
from crm_mailer.outbound.transport import SmtpTransport, TemporaryFailure
from tests.support.infra import free_port


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Relay:
    def __init__(self) -> None:
        self.received: list[tuple[bool, str | None]] = []  # (over TLS, login)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else session.auth_data
        self.received.append((session.ssl is not None, login))
        return "250 accepted"


def check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = auth_data.login == b"crm" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False, auth_data="crm" if ok else None)


@pytest.fixture
def tls_relay(tmp_path: Path) -> Iterator[tuple[int, Relay, ssl.SSLContext]]:
    cert, key = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handler = Relay()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=check_login,
        auth_require_tls=True,
    )
    controller.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    try:
        yield controller.port, handler, client_context
    finally:
        controller.stop()


def wire() -> bytes:
    return rules.wire_bytes(
        rules.build(
            sender="Acme <support@acme.test>",
            recipient="ana@example.com",
            subject="Hi",
            body="Hello.",
            rfc822_message_id="<1@acme.test>",
            ticket_id=None,
            when=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
        )
    )


def test_starttls_and_login_are_used_when_offered(tls_relay: tuple[int, Relay, ssl.SSLContext]) -> None:
    port, relay, context = tls_relay
    transport = SmtpTransport("127.0.0.1", port, username="crm", password="s3cret", starttls=True, tls_context=context)

    for _ in range(2):
        transport.send(wire(), mail_from="bounce+x@in.acme.test", rcpt_to="ana@example.com")
    transport.close()

    assert relay.received == [(True, "crm"), (True, "crm")]
    assert transport.connections == 1


def test_wrong_credentials_are_a_temporary_failure_not_a_silent_send(
    tls_relay: tuple[int, Relay, ssl.SSLContext],
) -> None:
    port, relay, context = tls_relay
    transport = SmtpTransport("127.0.0.1", port, username="crm", password="wrong", starttls=True, tls_context=context)

    with pytest.raises(TemporaryFailure, match="refused the login"):
        transport.send(wire(), mail_from="bounce+x@in.acme.test", rcpt_to="ana@example.com")
    assert relay.received == []
