"""Use cases on tasks: things a member has to do for a contact, by a date; each one is one transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from crm.events.v1 import contacts_pb2
from crm_contacts.members.models import Member
from crm_contacts.record.access import scope, visible_contact
from crm_contacts.record.history import record
from crm_contacts.record.models import Contact
from crm_contacts.tasks import rules
from crm_contacts.tasks.models import Task
from crm_events.contacts import TASK_CHANGES
from crm_platform import paging
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import FieldError, Forbidden, InvalidInput, NotFound
from crm_platform.ids import new_id

_UNSET: Any = object()
# The two orders tasks are listed in: each page's cursor names its own, so one is refused in the other list.
CONTACT_ORDER = "tasks:open-by-due-then-done"
ASSIGNED_ORDER = "tasks:by-due"


def list_for_contact(uow: UnitOfWork, *, caller: Caller, contact_id: str, limit: int, after: Any = None) -> list[Task]:
    """Up to ``limit + 1`` of a contact's tasks after the cursor position, in ``rules.ordered`` order."""
    section, moment, after_id = _contact_position(after)
    with uow:
        visible_contact(uow.session, caller, contact_id)
        of_contact = select(Task).where(Task.workspace_id == caller.workspace_id, Task.contact_id == contact_id)
        tasks: list[Task] = []
        if section == "open":
            query = _after_due(of_contact.where(Task.done.is_(False)), moment, after_id)
            tasks += uow.session.scalars(query.order_by(Task.due_at.asc().nulls_last(), Task.id).limit(limit + 1))
        if len(tasks) <= limit:
            query = of_contact.where(Task.done.is_(True))
            if section == "done" and after_id is not None:
                query = query.where(
                    (Task.done_at < moment) | ((Task.done_at == moment) & (Task.id < after_id))
                    if moment is not None
                    else (Task.done_at.is_(None) & (Task.id < after_id))
                )
            order = (Task.done_at.desc().nulls_last(), Task.id.desc())
            tasks += uow.session.scalars(query.order_by(*order).limit(limit + 1 - len(tasks)))
        return tasks


def contact_position_of(task: Task) -> list[str | None]:
    """Where a page of a contact's tasks that ends with ``task`` stops, for the next page's cursor."""
    if task.done:
        return ["done", task.done_at.isoformat() if task.done_at else None, task.id]
    return ["open", task.due_at.isoformat() if task.due_at else None, task.id]


def list_assigned(
    uow: UnitOfWork,
    *,
    caller: Caller,
    assignee: str,
    done: bool | None,
    due_before: datetime | None,
    limit: int,
    after: Any = None,
) -> list[Task]:
    """Up to ``limit + 1`` tasks of one assignee across the contacts the caller may see, soonest due first."""
    assignee_id = caller.user_id if assignee == "me" else assignee
    moment, after_id = _due_position(after)
    with uow:
        of_visible_contacts = scope(select(Task).join(Contact, Contact.id == Task.contact_id), uow.session, caller)
        query = of_visible_contacts.where(Task.workspace_id == caller.workspace_id, Task.assignee_id == assignee_id)
        if done is not None:
            query = query.where(Task.done.is_(done))
        if due_before is not None:
            query = query.where(Task.due_at < due_before)
        query = _after_due(query, moment, after_id) if after is not None else query
        return list(uow.session.scalars(query.order_by(Task.due_at.asc().nulls_last(), Task.id).limit(limit + 1)))


def due_position_of(task: Task) -> list[str | None]:
    """Where a page of assigned tasks that ends with ``task`` stops, for the next page's cursor."""
    return [task.due_at.isoformat() if task.due_at else None, task.id]


def add(
    uow: UnitOfWork,
    *,
    caller: Caller,
    contact_id: str,
    title: str,
    due_at: datetime | None,
    assignee_id: Any = _UNSET,
) -> Task:
    """Add a task, assigned to the caller unless another active member is named; emits contacts.task.added."""
    clean_title = _clean_title(title)
    with uow:
        visible_contact(uow.session, caller, contact_id)
        if assignee_id is _UNSET:
            assignee_id = caller.user_id
        elif assignee_id is not None:
            _require_active_member(uow.session, caller.workspace_id, assignee_id)
        task = Task(
            id=new_id(),
            workspace_id=caller.workspace_id,
            contact_id=contact_id,
            title=clean_title,
            due_at=_utc(due_at),
            assignee_id=assignee_id,
            done=False,
            done_at=None,
            created_by=caller.user_id,
        )
        uow.session.add(task)
        uow.session.flush()
        _changed(uow, task, change="added", actor_id=caller.user_id, changes={})
        uow.commit()
    return task


