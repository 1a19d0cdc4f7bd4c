"""The refusal of a duplicate names the other contact and who is responsible for it."""

from __future__ import annotations

from crm_contacts.contacts.duplicates import Duplicate, lock_key, problem


def test_phone_in_use_names_the_contact_and_its_owner() -> None:
    conflict = problem(Duplicate("c-1", "Ana Ruiz", "m-1", "Luis", "phone", "+34612345678"))

    assert conflict.http_status == 409
    assert conflict.detail == "Phone in use by: Ana Ruiz; Responsible: Luis"
    assert conflict.extra == {
        "duplicate": {
            "contact_id": "c-1",
            "name": "Ana Ruiz",
            "owner_id": "m-1",
            "owner_name": "Luis",
            "field": "phone",
            "value": "+34612345678",
        }
    }
    assert [(e.field, e.code) for e in conflict.errors] == [("phone", "duplicate")]


def test_email_in_use_by_a_contact_without_owner_says_nobody() -> None:
    conflict = problem(Duplicate("c-1", "Ana Ruiz", None, None, "email", "ana@example.com"))

    assert conflict.detail == "Email in use by: Ana Ruiz; Responsible: nobody"
    assert [e.field for e in conflict.errors] == ["email"]


def test_lock_keys_are_signed_64_bit_and_differ_by_workspace() -> None:
    key = lock_key("ws-1", "+34612345678")

    assert -(2**63) <= key < 2**63
    assert key == lock_key("ws-1", "+34612345678")
    assert key != lock_key("ws-2", "+34612345678")
