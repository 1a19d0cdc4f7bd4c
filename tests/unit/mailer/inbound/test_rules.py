"""Bounce outcomes, subjects, tokens, the auto-reply loop guard and the inbound settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crm_contacts.record import emailstatus
from crm_contacts.record.models import INACTIVE_REASONS
from crm_mailer.inbound import bounces, parse, rules, subjects, tokens
from crm_mailer.inbound.bounces import Bounce
from crm_mailer.inbound.message import Address, Envelope
from crm_mailer.inbound.settings import InboundSettings
from crm_platform.settings import Settings, SettingsError, read_declared
from tests.unit.mailer.inbound import corpus

SOFT = Bounce(recipient="ana@example.com", severity="soft", status="4.4.1", action="failed")


def test_a_soft_bounce_turns_the_address_off_only_at_the_limit_in_a_row() -> None:
    outcomes = [rules.bounce_outcome(SOFT, soft_in_a_row=n, soft_limit=3) for n in range(3)]

    assert [o.inactive_reason if o else "?" for o in outcomes] == [None, None, "hard_bounce"]
    assert outcomes[2] is not None and outcomes[2].event_kind == "hard"


def test_soft_bounces_of_a_full_mailbox_turn_it_off_as_mailbox_full() -> None:
    full = replace(SOFT, status="4.2.2", mailbox_full=True)

    outcome = rules.bounce_outcome(full, soft_in_a_row=4, soft_limit=5)

    assert outcome is not None and (outcome.inactive_reason, outcome.label_es) == ("mailbox_full", "buzón lleno")


def test_a_hard_bounce_turns_the_address_off_at_once_as_rebotado() -> None:
    hard = Bounce(recipient="ana@example.com", severity="hard", status="5.1.1", action="failed")

    outcome = rules.bounce_outcome(hard, soft_in_a_row=0, soft_limit=3)

    assert outcome is not None and (outcome.inactive_reason, outcome.label_es) == ("hard_bounce", "rebotado")


def test_a_delay_changes_nothing() -> None:
    delayed = replace(SOFT, severity="none", action="delayed")

    assert rules.bounce_outcome(delayed, soft_in_a_row=10, soft_limit=1) is None


def test_every_reason_is_one_contacts_knows_and_bounce_kinds_map_as_contacts_map_them() -> None:
    assert set(rules.REASON_LABELS_ES) <= set(INACTIVE_REASONS)
    assert rules.REASON_LABELS_ES == {
        "hard_bounce": "rebotado", "mailbox_full": "buzón lleno", "spam_complaint": "spam", "unsubscribed": "baja"
    }  # fmt: skip
    for kind, reason in (("hard", "hard_bounce"), ("mailbox_full", "mailbox_full"), ("soft", None)):
        assert emailstatus.reason_of_bounce(kind) == reason


@pytest.mark.parametrize(
    ("status", "action", "diagnostic", "expected"),
    [
        ("5.1.1", "failed", "", ("hard", False)),
        ("5.2.2", "failed", "", ("hard", True)),
        ("4.2.2", "failed", "", ("soft", True)),
        ("5.7.1", "failed", "blocked by policy", ("soft", False)),
        ("5.0.0", "failed", "550 rejected: listed on a block list", ("soft", False)),
        ("5.0.0", "failed", "unknown user", ("hard", False)),
        ("4.4.7", "failed", "", ("soft", False)),
        ("4.4.1", "delayed", "", ("none", False)),
        ("2.0.0", "delivered", "", ("none", False)),
        ("5.4.4", "failed", "", ("hard", False)),
        ("5.3.4", "failed", "message too big", ("soft", False)),
    ],
)
def test_severity_follows_the_status_code_and_action(status, action, diagnostic, expected) -> None:  # type: ignore[no-untyped-def]
    assert bounces.severity_of(status, action, diagnostic) == expected


@pytest.mark.parametrize(
    ("subject", "key"),
    [
        ("RE: Fwd: RV: [EXTERNAL] Pedido 4471", "pedido 4471"),
        ("Re[2]: AW: SV: Antw: Rif: Impresora", "impresora"),
        ("RE : Re: [#2e3f4a5b] La Impresora  no imprime", "la impresora no imprime"),
        ("Fwd: ", ""),
        ("(sin asunto)", ""),
        ("Revisión del pedido", "revisión del pedido"),
        ("Resumen: ventas", "resumen: ventas"),
    ],
)
def test_subjects_lose_reply_and_forward_prefixes_of_spanish_and_english_clients(subject: str, key: str) -> None:
    assert subjects.normalise_subject(subject) == key


def test_ticket_references_are_read_from_the_subject() -> None:
    assert subjects.ticket_refs("Re: [#2E3F4A5B] y [#1234]") == ("2e3f4a5b", "1234")


def test_tokens_keep_their_case_and_come_from_the_envelope_first() -> None:
    message = parse.parse(
        corpus.raw("gmail_es_reply.eml"), envelope=Envelope(mail_from="a@b", rcpt_to=("Reply+AbC9_x@mail.acme.test",))
    )

    assert tokens.find_token(message, "reply") == "AbC9_x"
    assert tokens.token_in("bounce+Zz9@acme.test", "reply") is None


def test_an_auto_reply_answering_our_auto_reply_is_refused_so_no_loop_starts() -> None:
    ours = (
        b"From: Soporte Acme <soporte@acme.test>\nTo: Ana <ana@example.com>\nSubject: Hemos recibido su mensaje\n"
        b"Auto-Submitted: auto-replied\nMessage-ID: <ack-1@acme.test>\n\nGracias, le responderemos pronto.\n"
    )
    theirs = parse.parse(corpus.raw("outlook_es_out_of_office.eml"))

    assert not rules.may_auto_reply(parse.parse(ours)).allowed
    assert not rules.may_auto_reply(theirs).allowed
    person = parse.parse(corpus.raw("gmail_es_reply.eml"))
    assert rules.may_auto_reply(person).allowed
    assert not rules.may_auto_reply(replace(person, envelope=Envelope(mail_from=""))).allowed
    own = rules.may_auto_reply(person, own_domains=("gmail.com",))
    assert not own.allowed and "our own" in own.why
    ours = parse.parse(ours.replace(b"Auto-Submitted: auto-replied\n", b""))  # a person at our own subdomain
    assert not rules.may_auto_reply(ours, own_domains=("acme.test",)).allowed
    assert not rules.may_auto_reply(
        replace(ours, from_=Address("ana@mail.acme.test")), own_domains=("acme.test",)
    ).allowed
    assert rules.may_auto_reply(replace(ours, from_=Address("ana@notacme.test")), own_domains=("acme.test",)).allowed


def test_a_not_spam_report_turns_nothing_off() -> None:
    raw = corpus.raw("arf_abuse.eml").replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    complaint = rules.classify(parse.parse(raw)).complaint

    assert complaint is not None and rules.complaint_outcomes(complaint) == ()


def test_inbound_settings_have_defaults_and_refuse_nonsense() -> None:
    base = Settings(service="mailer", database_url="sqlite://")
    settings = read_declared(InboundSettings, base)
    assert (settings.soft_bounce_limit, settings.subject_window_days) == (3, 7)

    with pytest.raises(SettingsError, match="MAILER_INBOUND_SOFT_BOUNCE_LIMIT"):
        read_declared(InboundSettings, replace(base, extra={"MAILER_INBOUND_SOFT_BOUNCE_LIMIT": "0"}))


def test_stored_mail_is_processed_by_the_listener_unless_the_workers_are_told_to() -> None:
    base = Settings(service="mailer", database_url="sqlite://")
    assert read_declared(InboundSettings, base).inbound_processing == "listener"
    workers = read_declared(InboundSettings, replace(base, extra={"MAILER_INBOUND_PROCESSING": "worker"}))
    assert workers.inbound_processing == "worker"
    with pytest.raises(SettingsError, match="MAILER_INBOUND_PROCESSING must be listener or worker"):
        read_declared(InboundSettings, replace(base, extra={"MAILER_INBOUND_PROCESSING": "both"}))


@pytest.mark.parametrize(
    ("subject", "automatic"),
    [
        ("Respuesta automática: [#2e3f4a5b] Pedido", True),
        ("Automatic reply: Plan options", True),
        ("Out of Office: back on Monday", True),
        ("Ausente: vuelvo el lunes", True),
        ("Absence of the May invoice", False),
        ("Ausente el técnico, ¿quién viene?", False),
        ("Re: Respuesta a su pedido", False),
    ],
)
def test_only_a_responders_subject_prefix_marks_a_message_as_automatic(subject: str, automatic: bool) -> None:
    raw = f"From: ana@example.com\nSubject: {subject}\n\nHola\n".encode()

    assert (rules.classify(parse.parse(raw)).kind == "auto_reply") is automatic
