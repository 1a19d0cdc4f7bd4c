"""Message templates' placeholders: refused when unknown at save, filled (escaped) on use."""

from __future__ import annotations

import pytest

from crm_conversations.templates import rules
from crm_platform.errors import InvalidInput


def test_known_placeholders_are_accepted_with_or_without_inner_spaces() -> None:
    assert rules.check_placeholders("Hi {{contact.first_name}}, {{ member.name }} here") == [
        "contact.first_name",
        "member.name",
    ]


def test_each_unknown_placeholder_is_named_in_the_field_details() -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_placeholders("Hi {{contact.nickname}} {{ticket.number}} {{contact.nickname}}")

    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("body", "unknown_placeholder"),
        ("body", "unknown_placeholder"),
    ]
    assert "{{contact.nickname}}" in str(refused.value.errors[0].message.params["name"])


def test_an_unclosed_placeholder_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_placeholders("Hi {{contact.first_name")

    assert [e.code for e in refused.value.errors] == ["unclosed_placeholder"]


def test_filling_uses_the_contacts_first_and_last_name_and_the_members_name_escaped() -> None:
    context = rules.Context(contact_name="Ana López Ruiz", contact_email="ana@example.com", member_name="Luis <Gil>")

    filled = rules.fill("{{contact.first_name}}/{{contact.last_name}}/{{member.name}}/{{member.first_name}}", context)

    assert filled == "Ana/López Ruiz/Luis &lt;Gil&gt;/Luis"


def test_a_blank_title_is_refused() -> None:
    with pytest.raises(InvalidInput):
        rules.clean_title("  ")
