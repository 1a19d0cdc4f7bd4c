"""A comment's body (plain text or sanitised HTML), its mail's delivery status and a reply's sender notice."""

from __future__ import annotations

import pytest

from crm_platform import html
from crm_platform.errors import InvalidInput
from crm_tickets.comments import rules


def test_html_keeps_formatting_and_links_and_loses_scripts_handlers_and_images() -> None:
    text, clean = rules.clean_body(
        None,
        '<p onclick="steal()">Hi <b>Ana</b>,<script>alert(1)</script></p><img src="http://x/t.gif">'
        '<p><a href="javascript:alert(1)">bad</a> <a href="https://help.example.com">guide</a></p>',
    )
    assert clean is not None
    assert "<script" not in clean and "onclick" not in clean and "<img" not in clean and "javascript:" not in clean
    assert "<b>Ana</b>" in clean and 'href="https://help.example.com"' in clean and "noopener" in clean
    assert text == "Hi Ana,\nbad guide"


def test_plain_text_is_kept_as_written() -> None:
    assert rules.clean_body("  We are on it.\n", None) == ("  We are on it.\n", None)


@pytest.mark.parametrize(
    ("body", "body_html", "field"),
    [
        ("   ", None, "body"),
        (None, "<script>only</script><p> </p>", "body_html"),
        ("a", "<p>b</p>", "body"),
        (None, None, "body"),
    ],
)
def test_an_empty_or_ambiguous_body_is_refused(body: str | None, body_html: str | None, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.clean_body(body, body_html)
    assert [e.field for e in refused.value.errors] == [field]


def test_the_shared_allowlist_is_the_mailers() -> None:
    from crm_mailer.outbound import rules as mail_rules

    markup = '<p>ok <u>u</u><iframe src="https://x"></iframe><style>p{}</style></p>'
    assert mail_rules.sanitize_html(markup) == html.sanitize(markup) == "<p>ok <u>u</u></p>"


@pytest.mark.parametrize(
    ("current", "reported", "after"),
    [
        (None, rules.SENT, rules.SENT),
        (rules.QUEUED, rules.SENT, rules.SENT),
        (rules.SENT, rules.BOUNCED, rules.BOUNCED),
        (rules.BOUNCED, rules.SENT, rules.BOUNCED),  # a late "sent" never hides the bounce
        (rules.QUEUED, rules.SUPPRESSED, rules.SUPPRESSED),
        (rules.SENT, rules.QUEUED, rules.SENT),
    ],
)
def test_delivery_status_never_moves_back(current: str | None, reported: str, after: str) -> None:
    assert rules.next_delivery_status(current, reported) == after


def test_a_reply_from_another_contact_says_so() -> None:
    assert rules.sender_notice("ana@example.com", "c-ana", "c-ana") is None
    assert rules.sender_notice("luis@example.com", "c-luis", "c-ana") == (
        "sent by luis@example.com, who is not this ticket's contact"
    )
