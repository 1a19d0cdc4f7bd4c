"""Email addresses turned off by hand or by mailer reports, and turned back on with consent once per 30 days."""

from __future__ import annotations

from datetime import timedelta

from crm.events.v1 import contacts_pb2, mailer_pb2
from crm_contacts.record.models import ContactEmail
from crm_platform.db import utcnow
from crm_platform.events import payload_of
from tests.integration.contacts.support.record import Contacts
from tests.support.stack import envelope, problem_fields


def _email(contact: dict, address: str) -> dict:  # type: ignore[type-arg]
    return next(e for e in contact["emails"] if e["address"] == address)


def test_deactivated_address_is_shown_inactive_with_its_reason(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme, email="ana@example.com").get_json()

    answer = contacts.api.client.post(
        f"/v1/contacts/{contact['id']}/emails/ana@example.com/deactivate",
        json={"reason": "invalid"},
        headers=contacts.headers(acme),
    )

    assert answer.status_code == 200
    assert (
        _email(answer.get_json(), "ana@example.com")["status"],
        _email(answer.get_json(), "ana@example.com")["inactive_reason"],
    ) == ("inactive", "invalid")
    [event] = contacts.outbox("contacts.email.deactivated")
    payload = payload_of(event, contacts_pb2.EmailStatusChanged)
    assert (payload.address, payload.status, payload.reason) == ("ana@example.com", "inactive", "invalid")


def test_reactivation_needs_consent(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme, email="ana@example.com").get_json()
    base = f"/v1/contacts/{contact['id']}/emails/ana@example.com"
    contacts.api.client.post(f"{base}/deactivate", json={"reason": "manual"}, headers=contacts.headers(acme))

    answer = contacts.api.client.post(
        f"{base}/reactivate", json={"consent_confirmed": False}, headers=contacts.headers(acme)
    )

    assert answer.status_code == 422
    assert problem_fields(answer.get_json()) == {"consent_confirmed": "required"}


def test_second_reactivation_within_30_days_is_refused_with_the_date_it_becomes_possible(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme, email="ana@example.com").get_json()
    base = f"/v1/contacts/{contact['id']}/emails/ana@example.com"
    ten_days_ago = utcnow() - timedelta(days=10)
    with contacts.api.rt.database.unit_of_work() as uow:
        row = uow.session.query(ContactEmail).filter_by(contact_id=contact["id"]).one()
        row.status, row.inactive_reason, row.reactivated_at = "inactive", "hard_bounce", ten_days_ago
        uow.commit()

    refused = contacts.api.client.post(
        f"{base}/reactivate", json={"consent_confirmed": True}, headers=contacts.headers(acme)
    )

    possible_from = (ten_days_ago + timedelta(days=30)).date().isoformat()
    assert refused.status_code == 409
    problem = refused.get_json()
    assert possible_from in problem["detail"]
    assert problem["retry_after"].startswith(possible_from)
    assert contacts.outbox("contacts.email.reactivated") == []


def test_reactivation_with_consent_turns_the_address_back_on(contacts: Contacts) -> None:
    acme = contacts.workspace()
    contact = contacts.create(acme, email="ana@example.com").get_json()
    base = f"/v1/contacts/{contact['id']}/emails/ana@example.com"
    contacts.api.client.post(f"{base}/deactivate", json={"reason": "manual"}, headers=contacts.headers(acme))

    answer = contacts.api.client.post(
        f"{base}/reactivate", json={"consent_confirmed": True}, headers=contacts.headers(acme)
    )

    assert answer.status_code == 200
    assert _email(answer.get_json(), "ana@example.com")["status"] == "active"
    assert len(contacts.outbox("contacts.email.reactivated")) == 1
    kinds = [kind for kind, _ in contacts.history(contact["id"])]
    assert kinds == ["created", "email_deactivated", "email_reactivated"]


def test_hard_bounce_turns_the_address_off_on_every_contact_having_it_once(contacts: Contacts) -> None:
    acme = contacts.workspace(allow_duplicates=True)
    ana = contacts.create(acme, name="Ana", email="ana@example.com").get_json()
    twin = contacts.create(acme, name="Ana twin", emails=["other@example.com", "ana@example.com"]).get_json()
    bounce = envelope(
        "mailer.delivery.bounced",
        mailer_pb2.DeliveryBounced(recipient="Ana@Example.com", kind="hard", diagnostic="550 no such user"),
        workspace_id=acme,
        producer="mailer",
    )

    contacts.api.consume(bounce)
    contacts.api.consume(bounce)  # redelivered

    for contact in (ana, twin):
        now = contacts.api.client.get(f"/v1/contacts/{contact['id']}", headers=contacts.headers(acme)).get_json()
        assert (_email(now, "ana@example.com")["status"], _email(now, "ana@example.com")["inactive_reason"]) == (
            "inactive",
            "hard_bounce",
        )
    assert len(contacts.outbox("contacts.email.deactivated")) == 2


def test_soft_bounce_changes_nothing_and_complaints_and_unsubscribes_do(contacts: Contacts) -> None:
    acme = contacts.workspace()
    ana = contacts.create(acme, name="Ana", email="ana@example.com").get_json()
    bob = contacts.create(acme, name="Bob", email="bob@example.com").get_json()

    contacts.api.consume(
        envelope(
            "mailer.delivery.bounced",
            mailer_pb2.DeliveryBounced(recipient="ana@example.com", kind="soft"),
            workspace_id=acme,
            producer="mailer",
        )
    )
    contacts.api.consume(
        envelope(
            "mailer.recipient.complained",
            mailer_pb2.RecipientComplained(recipient="bob@example.com"),
            workspace_id=acme,
            producer="mailer",
        )
    )

    ana_now = contacts.api.client.get(f"/v1/contacts/{ana['id']}", headers=contacts.headers(acme)).get_json()
    bob_now = contacts.api.client.get(f"/v1/contacts/{bob['id']}", headers=contacts.headers(acme)).get_json()
    assert ana_now["emails"][0]["status"] == "active"
    assert (bob_now["emails"][0]["status"], bob_now["emails"][0]["inactive_reason"]) == ("inactive", "spam_complaint")
