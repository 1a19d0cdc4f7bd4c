"""The one page/cursor helper every list endpoint uses: cursors round-trip, and anything a client could send
instead of one it was given (garbage, an edit, a cursor of another list) is a 422 on ``cursor``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from crm_platform import paging
from crm_platform.errors import InvalidInput


def refused(cursor: str, *, scope: str = paging.ID_ORDER) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        paging.decode(cursor, scope=scope)
    assert [e.field for e in error.value.errors] == ["cursor"]
    return error.value


@pytest.mark.parametrize(
    "values", [("0194-abc",), ("2024-01-01T00:00:00+00:00", 17), ("ümlaut/+=",), (["open", None, "id"],)]
)
def test_a_cursor_round_trips_its_values(values: tuple[Any, ...]) -> None:
    assert paging.decode(paging.encode(*values)) == list(values)


@pytest.mark.parametrize("garbage", ["%%%", "not-base64!", "bnVsbA", "W10", "eyJhIjogMX0", "", ".", "a.b.c"])
def test_a_garbage_cursor_is_invalid_input(garbage: str) -> None:
    refused(garbage)


def test_an_edited_cursor_is_refused_even_when_it_still_decodes() -> None:
    payload, digest = paging.encode("0194-b").split(".")
    edited = base64.urlsafe_b64encode(json.dumps(["id", "0194-a"]).encode()).decode().rstrip("=")

    refused(f"{edited}.{digest}")
    refused(payload)  # the digest cut off


def test_a_cursor_of_another_order_is_refused_naming_both() -> None:
    error = refused(paging.encode("ana", "id-1", scope="sort=name"), scope="sort=stars")

    assert error.errors[0].message == "this cursor belongs to sort=name, not sort=stars"


def test_a_page_of_limit_plus_one_rows_offers_the_last_shown_rows_position() -> None:
    rows = ["c", "b", "a"]

    first = paging.cut(rows, 2, key=lambda row: row)

    assert first.items == ["c", "b"]
    assert paging.after_id(first.next_cursor) == "b"
    assert first.body(str.upper) == {"items": ["C", "B"], "next_cursor": first.next_cursor}


def test_the_last_page_offers_no_cursor() -> None:
    assert paging.cut(["b", "a"], 2, key=lambda row: row) == paging.Page(["b", "a"], None)


def test_an_id_list_refuses_a_position_that_is_not_one_id() -> None:
    with pytest.raises(InvalidInput):
        paging.after_id(paging.encode(["open", None, "id"]))
    with pytest.raises(InvalidInput):
        paging.after_id(paging.encode("a", "b"))


@pytest.mark.parametrize(("asked", "given"), [(0, 50), (1, 1), (200, 200), (10_000, 200), (-5, 1)])
def test_a_page_size_stays_within_bounds(asked: int, given: int) -> None:
    assert paging.bounded_limit(asked) == given


@pytest.mark.parametrize("limit", [0, 201])
def test_a_page_query_refuses_a_size_out_of_bounds(limit: int) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        paging.PageQuery(limit=limit)
