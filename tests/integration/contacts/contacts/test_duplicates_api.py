"""Duplicate contacts: refused with a problem naming the other contact when off, listed when on."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from crm_contacts.record.history import HistoryEntry
from crm_contacts.record.models import Contact
from tests.integration.contacts.support.record import Contacts
from tests.support.stack import problem_fields


def test_same_phone_written_differently_is_refused_naming_the_contact_and_its_owner(contacts: Contacts) -> None:
    acme = contacts.workspace()
    luis = contacts.member(acme, "Luis")
    ana = contacts.create(acme, name="Ana Ruiz", phone="612 34 56 78", owner_id=luis).get_json()

    answer = contacts.create(acme, name="Ana R.", phone="+34 612345678")

    assert answer.status_code == 409
    assert answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert problem["detail"] == "Phone in use by: Ana Ruiz; Responsible: Luis"
    assert problem["duplicate"] == {
        "contact_id": ana["id"],
        "name": "Ana Ruiz",
        "owner_id": luis,
        "owner_name": "Luis",
        "field": "phone",
        "value": "+34612345678",
    }
    assert problem_fields(problem) == {"phone": "duplicate"}
    assert len(contacts.outbox("contacts.contact.created")) == 1
    with contacts.api.rt.database.unit_of_work() as uow:  # the refused contact's rows were written, then rolled back
        names = uow.session.scalars(select(Contact.name).where(Contact.workspace_id == acme)).all()
        created = uow.session.scalars(
            select(HistoryEntry.contact_id).where(HistoryEntry.workspace_id == acme, HistoryEntry.kind == "created")
        ).all()
    assert names == ["Ana Ruiz"]
    assert created == [ana["id"]]


def test_any_email_of_another_contact_is_refused_whatever_the_case(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contacts.create(acme, name="Ana Ruiz", emails=["ana@example.com", "ana@work.com"])

    answer = contacts.create(acme, name="Someone", email="ANA@Work.com")

    assert answer.status_code == 409
    assert answer.get_json()["detail"] == "Email in use by: Ana Ruiz; Responsible: nobody"


def test_update_adding_another_contacts_email_is_refused(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contacts.create(acme, name="Ana Ruiz", email="ana@example.com")
    bob = contacts.create(acme, name="Bob", email="bob@example.com").get_json()

    answer = contacts.api.client.patch(
        f"/v1/contacts/{bob['id']}",
        json={"emails": ["bob@example.com", "ana@example.com"]},
        headers=contacts.headers(acme),
    )

    assert answer.status_code == 409
    assert answer.get_json()["duplicate"]["field"] == "email"
    assert contacts.outbox("contacts.contact.updated") == []


def test_two_creates_with_the_same_phone_at_once_make_one_contact(contacts: Contacts) -> None:
    acme = contacts.workspace()
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    from crm_platform.web import create_app

    # One test client per thread (Flask's is not thread-safe), built here: building apps in several threads at
    # once can trip CPython's ast module (werkzeug compiles each route), and a thread that died before the
    # barrier would leave the others waiting for ever.
    apps = [create_app(contacts.api.rt).test_client() for _ in range(4)]

    def create(n: int) -> None:
        barrier.wait(timeout=30)
        answer: Any = apps[n].post(
            "/v1/contacts", json={"name": f"Ana {n}", "phone": "612345678"}, headers=contacts.headers(acme)
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [201, 409, 409, 409]
    with contacts.api.rt.database.unit_of_work() as uow:
        count = uow.session.scalar(select(func.count()).select_from(Contact).where(Contact.workspace_id == acme))
    assert count == 1


def test_with_duplicates_on_they_are_allowed_and_listed_with_their_reasons(contacts: Contacts) -> None:
    acme = contacts.workspace(allow_duplicates=True)
    ana = contacts.create(acme, name="Ana Ruiz", email="ana@example.com", phone="612345678").get_json()
    same_email = contacts.create(acme, name="A. R.", email="ANA@example.com").get_json()
    same_phone = contacts.create(acme, name="Someone Else", phone="+34 612 34 56 78").get_json()
    same_name = contacts.create(acme, name="ána  RUIZ").get_json()
    middle_name = contacts.create(acme, name="Ana María Ruiz").get_json()
    contacts.create(acme, name="Bob Stone", email="bob@example.com")

    answer = contacts.api.client.get(f"/v1/contacts/{ana['id']}/duplicates", headers=contacts.headers(acme))

    assert same_email["id"] and same_phone["id"]
    assert answer.status_code == 200
    reasons = {item["contact"]["id"]: item["reasons"] for item in answer.get_json()["items"]}
    assert reasons == {
        same_email["id"]: ["email"],
        same_phone["id"]: ["phone"],
        same_name["id"]: ["name"],
        middle_name["id"]: ["name"],
    }


def test_deleted_contacts_are_not_listed_as_duplicates(contacts: Contacts) -> None:
    acme = contacts.workspace(allow_duplicates=True)
    ana = contacts.create(acme, name="Ana Ruiz", email="ana@example.com").get_json()
    twin = contacts.create(acme, name="Ana Ruiz", email="ana@example.com").get_json()
    contacts.api.client.delete(f"/v1/contacts/{twin['id']}", headers=contacts.headers(acme))

    answer = contacts.api.client.get(f"/v1/contacts/{ana['id']}/duplicates", headers=contacts.headers(acme))

    assert answer.get_json()["items"] == []
