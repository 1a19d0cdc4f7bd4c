"""DKIM signatures as a receiver checks them: dkimpy verifies what ``dkim.sign`` makes, on the mail the composer
writes (signed without dkimpy's generic path) and on any other message (signed by dkimpy), and a changed header or
body breaks the signature."""

from __future__ import annotations

import dkim as dkimpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_mailer.domains import dkim
from crm_mailer.domains.dkim import DomainKey, new_key_pair
from tests.factories.mailer import composer, outbound_message

PAIR = new_key_pair()
KEY = DomainKey(domain="acme-widgets.com", selector="crm20261201ab12", private_pem=PAIR.private_pem)
RECORD = b"v=DKIM1; k=rsa; p=" + PAIR.public_key.encode()


def published(name: bytes, timeout: int = 5) -> bytes | None:
    return RECORD if name == b"crm20261201ab12._domainkey.acme-widgets.com." else None


def verifies(signed: bytes) -> bool:
    return bool(dkimpy.verify(signed, dnsfunc=published))


def tags(signed: bytes) -> dict[str, str]:
    header = signed.split(b"\r\n\r\n", 1)[0].decode().split("DKIM-Signature:", 1)[1].split("\r\n", 1)[0]
    rest = signed.decode().split("DKIM-Signature:", 1)[1]
    value = "".join(line.strip() for line in rest.split("\r\n") if line.startswith(" ") or line == header)
    return dict(part.strip().split("=", 1) for part in (header + value).split(";") if "=" in part)


def composed(**fields: object) -> bytes:
    return composer().compose(outbound_message(**fields))[0]


def test_the_composers_mail_is_signed_relaxed_and_verifies() -> None:
    signed = dkim.sign(composed(automatic=True), KEY)

    assert signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    assert verifies(signed)
    names = [name.lower() for name in tags(signed)["h"].replace(" ", "").split(":")]
    for name in ("from", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"):
        assert name in names
    assert names.count("from") == 2 and names.count("subject") == 2  # each signed once more than it appears


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.replace(b"Printer on fire", b"Printer on ice", 1),
        lambda m: m.replace(b"We are on it.", b"We are not on it.", 1),
        lambda m: m.replace(b"\r\nTo: ", b"\r\nFrom: Mallory <m@evil.test>\r\nTo: ", 1),  # a second From
        lambda m: m.replace(b"\r\nTo: ", b"\r\nSubject: Pay now\r\nTo: ", 1),  # a second Subject
        lambda m: m + b"appended\r\n",
    ],
)
def test_a_change_to_a_signed_header_or_the_body_breaks_the_signature(tamper) -> None:  # type: ignore[no-untyped-def]
    signed = dkim.sign(composed(), KEY)

    assert verifies(signed)
    assert not verifies(tamper(signed))


def test_whitespace_a_relay_may_change_does_not_break_it() -> None:
    signed = dkim.sign(composed(), KEY)
    refolded = signed.replace(b"Subject: ", b"Subject:   ", 1).replace(b"We are on it.", b"We  are on it.  ", 1)

    assert verifies(refolded)


def test_a_message_with_bare_line_feeds_is_signed_by_dkimpy_and_verifies() -> None:
    message = b"From: Ana <support@acme-widgets.com>\nSubject: hi\nDate: Sat, 15 Jun 2024 12:00:00 +0000\n\nhello\n"

    assert verifies(dkim.sign(message, KEY))


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


@settings(max_examples=60, deadline=None)
@given(subject=TEXT, body=TEXT, name=TEXT, automatic=st.booleans())
def test_any_mail_the_composer_writes_verifies(subject: str, body: str, name: str, automatic: bool) -> None:
    assert verifies(dkim.sign(composed(subject=subject, body=body, author_name=name, automatic=automatic), KEY))


@settings(max_examples=40, deadline=None)
@given(
    body=st.lists(st.sampled_from([b"", b" ", b"\t", b"a", b"a \t b", b"  x  ", b"."]), max_size=8),
    value=st.sampled_from([b"x", b" spaced  out ", b"a\r\n  folded", b"\t tab"]),
)
def test_canonicalization_matches_dkimpys_on_odd_whitespace(body: list[bytes], value: bytes) -> None:
    message = b"From: support@acme-widgets.com\r\nSubject:" + value + b"\r\nX-Other:  y \r\n\r\n" + b"\r\n".join(body)

    assert verifies(dkim.sign(message, KEY))
