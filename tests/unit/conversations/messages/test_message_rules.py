"""What a message holds: sanitized rich text, its plain-text rendering, the signature, delivery's order."""

from __future__ import annotations

import pytest

from crm_conversations.messages import rules
from crm_platform.errors import InvalidInput


def test_rich_text_keeps_bold_italic_links_and_emoji_and_drops_scripts() -> None:
    body, text = rules.compose(
        '<p>Hola <b>Ana</b> <i>😀</i> <a href="https://acme.test/x" onclick="steal()">docs</a></p>'
        "<script>alert(1)</script><img src=x onerror=alert(1)>"
    )

    assert body == ('<p>Hola <b>Ana</b> <i>😀</i> <a href="https://acme.test/x" rel="noopener noreferrer">docs</a></p>')
    assert text == "Hola Ana 😀 docs (https://acme.test/x)"


def test_a_javascript_link_loses_its_target() -> None:
    body, _ = rules.compose('<a href="javascript:alert(1)">click</a>')

    assert "javascript" not in body
    assert "click" in body


def test_blocks_and_line_breaks_become_lines_and_entities_are_decoded() -> None:
    _, text = rules.compose("<p>Line &amp; one</p><p>two<br>three</p><ul><li>a</li><li>b</li></ul>")

    assert text == "Line & one\ntwo\nthree\na\nb"


def test_plain_text_is_escaped_on_its_way_to_html() -> None:
    body, text = rules.compose("a < b & c")

    assert body == "a &lt; b &amp; c"
    assert text == "a < b & c"


def test_a_body_with_nothing_left_after_sanitizing_is_refused_on_body() -> None:
    for empty in ("   ", "<script>x</script>", "<p> </p>"):
        with pytest.raises(InvalidInput) as refused:
            rules.compose(empty)
        assert [(e.field, e.code) for e in refused.value.errors] == [("body", "required")]


def test_the_signature_is_set_apart_below_the_body_in_both_renderings() -> None:
    assert rules.with_signature_text("Hello", "Luis Gil\nAcme <support>") == "Hello\n\n-- \nLuis Gil\nAcme <support>"
    assert rules.with_signature_html("<p>Hello</p>", "Luis\n<Acme>") == (
        '<p>Hello</p><br><div class="signature">-- <br>Luis<br>&lt;Acme&gt;</div>'
    )
    assert rules.with_signature_text("Hello", None) == "Hello"


def test_delivery_only_moves_forward_and_notes_have_none() -> None:
    assert rules.delivery_moves(rules.PENDING, rules.QUEUED)
    assert rules.delivery_moves(rules.QUEUED, rules.SENT)
    assert rules.delivery_moves(rules.SENT, rules.BOUNCED)
    assert not rules.delivery_moves(rules.SENT, rules.QUEUED)
    assert not rules.delivery_moves(rules.BOUNCED, rules.SENT)
    assert not rules.delivery_moves(None, rules.SENT)


def test_no_persons_message_is_automatic() -> None:
    assert [rules.is_automatic(author) for author in ("member", "contact", "visitor")] == [False, False, False]
    assert rules.is_automatic("system") is True
