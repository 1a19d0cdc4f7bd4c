"""Which value each field of a merged contact takes."""

from __future__ import annotations

from crm_contacts.contacts.merge import choose_values

VALUES = {
    "s": {"name": "Ana Ruiz", "owner_id": "m-1", "color": None, "stars": 1, "email": "ana@a.com", "phone": None},
    "m1": {
        "name": "Ana R.",
        "owner_id": "m-2",
        "color": "#ff0000",
        "stars": 3,
        "email": "ana@b.com",
        "phone": "+34612",
    },
    "m2": {"name": "A. Ruiz", "owner_id": None, "color": "#00ff00", "stars": 0, "email": None, "phone": "+34699"},
}


def test_survivor_keeps_its_values_and_fills_empty_ones_from_the_merged_in_order() -> None:
    chosen, errors = choose_values(VALUES, survivor_id="s", merged_ids=["m1", "m2"], fields={})

    assert errors == []
    assert (chosen["name"], chosen["owner_id"], chosen["stars"]) == ("s", "s", "s")
    assert chosen["color"] == "m1"
    assert chosen["phone"] == "m1"
    assert chosen["email"] == "s"
    assert chosen["type"] == chosen["stage_id"] == "s"


def test_a_chosen_field_takes_the_chosen_contacts_value() -> None:
    chosen, errors = choose_values(
        VALUES, survivor_id="s", merged_ids=["m1", "m2"], fields={"name": "m2", "email": "m1", "stage_id": "m1"}
    )

    assert errors == []
    assert (chosen["name"], chosen["email"], chosen["type"], chosen["stage_id"]) == ("m2", "m1", "m1", "m1")


def test_choosing_an_unknown_field_or_an_uninvolved_contact_is_an_error() -> None:
    chosen, errors = choose_values(
        VALUES, survivor_id="s", merged_ids=["m1"], fields={"height": "m1", "name": "someone-else"}
    )

    assert chosen == {}
    assert sorted((e.field, e.code) for e in errors) == [
        ("fields.height", "unknown_field"),
        ("fields.name", "not_involved"),
    ]


def test_type_and_stage_from_different_contacts_is_an_error() -> None:
    _chosen, errors = choose_values(
        VALUES, survivor_id="s", merged_ids=["m1", "m2"], fields={"type": "m1", "stage_id": "m2"}
    )

    assert [(e.field, e.code) for e in errors] == [("fields.stage_id", "mismatch")]
