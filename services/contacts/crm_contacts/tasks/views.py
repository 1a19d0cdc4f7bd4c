"""HTTP API of tasks (under /v1/contacts, which the gateway routes to this service)."""

from __future__ import annotations

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crm_contacts.tasks import represent, service
from crm_platform import paging
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts_tasks", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="tasks")], abp_security=SECURITY
)


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    due_at: AwareDatetime | None = Field(default=None, description="ISO 8601 date-time with its offset")
    assignee_id: str | None = Field(default=None, max_length=36, description="an active member; default the caller")


class TaskPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=300)
    due_at: AwareDatetime | None = Field(default=None, description="ISO 8601 date-time with its offset; null clears")
    assignee_id: str | None = Field(default=None, max_length=36, description="an active member; null unassigns")
    done: bool | None = Field(default=None, description="true completes the task (sets done_at), false reopens it")


class TaskOut(BaseModel):
    id: str
    contact_id: str
    title: str
    due_at: str | None
    assignee_id: str | None
    done: bool
    done_at: str | None
    created_by: str
    created_at: str
    updated_at: str


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class ContactPath(BaseModel):
    contact_id: str = Field(max_length=64)


class TaskPath(BaseModel):
    contact_id: str = Field(max_length=64)
    task_id: str = Field(max_length=64)


class AssignedQuery(PageQuery):
    assignee: str = Field(default="me", max_length=36, description='"me" or a member id')
    done: bool | None = Field(default=None, description="only open (false) or only done (true) tasks")
    due_before: AwareDatetime | None = Field(default=None, description="only tasks due before this moment")


@api.get(
    "/tasks",
    responses={200: TaskPage},
    summary="A member's tasks across the contacts the caller may see, soonest due first (undated last)",
)
def list_assigned_tasks(query: AssignedQuery):  # type: ignore[no-untyped-def]
    tasks = service.list_assigned(
        runtime().database.unit_of_work(),
        caller=caller(),
        assignee=query.assignee,
        done=query.done,
        due_before=query.due_before,
        limit=query.limit,
        after=paging.after(query.cursor, scope=service.ASSIGNED_ORDER),
    )
    page = paging.cut(tasks, query.limit, key=service.due_position_of, scope=service.ASSIGNED_ORDER)
    return json_response(page.body(represent.as_dict))


@api.get(
    "/<contact_id>/tasks",
    responses={200: TaskPage},
    summary="List a contact's tasks: open ones by due date, then done ones, latest done first",
)
def list_tasks(path: ContactPath, query: PageQuery):  # type: ignore[no-untyped-def]
    tasks = service.list_for_contact(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        limit=query.limit,
        after=paging.after(query.cursor, scope=service.CONTACT_ORDER),
    )
    page = paging.cut(tasks, query.limit, key=service.contact_position_of, scope=service.CONTACT_ORDER)
    return json_response(page.body(represent.as_dict))


@api.post("/<contact_id>/tasks", responses={201: TaskOut}, summary="Add a task to a contact")
@idempotent
def add_task(path: ContactPath, body: TaskIn):  # type: ignore[no-untyped-def]
    options = {"assignee_id": body.assignee_id} if "assignee_id" in body.model_fields_set else {}
    task = service.add(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        title=body.title,
        due_at=body.due_at,
        **options,
    )
    return json_response(represent.as_dict(task), 201, {"Location": f"/v1/contacts/{path.contact_id}/tasks/{task.id}"})


@api.patch(
    "/<contact_id>/tasks/<task_id>",
    responses={200: TaskOut},
    summary="Change, complete or reopen a task (its creator, its assignee or an admin); absent fields are kept",
)
def edit_task(path: TaskPath, body: TaskPatch):  # type: ignore[no-untyped-def]
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    if nulls := [field for field in ("title", "done") if field in changes and changes[field] is None]:
        raise InvalidInput(
            "the task has invalid fields", errors=[FieldError(f, "must not be null", "required") for f in nulls]
        )
    task = service.update(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        task_id=path.task_id,
        **changes,
    )
    return json_response(represent.as_dict(task))


@api.delete("/<contact_id>/tasks/<task_id>", responses={204: None}, summary="Delete a task (its creator or an admin)")
def delete_task(path: TaskPath):  # type: ignore[no-untyped-def]
    service.delete(runtime().database.unit_of_work(), caller=caller(), contact_id=path.contact_id, task_id=path.task_id)
    return Response(status=204)
