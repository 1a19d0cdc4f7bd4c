"""Export cells a spreadsheet would run as formulas are neutralised (OWASP CSV injection), numbers are not."""

from __future__ import annotations

import pytest

from crm_contacts.bulk.csvio import cell
from crm_contacts.record.rules import several_primaries_error


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "+1 555 0100 x"])
def test_a_cell_starting_a_formula_is_written_with_a_leading_apostrophe(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Ana", "", "+34612345678", "-3", "-2.5", "a=b"])
def test_plain_text_and_plain_numbers_are_written_as_they_are(text: str) -> None:
    assert cell(text) == text


def test_a_joined_list_starting_a_formula_is_neutralised_once() -> None:
    assert cell(["=a", "=b"]) == "'=a;=b"


def test_two_primary_entries_are_refused_and_one_is_fine() -> None:
    two = [{"address": "a@x.com", "primary": True}, {"address": "b@x.com", "primary": True}]

    error = several_primaries_error(two, "emails")

    assert error is not None and (error.field, error.code) == ("emails", "several_primaries")
    assert several_primaries_error([two[0], "c@x.com"], "emails") is None
