"""The outbound writer that makes a mail's bytes without the email package's objects (outbound/wire.py): the same
mail as ``rules.build`` (headers read back the same, bodies the same), folded lines, encoded words, and nothing a
hostile subject or name can add; what it does not write it refuses (``Unwritable``), and the composer then builds
that mail with the email package."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_mailer.outbound import rules, wire
from tests.factories.mailer import composer, outbound_message

WHEN = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
HEADERS = rules.Headers(
    reply_to="reply+abc.def@in.acme.test",
    in_reply_to="<b@acme.test>",
    references=("<a@acme.test>", "<b@acme.test>"),
    automatic=True,
    list_unsubscribe=("https://mail.acme.test/v1/mailer/unsubscribe/" + "x" * 80, "mailto:u+" + "y" * 80 + "@in.t"),
    one_click=True,
)


def fields(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "recipient": "ana@example.com",
        "subject": "[#2e3f4a5b] Printer on fire",
        "body": "We are on it.\n",
        "rfc822_message_id": "<0190a1b2@acme.test>",
        "ticket_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "when": WHEN,
        "headers": HEADERS,
    }
    return values | overrides


def both(name: str | None = "Luis Gil", **overrides: object) -> tuple[EmailMessage, EmailMessage, bytes]:
    """(the email package's mail, this writer's, this writer's bytes), both read back as a client reads them."""
    values = fields(**overrides)
    old = rules.wire_bytes(rules.build(sender=rules.mailbox(name, "support@acme.test"), **values))  # type: ignore[arg-type]
    new = wire.write(sender_name=name, sender_address="support@acme.test", **values)  # type: ignore[arg-type]
    return read(old), read(new), new


def read(data: bytes) -> EmailMessage:
    return message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)  # type: ignore[return-value]


def assert_same(old: EmailMessage, new: EmailMessage) -> None:
    assert [name.lower() for name in new.keys()] == [name.lower() for name in old.keys()]
    for name in old.keys():
        if name.lower() == "content-type":
            assert new.get_content_type() == old.get_content_type() == "multipart/alternative"
        elif name.lower() == "list-unsubscribe":  # the email package writes these URIs as encoded words
            assert re.findall(r"<([^>]+)>", str(new[name])) == list(HEADERS.list_unsubscribe)
        else:
            assert str(new[name]) == str(old[name]), name
    for kind in ("plain", "html"):
        assert new.get_body(preferencelist=(kind,)).get_content() == old.get_body(preferencelist=(kind,)).get_content()


def assert_well_formed(data: bytes) -> None:
    head = data.partition(b"\r\n\r\n")[0]
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    assert data.isascii()
    for line in data.split(b"\r\n"):
        assert len(line) <= 998
    for line in head.split(b"\r\n"):
        assert line[:1] == b" " or re.match(rb"^[A-Za-z0-9-]+: ", line), line


@pytest.mark.parametrize(
    ("name", "subject", "body"),
    [
        ("Luis Gil", "[#2e3f4a5b] Printer on fire", "We are on it.\n"),
        ("Luís Gil", "[#2e3f4a5b] Impresora en llamas ¡ayuda! " * 3, "Ya vamos, señora.\n\nUn saludo"),
        ('"Quoted" <evil@evil.test>, Bcc: victim@evil.test', "x" * 2000, "a" * 300 + "\n. dot line\n\n\n"),
        (None, "日本語の件名", "trailing spaces   \n\ttab\n"),
        ("O'Brien (support)", "=?utf-8?q?Hello=0D=0ABcc=3A_victim=40evil.test?=", "=3D not encoded\n"),
    ],
)
def test_the_mail_reads_back_as_the_email_packages_does(name: str | None, subject: str, body: str) -> None:
    old, new, data = both(name, subject=subject, body=body)

    assert_same(old, new)
    assert_well_formed(data)


def test_plain_ascii_headers_are_folded_at_spaces_within_78_characters() -> None:
    data = wire.write(
        sender_name="Luis Gil",
        sender_address="support@acme.test",
        **fields(subject="word " * 40, headers=rules.Headers(reply_to="reply+abc@in.acme.test")),  # type: ignore[arg-type]
    )
    subject = re.search(rb"Subject: (.*?)\r\n(?=[A-Z])", data, re.DOTALL)

    assert subject is not None and b"=?" not in subject.group(1)
    assert all(len(line) <= 78 for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"))


def test_encoded_words_split_between_characters_and_fit_a_line() -> None:
    words = wire.encoded_words("ñ" * 100 + "日本" * 30, first=60)

    assert all(len(word) <= 77 for word in words)
    assert "".join(read(b"Subject: " + " ".join(words).encode() + b"\r\n\r\n")["Subject"]) == "ñ" * 100 + "日本" * 30


@pytest.mark.parametrize(
    "recipient",
    ["ana@exämple.com", "ana\r\nBcc: x@evil.test@example.com", "Ana <ana@example.com>", "ana", '"a b"@example.com'],
)
def test_an_address_it_does_not_write_is_refused(recipient: str) -> None:
    with pytest.raises(wire.Unwritable):
        wire.write(sender_name="Luis", sender_address="support@acme.test", **fields(recipient=recipient))  # type: ignore[arg-type]


@pytest.mark.parametrize("message_id", ["<a\r\nBcc: x@evil.test>", "<ñ@acme.test>", "<a\x00@acme.test>"])
def test_a_message_id_with_control_or_non_ascii_characters_is_refused(message_id: str) -> None:
    for written in (fields(rfc822_message_id=message_id), fields(headers=rules.Headers(in_reply_to=message_id))):
        with pytest.raises(wire.Unwritable):
            wire.write(sender_name="Luis", sender_address="support@acme.test", **written)  # type: ignore[arg-type]


def test_the_composer_leaves_what_the_writer_refuses_to_the_email_package() -> None:
    data, _ = composer().compose(outbound_message(recipient="ana@exämple.com"))  # IDN: the email package's business
    mail = read(data)

    assert mail["To"].addresses[0].domain == "exämple.com"
    assert mail.get_body(preferencelist=("plain",)).get_content().strip() == "We are on it."


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=150, deadline=None)
@given(name=TEXT, subject=TEXT, body=TEXT)
def test_any_text_reads_back_as_the_header_text_and_body_it_was(name: str, subject: str, body: str) -> None:
    data = wire.write(sender_name=name, sender_address="support@acme.test", **fields(subject=subject, body=body))  # type: ignore[arg-type]
    mail = read(data)

    assert_well_formed(data)
    assert str(mail["Subject"]).replace("= ?", "=?") == rules.header_text(subject)
    assert mail["From"].addresses[0].addr_spec == "support@acme.test"
    assert len(mail["From"].addresses) == 1 and len(mail["To"].addresses) == 1
    # The stdlib's address parser puts a space between two encoded words of a display name (RFC 2047 says to drop
    # it; mail clients do), as it does reading the email package's own: compared without spaces.
    display = mail["From"].addresses[0].display_name.replace("= ?", "=?")
    assert display.replace(" ", "") == rules.header_text(name, limit=120).replace(" ", "")
    assert "bcc" not in {key.lower() for key in mail.keys()}
    lines = body.encode().splitlines()  # CR, LF and CRLF end a line; each line ends in one on the wire
    assert mail.get_body(preferencelist=("plain",)).get_content() == (b"\n".join(lines) + b"\n").decode()
