"""Custom field values are checked against the workspace's definitions, one rule per kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from crm_contacts.customfields.rules import validate_values


@dataclass
class Field:
    key: str
    kind: str
    options: list[Any] = field(default_factory=list)
    required: bool = False


DEFINITIONS = [
    Field("notes", "text"),
    Field("budget", "number"),
    Field("move_in", "date"),
    Field("pets", "boolean"),
    Field("rooms", "select", ["1", "2", "3+"]),
    Field("zones", "multiselect", ["north", "south", "centre"]),
    Field("website", "url"),
    Field("work_email", "email"),
    Field("mobile", "phone"),
]


@pytest.mark.parametrize(
    ("key", "typed", "stored"),
    [
        ("notes", "  likes light ", "likes light"),
        ("budget", 250000, 250000),
        ("budget", 1234.5, 1234.5),
        ("move_in", "2025-09-01", "2025-09-01"),
        ("pets", False, False),
        ("rooms", "3+", "3+"),
        ("zones", ["south", "north", "south"], ["south", "north"]),
        ("website", "https://example.com/ana", "https://example.com/ana"),
        ("work_email", "Ana@Example.COM", "ana@example.com"),
        ("mobile", "612 34 56 78", "+34612345678"),
    ],
)
def test_a_value_of_the_right_kind_is_stored_cleaned(key: str, typed: Any, stored: Any) -> None:
    clean, errors = validate_values(DEFINITIONS, {key: typed}, region="ES")

    assert errors == []
    assert clean == {key: stored}


@pytest.mark.parametrize(
    ("key", "typed", "code"),
    [
        ("notes", 12, "invalid_type"),
        ("budget", "a lot", "invalid_type"),
        ("budget", True, "invalid_type"),
        ("move_in", "01/09/2025", "invalid_date"),
        ("move_in", "2025-02-30", "invalid_date"),
        ("pets", "yes", "invalid_type"),
        ("rooms", "4", "invalid_choice"),
        ("zones", ["north", "east"], "invalid_choice"),
        ("zones", "north", "invalid_type"),
        ("website", "ftp://example.com", "invalid_url"),
        ("website", "example.com", "invalid_url"),
        ("work_email", "ana@", "invalid_email"),
        ("mobile", "12", "invalid_phone"),
    ],
)
def test_a_value_of_the_wrong_kind_is_an_error_on_its_key(key: str, typed: Any, code: str) -> None:
    clean, errors = validate_values(DEFINITIONS, {key: typed}, region="ES")

    assert clean == {}
    assert [(e.field, e.code) for e in errors] == [(f"custom_fields.{key}", code)]
    assert errors[0].message


def test_phone_without_country_code_is_read_in_the_workspace_region() -> None:
    clean, errors = validate_values(DEFINITIONS, {"mobile": "020 7946 0958"}, region="GB")

    assert (clean, errors) == ({"mobile": "+442079460958"}, [])


def test_unknown_key_is_an_error() -> None:
    _clean, errors = validate_values(DEFINITIONS, {"shoe_size": 42})

    assert [(e.field, e.code) for e in errors] == [("custom_fields.shoe_size", "unknown_field")]


def test_missing_required_field_is_an_error_on_create_but_not_on_a_partial_update() -> None:
    definitions = [*DEFINITIONS, Field("dni", "text", required=True)]

    _clean, on_create = validate_values(definitions, {"notes": "x"})
    _clean, on_update = validate_values(definitions, {"notes": "x"}, partial=True)

    assert [(e.field, e.code) for e in on_create] == [("custom_fields.dni", "required")]
    assert on_update == []


def test_clearing_a_value_returns_none_but_clearing_a_required_one_is_an_error() -> None:
    definitions = [*DEFINITIONS, Field("dni", "text", required=True)]

    clean, errors = validate_values(definitions, {"notes": None, "dni": ""}, partial=True)

    assert clean == {"notes": None}
    assert [(e.field, e.code) for e in errors] == [("custom_fields.dni", "required")]


def test_every_bad_value_is_reported_at_once() -> None:
    _clean, errors = validate_values(DEFINITIONS, {"budget": "x", "pets": "x", "nope": 1})

    assert sorted(e.field for e in errors) == ["custom_fields.budget", "custom_fields.nope", "custom_fields.pets"]
