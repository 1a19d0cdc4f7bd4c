"""Bulk action values, remembered colors, CSV column mapping and row checks, without a database."""

from __future__ import annotations

import io

import pytest

from crm_contacts.bulk import csvio, rows, rules
from crm_contacts.record import rules as record_rules
from crm_platform.errors import InvalidInput

LOOKUPS = rows.Lookups(
    region="ES",
    default_type_id="t-contact",
    types={"t-contact": "t-contact", "contact": "t-contact", "t-other": "t-other", "other": "t-other"},
    type_keys={"t-contact": "contact", "t-other": "other"},
    stages={"t-contact": {"s-1": "s-1", "contact": "s-1", "s-2": "s-2", "prospect": "s-2"}, "t-other": {"s-9": "s-9"}},
    first_stage={"t-contact": "s-1", "t-other": "s-9"},
    members={"m-1": "m-1", "luis@acme.com": "m-1"},
    sources={"src-web": "src-web", "web": "src-web"},
    custom_fields={
        "budget": rows.CustomFieldRule("budget", "number"),
        "zone": rows.CustomFieldRule("zone", "multiselect", ["centro", "norte"]),
        "dni": rows.CustomFieldRule("dni", "text", required=True),
    },
    default_owner_id="m-1",
    default_source_id="src-manual",
)


def test_colors_are_remembered_most_recent_first_once_each_and_ten_at_most() -> None:
    recent = [f"#00000{n}" for n in range(10)]

    assert record_rules.remember_color(recent, "#000005") == ["#000005", *[c for c in recent if c != "#000005"]]
    assert record_rules.remember_color(recent, "#ffffff") == ["#ffffff", *recent[:9]]


@pytest.mark.parametrize(
    ("action", "value", "expected"),
    [
        ("set_color", "#A0B1C2", "#a0b1c2"),
        ("set_color", None, None),
        ("add_tags", " VIP ,hot", ["vip", "hot"]),
        ("remove_tags", ["a", "A"], ["a"]),
        ("set_status", "won", "won"),
        ("set_owner", None, None),
        ("set_emoji", "🔥", "🔥"),
    ],
)
def test_action_values_are_normalised(action: str, value: object, expected: object) -> None:
    assert rules.check_action(action, value) == expected


@pytest.mark.parametrize(
    ("action", "value"),
    [
        ("set_color", "red"),
        ("set_status", "closed"),
        ("add_tags", []),
        ("set_stage", ""),
        ("set_emoji", "abc"),
        ("x", 1),
    ],
)
def test_bad_action_values_are_refused(action: str, value: object) -> None:
    with pytest.raises(InvalidInput):
        rules.check_action(action, value)


def test_a_selection_is_ids_or_a_filter_never_both_or_neither() -> None:
    for ids, has_filter in ((None, False), (["a"], True), ([], False)):
        with pytest.raises(InvalidInput):
            rules.check_selection(ids, has_filter)
    rules.check_selection(["a"], False)
    rules.check_selection(None, True)


def test_the_header_names_the_fields_and_export_only_columns_are_skipped() -> None:
    columns = rows.map_columns(["ID", "Name", "email", "cf.budget", "created_at", "location.city"], None, ["budget"])

    assert columns == {1: "name", 2: "email", 3: "cf.budget", 5: "location.city"}


def test_a_mapping_renames_or_skips_columns() -> None:
    columns = rows.map_columns(["Nombre", "Notas", "Correo"], {"Nombre": "name", "Notas": None, "Correo": "email"}, [])

    assert columns == {0: "name", 2: "email"}


@pytest.mark.parametrize(
    ("header", "mapping", "field"),
    [
        (["name", "salary"], None, "file"),
        (["email"], None, "file"),
        (["name", "x"], {"x": "cf.unknown"}, "mapping.x"),
        (["name"], {"nope": "email"}, "mapping"),
        (["name", "Name"], None, "file"),
    ],
)
def test_columns_that_cannot_be_imported_are_refused(
    header: list[str], mapping: dict[str, str] | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        rows.map_columns(header, mapping, [])

    assert refused.value.errors[0].field == field


def test_a_good_row_becomes_a_draft_with_normalised_values_and_defaults() -> None:
    draft, errors = rows.check_row(
        {
            "name": "  Ana   Ruiz ",
            "email": "Ana@Example.com",
            "emails": "ana@example.com; ana@work.com",
            "phone": "612 345 678",
            "stage": "Prospect",
            "tags": "VIP;hot",
            "stars": "2",
            "cf.budget": "250000,5",
            "cf.zone": "centro;norte",
            "cf.dni": "123X",
            "messenger.Telegram": "@ana",
        },
        LOOKUPS,
    )

    assert errors == []
    assert draft is not None
    assert (draft.name, draft.name_key, draft.emails, draft.phones) == (
        "Ana Ruiz",
        "ana ruiz",
        ["ana@example.com", "ana@work.com"],
        ["+34612345678"],
    )
    assert (draft.type_id, draft.stage_id, draft.owner_id, draft.source_id) == ("t-contact", "s-2", "m-1", "src-manual")
    assert (draft.tags, draft.stars, draft.messengers) == (["vip", "hot"], 2, {"telegram": "@ana"})
    assert draft.custom_fields == {"budget": 250000.5, "zone": ["centro", "norte"], "dni": "123X"}


def test_a_bad_row_reports_every_field_as_a_single_create_would() -> None:
    draft, errors = rows.check_row(
        {
            "name": " ",
            "email": "nope",
            "phone": "12",
            "type": "alien",
            "owner": "ghost@acme.com",
            "source": "tv",
            "stars": "5",
            "color": "red",
            "cf.budget": "many",
            "cf.zone": "sur",
        },
        LOOKUPS,
    )

    assert draft is None
    assert {e.field for e in errors} == {
        "name",
        "email",
        "phone",
        "type",
        "owner",
        "source",
        "stars",
        "color",
        "cf.budget",
        "cf.zone",
        "cf.dni",  # required and missing
    }


def test_a_stage_must_belong_to_the_rows_type() -> None:
    _draft, errors = rows.check_row({"name": "Eva", "type": "other", "stage": "Prospect", "cf.dni": "1"}, LOOKUPS)

    assert [(e.field, e.code) for e in errors] == [("stage", "unknown_stage")]


def test_records_are_numbered_as_in_the_file_and_blank_lines_are_skipped() -> None:
    text = 'name,notes\nAna,"two\nlines"\n\nBea,x\n'

    assert list(csvio.records(io.StringIO(text))) == [
        (1, ["name", "notes"]),
        (2, ["Ana", "two\nlines"]),
        (4, ["Bea", "x"]),
    ]


def test_export_cells_join_lists_and_quote_what_needs_it() -> None:
    text = csvio.text_of([[csvio.cell(["a", "b"]), csvio.cell(None), csvio.cell(True), 'say "hi", ok']])

    assert text == 'a;b,,true,"say ""hi"", ok"\r\n'
