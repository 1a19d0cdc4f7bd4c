"""The sender domains API: what may be added, who may change what, workspaces kept apart, lists, deletion."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm_mailer.domains.models import DomainKeyRow
from crm_mailer.domains.service import Domains
from tests.integration.mailer.domains.helpers import BASE, DOMAIN, add, by_purpose, signing_key, verified_domain
from tests.support.dns_server import LoopbackDns
from tests.support.stack import ContactsPeer, RunningService, problem_fields


def test_private_keys_are_stored_encrypted(api: RunningService, acme: str) -> None:
    add(api, acme)
    with api.rt.database.engine.connect() as connection:
        stored = connection.execute(select(DomainKeyRow.private_key_encrypted)).scalar_one()

    assert "PRIVATE KEY" not in stored
    assert Domains.of(api.rt).cipher.decrypt(stored).startswith(b"-----BEGIN RSA PRIVATE KEY-----")


def test_another_workspaces_domain_is_not_found(
    api: RunningService, dns_server: LoopbackDns, contacts_peer_service: ContactsPeer, acme: str
) -> None:
    domain = verified_domain(api, dns_server, acme)
    other = contacts_peer_service.workspace(name="Other")
    path = f"{BASE}/{domain['id']}"

    answers = [
        api.client.get(path, headers=api.auth(other)),
        api.client.post(f"{path}/verify", headers=api.auth(other)),
        api.client.post(f"{path}/rotate", headers=api.auth(other)),
        api.client.delete(path, headers=api.auth(other)),
    ]
    listed = api.client.get(BASE, headers=api.auth(other)).get_json()

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert listed["items"] == []
    assert signing_key(api, other, f"support@{DOMAIN}") is None
    assert api.client.get(path, headers=api.auth(acme)).status_code == 200


def test_agents_read_sender_domains_and_only_admins_change_them(api: RunningService, acme: str) -> None:
    domain = add(api, acme).get_json()
    agent = api.auth(acme, user_id="agent-7", role="agent")
    path = f"{BASE}/{domain['id']}"

    reads = [api.client.get(BASE, headers=agent), api.client.get(path, headers=agent)]
    writes = [
        api.client.post(BASE, json={"domain": "other-widgets.com"}, headers=agent),
        api.client.post(f"{path}/verify", headers=agent),
        api.client.post(f"{path}/rotate", headers=agent),
        api.client.delete(path, headers=agent),
    ]

    assert [a.status_code for a in reads] == [200, 200]
    assert [a.status_code for a in writes] == [403, 403, 403, 403]
    assert writes[0].get_json()["detail"] == "only admins can add sender domains"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("gmail.com", "free_mail"),
        ("Outlook.com", "free_mail"),
        ("mail.gmx.de", "free_mail"),
        ("co.uk", "public_suffix"),
        ("github.io", "public_suffix"),
        ("acme.notatld", "unknown_tld"),
        ("ana@acme-widgets.com", "invalid"),
        ("https://acme-widgets.com/", "invalid"),
        ("not a domain", "invalid"),
        ("localhost", "invalid"),
        ("192.168.1.1", "invalid"),
        ("mail.crm-platform.net", "platform_domain"),
    ],
)
def test_domains_no_workspace_can_own_are_refused_naming_why(
    api: RunningService, acme: str, name: str, code: str
) -> None:
    answer = add(api, acme, name)

    assert answer.status_code == 422
    assert problem_fields(answer.get_json()) == {"domain": code}


def test_refusals_are_translated(api: RunningService, acme: str) -> None:
    answer = add(api, acme, "gmail.com", **{"Accept-Language": "es"})

    assert answer.headers["Content-Language"] == "es"
    assert answer.get_json()["errors"][0]["message"].startswith("gmail.com pertenece a un proveedor de correo gratuito")


def test_the_same_domain_twice_in_a_workspace_is_a_conflict_but_another_workspace_may_add_it(
    api: RunningService, contacts_peer_service: ContactsPeer, acme: str
) -> None:
    first = add(api, acme)
    twice = add(api, acme, "ACME-WIDGETS.com.")
    elsewhere = add(api, contacts_peer_service.workspace(name="Other"))

    assert (first.status_code, twice.status_code, elsewhere.status_code) == (201, 409, 201)
    assert twice.get_json()["detail"] == f"{DOMAIN} is already a sender domain of this workspace"
    assert (
        by_purpose(first.get_json())["dkim:pending"]["selector"]
        != by_purpose(elsewhere.get_json())["dkim:pending"]["selector"]
    )


@pytest.mark.parametrize(
    "body", [{}, {"domain": ""}, {"domain": 7}, {"domain": "acme-widgets.com", "extra": 1}, {"domain": "x" * 400}]
)
def test_malformed_bodies_are_refused(api: RunningService, acme: str, body: dict[str, Any]) -> None:
    answer = api.client.post(BASE, json=body, headers=api.auth(acme))

    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"


def test_deleting_a_domain_removes_it_and_its_keys(api: RunningService, dns_server: LoopbackDns, acme: str) -> None:
    domain = verified_domain(api, dns_server, acme)

    deleted = api.client.delete(f"{BASE}/{domain['id']}", headers=api.auth(acme))

    assert deleted.status_code == 204
    assert api.client.get(f"{BASE}/{domain['id']}", headers=api.auth(acme)).status_code == 404
    assert signing_key(api, acme, f"support@{DOMAIN}") is None
    with api.rt.database.engine.connect() as connection:
        assert connection.execute(select(DomainKeyRow.id)).all() == []


def test_the_list_is_paginated_newest_first(api: RunningService, acme: str) -> None:
    names = [f"shop{n}-widgets.com" for n in range(3)]
    for name in names:
        assert add(api, acme, name).status_code == 201

    first = api.client.get(f"{BASE}?limit=2", headers=api.auth(acme)).get_json()
    second = api.client.get(f"{BASE}?limit=2&cursor={first['next_cursor']}", headers=api.auth(acme)).get_json()

    assert [d["domain"] for d in first["items"] + second["items"]] == names[::-1]
    assert second["next_cursor"] is None
