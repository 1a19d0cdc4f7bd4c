"""Every message of the corpus is classified as what it is, and a person's reply loses its quoted history."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crm_mailer.inbound import parse, reply, rules
from tests.unit.mailer.inbound import corpus

KINDS = {
    "applemail_en_reply.eml": "person",
    "applemail_es_reply.eml": "person",
    "gmail_en_reply.eml": "person",
    "gmail_es_reply.eml": "person",
    "gmail_es_new_with_ticket.eml": "person",
    "outlook_en_reply.eml": "person",
    "outlook_es_reply.eml": "person",
    "thunderbird_en_reply.eml": "person",
    "thunderbird_es_reply.eml": "person",
    "noreply_es_invoice_notice.eml": "person",
    "broken_8bit_headers.eml": "person",
    "broken_bad_base64.eml": "person",
    "broken_bad_charset.eml": "person",
    "broken_missing_boundary.eml": "person",
    "postfix_dsn_hard.eml": "bounce",
    "postfix_dsn_soft.eml": "bounce",
    "postfix_dsn_delayed.eml": "delivery_notice",
    "exim_dsn_hard.eml": "bounce",
    "exim_dsn_mailbox_full.eml": "bounce",
    "exchange_ndr_hard.eml": "bounce",
    "exchange_es_ndr_mailbox_full.eml": "bounce",
    "qmail_bounce_hard.eml": "bounce",
    "arf_abuse.eml": "complaint",
    "gmail_en_unsubscribe.eml": "unsubscribe",
    "outlook_es_out_of_office.eml": "auto_reply",
    "gmail_en_vacation.eml": "auto_reply",
    "cpanel_es_autoresponder.eml": "auto_reply",
    "exchange_en_inbox_rule_reply.eml": "auto_reply",
    "thunderbird_en_read_receipt.eml": "auto_reply",
    "mailchimp_es_newsletter.eml": "auto_reply",
    "webmail_es_autoreply_x_autoreply.eml": "auto_reply",
}

# file -> (recipient, event kind, status, original Message-ID, bounce token)
BOUNCES = {
    "postfix_dsn_hard.eml": (
        "nadie@example.com", "hard", "5.1.1", "<0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@mail.acme.test>", "b_7d1e2f3a4b"
    ),
    "postfix_dsn_soft.eml": (
        "pedidos@ferreteria-sol.example", "soft", "4.4.1",
        "<0190a1b2-c3d4-7e5f-8a9b-00000000a0a0@mail.acme.test>", "b_0a9b8c7d6e",
    ),
    "exim_dsn_hard.eml": (
        "old.address@retired-domain.example", "hard", "5.0.0",
        "<0190a1b2-c3d4-7e5f-8a9b-00000000c2c2@mail.acme.test>", "b_aa11bb22cc",
    ),
    # Exim declares a generic 5.0.0; the diagnostic's 5.2.2 says what happened
    "exim_dsn_mailbox_full.eml": (
        "pepe.gomez@correo-hogar.example", "mailbox_full", "5.2.2",
        "<0190a1b2-c3d4-7e5f-8a9b-00000000b1b1@mail.acme.test>", "b_1f2e3d4c5b",
    ),
    "exchange_ndr_hard.eml": (
        "lucia.santos@contoso-retail.example", "hard", "5.1.10",
        "<0190a1b2-c3d4-7e5f-8a9b-00000000d3d3@mail.acme.test>", "b_cc33dd44ee",
    ),
    "exchange_es_ndr_mailbox_full.eml": (
        "reservas@hosteleria-norte.example", "mailbox_full", "5.2.2",
        "<0190a1b2-c3d4-7e5f-8a9b-00000000e4e4@mail.acme.test>", "b_ee55ff6600",
    ),
    "qmail_bounce_hard.eml": (
        "jrodriguez@old-isp.example", "hard", "5.1.1",
        "<0190a1b2-c3d4-7e5f-8a9b-00000000f5f5@mail.acme.test>", "b_9f8e7d6c5b",
    ),
}  # fmt: skip

# file -> (words of the new text, words of the quoted history or signature that must be gone)
REPLIES = {
    "gmail_es_reply.eml": ("sigue saliendo el mismo error", ("Podrías reiniciar", "escribió")),
    "gmail_en_reply.eml": ("the new cartridge fixed it", ("replacement cartridge", "wrote:")),
    "outlook_es_reply.eml": ("faltan dos cajas de tóner", ("Enviado:", "mensajería urgente", "963 000 111")),
    "outlook_en_reply.eml": ("quote for 25 seats", ("Sent:", "discussed on the phone", "+44 20")),
    "applemail_es_reply.eml": ("me va bien", ("Enviado desde mi iPhone", "visita del técnico")),
    "applemail_en_reply.eml": ("reissue it", ("invoice for May",)),
    "thunderbird_es_reply.eml": ("el IVA está mal calculado", ("Taller Ibáñez", "factura de mayo")),
    "thunderbird_en_reply.eml": ("Two rows have no postcode", ("old CRM",)),
}


def test_the_corpus_is_all_named_here() -> None:
    assert sorted(KINDS) == corpus.names()


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_message_is_classified_as_what_it_is(name: str) -> None:
    message = parse.parse(corpus.raw(name))
    classification = rules.classify(message)

    assert message.quarantine is None
    assert classification.kind == KINDS[name], classification.why
    assert classification.counts_as_reply is (KINDS[name] == "person")


@pytest.mark.parametrize("name", sorted(BOUNCES))
def test_bounces_name_the_recipient_kind_status_original_message_and_token(name: str) -> None:
    recipient, kind, status, original, token = BOUNCES[name]
    classification = rules.classify(parse.parse(corpus.raw(name)))

    [bounce] = classification.bounces
    assert (bounce.recipient, bounce.event_kind, bounce.status) == (recipient, kind, status)
    assert classification.original_message_id == original
    assert classification.token == token


def test_a_non_standard_qmail_bounce_is_read_by_flufl_bounce() -> None:
    [bounce] = rules.classify(parse.parse(corpus.raw("qmail_bounce_hard.eml"))).bounces

    assert bounce.detected_by == "flufl.bounce"


def test_a_delay_warning_fails_nobody() -> None:
    classification = rules.classify(parse.parse(corpus.raw("postfix_dsn_delayed.eml")))

    assert [bounce.event_kind for bounce in classification.bounces] == [None]


def test_an_abuse_report_names_who_complained_and_about_which_message() -> None:
    complaint = rules.classify(parse.parse(corpus.raw("arf_abuse.eml"))).complaint

    assert complaint is not None
    assert complaint.feedback_type == "abuse"
    assert complaint.recipients == ("laura.vidal@mailbox-provider.example",)
    assert complaint.original_message_id == "<0190a1b2-c3d4-7e5f-8a9b-000000001a1a@mail.acme.test>"
    assert [o.inactive_reason for o in rules.complaint_outcomes(complaint)] == ["spam_complaint"]


@pytest.mark.parametrize(
    ("name", "evidence"),
    [
        ("exchange_en_inbox_rule_reply.eml", ("X-MS-Exchange-Inbox-Rules-Loop: frontdesk@harbour-hotel.example",)),
        ("webmail_es_autoreply_x_autoreply.eml", ("X-Autoreply: yes",)),
        ("cpanel_es_autoresponder.eml", ("X-Autorespond: Gracias por su mensaje", "Precedence: auto_reply")),
    ],
)
def test_an_automatic_reply_with_only_vendor_headers_is_recognised(name: str, evidence: tuple[str, ...]) -> None:
    classification = rules.classify(parse.parse(corpus.raw(name)))

    assert (classification.kind, classification.evidence) == ("auto_reply", evidence)


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_a_reply_keeps_only_what_the_person_wrote_this_time(name: str) -> None:
    kept, gone = REPLIES[name]
    message = parse.parse(corpus.raw(name))
    new = reply.extract_reply(message)

    assert kept in new.text
    for words in gone:
        assert words not in new.text
    assert new.cut
    assert message.text is not None and all(words in message.text for words in gone[:1])  # the original is kept


@pytest.mark.parametrize("name", sorted(KINDS))
def test_may_auto_reply_only_to_people_with_an_address_that_takes_replies(name: str) -> None:
    decision = rules.may_auto_reply(parse.parse(corpus.raw(name)), own_domains=("acme.test",))

    refused = {"noreply_es_invoice_notice.eml"}
    assert decision.allowed is (KINDS[name] == "person" and name not in refused), decision.why


def test_a_flufl_detector_that_raises_does_not_hide_the_bounce_from_the_next_one() -> None:
    # an empty From makes flufl.bounce's Yale detector raise; its Qmail detector, run after it, reads the bounce
    raw = corpus.raw("qmail_bounce_hard.eml").replace(b"From: MAILER-DAEMON@mail.old-isp.example", b"From: ")

    [bounce] = rules.classify(parse.parse(raw)).bounces

    assert (bounce.recipient, bounce.event_kind) == ("jrodriguez@old-isp.example", "hard")


@pytest.mark.parametrize("name", ["gmail_es_reply.eml", "outlook_es_reply.eml", "outlook_en_reply.eml"])
def test_an_html_only_reply_loses_its_quoted_history_too(name: str) -> None:
    kept, gone = REPLIES[name]
    message = replace(parse.parse(corpus.raw(name)), text=None)

    new = reply.extract_reply(message)

    assert new.source == "html" and kept in new.text
    assert all(words not in new.text for words in gone)


def test_mail_parser_reply_alone_still_misses_unquoted_spanish_attribution_lines() -> None:
    # Why reply.py cuts "El ... escribió:" itself; when this fails, the library matches them and the cut can go.
    from mailparser_reply import EmailReplyParser

    body = "Perfecto.\n\nEl 3 jun 2024, a las 10:15, Soporte Acme <soporte@acme.test> escribió:\n\n> Hola Javier\n"

    assert "Hola Javier" in EmailReplyParser(languages=["es", "en"]).parse_reply(body)
    assert reply.new_text(body) == "Perfecto."
