"""Problems speak the caller's language: Accept-Language first, else the workspace's first language we have
messages in, else English; in every service, since the one shared HTTP edge renders them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm_contacts.app import SERVICE as CONTACTS
from crm_contacts.members import service as members
from crm_contacts.workspaces import service as workspaces
from crm_tickets.app import SERVICE as TICKETS
from tests.support.stack import RunningService, running

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.8"}
NO_LANGUAGE = {"HTTP_ACCEPT_LANGUAGE": ""}  # the stack's clients send `en` unless told otherwise
MISSING_CONTACT = "01900000-0000-7000-8000-000000000000"


@pytest.fixture(scope="module")
def contacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("language")
    with running(CONTACTS, f"sqlite:///{folder}/contacts.db", Path(folder)) as service:
        yield service


def _workspace(contacts: RunningService, languages: list[str] | None = None) -> tuple[str, str]:
    """A workspace (default languages: es, en) and the id of its member Luis."""
    workspace = workspaces.create(contacts.rt.database.unit_of_work(), name="Acme", default_region="ES")
    if languages is not None:
        workspaces.update_settings(
            contacts.rt.database.unit_of_work(), workspace_id=workspace.id, changes={"languages": languages}
        )
    luis = members.create(
        contacts.rt.database.unit_of_work(),
        workspace_id=workspace.id,
        name="Luis",
        email="luis@example.com",
        role="admin",
    )
    return workspace.id, luis.id


def _send(contacts: RunningService, language: dict[str, str], method: str, path: str, **kwargs: Any) -> Any:
    answer = contacts.client.open(path, method=method, environ_overrides=language, **kwargs)
    assert answer.mimetype == "application/problem+json", answer.get_data(as_text=True)
    return answer


def _duplicate_refusal(contacts: RunningService, language: dict[str, str], languages: list[str] | None = None) -> Any:
    workspace_id, luis = _workspace(contacts, languages)
    headers = contacts.auth(workspace_id, user_id=luis)
    first = contacts.client.post("/v1/contacts", json={"name": "Ana Ruiz", "phone": "612 34 56 78"}, headers=headers)
    assert first.status_code == 201, first.get_data(as_text=True)
    return _send(
        contacts, language, "POST", "/v1/contacts", json={"name": "Ana R.", "phone": "+34612345678"}, headers=headers
    )


def test_the_duplicate_refusal_is_in_the_language_the_caller_accepts(contacts: RunningService) -> None:
    spanish = _duplicate_refusal(contacts, SPANISH)
    english = _duplicate_refusal(contacts, ENGLISH)

    assert spanish.status_code == english.status_code == 409
    assert spanish.get_json()["detail"] == "Teléfono en uso por: Ana Ruiz; Responsable: Luis"
    assert spanish.get_json()["title"] == "Conflicto"
    assert spanish.get_json()["errors"][0]["message"] == "+34612345678 lo usa otro contacto"
    assert spanish.headers["Content-Language"] == "es" and "Accept-Language" in spanish.headers["Vary"]
    assert english.get_json()["detail"] == "Phone in use by: Ana Ruiz; Responsible: Luis"
    assert english.get_json()["title"] == "Conflict"
    assert english.headers["Content-Language"] == "en"


def test_without_accept_language_the_workspace_language_is_used(contacts: RunningService) -> None:
    by_default = _duplicate_refusal(contacts, NO_LANGUAGE)  # languages es, en
    english_workspace = _duplicate_refusal(contacts, NO_LANGUAGE, ["en", "es"])
    first_known = _duplicate_refusal(contacts, NO_LANGUAGE, ["fr", "es"])  # no French messages: the next one
    unknown_asked = _duplicate_refusal(contacts, {"HTTP_ACCEPT_LANGUAGE": "fr-FR"}, ["en"])

    assert by_default.get_json()["detail"].startswith("Teléfono en uso por: Ana Ruiz")
    assert english_workspace.get_json()["detail"].startswith("Phone in use by: Ana Ruiz")
    assert first_known.get_json()["detail"].startswith("Teléfono en uso por")
    assert unknown_asked.get_json()["detail"].startswith("Phone in use by")


def test_common_problems_are_translated_titles_details_and_field_messages(contacts: RunningService) -> None:
    workspace_id, luis = _workspace(contacts, ["en"])  # the header, not the workspace, chooses here
    headers = contacts.auth(workspace_id, user_id=luis)

    unauthenticated = _send(contacts, SPANISH, "GET", "/v1/contacts").get_json()
    missing = _send(contacts, SPANISH, "GET", f"/v1/contacts/{MISSING_CONTACT}", headers=headers).get_json()
    invalid = _send(contacts, SPANISH, "POST", "/v1/contacts", json={"name": ""}, headers=headers).get_json()
    bad_color = _send(
        contacts, SPANISH, "POST", "/v1/contacts", json={"name": "Ada", "color": "red"}, headers=headers
    ).get_json()
    bad_phones = _send(
        contacts, SPANISH, "POST", "/v1/contacts", json={"name": "Ada", "phones": ["12"]}, headers=headers
    ).get_json()
    agent = contacts.auth(workspace_id, user_id="someone", role="agent")
    forbidden = _send(contacts, SPANISH, "PATCH", "/v1/contacts/settings", json={"time_zone": "UTC"}, headers=agent)
    english_missing = _send(contacts, ENGLISH, "GET", f"/v1/contacts/{MISSING_CONTACT}", headers=headers).get_json()

    assert (unauthenticated["title"], unauthenticated["detail"]) == (
        "Se requiere autenticación",
        "envíe Authorization: Bearer <token>",
    )
    assert (missing["title"], missing["detail"]) == ("No encontrado", f"No se encuentra el contacto {MISSING_CONTACT}")
    assert invalid["title"] == "La petición tiene campos no válidos"
    assert invalid["errors"] == [
        {"field": "name", "message": "El texto debe tener al menos 1 carácter(es)", "code": "string_too_short"}
    ]
    assert bad_color["detail"] == "el contacto tiene campos no válidos"
    assert [e["message"] for e in bad_color["errors"]] == ["un color se escribe #rrggbb"]
    assert bad_phones["errors"] == [
        {"field": "phones.0", "message": "'12' no es un número válido para la región ES", "code": "invalid_phone"}
    ]
    assert (forbidden.status_code, forbidden.get_json()["title"], forbidden.get_json()["detail"]) == (
        403,
        "No permitido",
        "solo los administradores pueden cambiar la configuración del espacio de trabajo",
    )
    assert (english_missing["title"], english_missing["detail"]) == (
        "Not found",
        f"contact {MISSING_CONTACT} not found",
    )


def test_another_service_follows_accept_language_and_otherwise_answers_in_english(tmp_path: Path) -> None:
    with running(TICKETS, f"sqlite:///{tmp_path}/tickets.db", tmp_path) as tickets:
        headers = tickets.auth("01900000-0000-7000-8000-00000000000a")
        spanish = _send(tickets, SPANISH, "POST", "/v1/tickets", json={"subject": ""}, headers=headers)
        unspecified = _send(tickets, NO_LANGUAGE, "POST", "/v1/tickets", json={"subject": ""}, headers=headers)

    assert spanish.status_code == unspecified.status_code == 422
    assert spanish.get_json()["title"] == "La petición tiene campos no válidos"
    assert unspecified.get_json()["title"] == "The request has invalid fields"
