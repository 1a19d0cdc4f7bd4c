"""How a custom field definition's key and options are checked before it is stored."""

from __future__ import annotations

import pytest

from crm_contacts.customfields import service


@pytest.mark.parametrize(
    ("key", "label", "expected"),
    [
        (None, "Presupuesto máximo", "presupuesto_maximo"),
        (None, "2nd phone", "f_2nd_phone"),
        ("budget_max", "Whatever", "budget_max"),
    ],
)
def test_key_is_given_or_made_from_the_label(key: str | None, label: str, expected: str) -> None:
    assert service.clean_key(key, label) == (expected, None)


@pytest.mark.parametrize("key", ["Budget", "budget-max", "1budget", "", "b" * 61])
def test_key_that_is_not_a_lower_case_identifier_is_refused(key: str) -> None:
    _, error = service.clean_key(key, "Budget")

    assert error is not None and (error.field, error.code) == ("key", "invalid_key")


def test_select_options_are_trimmed_and_kept_in_order() -> None:
    assert service.clean_options("select", [" Piso ", "Casa", "Ático"]) == (["Piso", "Casa", "Ático"], None)


@pytest.mark.parametrize(
    ("kind", "options", "code"),
    [
        ("select", [], "required"),
        ("multiselect", None, "required"),
        ("select", ["Piso", "piso"], "duplicate"),
        ("select", ["Piso", ""], "invalid_option"),
        ("select", ["Piso", 3], "invalid_option"),
        ("text", ["a"], "not_allowed"),
    ],
)
def test_bad_options_are_refused_on_options(kind: str, options: list[object] | None, code: str) -> None:
    _, error = service.clean_options(kind, options)

    assert error is not None and (error.field, error.code) == ("options", code)


def test_unknown_kind_is_refused() -> None:
    error = service.clean_kind("color")

    assert error is not None and (error.field, error.code) == ("kind", "invalid_kind")
