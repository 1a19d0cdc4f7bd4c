"""Opening a ticket decides who may open it on which contact before any transaction: with the in-memory
contact directory, no database is needed (``no_database`` fails the test if the use case opens one)."""

from __future__ import annotations

import pytest

from crm_platform import context
from crm_platform.clients.contacts import FakeContactDirectory, require_visible_contact
from crm_platform.errors import InvalidInput, NotFound
from crm_platform.ids import new_id
from crm_tickets.tickets import service
from tests.factories.platform import admin, agent, no_database

WORKSPACE = new_id()
ANA, LUIS = new_id(), new_id()


@pytest.fixture
def directory() -> FakeContactDirectory:
    """Acme, whose agents see only their own contacts."""
    contacts = FakeContactDirectory()
    contacts.restrict_agents(WORKSPACE)
    return contacts


def open_ticket(directory: FakeContactDirectory, who: context.Caller, contact_id: str, subject: str = "Help") -> None:
    with context.bound(caller=who):
        service.open_ticket(no_database(), directory, caller=who, subject=subject, contact_id=contact_id)


def test_an_agent_cannot_open_a_ticket_on_another_agents_contact_it_is_not_found(
    directory: FakeContactDirectory,
) -> None:
    luis_contact = directory.add(WORKSPACE, owner_id=LUIS)

    with pytest.raises(NotFound):
        open_ticket(directory, agent(WORKSPACE, ANA), luis_contact.id)


@pytest.mark.parametrize("whose", ["unknown", "deleted", "another workspace's"])
def test_a_ticket_on_a_contact_the_workspace_does_not_have_is_a_field_error(
    directory: FakeContactDirectory, whose: str
) -> None:
    contact_id = new_id()
    if whose == "deleted":
        contact_id = directory.add(WORKSPACE, owner_id=ANA).id
        directory.delete(contact_id)
    elif whose == "another workspace's":
        contact_id = directory.add(new_id()).id

    with pytest.raises(InvalidInput) as refused:
        open_ticket(directory, admin(WORKSPACE), contact_id)

    assert [(e.field, e.code) for e in refused.value.errors] == [("contact_id", "unknown_contact")]


def test_a_blank_subject_is_refused_before_contacts_is_asked(directory: FakeContactDirectory) -> None:
    with pytest.raises(InvalidInput) as refused:
        open_ticket(directory, admin(WORKSPACE), new_id(), subject="   ")

    assert [e.field for e in refused.value.errors] == ["subject"]


@pytest.mark.parametrize(
    ("who", "visible"),
    [(admin(WORKSPACE), True), (agent(WORKSPACE, ANA), True), (agent(WORKSPACE, LUIS), False)],
    ids=["admin", "owner", "other agent"],
)
def test_who_may_see_an_owned_contact_when_agents_see_only_their_own(
    directory: FakeContactDirectory, who: context.Caller, visible: bool
) -> None:
    anas = directory.add(WORKSPACE, owner_id=ANA)

    with context.bound(caller=who):
        answer = directory.access(anas.id)

    assert (answer.visible, answer.owner_id, answer.agents_see_all) == (visible, ANA, False)


def test_when_agents_see_all_an_agent_may_open_a_ticket_on_any_contact(directory: FakeContactDirectory) -> None:
    directory.restrict_agents(WORKSPACE, False)
    luis_contact = directory.add(WORKSPACE, owner_id=LUIS)

    with context.bound(caller=agent(WORKSPACE, ANA)):
        access = require_visible_contact(directory, luis_contact.id, what="ticket")

    assert (access.visible, access.owner_id) == (True, LUIS)


@pytest.mark.parametrize(("raw", "clean"), [("  Printer   on fire ", "Printer on fire"), ("Help", "Help")])
def test_a_subjects_runs_of_spaces_are_collapsed(raw: str, clean: str) -> None:
    from crm_tickets.tickets import rules

    assert rules.clean_subject(raw) == clean
