"""The local copy of contact visibility: events applied in any order, merges, and the rule it evaluates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.message import Message
from sqlalchemy import Column, String, Table, select

from crm.events.v1 import contacts_pb2
from crm_events import by_name
from crm_platform.bus import Delivery
from crm_platform.consumer import IdempotentConsumer, Subscriptions
from crm_platform.context import Caller
from crm_platform.db import Database, create_db_engine, new_metadata
from crm_platform.errors import NotFound
from crm_platform.events import pack, unpack
from crm_platform.ids import new_id
from crm_platform.visibility import ContactVisibility, may_see

WORKSPACE = new_id()
ANA = Caller(workspace_id=WORKSPACE, user_id="ana", role="agent")
ADMIN = Caller(workspace_id=WORKSPACE, user_id="boss", role="admin")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Copy:
    def __init__(self, url: str) -> None:
        metadata = new_metadata()
        self.visibility = ContactVisibility(metadata)
        self.items = Table(
            "items", metadata, Column("id", String(36), primary_key=True), Column("contact_id", String(36))
        )
        self.database = Database("copytest", create_db_engine(url), metadata)
        metadata.create_all(self.database.engine)
        subscriptions = Subscriptions()
        self.visibility.subscribe(subscriptions)
        self.consumer = IdempotentConsumer("copytest", self.database, subscriptions)

    def event(self, event_type: str, payload: Message, at: datetime) -> None:
        parsed = unpack(pack(by_name(event_type), payload, workspace_id=WORKSPACE, producer="contacts").body)
        parsed.occurred_at.FromDatetime(at)
        self.consumer(Delivery(body=parsed.SerializeToString(), event_type=event_type, attempt=1))

    def created(self, contact_id: str, owner: str, at: datetime) -> None:
        snapshot = contacts_pb2.ContactSnapshot(id=contact_id, owner_id=owner)
        self.event("contacts.contact.created", contacts_pb2.ContactCreated(contact_id=contact_id, contact=snapshot), at)

    def owner_changed(self, contact_id: str, owner: str, at: datetime) -> None:
        changed = contacts_pb2.ContactOwnerChanged(contact_id=contact_id, to_owner_id=owner)
        self.event("contacts.contact.owner_changed", changed, at)

    def only_own(self, at: datetime = T0) -> None:
        changed = contacts_pb2.WorkspaceSettingsChanged(changed_fields=["agents_see_all"], agents_see_all=False)
        self.event("contacts.workspace.settings_changed", changed, at)

    def sees(self, caller: Caller, contact_id: str) -> bool:
        with self.database.unit_of_work() as uow:
            try:
                self.visibility.require(uow.session, caller, contact_id, not_found="hidden")
            except NotFound:
                return False
            return True

    def visible_items(self, caller: Caller) -> list[str]:
        with self.database.unit_of_work() as uow:
            query = select(self.items.c.id).order_by(self.items.c.id)
            query = self.visibility.restrict(query, uow.session, caller, self.items.c.contact_id)
            return list(uow.session.scalars(query))


@pytest.fixture
def copy(database_url: str) -> Iterator[Copy]:
    made = Copy(database_url)
    yield made
    made.database.dispose()


def test_an_older_owner_event_arriving_late_does_not_undo_a_newer_one(copy: Copy) -> None:
    contact = new_id()
    copy.only_own()
    copy.owner_changed(contact, "ana", T0 + timedelta(seconds=2))
    copy.created(contact, "luis", T0 + timedelta(seconds=1))  # redelivered after the change

    assert copy.sees(ANA, contact)


def test_a_contact_unknown_to_the_copy_is_hidden_from_restricted_agents_only(copy: Copy) -> None:
    unknown = new_id()
    assert copy.sees(ANA, unknown)  # the workspace never changed the setting: contacts' default, see all
    copy.only_own()

    assert not copy.sees(ANA, unknown)
    assert copy.sees(ADMIN, unknown)


def test_merged_away_contacts_follow_the_survivors_owner(copy: Copy) -> None:
    survivor, merged = new_id(), new_id()
    copy.only_own()
    copy.created(survivor, "ana", T0)
    copy.created(merged, "luis", T0)
    with copy.database.unit_of_work() as uow:
        uow.session.execute(copy.items.insert().values(id="item-of-merged", contact_id=merged))
        uow.commit()

    merge = contacts_pb2.ContactsMerged(survivor_id=survivor, merged_ids=[merged])
    copy.event("contacts.contact.merged", merge, T0 + timedelta(seconds=1))
    assert copy.visible_items(ANA) == ["item-of-merged"]
    copy.owner_changed(survivor, "luis", T0 + timedelta(seconds=2))

    assert copy.visible_items(ANA) == []
    assert copy.visible_items(Caller(workspace_id=WORKSPACE, user_id="luis", role="agent")) == ["item-of-merged"]


def test_the_rule_is_contacts_rule() -> None:
    assert may_see(ADMIN, agents_see_all=False, owner_id=None)
    assert may_see(ANA, agents_see_all=True, owner_id="luis")
    assert may_see(ANA, agents_see_all=False, owner_id="ana")
    assert not may_see(ANA, agents_see_all=False, owner_id="luis")
    assert not may_see(ANA, agents_see_all=False, owner_id=None)


def test_a_batch_of_creations_applies_as_the_events_one_by_one(copy: Copy) -> None:
    """The copy's batch form of contact.created: one upsert, the newest fact per contact, older ones ignored."""
    known, fresh, twice = new_id(), new_id(), new_id()
    copy.created(known, "ana", T0 + timedelta(minutes=5))  # already newer in the copy than the batch's fact
    copy.only_own()

    def created(contact_id: str, owner: str, at: datetime) -> Delivery:
        snapshot = contacts_pb2.ContactSnapshot(id=contact_id, owner_id=owner)
        payload = contacts_pb2.ContactCreated(contact_id=contact_id, contact=snapshot)
        parsed = unpack(
            pack(by_name("contacts.contact.created"), payload, workspace_id=WORKSPACE, producer="contacts").body
        )
        parsed.occurred_at.FromDatetime(at)
        return Delivery(body=parsed.SerializeToString(), event_type="contacts.contact.created", attempt=1)

    copy.consumer.handle_batch(
        [
            created(known, "luis", T0),
            created(fresh, "ana", T0),
            created(twice, "luis", T0 + timedelta(minutes=1)),
            created(twice, "ana", T0 + timedelta(minutes=1)),  # the same instant: the later one wins
        ]
    )

    assert copy.sees(ANA, known)
    assert copy.sees(ANA, fresh)
    assert copy.sees(ANA, twice)
    copy.owner_changed(fresh, "luis", T0 + timedelta(minutes=2))
    assert not copy.sees(ANA, fresh)
