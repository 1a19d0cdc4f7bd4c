"""The create's context (workspace settings, acting member, funnel defaults, source, custom fields) is cached for a
moment per process: a change made through the service is honoured by the very next create all the same."""

from __future__ import annotations

from crm_contacts.members.models import Member
from tests.factories import contacts as factories
from tests.integration.contacts.support.record import Contacts


def test_duplicates_allowed_a_moment_after_a_refused_one_are_created(contacts: Contacts) -> None:
    acme = contacts.workspace()
    assert contacts.create(acme, name="Ana", email="ana@example.com").status_code == 201
    assert contacts.create(acme, name="Ana 2", email="ana@example.com").status_code == 409

    factories.set_workspace(contacts.api.rt.database, acme, allow_duplicates=True)  # an ORM UPDATE statement

    assert contacts.create(acme, name="Ana 3", email="ana@example.com").status_code == 201


def test_duplicates_refused_again_once_the_setting_is_changed_back_through_the_api(contacts: Contacts) -> None:
    acme = contacts.workspace(allow_duplicates=True)
    assert contacts.create(acme, name="Ana", phone="612 34 56 78").status_code == 201
    assert contacts.create(acme, name="Ana 2", phone="612 34 56 78").status_code == 201

    answer = contacts.api.client.patch(
        "/v1/contacts/settings", json={"allow_duplicates": False}, headers=contacts.headers(acme)
    )
    assert answer.status_code == 200, answer.get_json()

    assert contacts.create(acme, name="Ana 3", phone="612 34 56 78").status_code == 409


def test_a_member_made_inactive_is_no_longer_the_owner_of_what_they_create(contacts: Contacts) -> None:
    acme = contacts.workspace()
    luis = contacts.member(acme, "Luis")
    first = contacts.create(acme, name="Ana", as_member=luis, role="agent").get_json()
    assert first["owner_id"] == luis

    with contacts.api.rt.database.unit_of_work() as uow:  # a flush of the member's row
        member = uow.session.get(Member, luis)
        assert member is not None
        member.active = False
        uow.commit()

    second = contacts.create(acme, name="Bea", as_member=luis, role="agent").get_json()
    assert second["owner_id"] is None
