"""How a task is shown: its JSON (the API)."""

from __future__ import annotations

from typing import Any

from crm_contacts.tasks.models import Task


def as_dict(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "contact_id": task.contact_id,
        "title": task.title,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "assignee_id": task.assignee_id,
        "done": task.done,
        "done_at": task.done_at.isoformat() if task.done_at else None,
        "created_by": task.created_by,
        "created_at": task.created_at.isoformat(),
        "updated_at": task.updated_at.isoformat(),
    }
