"""A conversation's pure rules: moves, timestamps, versions, search and first response."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_conversations.conversations import rules
from crm_platform.errors import InvalidInput, PreconditionFailed

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_archiving_stamps_the_close_and_reopening_clears_it() -> None:
    archived = rules.archive(rules.OPEN)
    reopened = rules.reopen(rules.ARCHIVED)

    assert (archived.changes, rules.timestamps_after(archived, NOW)) == (True, {"archived_at": NOW})
    assert (reopened.changes, rules.timestamps_after(reopened, NOW)) == (True, {"archived_at": None})


def test_archiving_an_archived_conversation_or_reopening_an_open_one_changes_nothing() -> None:
    for move in (rules.archive(rules.ARCHIVED), rules.reopen(rules.OPEN)):
        assert move.changes is False
        assert rules.timestamps_after(move, NOW) == {}


def test_a_stale_if_match_is_refused_with_the_current_version() -> None:
    with pytest.raises(PreconditionFailed) as stale:
        rules.check_version(3, '"2"')

    assert stale.value.extra == {"current_version": 3}
    for passing in (None, '"3"', 'W/"3"', "*", '"1", "3"'):
        rules.check_version(3, passing)


def test_names_fold_to_lower_case_without_accents_or_extra_spaces() -> None:
    assert rules.fold("  Ángela   RUÍZ Muñoz ") == "angela ruiz munoz"
    assert rules.fold("Ğül Çelik") == "gul celik"


def test_the_search_box_tells_an_address_a_phone_number_and_a_name_apart() -> None:
    assert rules.parse_search(" Ana@Example.COM ") == rules.Search(email="ana@example.com")
    assert rules.parse_search("612 34 56 78") == rules.Search(phone_digits="612345678")
    assert rules.parse_search("+34 612-345-678") == rules.Search(phone_digits="34612345678")
    assert rules.parse_search("Ángel") == rules.Search(name_prefix="angel")
    assert rules.parse_search("   ") is None
    assert rules.parse_search(None) is None


def test_a_name_prefix_with_like_wildcards_matches_them_literally() -> None:
    assert rules.like_prefix("50%_off\\") == "50\\%\\_off\\\\%"


def test_the_member_view_needs_a_member() -> None:
    with pytest.raises(InvalidInput) as missing:
        rules.check_view(rules.MEMBER, None)

    assert [(e.field, e.code) for e in missing.value.errors] == [("member_id", "required")]
    rules.check_view(rules.MEMBER, "luis")
    rules.check_view(rules.MINE, None)


def test_the_first_response_is_the_first_outbound_message_and_never_moves() -> None:
    earlier = datetime(2026, 11, 30, tzinfo=UTC)

    assert rules.first_response(None, direction="note", now=NOW) is None
    assert rules.first_response(None, direction="inbound", now=NOW) is None
    assert rules.first_response(None, direction="outbound", now=NOW) == NOW
    assert rules.first_response(earlier, direction="outbound", now=NOW) == earlier


def test_a_blank_subject_is_refused_and_mail_without_one_gets_a_placeholder() -> None:
    with pytest.raises(InvalidInput):
        rules.clean_subject(" \n ")

    assert rules.clean_subject("  Invoice   42 ") == "Invoice 42"
    assert rules.subject_of_mail("") == "(no subject)"