def update(
    uow: UnitOfWork,
    *,
    caller: Caller,
    contact_id: str,
    task_id: str,
    title: Any = _UNSET,
    due_at: Any = _UNSET,
    assignee_id: Any = _UNSET,
    done: Any = _UNSET,
) -> Task:
    """Change what is given (creator, assignee or admin); done sets done_at, reopening clears it.

    Emits contacts.task.completed or contacts.task.reopened when ``done`` flips, else contacts.task.updated.
    """
    with uow:
        task = _task(uow.session, caller, contact_id, task_id)
        if not rules.may_edit(
            caller_id=caller.user_id,
            caller_is_admin=caller.is_admin,
            created_by=task.created_by,
            assignee_id=task.assignee_id,
        ):
            raise Forbidden("only the task's creator, its assignee or an admin may change it")
        wanted: dict[str, Any] = {}
        if title is not _UNSET:
            wanted["title"] = _clean_title(title)
        if due_at is not _UNSET:
            wanted["due_at"] = _utc(due_at)
        if assignee_id is not _UNSET:
            if assignee_id is not None and assignee_id != task.assignee_id:
                _require_active_member(uow.session, caller.workspace_id, assignee_id)
            wanted["assignee_id"] = assignee_id
        if done is not _UNSET:
            wanted["done"] = bool(done)
        changes = {
            field: {"from": _jsonable(getattr(task, field)), "to": _jsonable(value)}
            for field, value in wanted.items()
            if getattr(task, field) != value
        }
        if not changes:
            return task
        was_done = task.done
        for field, value in wanted.items():
            setattr(task, field, value)
        if task.done != was_done:
            task.done_at = utcnow() if task.done else None
        uow.session.flush()
        change = rules.change_of(was_done=was_done, now_done=task.done)
        _changed(uow, task, change=change, actor_id=caller.user_id, changes=changes)
        uow.commit()
    return task


def delete(uow: UnitOfWork, *, caller: Caller, contact_id: str, task_id: str) -> None:
    """Delete a task (its creator or an admin); emits contacts.task.deleted."""
    with uow:
        task = _task(uow.session, caller, contact_id, task_id)
        if not rules.may_delete(caller_id=caller.user_id, caller_is_admin=caller.is_admin, created_by=task.created_by):
            raise Forbidden("only the task's creator or an admin may delete it")
        uow.session.delete(task)
        _changed(uow, task, change="deleted", actor_id=caller.user_id, changes={})
        uow.commit()


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _clean_title(title: str) -> str:
    clean, error = rules.clean_title(title)
    if error is not None or clean is None:
        raise InvalidInput("the task has invalid fields", errors=[error] if error else [])
    return clean


def _require_active_member(session: Session, workspace_id: str, member_id: str) -> None:
    found = session.scalar(
        select(Member.id).where(Member.workspace_id == workspace_id, Member.id == member_id, Member.active.is_(True))
    )
    if found is None:
        raise InvalidInput(
            "the assignee is not an active member of the workspace",
            errors=[FieldError("assignee_id", f"{member_id!r} is not an active member", "unknown_member")],
        )


def _task(session: Session, caller: Caller, contact_id: str, task_id: str) -> Task:
    visible_contact(session, caller, contact_id)
    task = get_in_workspace(session, Task, task_id, workspace_id=caller.workspace_id, what="task")
    if task.contact_id != contact_id:
        raise NotFound(f"task {task_id} not found")
    return task


def _changed(uow: UnitOfWork, task: Task, *, change: str, actor_id: str, changes: dict[str, Any]) -> None:
    """The event and the history entry of one change, in the caller's transaction."""
    event = contacts_pb2.TaskChanged(
        task_id=task.id,
        contact_id=task.contact_id,
        title=task.title,
        assignee_id=task.assignee_id or "",
        done=task.done,
        change=change,
        actor_id=actor_id,
    )
    if task.due_at is not None:
        event.due_at.FromDatetime(task.due_at)
    uow.emit(TASK_CHANGES[change], event, workspace_id=task.workspace_id)
    data: dict[str, Any] = {
        "task_id": task.id,
        "title": task.title,
        "due_at": _jsonable(task.due_at),
        "assignee_id": task.assignee_id,
        "done": task.done,
    }
    if changes:
        data["changes"] = changes
    record(
        uow,
        workspace_id=task.workspace_id,
        contact_id=task.contact_id,
        kind=f"task_{change}",
        actor_id=actor_id,
        data=data,
    )


def _after_due(query: Select, moment: datetime | None, after_id: str | None) -> Select:
    """Rows after (due_at, id) in "soonest due first, undated last" order."""
    if after_id is None:
        return query
    if moment is None:
        return query.where(Task.due_at.is_(None), Task.id > after_id)
    return query.where(
        (Task.due_at > moment) | ((Task.due_at == moment) & (Task.id > after_id)) | Task.due_at.is_(None)
    )


def _parse_moment(raw: Any) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw)


def _contact_position(after: Any) -> tuple[str, datetime | None, str | None]:
    """The section (open or done) and place a cursor points at; no cursor starts with the open tasks."""
    if after is None:
        return "open", None, None
    try:
        section, moment, task_id = after
        if section in ("open", "done") and isinstance(task_id, str):
            return section, _parse_moment(moment), task_id
    except (TypeError, ValueError):
        pass
    raise paging.invalid_cursor()


def _due_position(after: Any) -> tuple[datetime | None, str | None]:
    if after is None:
        return None, None
    try:
        moment, task_id = after
        if isinstance(task_id, str):
            return _parse_moment(moment), task_id
    except (TypeError, ValueError):
        pass
    raise paging.invalid_cursor()
