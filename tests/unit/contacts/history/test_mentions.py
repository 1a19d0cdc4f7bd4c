"""How comments mention members (``@[Name](member-id)``), excerpts, and the history kind filter."""

from __future__ import annotations

import pytest

from crm_contacts.history import rules
from crm_platform import mentions as syntax

LUIS = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
EVA = "0190a1b2-c3d4-7e5f-8a9b-ffffffffffff"


def test_a_mention_is_a_name_in_brackets_and_a_member_id_in_parentheses() -> None:
    mentions = syntax.parse_mentions(f"Hi @[Luis Gil]({LUIS}), call her")

    assert mentions == [syntax.Mention(member_id=LUIS, name="Luis Gil")]


def test_each_member_is_counted_once_in_order_of_first_mention() -> None:
    body = f"@[Eva]({EVA}) and @[Luis]({LUIS}), then @[Eva Sanz]({EVA}) again"

    assert syntax.mentioned_ids(body) == [EVA, LUIS]
    assert len(syntax.parse_mentions(body)) == 3


@pytest.mark.parametrize(
    "body",
    [
        "write to ana@example.com",
        "ping @luis tomorrow",
        f"@{LUIS} without brackets",
        f"@[Luis]( {LUIS})",  # spaces are not part of an id
        f"[Luis]({LUIS}) without the at sign",
        f"@[]({LUIS}) with no name",
        "@[Luis Gil] with no id",
    ],
)
def test_text_that_only_looks_like_a_mention_mentions_nobody(body: str) -> None:
    assert syntax.mentioned_ids(body) == []


def test_an_id_that_is_not_a_uuid_is_still_read_so_that_it_can_be_refused() -> None:
    assert syntax.mentioned_ids("@[Someone](not-a-member)") == ["not-a-member"]


def test_mentions_read_as_at_names_in_the_plain_text() -> None:
    assert syntax.plain_text(f"@[Luis Gil]({LUIS}) call her") == "@Luis Gil call her"


def test_a_short_text_is_its_own_excerpt_on_one_line() -> None:
    assert rules.excerpt(f"  Call   her\nback, @[Luis]({LUIS})  ") == "Call her back, @Luis"


def test_a_long_text_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = "The client wants a flat with a terrace " * 10

    cut = rules.excerpt(text, limit=60)

    assert len(cut) <= 60
    assert cut.endswith("…")
    assert text.startswith(cut[:-1])
    assert cut[-2] != " " and text[len(cut) - 1] == " "  # ends on a whole word


@pytest.mark.parametrize(
    ("raw", "kinds"),
    [(None, []), ("", []), ("comment", ["comment"]), (" comment , note_added,comment,", ["comment", "note_added"])],
)
def test_the_kind_filter_is_a_comma_separated_list_without_repeats(raw: str | None, kinds: list[str]) -> None:
    assert rules.parse_kinds(raw) == (kinds, None)


@pytest.mark.parametrize("raw", ["Comment", "note-added", "comment,1=1", "x" * 41])
def test_a_kind_that_cannot_exist_is_a_field_error(raw: str) -> None:
    kinds, error = rules.parse_kinds(raw)

    assert kinds == []
    assert error is not None and (error.field, error.code) == ("kind", "invalid_kind")
