"""How the contacts service normalises what users type, so duplicates are found whatever the spelling."""

from __future__ import annotations

import pytest

from crm_contacts.record import rules


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Ana.Lopez@Example.COM", "ana.lopez@example.com"),
        ("  ana@example.com \n", "ana@example.com"),
        ("ANA+SUPPORT@EXAMPLE.ORG", "ana+support@example.org"),
    ],
)
def test_email_is_stored_trimmed_and_lower_cased(typed: str, stored: str) -> None:
    assert rules.normalize_email(typed) == (stored, None)


@pytest.mark.parametrize("typed", ["ana", "ana@", "@example.com", "ana@@example.com", "ana lopez@example.com"])
def test_malformed_email_is_refused_with_an_email_field_error(typed: str) -> None:
    email, error = rules.normalize_email(typed)

    assert email is None
    assert error is not None
    assert (error.field, error.code) == ("email", "invalid_email")
    assert error.message


def test_email_validation_does_not_need_the_domain_to_exist() -> None:
    assert rules.normalize_email("someone@no-dns-record-7f3a9c.com") == ("someone@no-dns-record-7f3a9c.com", None)


@pytest.mark.parametrize(
    ("typed", "region", "stored"),
    [
        ("612 345 678", "ES", "+34612345678"),
        ("612-34-56-78", "ES", "+34612345678"),
        ("+34 612 345 678", "ES", "+34612345678"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_phone_without_country_code_is_read_in_the_workspace_region(typed: str, region: str, stored: str) -> None:
    assert rules.normalize_phone(typed, region) == (stored, None)


def test_phone_with_a_country_code_keeps_its_own_country_whatever_the_workspace_region() -> None:
    assert rules.normalize_phone("+44 20 7946 0958", "ES") == ("+442079460958", None)


@pytest.mark.parametrize("typed", ["not a phone", "12", "+34 1", "0000000000000000"])
def test_garbage_phone_is_refused_with_a_phone_field_error(typed: str) -> None:
    phone, error = rules.normalize_phone(typed, "ES")

    assert phone is None
    assert error is not None
    assert (error.field, error.code) == ("phone", "invalid_phone")
    assert error.message


def test_number_valid_elsewhere_but_not_in_the_workspace_region_is_refused() -> None:
    phone, error = rules.normalize_phone("020 7946 0958", "ES")

    assert phone is None
    assert error is not None and "ES" in error.message


def test_name_whitespace_is_collapsed_to_single_spaces() -> None:
    assert rules.clean_name("  Ana \t  María\n López ") == ("Ana María López", None)


@pytest.mark.parametrize("typed", ["", "   ", "\t\n"])
def test_blank_name_is_refused_as_required(typed: str) -> None:
    name, error = rules.clean_name(typed)

    assert name is None
    assert error is not None
    assert (error.field, error.code) == ("name", "required")
