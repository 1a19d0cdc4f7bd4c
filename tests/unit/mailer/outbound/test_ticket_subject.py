"""A ticket comment's mail subject says the ticket's number; its HTML gets the signature escaped."""

from __future__ import annotations

from crm_mailer.inbound import subjects
from crm_mailer.outbound import rules

TICKET_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def test_the_subject_carries_the_ticket_number_and_a_reply_reads_it_back() -> None:
    subject = rules.ticket_subject(TICKET_ID, "Printer on fire", 1234)

    assert subject == "[#1234] Printer on fire"
    assert subjects.ticket_refs(f"RE: {subject}") == ("1234",)


def test_without_a_number_the_end_of_the_id_tags_it_as_before() -> None:
    assert rules.ticket_subject(TICKET_ID, "Printer on fire") == "[#2e3f4a5b] Printer on fire"


def test_the_html_signature_is_escaped_below_the_separator() -> None:
    assert rules.html_with_signature("<p>Hi</p>", "Luis <b>\nAcme") == "<p>Hi</p><p>-- <br>Luis &lt;b&gt;<br>Acme</p>"
    assert rules.html_with_signature("<p>Hi</p>", "  ") == "<p>Hi</p>"
