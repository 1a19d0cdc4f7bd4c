"""GET /v1/contacts: each filter chooses exactly the right contacts; sorts page without repeats; sparse fields."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.integration.contacts.support.lists import Tenant, new_workspace

ALL = ["Carlos Ortega", "Bea de la Ruiz", "Álvaro Núñez", "Ana Ruiz"]  # newest first


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ALL),
        ("created_from=2024-03-14&created_to=2024-03-21", ["Bea de la Ruiz", "Álvaro Núñez"]),
        ("created_to=2024-03-07T12:00:00Z", ["Ana Ruiz"]),
        ("owner=none", ["Bea de la Ruiz"]),
        ("owner=me", ["Carlos Ortega", "Ana Ruiz"]),
        ("status=won", ["Álvaro Núñez"]),
        ("status=active,lost", ["Carlos Ortega", "Bea de la Ruiz", "Ana Ruiz"]),
        ("stars=3", ["Ana Ruiz"]),
        ("stars_min=1", ["Álvaro Núñez", "Ana Ruiz"]),
        ("tag=vip", ["Álvaro Núñez", "Ana Ruiz"]),
        ("tag=VIP,madrid", ["Ana Ruiz"]),
        ("tag=vip&tag=madrid", ["Ana Ruiz"]),
        ("name=ruiz", ["Bea de la Ruiz", "Ana Ruiz"]),
        ("name=ALV", ["Álvaro Núñez"]),
        ("name=nun", ["Álvaro Núñez"]),
        ("name=uiz", []),
        ("email=AL@Work.com", ["Álvaro Núñez"]),
        ("phone=%2B34 611 11 11 11", ["Álvaro Núñez"]),
        ("phone=612345678", ["Ana Ruiz"]),
        ("messenger=@ANA", ["Ana Ruiz"]),
        ("messenger=telegram:@ana", ["Ana Ruiz"]),
        ("messenger=whatsapp:@ana", []),
        ("location.city=madrid", ["Ana Ruiz"]),
        ("cf.budget.gte=150000", ["Álvaro Núñez", "Ana Ruiz"]),
        ("cf.budget.lt=150000", ["Bea de la Ruiz"]),
        ("cf.budget=300000", ["Ana Ruiz"]),
        ("cf.visit.gte=2024-05-15", ["Bea de la Ruiz"]),
        ("cf.zone=centro", ["Álvaro Núñez", "Ana Ruiz"]),
        ("cf.zone=norte", ["Álvaro Núñez"]),
        ("blocked=true", ["Bea de la Ruiz"]),
        ("blocked=false&owner=me", ["Carlos Ortega", "Ana Ruiz"]),
        ("q=carlos@example.com", ["Carlos Ortega"]),
        ("q=611111111", ["Álvaro Núñez"]),
        ("q=be", ["Bea de la Ruiz"]),
    ],
)
def test_each_filter_returns_exactly_the_matching_contacts(
    acme_to_read: Tenant, query: str, expected: list[str]
) -> None:
    assert acme_to_read.names(acme_to_read.get(f"/v1/contacts?{query}")) == expected


def test_owner_source_type_and_stage_filters_take_ids_and_keys(acme_to_read: Tenant) -> None:
    prospect = acme_to_read.stages[("contact", "Prospect")]

    assert acme_to_read.names(acme_to_read.get(f"/v1/contacts?owner={acme_to_read.agent},none")) == [
        "Bea de la Ruiz",
        "Álvaro Núñez",
    ]
    assert acme_to_read.names(acme_to_read.get(f"/v1/contacts?source={acme_to_read.sources['web']}")) == [
        "Álvaro Núñez"
    ]
    assert acme_to_read.names(acme_to_read.get("/v1/contacts?type=collaborator")) == ["Bea de la Ruiz"]
    assert acme_to_read.names(acme_to_read.get(f"/v1/contacts?stage={prospect}")) == ["Carlos Ortega"]


def test_created_within_days_counts_back_from_now(acme: Tenant) -> None:
    acme.contact("Dora Nueva")

    assert acme.names(acme.get("/v1/contacts?created_within_days=2")) == ["Dora Nueva"]


def test_unknown_filters_and_bad_values_are_a_problem_naming_each_field(acme_to_read: Tenant) -> None:
    answer = acme_to_read.get(
        "/v1/contacts?colour=red&status=pending&stars=5&email=nope&cf.nothing=1&created_from=yesterday"
    )

    assert answer.status_code == 422
    fields = {e["field"]: e["code"] for e in answer.get_json()["errors"]}
    assert fields == {
        "colour": "unknown_filter",
        "status": "invalid_status",
        "stars": "out_of_range",
        "email": "invalid_email",
        "cf.nothing": "unknown_custom_field",
        "created_from": "invalid_date",
    }


def test_unknown_type_and_sort_are_refused(acme_to_read: Tenant) -> None:
    assert acme_to_read.get("/v1/contacts?type=unicorn").get_json()["errors"][0]["field"] == "type"
    assert acme_to_read.get("/v1/contacts?sort=email").get_json()["errors"][0]["field"] == "sort"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-created_at", ALL),
        ("created_at", list(reversed(ALL))),
        ("name", ["Álvaro Núñez", "Ana Ruiz", "Bea de la Ruiz", "Carlos Ortega"]),
        ("-name", ["Carlos Ortega", "Bea de la Ruiz", "Ana Ruiz", "Álvaro Núñez"]),
    ],
)
def test_sorted_pages_walk_every_contact_once(acme_to_read: Tenant, sort: str, expected: list[str]) -> None:
    seen: list[str] = []
    url = f"/v1/contacts?sort={sort}&limit=1"
    while url:
        body = acme_to_read.get(url).get_json()
        seen += acme_to_read.names(acme_to_read.get(url))
        url = f"/v1/contacts?sort={sort}&limit=1&cursor={body['next_cursor']}" if body["next_cursor"] else ""
        assert len(seen) <= 4

    assert seen == expected


@pytest.mark.parametrize("sort", ["stars", "-stars", "updated_at", "-updated_at"])
def test_sorts_with_ties_page_without_duplicates_or_gaps(acme: Tenant, sort: str) -> None:
    for n in range(5):
        acme.contact(f"Tie {n}", stars=2)
    seen: list[str] = []
    url = f"/v1/contacts?sort={sort}&limit=2"
    while url:
        body = acme.get(url).get_json()
        seen += [item["id"] for item in body["items"]]
        url = f"/v1/contacts?sort={sort}&limit=2&cursor={quote(body['next_cursor'])}" if body["next_cursor"] else ""

    assert sorted(seen) == sorted(acme.contacts.values())
    if sort.endswith("stars"):
        stars = [acme.get(f"/v1/contacts/{i}").get_json()["stars"] for i in seen]
        assert stars == sorted(stars, reverse=sort.startswith("-"))


def test_a_cursor_of_another_sort_is_refused(acme_to_read: Tenant) -> None:
    cursor = acme_to_read.get("/v1/contacts?sort=name&limit=1").get_json()["next_cursor"]

    answer = acme_to_read.get(f"/v1/contacts?sort=stars&limit=1&cursor={cursor}")

    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == "cursor"


def test_sparse_fields_return_only_the_chosen_keys(acme_to_read: Tenant) -> None:
    items = acme_to_read.get("/v1/contacts?fields=id,name,email&name=ana").get_json()["items"]

    assert items == [{"id": acme_to_read.contacts["Ana Ruiz"], "name": "Ana Ruiz", "email": "ana@example.com"}]
    assert acme_to_read.get("/v1/contacts?fields=id,password").get_json()["errors"][0]["field"] == "fields"


def test_agents_who_see_only_their_own_list_only_their_own(acme: Tenant) -> None:
    acme.settings(agents_see_all=False)

    agent = acme.auth(acme.agent, role="agent")

    assert acme.names(acme.get("/v1/contacts", headers=agent)) == ["Álvaro Núñez"]
    assert acme.names(acme.get("/v1/contacts?name=ana", headers=agent)) == []


def test_another_workspace_lists_none_of_these_contacts(acme_to_read: Tenant) -> None:
    globex = new_workspace(acme_to_read.api, "Globex")

    assert globex.get("/v1/contacts?email=ana@example.com").get_json() == {"items": [], "next_cursor": None}


def test_only_one_route_lists_contacts(acme_to_read: Tenant) -> None:
    rules = [r for r in acme_to_read.api.client.application.url_map.iter_rules() if r.rule == "/v1/contacts"]

    assert sorted(r.endpoint for r in rules if "GET" in r.methods) == ["contacts_filters.list_contacts"]


def test_a_listed_contact_looks_exactly_like_the_contact_read_alone(acme_to_read: Tenant) -> None:
    acme = acme_to_read
    for name in ("Ana Ruiz", "Álvaro Núñez"):
        [listed] = acme.get(f"/v1/contacts?name={name}").get_json()["items"]

        assert listed == acme.get(f"/v1/contacts/{acme.contacts[name]}").get_json()


def test_a_created_range_pages_in_creation_order_too(acme_to_read: Tenant) -> None:
    acme = acme_to_read
    seen: list[str] = []
    url = "/v1/contacts?created_from=2024-03-01&limit=1"
    while url:
        body = acme.get(url).get_json()
        seen += acme.names(acme.get(url))
        url = (
            f"/v1/contacts?created_from=2024-03-01&limit=1&cursor={body['next_cursor']}" if body["next_cursor"] else ""
        )
        assert len(seen) <= 4

    assert seen == ALL
