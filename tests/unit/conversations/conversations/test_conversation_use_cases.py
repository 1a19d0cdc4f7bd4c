"""Starting a conversation obeys the contact's visibility before any transaction, like opening a ticket."""

from __future__ import annotations

import pytest

from crm_conversations.conversations import service
from crm_platform import context
from crm_platform.clients.contacts import FakeContactDirectory
from crm_platform.errors import InvalidInput, NotFound
from crm_platform.ids import new_id
from tests.factories.platform import admin, agent, no_database

WORKSPACE = new_id()


def start(directory: FakeContactDirectory, who: context.Caller, contact_id: str, subject: str = "Hello") -> None:
    with context.bound(caller=who):
        service.start(no_database(), directory, caller=who, contact_id=contact_id, subject=subject)


def test_an_agent_restricted_to_their_own_contacts_cannot_start_one_with_another_agents_contact() -> None:
    directory = FakeContactDirectory()
    directory.restrict_agents(WORKSPACE)
    others = directory.add(WORKSPACE, owner_id=new_id())

    with pytest.raises(NotFound):
        start(directory, agent(WORKSPACE), others.id)


def test_an_unowned_contact_is_nobodys_so_a_restricted_agent_cannot_reach_it() -> None:
    directory = FakeContactDirectory()
    directory.restrict_agents(WORKSPACE)
    unowned = directory.add(WORKSPACE, owner_id=None)

    with pytest.raises(NotFound):
        start(directory, agent(WORKSPACE), unowned.id)


def test_an_unknown_contact_is_a_field_error_and_a_blank_subject_too() -> None:
    directory = FakeContactDirectory()

    with pytest.raises(InvalidInput) as unknown:
        start(directory, admin(WORKSPACE), new_id())
    with pytest.raises(InvalidInput) as blank:
        start(directory, admin(WORKSPACE), directory.add(WORKSPACE).id, subject=" ")

    assert [e.code for e in unknown.value.errors] == ["unknown_contact"]
    assert [e.field for e in blank.value.errors] == ["subject"]
