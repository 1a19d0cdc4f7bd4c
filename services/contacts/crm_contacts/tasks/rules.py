"""Pure rules of tasks: the order they are listed in, who may change them, and what a change is called."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from crm_platform.errors import FieldError

MAX_TITLE_CHARS = 300


class TaskLike(Protocol):
    id: str
    done: bool
    due_at: datetime | None
    done_at: datetime | None


T = TypeVar("T", bound=TaskLike)


def ordered(tasks: Sequence[T]) -> list[T]:
    """A contact's tasks as listed: open ones first, soonest due first (undated last); then done, latest first."""
    open_tasks = sorted((t for t in tasks if not t.done), key=lambda t: (t.due_at is None, t.due_at or 0, t.id))
    done_tasks = sorted((t for t in tasks if t.done), key=lambda t: (t.done_at is not None, t.done_at or 0, t.id))
    return open_tasks + done_tasks[::-1]


def clean_title(raw: str) -> tuple[str | None, FieldError | None]:
    title = " ".join(raw.split())
    if not title:
        return None, FieldError("title", "must not be empty", "required")
    if len(title) > MAX_TITLE_CHARS:
        return None, FieldError("title", f"at most {MAX_TITLE_CHARS} characters", "too_long")
    return title, None


def may_edit(*, caller_id: str, caller_is_admin: bool, created_by: str, assignee_id: str | None) -> bool:
    """Whoever created the task, its assignee, or an admin may edit, complete or reopen it."""
    return caller_is_admin or caller_id in (created_by, assignee_id)


def may_delete(*, caller_id: str, caller_is_admin: bool, created_by: str) -> bool:
    """Whoever created the task, or an admin, may delete it."""
    return caller_is_admin or caller_id == created_by


def change_of(*, was_done: bool, now_done: bool) -> str:
    """What an update is called in events and the history: completed, reopened, or plainly updated."""
    if now_done and not was_done:
        return "completed"
    if was_done and not now_done:
        return "reopened"
    return "updated"
