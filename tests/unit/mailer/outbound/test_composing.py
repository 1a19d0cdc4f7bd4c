"""What a queued row becomes on the wire: From, Reply-To and Return-Path tokens, threading, automatic mail's
headers, multipart bodies with sanitized HTML, and headers that no hostile text can add to."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from crm_mailer.inbound.tokens import token_in
from crm_mailer.outbound import rules, tokens
from crm_mailer.outbound.service import suppression_reason
from crm_platform.clients.contacts import ContactCard
from tests.factories.mailer import ADDRESSING, TOKEN_KEY, composer, outbound_message

EXPECTED_HEADERS = {
    "from", "to", "subject", "message-id", "date", "reply-to", "x-crm-ticket-id", "mime-version", "content-type",
}  # fmt: skip


def composed(**fields: object) -> tuple[EmailMessage, bytes, str]:
    message = outbound_message(**fields)
    data, envelope_from = composer().compose(message)
    return parsed(data), data, envelope_from


def parsed(data: bytes) -> EmailMessage:
    """The mail as a client reads it (line ends as the local convention)."""
    return message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)  # type: ignore[return-value]


def test_reply_to_names_the_thread_and_the_envelope_sender_names_the_message() -> None:
    message = outbound_message()
    data, envelope_from = composer().compose(message)
    mail = parsed(data)

    reply = tokens.verify(TOKEN_KEY, tokens.REPLY, token_in(str(mail["Reply-To"]), "reply") or "")
    bounce = tokens.verify(TOKEN_KEY, tokens.BOUNCE, token_in(envelope_from, "bounce") or "")
    assert reply == tokens.Claims(tokens.REPLY, message.workspace_id, message.ticket_id or "")
    assert bounce == tokens.Claims(tokens.BOUNCE, message.workspace_id, message.id)
    assert envelope_from.endswith(f"@{ADDRESSING.inbound_domain}")


def test_from_is_the_authors_name_at_the_verified_domain_else_at_the_platforms() -> None:
    message = outbound_message(author_name="Luis Gil")
    verified = composer(verified={message.workspace_id: "acme-widgets.com"})
    unverified = composer()

    signed_by_nobody = parsed(unverified.compose(message)[0])
    assert str(signed_by_nobody["From"]) == "Luis Gil <support@acme.test>"
    # a verified domain without a usable key is not used: From must be signable
    assert str(parsed(verified.compose(message)[0])["From"]).endswith("@acme.test>")


def test_follow_ups_carry_in_reply_to_and_references() -> None:
    mail, _data, _ = composed(in_reply_to="<b@acme.test>", references="<a@acme.test> <b@acme.test>")

    assert mail["In-Reply-To"] == "<b@acme.test>"
    assert mail["References"] == "<a@acme.test> <b@acme.test>"


def test_references_keep_the_latest_of_the_thread() -> None:
    chain = [f"<{n}@acme.test>" for n in range(15)]

    assert rules.references(chain, "<new@acme.test>") == (*chain[-9:], "<new@acme.test>")
    assert rules.references([], None) == ()


def test_a_direct_reply_has_no_unsubscribe_or_auto_submitted_header() -> None:
    mail, _data, _ = composed()

    assert {name.lower() for name in mail.keys()} == EXPECTED_HEADERS


def test_automatic_mail_carries_auto_submitted_and_one_click_unsubscribe() -> None:
    message = outbound_message(automatic=True)
    mail = parsed(composer().compose(message)[0])

    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", str(mail["List-Unsubscribe"]))
    assert https.startswith("https://mail.acme.test/v1/mailer/unsubscribe/")
    token = https.rsplit("/", 1)[1]
    assert tokens.verify(TOKEN_KEY, tokens.UNSUBSCRIBE, token) == tokens.Claims(
        tokens.UNSUBSCRIBE, message.workspace_id, message.id
    )
    assert token_in(mailto.removeprefix("mailto:"), "unsubscribe") == token


def test_the_body_is_plain_text_and_sanitized_html() -> None:
    mail, _data, _ = composed(
        body="Hi <Ana>,\n\nsee below.",
        html_body='<p onclick="x()">Hi <b>Ana</b><script>alert(1)</script><img src="https://t.test/p.gif">'
        '<a href="javascript:alert(1)">x</a><a href="https://acme.test">y</a></p>',
    )

    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(preferencelist=("plain",)).get_content() == "Hi <Ana>,\n\nsee below.\n"
    html = mail.get_body(preferencelist=("html",)).get_content()
    for banned in ("script", "onclick", "img", "javascript:"):
        assert banned not in html
    assert "<b>Ana</b>" in html and 'href="https://acme.test"' in html


def test_html_made_from_text_escapes_it() -> None:
    assert rules.html_of_text("a < b\nc\n\n<i>d</i>") == "<p>a &lt; b<br>c</p><p>&lt;i&gt;d&lt;/i&gt;</p>"


def test_the_signature_goes_below_the_separator() -> None:
    assert rules.with_signature("Hello.\n", "Luis\nAcme") == "Hello.\n\n-- \nLuis\nAcme\n"
    assert rules.with_signature("Hello.", None) == "Hello."


HOSTILE = [
    "Hello\r\nBcc: victim@evil.test",
    "Hello\nBcc: victim@evil.test",
    "Hello\rBcc: victim@evil.test",
    "Hello\r\n\r\n<html>injected body</html>",
    "=?utf-8?q?Hello=0D=0ABcc=3A_victim=40evil.test?=",
    "=?utf-8?b?SGVsbG8NCkJjYzogdmljdGltQGV2aWwudGVzdA==?=",
    "Hello\u2028Bcc: victim@evil.test",
    "Hello\x85Bcc: victim@evil.test",
    "Hello\x00Bcc: victim@evil.test",
    "Ünïcödé 日本語 \r\nBcc: victim@evil.test",
    "Hello\tBcc: victim@evil.test",
    "x" * 2000 + "\r\nBcc: victim@evil.test",
    '"Quoted" <evil@evil.test>, Bcc: victim@evil.test',
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_subjects_and_display_names_add_no_header(hostile: str) -> None:
    mail, data, _ = composed(subject=hostile, author_name=hostile)

    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b"")  # no bare CR or LF anywhere in the header section
    for line in head.split(b"\r\n"):
        assert len(line) <= 998
        assert line[:1] in (b" ", b"\t") or re.match(rb"^[A-Za-z0-9-]+:", line), line
    assert {name.lower() for name in mail.keys()} == EXPECTED_HEADERS
    assert "bcc" not in {name.lower() for name in mail.keys()}
    assert "\n" not in str(mail["Subject"]) and "\r" not in str(mail["Subject"])
    assert str(mail["Subject"]).replace("= ?", "=?") == rules.header_text(hostile)
    assert mail["From"].addresses[0].addr_spec == "support@acme.test"
    assert len(mail["To"].addresses) == 1


def test_an_encoded_word_in_a_subject_is_not_decoded_into_a_newline() -> None:
    hostile = "=?utf-8?q?Hello=0D=0ABcc=3A_victim=40evil.test?="
    mail, _data, _ = composed(subject=hostile, author_name=hostile)

    assert str(mail["Subject"]) == "= ?utf-8?q?Hello=0D=0ABcc=3A_victim=40evil.test?="
    assert mail["From"].addresses[0].display_name == "= ?utf-8?q?Hello=0D=0ABcc=3A_victim=40evil.test?="


def test_a_blocked_contact_or_an_inactive_address_is_suppressed() -> None:
    card = ContactCard(id="c", name="Ana", email="ana@example.com", phone=None)

    assert suppression_reason(card) is None
    assert suppression_reason(ContactCard(**{**card.__dict__, "blocked": True})) == "blocked"
    inactive = ContactCard(**{**card.__dict__, "email_status": "inactive", "email_inactive_reason": "hard_bounce"})
    assert suppression_reason(inactive) == "inactive:hard_bounce"
