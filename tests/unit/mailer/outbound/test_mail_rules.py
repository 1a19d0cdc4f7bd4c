"""How the mailer writes an email and decides when to try again: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from crm_mailer.outbound import rules

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
TICKET_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def mail(**overrides: object) -> EmailMessage:
    fields: dict[str, object] = {
        "sender": "Acme Support <support@acme.test>",
        "recipient": "ana@example.com",
        "subject": "[#2e3f4a5b] Printer on fire",
        "body": "We are on it.\n",
        "rfc822_message_id": "<0190a1b2@acme.test>",
        "ticket_id": TICKET_ID,
        "when": NOW,
    }
    fields.update(overrides)
    return rules.build(**fields)  # type: ignore[arg-type]


def test_ticket_subject_is_tagged_with_the_end_of_the_ticket_id() -> None:
    assert rules.ticket_subject(TICKET_ID, "Printer on fire") == "[#2e3f4a5b] Printer on fire"


def test_message_id_is_stable_for_one_outbound_mail() -> None:
    first = rules.message_id("0190a1b2-0000-7000-8000-000000000001", "acme.test")

    assert first == "<0190a1b2-0000-7000-8000-000000000001@acme.test>"
    assert rules.message_id("0190a1b2-0000-7000-8000-000000000001", "acme.test") == first
    assert rules.message_id("0190a1b2-0000-7000-8000-000000000002", "acme.test") != first


def test_built_mail_carries_the_headers_a_mail_client_shows() -> None:
    built = mail()

    assert built["From"] == "Acme Support <support@acme.test>"
    assert built["To"] == "ana@example.com"
    assert built["Subject"] == "[#2e3f4a5b] Printer on fire"
    assert built["Message-ID"] == "<0190a1b2@acme.test>"
    assert built["X-CRM-Ticket-ID"] == TICKET_ID
    assert parsedate_to_datetime(built["Date"]) == NOW
    assert built.get_content_type() == "multipart/alternative"
    assert built.get_body(preferencelist=("plain",)).get_content() == "We are on it.\n"
    assert built.get_body(preferencelist=("html",)).get_content().strip() == "<p>We are on it.</p>"


def test_mail_without_a_ticket_has_no_ticket_header() -> None:
    assert "X-CRM-Ticket-ID" not in mail(ticket_id=None)


def test_non_ascii_subject_and_body_survive_encoding() -> None:
    built = mail(subject="[#2e3f4a5b] Impresora en llamas ¡ayuda!", body="Ya vamos, señora.\n")
    wire = built.as_bytes()

    assert b"llamas \xc2\xa1ayuda" not in wire.split(b"\n\n", 1)[0]  # headers are RFC 2047-encoded
    assert str(built["Subject"]) == "[#2e3f4a5b] Impresora en llamas ¡ayuda!"
    assert built.get_body(preferencelist=("plain",)).get_content() == "Ya vamos, señora.\n"


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [(1, timedelta(seconds=30)), (2, timedelta(seconds=60)), (3, timedelta(minutes=2)), (7, timedelta(minutes=32))],
)
def test_retry_waits_double_after_each_failed_attempt(attempts: int, wait: timedelta) -> None:
    assert rules.next_attempt(attempts, NOW) == NOW + wait


def test_retry_waits_never_exceed_one_hour() -> None:
    waits = [rules.next_attempt(n, NOW) for n in range(1, rules.MAX_ATTEMPTS)]

    assert all(w is not None and NOW < w <= NOW + timedelta(hours=1) for w in waits)
    assert waits == sorted(waits)  # type: ignore[type-var]


def test_mailer_gives_up_after_max_attempts() -> None:
    assert rules.next_attempt(rules.MAX_ATTEMPTS - 1, NOW) is not None
    assert rules.next_attempt(rules.MAX_ATTEMPTS, NOW) is None
    assert rules.next_attempt(rules.MAX_ATTEMPTS + 3, NOW) is None
