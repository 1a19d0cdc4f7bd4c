"""The transport's SMTP conversation (``transport.sendmail``) against a real SMTP server: the same commands, the
same answers and the same exceptions as smtplib's ``sendmail``, for plain addresses (sent without the email
package's address parsing) and for the others (left to ``sendmail``)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from crm_mailer.outbound import transport
from tests.support.infra import free_port

MAIL = b"From: a@acme.test\r\nTo: ana@example.com\r\nSubject: Hi\r\n\r\nline one\r\n.starts with a dot\r\nend\r\n"


@dataclass
class CommandsHandler:
    """Keeps every command's argument and the data; refuses the sender and recipients named to be refused."""

    seen: list[tuple[str, Any]] = field(default_factory=list)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        self.seen.append(("MAIL", (address, list(options))))
        if address.startswith("refused"):
            return "553 sender refused"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        self.seen.append(("RCPT", (address, list(options))))
        if address.startswith("nobody"):
            return "550 no such user"
        if address.startswith("busy"):
            return "451 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.seen.append(("DATA", envelope.original_content))
        return "250 accepted"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.seen.append(("RSET", None))
        return "250 OK"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, CommandsHandler]]:
    handler = CommandsHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, handler
    finally:
        controller.stop()


def conversation(port: int, handler: CommandsHandler, send: Any, mail_from: str, rcpt_to: str) -> tuple[Any, Any]:
    """What the server saw and what the client raised (None when accepted) for one mail on a new connection."""
    handler.seen.clear()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.ehlo()
        try:
            send(smtp, mail_from, rcpt_to)
            raised: Any = None
        except smtplib.SMTPException as exc:
            raised = (type(exc), exc.args)
    return list(handler.seen), raised


def ours(smtp: smtplib.SMTP, mail_from: str, rcpt_to: str) -> None:
    transport.sendmail(smtp, mail_from, rcpt_to, MAIL)


def smtplibs(smtp: smtplib.SMTP, mail_from: str, rcpt_to: str) -> None:
    smtp.sendmail(mail_from, [rcpt_to], MAIL)


@pytest.mark.parametrize(
    ("mail_from", "rcpt_to"),
    [
        ("bounce+v1.abc_DEF-1@in.acme.test", "ana@example.com"),  # plain: sent without parsing
        ("bounce+v1.abc@in.acme.test", "ana.o'neil+crm@mail.example.co.uk"),
        ("refused@in.acme.test", "ana@example.com"),  # MAIL refused: SMTPSenderRefused, RSET
        ("bounce@in.acme.test", "nobody@example.com"),  # RCPT refused for good: SMTPRecipientsRefused, RSET
        ("bounce@in.acme.test", "busy@example.com"),  # RCPT deferred
        ("bounce@in.acme.test", "Ana <ana@example.com>"),  # not plain: left to smtplib's sendmail
        ("bounce@in.acme.test", '"ana smith"@example.com'),
    ],
)
def test_the_conversation_is_smtplibs_sendmail(
    server: tuple[int, CommandsHandler], mail_from: str, rcpt_to: str
) -> None:
    port, handler = server

    assert conversation(port, handler, ours, mail_from, rcpt_to) == conversation(
        port, handler, smtplibs, mail_from, rcpt_to
    )


def test_an_accepted_mail_carries_its_size_and_its_dot_stuffed_data_arrives_unchanged(
    server: tuple[int, CommandsHandler],
) -> None:
    port, handler = server

    seen, raised = conversation(port, handler, ours, "bounce@in.acme.test", "ana@example.com")

    assert raised is None
    assert seen == [
        ("MAIL", ("bounce@in.acme.test", [f"SIZE={len(MAIL)}"])),
        ("RCPT", ("ana@example.com", [])),
        ("DATA", MAIL),
    ]


def test_an_address_with_a_line_break_injects_no_command(server: tuple[int, CommandsHandler]) -> None:
    port, handler = server
    injected = "ana@example.com\r\nRCPT TO:<eve@example.com>"

    seen, _raised = conversation(port, handler, ours, "bounce@in.acme.test", injected)

    assert ("RCPT", ("eve@example.com", [])) not in seen
    assert (seen, _raised) == conversation(port, handler, smtplibs, "bounce@in.acme.test", injected)
