"""One delivery attempt of a queued mail, with the in-memory transport: what leaves, and what the row says
afterwards (sent, deferred with its back-off, or failed). No database: the row is built in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_mailer.outbound import delivery, rules
from crm_mailer.outbound.models import FAILED, QUEUED, SENT
from crm_mailer.outbound.transport import RecordingTransport
from tests.factories.mailer import SENDER, composer, outbound_message

NOW = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_a_sent_mail_carries_the_ticket_tag_and_its_rows_message_id_and_marks_the_row_sent() -> None:
    transport = RecordingTransport()
    message = outbound_message()

    outcome = delivery.attempt(message, transport, composer(), now=NOW).outcome

    [mail] = transport.sent
    assert outcome == "sent"
    assert (mail["From"], mail["To"], mail["Subject"]) == (SENDER.address, "ana@example.com", message.subject)
    assert mail["Message-ID"] == message.rfc822_message_id
    assert mail["X-CRM-Ticket-ID"] == message.ticket_id
    assert mail.get_body(preferencelist=("plain",)).get_content().strip() == "We are on it."
    assert (message.status, message.attempts, message.sent_at, message.last_error) == (SENT, 1, NOW, None)


def test_a_mail_refused_for_good_fails_at_once_and_nothing_leaves() -> None:
    transport = RecordingTransport(refused=["nobody@example.com"])
    message = outbound_message(recipient="nobody@example.com")

    outcome = delivery.attempt(message, transport, composer(), now=NOW).outcome

    assert (outcome, message.status, transport.sent) == ("failed", FAILED, [])
    assert "nobody@example.com" in (message.last_error or "")


def test_a_deferred_mail_stays_queued_and_is_tried_again_after_the_first_back_off() -> None:
    message = outbound_message(recipient="busy@example.com")

    outcome = delivery.attempt(message, RecordingTransport(deferred=["busy@example.com"]), composer(), now=NOW).outcome

    assert (outcome, message.status, message.attempts) == ("deferred", QUEUED, 1)
    assert message.next_attempt_at == NOW + timedelta(seconds=30)


def test_a_mail_deferred_on_its_last_attempt_is_given_up() -> None:
    message = outbound_message(recipient="busy@example.com", attempts=rules.MAX_ATTEMPTS - 1)

    outcome = delivery.attempt(message, RecordingTransport(deferred=["busy@example.com"]), composer(), now=NOW).outcome

    assert (outcome, message.status, message.attempts) == ("failed", FAILED, rules.MAX_ATTEMPTS)


def test_a_mail_that_cannot_be_composed_is_deferred_as_one_the_server_deferred_and_nothing_leaves() -> None:
    def unreachable(_workspace_id: str) -> str | None:
        raise ConnectionError("sender domains are down")

    broken = composer()
    broken.lookup_domain = unreachable
    transport = RecordingTransport()
    message = outbound_message()

    prepared = delivery.prepare(message, broken, now=NOW)

    assert isinstance(prepared, delivery.Attempted)
    assert (prepared.outcome, prepared.attempt.outcome, message.status, message.attempts) == (
        "deferred",
        "deferred",
        QUEUED,
        1,
    )
    assert message.next_attempt_at == NOW + timedelta(seconds=30)
    assert message.last_error == "ConnectionError: sender domains are down"
    assert delivery.attempt(outbound_message(), transport, broken, now=NOW).outcome == "deferred"
    assert transport.sent == []


def test_a_mail_prepared_is_sent_as_composed_with_its_verp_sender() -> None:
    transport = RecordingTransport()
    message = outbound_message()

    prepared = delivery.prepare(message, composer(), now=NOW)
    assert isinstance(prepared, delivery.Prepared)
    tried = delivery.send(message, prepared, transport, now=NOW)

    assert tried.outcome == "sent"
    assert transport.envelopes == [(prepared.envelope_from, "ana@example.com", prepared.data)]
    assert prepared.envelope_from.startswith("bounce+")
    assert (message.status, message.attempts, message.sent_at) == (SENT, 1, NOW)
