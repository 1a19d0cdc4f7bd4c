"""Reading the list's parameters: filters, sort, cursor and fields, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_contacts.filters import rules
from crm_platform.errors import InvalidInput

MADRID = rules.FilterContext(
    region="ES",
    time_zone="Europe/Madrid",
    custom_fields={"budget": "number", "visit": "date", "vip": "boolean", "zone": "multiselect"},
    now=datetime(2024, 6, 30, 12, 0, tzinfo=UTC),
)
FIELDS = {"id", "name", "email"}


def errors_of(params: dict[str, str]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as refused:
        rules.parse_list_request(params, MADRID, allowed_fields=FIELDS)
    return {e.field: e.code for e in refused.value.errors}


def test_a_date_means_the_whole_day_in_the_workspace_time_zone() -> None:
    parsed = rules.parse_filter({"created_from": "2024-03-01", "created_to": "2024-03-31"}, MADRID)

    assert parsed.created_from == datetime(2024, 2, 29, 23, 0, tzinfo=UTC)
    assert parsed.created_before == datetime(2024, 3, 31, 22, 0, tzinfo=UTC)  # summer time began on the 31st


def test_a_date_time_bound_is_inclusive_and_naive_ones_read_in_the_workspace_zone() -> None:
    parsed = rules.parse_filter({"created_from": "2024-01-10T09:00:00", "created_to": "2024-01-10T10:00:00Z"}, MADRID)

    assert parsed.created_from == datetime(2024, 1, 10, 8, 0, tzinfo=UTC)
    assert parsed.created_before is not None and parsed.created_before > datetime(2024, 1, 10, 10, 0, tzinfo=UTC)


def test_created_within_days_counts_back_from_now() -> None:
    assert rules.parse_filter({"created_within_days": "7"}, MADRID).created_from == datetime(
        2024, 6, 23, 12, 0, tzinfo=UTC
    )


def test_values_are_normalised_like_stored_contacts() -> None:
    parsed = rules.parse_filter(
        {"email": " Ana@Example.COM ", "phone": "612 34 56 78", "name": "  ÁLVARO  Nú", "tag": "VIP, Hot ,vip"}, MADRID
    )

    assert (parsed.email, parsed.phone, parsed.name_prefix) == ("ana@example.com", "+34612345678", "alvaro nu")
    assert parsed.tags == ("vip", "hot")


def test_owner_list_keeps_me_and_reads_none_as_unowned() -> None:
    parsed = rules.parse_filter({"owner": "me,m-1,none"}, MADRID)

    assert (parsed.owners, parsed.owner_none) == (("me", "m-1"), True)


def test_messenger_takes_a_handle_or_network_and_handle() -> None:
    assert rules.parse_filter({"messenger": "@ana"}, MADRID).messenger_handle == "@ana"
    parsed = rules.parse_filter({"messenger": "Telegram:@ana"}, MADRID)
    assert (parsed.messenger_network, parsed.messenger_handle) == ("telegram", "@ana")


def test_custom_field_conditions_are_typed_by_the_field_kind() -> None:
    parsed = rules.parse_filter({"cf.budget.gte": "1000.5", "cf.visit.lt": "2024-05-01", "cf.vip": "true"}, MADRID)

    assert [(c.key, c.operator, c.value) for c in parsed.custom] == [
        ("budget", "gte", 1000.5),
        ("visit", "lt", "2024-05-01"),
        ("vip", "eq", True),
    ]


def test_quick_search_is_a_name_and_an_email_or_phone_when_it_can_be_one() -> None:
    assert rules.parse_filter({"q": "612345678"}, MADRID).q == rules.QuickSearch("612345678", None, "+34612345678")
    assert rules.parse_filter({"q": "Ana"}, MADRID).q == rules.QuickSearch("ana", None, None)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"colour": "red"}, {"colour": "unknown_filter"}),
        ({"location.planet": "Mars"}, {"location.planet": "unknown_filter"}),
        ({"status": "won,pending"}, {"status": "invalid_status"}),
        ({"stars": "4"}, {"stars": "out_of_range"}),
        ({"stars_min": "many"}, {"stars_min": "invalid_number"}),
        ({"created_to": "31/12/2024"}, {"created_to": "invalid_date"}),
        ({"cf.salary": "1"}, {"cf.salary": "unknown_custom_field"}),
        ({"cf.zone.gte": "a"}, {"cf.zone.gte": "invalid_operator"}),
        ({"cf.budget": "lots"}, {"cf.budget": "invalid_number"}),
        ({"blocked": "maybe"}, {"blocked": "invalid_boolean"}),
        ({"phone": "12"}, {"phone": "invalid_phone"}),
        ({"name": " "}, {"name": "required"}),
        ({"sort": "email"}, {"sort": "invalid_sort"}),
        ({"limit": "500"}, {"limit": "invalid_limit"}),
        ({"fields": "id,salary"}, {"fields": "unknown_field"}),
        ({"cursor": "%%%"}, {"cursor": "invalid"}),
    ],
)
def test_bad_parameters_are_refused_naming_each_one(params: dict[str, str], expected: dict[str, str]) -> None:
    assert errors_of(params) == expected


def test_several_bad_parameters_are_reported_together() -> None:
    assert set(errors_of({"stars": "9", "email": "x", "sort": "?"})) == {"stars", "email", "sort"}


@pytest.mark.parametrize(
    ("sort", "values"),
    [("name", ("ana ruiz", "0190-id")), ("-stars", (2, "0190-id"))],
)
def test_a_cursor_round_trips_in_its_sort(sort: str, values: tuple[object, ...]) -> None:
    cursor = rules.encode_cursor(sort, values)

    assert rules.parse_list_request({"sort": sort, "cursor": cursor}, MADRID, allowed_fields=FIELDS).after == values


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "updated_at"])
def test_a_date_sort_cursor_comes_back_as_a_moment(sort: str) -> None:
    moment = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    cursor = rules.encode_cursor(sort, (moment.isoformat(), "id-1"))

    assert rules.decode_cursor(cursor, sort) == (moment, "id-1")


def test_a_cursor_is_refused_under_another_sort() -> None:
    cursor = rules.encode_cursor("name", ("ana", "id-1"))

    assert errors_of({"sort": "stars", "cursor": cursor}) == {"cursor": "invalid"}


def test_fields_limit_and_defaults() -> None:
    request = rules.parse_list_request({"fields": "id,name", "limit": "10"}, MADRID, allowed_fields=FIELDS)

    assert (request.fields, request.limit, request.sort, request.after) == (("id", "name"), 10, "-created_at", None)


def test_repeated_parameters_read_as_a_comma_list() -> None:
    assert rules.flatten([("tag", "a"), ("tag", "b"), ("name", "x")]) == {"tag": "a,b", "name": "x"}


def test_a_saved_query_keeps_filters_sort_and_fields_but_not_the_position() -> None:
    stored = rules.query_for_storage({"tag": "vip", "sort": "name", "cursor": "abc", "limit": 5}, MADRID)

    assert stored == {"tag": "vip", "sort": "name"}
