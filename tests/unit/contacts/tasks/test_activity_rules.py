"""Task ordering and who may change notes, tasks and files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from crm_contacts.files import rules as file_rules
from crm_contacts.notes import rules as note_rules
from crm_contacts.tasks import rules as task_rules

MONDAY = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


@dataclass
class T:
    id: str
    done: bool = False
    due_at: datetime | None = None
    done_at: datetime | None = None


def test_open_tasks_come_first_soonest_due_first_and_undated_last() -> None:
    tasks = [T("a"), T("b", due_at=MONDAY + timedelta(days=2)), T("c", due_at=MONDAY), T("d")]

    assert [t.id for t in task_rules.ordered(tasks)] == ["c", "b", "a", "d"]


def test_done_tasks_follow_the_open_ones_latest_done_first() -> None:
    tasks = [
        T("done-early", done=True, due_at=MONDAY, done_at=MONDAY),
        T("open", due_at=MONDAY + timedelta(days=30)),
        T("done-late", done=True, due_at=MONDAY - timedelta(days=9), done_at=MONDAY + timedelta(hours=1)),
    ]

    assert [t.id for t in task_rules.ordered(tasks)] == ["open", "done-late", "done-early"]


def test_tasks_due_at_the_same_moment_keep_their_creation_order() -> None:
    tasks = [T("0192-b", due_at=MONDAY), T("0192-a", due_at=MONDAY)]

    assert [t.id for t in task_rules.ordered(tasks)] == ["0192-a", "0192-b"]


@pytest.mark.parametrize(
    ("was_done", "now_done", "change"),
    [(False, True, "completed"), (True, False, "reopened"), (False, False, "updated"), (True, True, "updated")],
)
def test_a_change_is_named_for_what_happened_to_done(was_done: bool, now_done: bool, change: str) -> None:
    assert task_rules.change_of(was_done=was_done, now_done=now_done) == change


@pytest.mark.parametrize(
    ("caller", "admin", "allowed"),
    [("creator", False, True), ("assignee", False, True), ("x", False, False), ("x", True, True)],
)
def test_a_task_is_edited_by_its_creator_its_assignee_or_an_admin(caller: str, admin: bool, allowed: bool) -> None:
    assert (
        task_rules.may_edit(caller_id=caller, caller_is_admin=admin, created_by="creator", assignee_id="assignee")
        is allowed
    )


@pytest.mark.parametrize(
    ("caller", "admin", "allowed"), [("creator", False, True), ("assignee", False, False), ("x", True, True)]
)
def test_a_task_is_deleted_by_its_creator_or_an_admin(caller: str, admin: bool, allowed: bool) -> None:
    assert task_rules.may_delete(caller_id=caller, caller_is_admin=admin, created_by="creator") is allowed


@pytest.mark.parametrize(("raw", "title"), [("  Call   back ", "Call back"), ("Llamar\tmañana", "Llamar mañana")])
def test_a_task_title_is_trimmed(raw: str, title: str) -> None:
    assert task_rules.clean_title(raw) == (title, None)


@pytest.mark.parametrize(("raw", "code"), [("   ", "required"), ("x" * 301, "too_long")])
def test_an_empty_or_long_title_is_a_field_error(raw: str, code: str) -> None:
    title, error = task_rules.clean_title(raw)

    assert title is None and error is not None and (error.field, error.code) == ("title", code)


@pytest.mark.parametrize(
    ("caller", "admin", "allowed"), [("author", False, True), ("other", False, False), ("other", True, True)]
)
def test_a_note_is_changed_by_its_author_or_an_admin(caller: str, admin: bool, allowed: bool) -> None:
    assert note_rules.may_change(caller_id=caller, caller_is_admin=admin, author_id="author") is allowed
    assert file_rules.may_delete(caller_id=caller, caller_is_admin=admin, uploaded_by="author") is allowed


def test_a_note_body_is_trimmed_and_must_not_be_empty() -> None:
    assert note_rules.clean_body("  hola \n") == ("hola", None)
    body, error = note_rules.clean_body(" \n ")
    assert body is None and error is not None and (error.field, error.code) == ("body", "required")
