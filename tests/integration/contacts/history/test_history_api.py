"""The contact's timeline over HTTP: long histories paged without a cap, the kind filter, comments and mentions."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.events.v1 import contacts_pb2
from crm_contacts.record.history import HistoryEntry, record
from crm_platform.events import payload_of
from tests.integration.contacts.support.activity_world import World
from tests.support.stack import problem_fields

MENTIONED = "contacts.member.mentioned"


def fill_history(world: World, contact_id: str, count: int) -> list[str]:
    with world.api.rt.database.unit_of_work() as uow:
        entries = [
            record(
                uow,
                workspace_id=world.workspace_id,
                contact_id=contact_id,
                kind="stage_changed" if n % 2 else "updated",
                actor_id=world.admin,
                data={"n": n},
            )
            for n in range(count)
        ]
        uow.commit()
    return [entry.id for entry in entries]


def entries_in_database(world: World, contact_id: str) -> int:
    with world.api.rt.database.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).where(HistoryEntry.contact_id == contact_id))


def mentions_in(world: World) -> list[contacts_pb2.MemberMentioned]:
    return [
        payload_of(envelope, contacts_pb2.MemberMentioned)
        for envelope in world.api.outbox(MENTIONED)
        if envelope.workspace_id == world.workspace_id
    ]


def test_250_entries_are_walked_page_by_page_newest_first_without_duplicates(world: World) -> None:
    contact = world.contact()
    written = fill_history(world, contact, 250)

    pages = world.walk(f"/v1/contacts/{contact}/history?limit=100")
    listed = [entry["id"] for page in pages for entry in page]

    assert [len(page) for page in pages] == [100, 100, 50]
    assert len(listed) == len(set(listed)) == entries_in_database(world, contact) == 250
    assert listed == list(reversed(written))
    assert [entry["data"]["n"] for entry in pages[0][:3]] == [249, 248, 247]


def test_the_default_page_walks_the_same_timeline(world: World) -> None:
    contact = world.contact()
    written = fill_history(world, contact, 120)

    pages = world.walk(f"/v1/contacts/{contact}/history")

    assert [len(page) for page in pages] == [50, 50, 20]
    assert [entry["id"] for page in pages for entry in page] == list(reversed(written))


def test_the_kind_filter_takes_a_comma_separated_list(world: World) -> None:
    contact = world.contact()
    fill_history(world, contact, 6)
    world.post(f"/v1/contacts/{contact}/comments", {"body": "Looks promising"})

    comments = world.get(f"/v1/contacts/{contact}/history?kind=comment").get_json()["items"]
    mixed = world.get(f"/v1/contacts/{contact}/history?kind=comment,stage_changed").get_json()["items"]
    bad = world.get(f"/v1/contacts/{contact}/history?kind=comment,DROP TABLE")

    assert [entry["kind"] for entry in comments] == ["comment"]
    assert [entry["kind"] for entry in mixed] == ["comment"] + ["stage_changed"] * 3
    assert bad.status_code == 422
    assert problem_fields(bad.get_json()) == {"kind": "invalid_kind"}


def test_a_comment_emits_exactly_one_mention_event_per_distinct_member(world: World) -> None:
    contact = world.contact()
    luis, eva = f"@[Luis Gil]({world.agent})", f"@[Eva Sanz]({world.other_agent})"
    body = f"{luis} can you call her? {eva} FYI. Again {luis}, before Friday."

    answer = world.post(f"/v1/contacts/{contact}/comments", {"body": body}, as_=world.admin)

    assert answer.status_code == 201
    comment = answer.get_json()
    assert comment["kind"] == "comment"
    assert comment["data"] == {"body": body, "mentions": [world.agent, world.other_agent]}
    events = mentions_in(world)
    assert sorted(event.member_id for event in events) == sorted([world.agent, world.other_agent])
    for event in events:
        assert (event.contact_id, event.comment_id, event.author_id) == (contact, comment["id"], world.admin)
        assert event.excerpt.startswith("@Luis Gil can you call her? @Eva Sanz FYI.")
    timeline = world.get(f"/v1/contacts/{contact}/history").get_json()["items"]
    assert timeline[0] == comment


def test_mentioning_an_unknown_or_inactive_member_is_refused_on_body_and_emits_nothing(world: World) -> None:
    contact = world.contact()
    other = World.create(world.api, name="Other workspace")

    for stranger in (world.inactive, other.agent, "not-a-member"):
        body = f"@[Luis Gil]({world.agent}) and @[Someone]({stranger})"
        answer = world.post(f"/v1/contacts/{contact}/comments", {"body": body})

        assert answer.status_code == 422
        assert problem_fields(answer.get_json()) == {"body": "unknown_member"}
        assert stranger in answer.get_json()["errors"][0]["message"]
    assert mentions_in(world) == []
    assert world.get(f"/v1/contacts/{contact}/history?kind=comment").get_json()["items"] == []


def test_a_comment_without_mentions_is_plain_text_in_the_timeline(world: World) -> None:
    contact = world.contact()

    answer = world.post(f"/v1/contacts/{contact}/comments", {"body": "email me @ home, or @luis"}, as_=world.agent)

    assert answer.status_code == 201
    assert answer.get_json()["data"] == {"body": "email me @ home, or @luis", "mentions": []}
    assert answer.get_json()["actor_id"] == world.agent
    assert mentions_in(world) == []
