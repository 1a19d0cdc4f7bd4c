"""Tasks on a contact over HTTP: ordering, assignees, completion, the cross-contact list, events and history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from crm.events.v1 import contacts_pb2
from crm_contacts.tasks.models import Task
from crm_platform.events import payload_of
from crm_platform.ids import new_id
from tests.integration.contacts.support.activity_world import World
from tests.support.stack import problem_fields

MONDAY = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def add_task(world: World, contact_id: str, title: str, *, as_: str | None = None, **fields: object) -> dict:
    answer = world.post(f"/v1/contacts/{contact_id}/tasks", {"title": title, **fields}, as_=as_)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_open_tasks_come_first_soonest_due_undated_last_then_done_latest_first(world: World) -> None:
    contact = world.contact()
    friday = add_task(world, contact, "Send offer", due_at=(MONDAY + timedelta(days=4)).isoformat())
    undated = add_task(world, contact, "Ask for references")
    monday = add_task(world, contact, "Call back", due_at="2030-03-04T11:00:00+02:00")  # 09:00 UTC
    done_first = add_task(world, contact, "Book visit", due_at=(MONDAY + timedelta(days=1)).isoformat())
    done_last = add_task(world, contact, "Print contract", due_at=(MONDAY + timedelta(days=9)).isoformat())
    for task in (done_first, done_last):
        assert world.patch(f"/v1/contacts/{contact}/tasks/{task['id']}", {"done": True}).status_code == 200

    expected = [monday["id"], friday["id"], undated["id"], done_last["id"], done_first["id"]]
    pages = world.walk(f"/v1/contacts/{contact}/tasks?limit=2")

    assert [[task["id"] for task in page] for page in pages] == [expected[0:2], expected[2:4], expected[4:]]
    assert pages[0][0]["due_at"] == "2030-03-04T09:00:00+00:00"


def test_a_contact_with_more_than_200_tasks_lists_them_all(world: World) -> None:
    contact = world.contact()
    with world.api.rt.database.unit_of_work() as uow:
        for n in range(230):
            uow.session.add(
                Task(
                    id=new_id(),
                    workspace_id=world.workspace_id,
                    contact_id=contact,
                    title=f"Task {n}",
                    due_at=MONDAY + timedelta(hours=n % 17),
                    assignee_id=world.agent,
                    done=n % 5 == 0,
                    done_at=MONDAY + timedelta(minutes=n) if n % 5 == 0 else None,
                    created_by=world.admin,
                )
            )
        uow.commit()

    pages = world.walk(f"/v1/contacts/{contact}/tasks?limit=200")
    listed = [task["id"] for page in pages for task in page]

    assert [len(page) for page in pages] == [200, 30]
    assert len(set(listed)) == 230
    open_due = [task["due_at"] for page in pages for task in page if not task["done"]]
    assert open_due == sorted(open_due)
    assert all(not task["done"] for task in pages[0][:184]) and all(task["done"] for task in pages[1][-30:])


def test_a_task_is_assigned_to_the_caller_unless_an_active_member_is_named(world: World) -> None:
    contact = world.contact()

    mine = add_task(world, contact, "Call back", as_=world.agent)
    theirs = add_task(world, contact, "Send offer", as_=world.agent, assignee_id=world.other_agent)
    inactive = world.post(f"/v1/contacts/{contact}/tasks", {"title": "x", "assignee_id": world.inactive})
    stranger = world.post(f"/v1/contacts/{contact}/tasks", {"title": "x", "assignee_id": new_id()})
    reassigned = world.patch(f"/v1/contacts/{contact}/tasks/{mine['id']}", {"assignee_id": world.inactive})

    assert (mine["assignee_id"], mine["created_by"]) == (world.agent, world.agent)
    assert theirs["assignee_id"] == world.other_agent
    for refused in (inactive, stranger, reassigned):
        assert refused.status_code == 422
        assert problem_fields(refused.get_json()) == {"assignee_id": "unknown_member"}


def test_a_due_date_needs_its_offset(world: World) -> None:
    contact = world.contact()

    answer = world.post(f"/v1/contacts/{contact}/tasks", {"title": "Call", "due_at": "2030-03-04T09:00:00"})

    assert answer.status_code == 422
    assert "due_at" in problem_fields(answer.get_json())


def test_done_sets_done_at_reopening_clears_it_and_each_change_is_an_event_and_an_entry(world: World) -> None:
    contact = world.contact()
    task = add_task(world, contact, "Call back", as_=world.agent, due_at=MONDAY.isoformat())
    url = f"/v1/contacts/{contact}/tasks/{task['id']}"

    renamed = world.patch(url, {"title": "Call back about the offer"}, as_=world.agent).get_json()
    completed = world.patch(url, {"done": True}, as_=world.agent).get_json()
    reopened = world.patch(url, {"done": False}, as_=world.admin).get_json()
    assert world.delete(url, as_=world.agent).status_code == 204

    assert (renamed["done"], renamed["done_at"]) == (False, None)
    assert completed["done"] is True and completed["done_at"] is not None
    assert (reopened["done"], reopened["done_at"]) == (False, None)
    changes = ["added", "updated", "completed", "reopened", "deleted"]
    events = [
        (e.type, payload_of(e, contacts_pb2.TaskChanged))
        for e in world.api.outbox()
        if e.type.startswith("contacts.task.") and e.workspace_id == world.workspace_id
    ]
    assert [event_type for event_type, _ in events] == [f"contacts.task.{change}" for change in changes]
    assert [p.change for _, p in events] == changes
    assert events[2][1].done is True and events[2][1].title == "Call back about the offer"
    assert events[0][1].due_at.ToDatetime(tzinfo=UTC) == MONDAY
    history = world.get(f"/v1/contacts/{contact}/history?kind=" + ",".join(f"task_{c}" for c in changes)).get_json()
    assert [entry["kind"] for entry in history["items"]] == [f"task_{change}" for change in reversed(changes)]
    updated = history["items"][3]["data"]
    assert updated["changes"] == {"title": {"from": "Call back", "to": "Call back about the offer"}}


def test_only_the_creator_the_assignee_or_an_admin_may_change_a_task(world: World) -> None:
    contact = world.contact()
    task = add_task(world, contact, "Call back", as_=world.admin, assignee_id=world.agent)
    url = f"/v1/contacts/{contact}/tasks/{task['id']}"

    by_stranger = world.patch(url, {"done": True}, as_=world.other_agent)
    by_assignee = world.patch(url, {"done": True}, as_=world.agent)
    deleted_by_assignee = world.delete(url, as_=world.agent)

    assert by_stranger.status_code == 403
    assert by_assignee.status_code == 200
    assert deleted_by_assignee.status_code == 403


def test_my_tasks_across_contacts_soonest_first_filtered_by_done_and_due_date(world: World) -> None:
    world.agents_see_only_their_own()
    ana, bob = world.contact(name="Ana", owner=world.agent), world.contact(name="Bob", owner=world.agent)
    hidden = world.contact(name="Hidden", owner=world.other_agent)
    later = add_task(world, ana, "Later", as_=world.agent, due_at=(MONDAY + timedelta(days=3)).isoformat())
    soon = add_task(world, bob, "Soon", as_=world.agent, due_at=MONDAY.isoformat())
    undated = add_task(world, bob, "Someday", as_=world.agent)
    done = add_task(world, ana, "Done", as_=world.agent, due_at=MONDAY.isoformat())
    world.patch(f"/v1/contacts/{ana}/tasks/{done['id']}", {"done": True}, as_=world.agent)
    add_task(world, ana, "Not mine", as_=world.admin, due_at=MONDAY.isoformat())
    add_task(world, hidden, "On a contact the agent cannot see", as_=world.admin, assignee_id=world.agent)
    tuesday = quote((MONDAY + timedelta(days=1)).isoformat())

    pages = world.walk("/v1/contacts/tasks?assignee=me&done=false&limit=2", as_=world.agent)
    due_soon = world.get(f"/v1/contacts/tasks?due_before={tuesday}", as_=world.agent).get_json()
    seen_by_admin = world.get(f"/v1/contacts/tasks?assignee={world.agent}&done=false").get_json()

    assert [[task["id"] for task in page] for page in pages] == [[soon["id"], later["id"]], [undated["id"]]]
    assert [task["id"] for task in due_soon["items"]] == [soon["id"], done["id"]]
    assert len(seen_by_admin["items"]) == 4  # the admin also sees the task on the hidden contact
