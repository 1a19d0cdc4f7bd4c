"""The pure rules of changing, merging, sorting and counting tickets (no database), and the shared If-Match."""

from __future__ import annotations

from collections import Counter

import pytest

from crm_platform.errors import Conflict, InvalidInput, PreconditionFailed
from crm_platform.versioning import check_version, etag, matches
from crm_tickets.tickets import counts, rules
from crm_tickets.tickets.models import Ticket


@pytest.mark.parametrize(
    ("header", "ok"),
    [(None, True), ('"3"', True), ("3", True), ('W/"3"', True), ('"2", "3"', True), ("*", True), ('"2"', False)],
)
def test_if_match_names_the_current_version_or_any(header: str | None, ok: bool) -> None:
    assert matches(3, header) is ok


def test_a_stale_if_match_is_a_412_with_the_current_version() -> None:
    with pytest.raises(PreconditionFailed) as refused:
        check_version(4, '"3"', what="ticket")

    assert refused.value.extra == {"current_version": 4}
    assert "version 4" in refused.value.detail
    assert etag(4) == '"4"'


@pytest.mark.parametrize("alone", ["reason", "reopen"])
def test_reason_and_reopen_go_only_with_a_status(alone: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_change({alone: "x", "priority": "high"})

    assert [(e.field, e.code) for e in refused.value.errors] == [(alone, "requires_status")]
    rules.check_change({alone: "x", "status": "open"})


def merge(**overrides: object) -> None:
    values: dict[str, object] = {
        "source_id": "a",
        "source_merged_into": None,
        "target_id": "b",
        "target_status": rules.OPEN,
        "target_merged_into": None,
    }
    rules.check_merge(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_ticket_merges_into_any_other_that_is_not_closed() -> None:
    for status in (rules.NEW, rules.OPEN, rules.PENDING, rules.STOPPED, rules.SOLVED):
        merge(target_status=status)


def test_merging_into_itself_is_a_field_error() -> None:
    with pytest.raises(InvalidInput) as refused:
        merge(target_id="a")

    assert [(e.field, e.code) for e in refused.value.errors] == [("into_ticket_id", "same_ticket")]


@pytest.mark.parametrize(
    "overrides",
    [{"target_status": rules.CLOSED}, {"target_merged_into": "c"}, {"source_merged_into": "c"}],
    ids=["into a closed ticket", "into a merged ticket", "a ticket merged already"],
)
def test_merges_that_conflict(overrides: dict[str, object]) -> None:
    with pytest.raises(Conflict):
        merge(**overrides)


@pytest.mark.parametrize(
    ("raw", "key", "descending", "scope"),
    [
        (None, "created", True, "sort=-created"),
        ("created", "created", False, "sort=created"),
        ("-updated", "updated", True, "sort=-updated"),
        ("number", "number", False, "sort=number"),
        ("-priority", "priority", True, "sort=-priority"),
    ],
)
def test_sorts_and_their_cursor_scopes(raw: str | None, key: str, descending: bool, scope: str) -> None:
    sort = rules.parse_sort(raw)

    assert (sort.key, sort.descending, sort.scope) == (key, descending, scope)


@pytest.mark.parametrize("raw", ["name", "--created", "", "created,number"])
def test_an_unknown_sort_is_a_field_error(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.parse_sort(raw or " ")

    assert [(e.field, e.code) for e in refused.value.errors] == [("sort", "invalid_choice")]


def test_priority_ranks_urgent_highest() -> None:
    assert sorted(rules.PRIORITIES, key=rules.PRIORITY_RANK.__getitem__) == ["low", "normal", "high", "urgent"]


def test_the_views_bar_from_counter_rows() -> None:
    rows = [
        ("new", None, 4),
        ("new", "me", 1),
        ("open", "me", 2),
        ("open", "luis", 3),
        ("pending", None, 5),
        ("stopped", "me", 1),
        ("solved", "me", 7),
        ("closed", None, 9),
        ("archived", None, 100),  # a status this release does not know
    ]

    bar = rules.views_bar(rows, me="me")

    assert bar == {
        "statuses": {"new": 5, "open": 5, "pending": 5, "stopped": 1, "solved": 7, "closed": 9},
        "mine": 4,  # new 1 + open 2 + stopped 1; solved and closed are done
        "unassigned": 9,  # new 4 + pending 5
        "open": 10,
        "pending": 5,
    }


def test_the_views_bar_of_an_empty_workspace_names_every_status() -> None:
    assert rules.views_bar([], me="me") == {
        "statuses": dict.fromkeys(rules.STATUSES, 0),
        "mine": 0,
        "unassigned": 0,
        "open": 0,
        "pending": 0,
    }


def test_counter_deltas_of_new_and_changed_tickets() -> None:
    opened = Ticket(workspace_id="w", status="new", responsible_id=None)
    unassigned = counts.UNASSIGNED

    assert counts.deltas_of([opened], [], []) == Counter({("w", "new", unassigned): 1})
    assert counts.deltas_of([], [opened], []) == Counter()  # nothing changed on it
    assert counts.deltas_of(["not a ticket"], [], []) == Counter()
