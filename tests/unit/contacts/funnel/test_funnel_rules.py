"""Keys of contact types and the rules a reorder of stages must follow."""

from __future__ import annotations

import pytest

from crm_contacts.funnel import rules


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Clientes VIP", "clientes-vip"),
        ("  Propietarios / Vendedores  ", "propietarios-vendedores"),
        ("Inversión ñandú", "inversion-nandu"),
        ("Partner 2024", "partner-2024"),
        ("¿¡!?", ""),
    ],
)
def test_type_key_is_an_ascii_slug_of_the_name(name: str, key: str) -> None:
    assert rules.slugify(name) == key


def test_slug_is_cut_to_the_key_length_without_a_trailing_hyphen() -> None:
    key = rules.slugify("a" * 59 + " b" * 10)

    assert len(key) <= rules.KEY_MAX
    assert not key.endswith("-")


def test_slug_with_underscores_for_identifiers() -> None:
    assert rules.slugify("Presupuesto máximo", separator="_") == "presupuesto_maximo"


def test_reorder_listing_every_stage_once_is_accepted() -> None:
    assert rules.check_new_order(["a", "b", "c"], ["c", "a", "b"]) is None


@pytest.mark.parametrize(
    ("proposed", "code"),
    [
        (["a", "b"], "missing_stage"),
        (["a", "b", "c", "x"], "unknown_stage"),
        (["a", "a", "b", "c"], "duplicate"),
        ([], "missing_stage"),
    ],
)
def test_reorder_that_is_not_exactly_the_type_stages_is_refused(proposed: list[str], code: str) -> None:
    error = rules.check_new_order(["a", "b", "c"], proposed)

    assert error is not None
    assert (error.field, error.code) == ("stage_ids", code)


@pytest.mark.parametrize(("count", "position", "expected"), [(3, None, 3), (3, 0, 0), (3, 1, 1), (3, 99, 3)])
def test_new_stage_goes_to_its_position_or_the_end(count: int, position: int | None, expected: int) -> None:
    assert rules.insert_position(count, position) == expected


def test_repeated_stage_names_are_found_whatever_the_case() -> None:
    assert rules.first_duplicate(["Contact", "Visit", "contact"]) == "contact"
    assert rules.first_duplicate(["Contact", "Visit"]) is None
