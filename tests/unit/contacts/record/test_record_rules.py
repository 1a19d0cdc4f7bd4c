"""The rules of the contact record: card emoji and color, tags, stars, language, interests, status changes."""

from __future__ import annotations

import pytest

from crm_contacts.record import rules


@pytest.mark.parametrize(
    "emoji",
    ["😀", "❤️", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🇪🇸", "1️⃣", "🏳️‍🌈", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "⭐"],
)
def test_a_single_emoji_is_accepted(emoji: str) -> None:
    assert rules.clean_emoji(emoji) == (emoji, None)


@pytest.mark.parametrize("typed", ["a", "😀😀", "🇪", "🇪🇸🇫🇷", ":)", "😀a", "1", "‍😀", "😀‍"])
def test_anything_but_one_emoji_is_refused(typed: str) -> None:
    emoji, error = rules.clean_emoji(typed)

    assert emoji is None
    assert error is not None
    assert (error.field, error.code) == ("emoji", "invalid_emoji")


@pytest.mark.parametrize("typed", [None, ""])
def test_an_empty_emoji_or_color_removes_it(typed: str | None) -> None:
    assert rules.clean_emoji(typed) == (None, None)
    assert rules.clean_color(typed) == (None, None)


@pytest.mark.parametrize(("typed", "stored"), [("#FF8800", "#ff8800"), ("#0a0b0c", "#0a0b0c")])
def test_color_is_stored_lower_cased(typed: str, stored: str) -> None:
    assert rules.clean_color(typed) == (stored, None)


@pytest.mark.parametrize("typed", ["red", "#fff", "#ff88001", "ff8800", "#gg0000"])
def test_color_that_is_not_rrggbb_is_refused(typed: str) -> None:
    color, error = rules.clean_color(typed)

    assert color is None
    assert error is not None and (error.field, error.code) == ("color", "invalid_color")


def test_tags_are_trimmed_lower_cased_and_unique_in_order() -> None:
    assert rules.clean_tags([" VIP ", "vip", "Buyer  Madrid", "buyer madrid"]) == (["vip", "buyer madrid"], [])


def test_an_empty_tag_is_an_error_on_its_position() -> None:
    _tags, errors = rules.clean_tags(["vip", "  "])

    assert [(e.field, e.code) for e in errors] == [("tags.1", "required")]


@pytest.mark.parametrize(("stars", "valid"), [(0, True), (3, True), (-1, False), (4, False)])
def test_stars_go_from_zero_to_three(stars: int, valid: bool) -> None:
    assert (rules.check_stars(stars) is None) is valid


@pytest.mark.parametrize(("typed", "stored"), [("ES", "es"), ("pt-br", "pt-BR"), ("", None)])
def test_language_tag_is_normalised(typed: str, stored: str | None) -> None:
    assert rules.clean_language(typed) == (stored, None)


def test_interest_with_an_unknown_operator_or_a_bad_between_is_refused() -> None:
    interests, errors = rules.clean_interests(
        [
            {"criteria": [{"field": "price", "operator": "about", "value": 1}], "text": "flat"},
            {"criteria": [{"field": "rooms", "operator": "between", "value": [2]}]},
        ]
    )

    assert [(e.field, e.code) for e in errors] == [
        ("interests.0.criteria.0.operator", "invalid_operator"),
        ("interests.1.criteria.0.value", "invalid"),
        ("interests.1", "required"),
    ]
    assert interests[0] == {"criteria": [], "text": "flat"}


def test_interest_keeps_its_criteria_and_text() -> None:
    interests, errors = rules.clean_interests(
        [{"criteria": [{"field": " price ", "operator": "between", "value": [100, 200]}], "text": " near  metro "}]
    )

    assert errors == []
    assert interests == [
        {"criteria": [{"field": "price", "operator": "between", "value": [100, 200]}], "text": "near metro"}
    ]


@pytest.mark.parametrize(
    ("current", "wanted", "allowed"),
    [
        ("active", "won", True),
        ("active", "lost", True),
        ("won", "active", True),
        ("lost", "active", True),
        ("won", "lost", False),
        ("lost", "won", False),
        ("won", "won", False),
        ("active", "active", False),
    ],
)
def test_won_and_lost_come_from_active_and_reopen_goes_back(current: str, wanted: str, allowed: bool) -> None:
    assert (rules.status_change_error(current, wanted) is None) is allowed


def test_first_and_last_words_of_a_name_find_similar_names() -> None:
    assert rules.name_tokens("ana maria ruiz") == ("ana", "ruiz")
    assert rules.name_tokens("ana") is None
