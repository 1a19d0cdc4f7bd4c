"""Which phone regions, time zones and languages a workspace may be set to, and how they are stored."""

from __future__ import annotations

import pytest

from crm_contacts.workspaces import rules


@pytest.mark.parametrize(("typed", "stored"), [("ES", "ES"), ("es", "ES"), (" gb ", "GB"), ("US", "US")])
def test_region_is_an_upper_cased_iso_region(typed: str, stored: str) -> None:
    assert rules.check_region(typed) == (stored, None)


@pytest.mark.parametrize("typed", ["ZZ", "ESP", "", "Spain", "001"])
def test_unknown_region_is_refused_on_default_region(typed: str) -> None:
    _, error = rules.check_region(typed)

    assert error is not None
    assert (error.field, error.code) == ("default_region", "invalid_region")


@pytest.mark.parametrize("typed", ["Europe/Madrid", "America/Argentina/Buenos_Aires", "UTC", "Atlantic/Canary"])
def test_iana_time_zone_is_accepted(typed: str) -> None:
    assert rules.check_time_zone(typed) == (typed, None)


@pytest.mark.parametrize("typed", ["Europe/Atlantis", "GMT+2", "europe/madrid", "", "../../etc/passwd", "localtime"])
def test_unknown_time_zone_is_refused_on_time_zone(typed: str) -> None:
    _, error = rules.check_time_zone(typed)

    assert error is not None
    assert (error.field, error.code) == ("time_zone", "invalid_time_zone")


def test_languages_are_lower_cased_without_repeats_in_the_given_order() -> None:
    assert rules.check_languages(["ES", "en", "es", " ca "]) == (["es", "en", "ca"], None)


@pytest.mark.parametrize(
    ("typed", "code"), [(["es", "xx"], "invalid_language"), (["spa"], "invalid_language"), ([], "required")]
)
def test_bad_language_lists_are_refused_on_languages(typed: list[str], code: str) -> None:
    _, error = rules.check_languages(typed)

    assert error is not None
    assert (error.field, error.code) == ("languages", code)


def test_every_bad_setting_is_reported_at_once() -> None:
    _, errors = rules.clean_settings(
        {"default_region": "ZZ", "time_zone": "Nowhere/City", "languages": ["zz"], "allow_duplicates": None}
    )

    assert {(e.field, e.code) for e in errors} == {
        ("default_region", "invalid_region"),
        ("time_zone", "invalid_time_zone"),
        ("languages", "invalid_language"),
        ("allow_duplicates", "required"),
    }


def test_valid_settings_come_back_in_stored_form() -> None:
    cleaned, errors = rules.clean_settings(
        {"default_region": "mx", "time_zone": "America/Mexico_City", "languages": ["ES"], "agents_see_all": False}
    )

    assert errors == []
    assert cleaned == {
        "default_region": "MX",
        "time_zone": "America/Mexico_City",
        "languages": ["es"],
        "agents_see_all": False,
    }
