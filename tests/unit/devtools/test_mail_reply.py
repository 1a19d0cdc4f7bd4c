"""``crm mail reply``: the reply a client would write to a mail the platform sent, as the mailer reads it."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from crm_devtools import mailreply

from crm_mailer.inbound import parse as inbound_parse
from crm_mailer.inbound import reply as inbound_reply
from crm_mailer.inbound import subjects


def sent_mail() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Luis Gil <support@acme.test>"
    mail["To"] = "ana@example.com"
    mail["Reply-To"] = "reply+abc123@inbound.crm.localhost"
    mail["Subject"] = "[#42] Printer on fire"
    mail["Message-ID"] = "<m2@acme.test>"
    mail["References"] = "<m1@acme.test>"
    mail["Date"] = "Tue, 01 Dec 2026 15:00:00 +0000"
    mail["X-CRM-Ticket-ID"] = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    mail.set_content("We are sending a technician today.\n\n-- \nLuis\n")
    return message_from_bytes(bytes(mail), policy=policy.default)  # type: ignore[return-value]


def test_the_reply_is_threaded_addressed_to_reply_to_and_quotes_the_original() -> None:
    reply = mailreply.build_reply(sent_mail(), "Still broken, thanks.")

    assert (reply["From"], reply["To"]) == ("ana@example.com", "reply+abc123@inbound.crm.localhost")
    assert reply["Subject"] == "Re: [#42] Printer on fire"
    assert reply["In-Reply-To"] == "<m2@acme.test>"
    assert reply["References"] == "<m1@acme.test> <m2@acme.test>"
    body = reply.get_content()
    assert body.startswith(
        "Still broken, thanks.\n\nOn Tue, 01 Dec 2026 15:00:00 +0000, Luis Gil <support@acme.test> wrote:\n"
    )
    assert "> We are sending a technician today." in body
    assert mailreply.build_reply(reply, "again")["Subject"] == "Re: [#42] Printer on fire"  # no Re: Re:


def test_the_mailer_reads_only_the_new_text_and_the_ticket_number() -> None:
    raw = bytes(mailreply.build_reply(sent_mail(), "Still broken, thanks."))

    parsed = inbound_parse.parse(raw)
    assert inbound_reply.extract_reply(parsed).text == "Still broken, thanks."
    assert subjects.ticket_refs(parsed.subject) == ("42",)
