"""The OpenAPI document of every service: valid OpenAPI 3.1, served without a token, every path under /v1/<service>."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from crm_platform import settings as settings_module
from crm_platform.openapi import served_document
from crm_platform.service import bootstrap, discover
from crm_platform.web import create_app

SERVICES = sorted(discover())


@pytest.fixture(params=SERVICES)
def app(request, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    name = request.param
    env = {
        f"{name.upper()}_DATABASE_URL": f"sqlite:///{tmp_path}/{name}.db",
        "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp_path}/bus.db",
        "CRM_JWT_SECRET": "contract-secret",
        "MAILER_MAILDIR": str(tmp_path / "mail"),
        "CRM_ENV": "test",
    }
    rt = bootstrap(discover()[name], settings_module.load(name, env))
    try:
        yield create_app(rt)
    finally:
        rt.close()


def test_every_service_is_discovered() -> None:
    assert SERVICES == ["contacts", "conversations", "mailer", "reports", "tickets"]


def test_the_openapi_document_is_valid_openapi_3_1(app) -> None:  # type: ignore[no-untyped-def]
    document = served_document(app)

    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_every_path_is_under_the_service_prefix(app) -> None:  # type: ignore[no-untyped-def]
    name = app.extensions["crm.runtime"].spec.name
    paths = list(served_document(app)["paths"])

    assert paths, f"{name} documents no path"
    assert [p for p in paths if not p.startswith(f"/v1/{name}/") and p != f"/v1/{name}"] == []


def test_the_document_is_served_without_a_token_at_the_service_prefix(app) -> None:  # type: ignore[no-untyped-def]
    name = app.extensions["crm.runtime"].spec.name

    response = app.test_client().get(f"/v1/{name}/openapi.json")

    assert response.status_code == 200
    assert response.get_json() == served_document(app)


def test_the_validator_rejects_a_broken_document() -> None:
    """Guards the test above: the validator really checks something."""
    with pytest.raises(OpenAPIValidationError):
        validate({"openapi": "3.1.0", "info": {"title": "x"}, "paths": {"/v1/x": {"get": {"responses": 7}}}})


def test_every_api_route_and_method_is_in_the_document(app) -> None:  # type: ignore[no-untyped-def]
    import re

    name = app.extensions["crm.runtime"].spec.name
    documented = {(path, method.upper()) for path, item in served_document(app)["paths"].items() for method in item}
    served = {
        (re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(f"/v1/{name}") and not rule.rule.endswith("/openapi.json")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert served - documented == set(), f"{name} serves routes its OpenAPI document leaves out"


# what is served is documented: statuses and media types ---------------------------------------------
def test_errors_are_documented_as_the_problem_json_they_are(app) -> None:  # type: ignore[no-untyped-def]
    document = served_document(app)

    assert "ValidationErrorModel" not in str(document)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in ("401", "403", "404", "413", "422", "429"):
                content = operation["responses"][status]["content"]
                assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}, (
                    method,
                    path,
                    status,
                )


def undocumented(document: dict[str, Any], path: str, method: str, status: int, mimetype: str) -> str | None:
    """Why an answer is not what the document says the operation answers; None when it is documented."""
    responses = document["paths"][path][method.lower()]["responses"]
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if response is None:
        return f"{method} {path} answered {status}, not documented"
    content = response.get("content") or {}
    if not content:
        return None if not mimetype else f"{method} {path} {status} answered {mimetype}, documented without a body"
    kinds = {kind.split(";")[0] for kind in content}
    major = mimetype.split("/")[0]
    if mimetype in kinds or f"{major}/*" in kinds or "*/*" in kinds:
        return None
    return f"{method} {path} {status} answered {mimetype}, documented as {sorted(kinds)}"


def test_the_undocumented_check_catches_an_undocumented_status_and_media_type() -> None:
    """Guards the test below: it really fails on what the document leaves out."""
    document = {"paths": {"/v1/x": {"get": {"responses": {"200": {"content": {"application/json": {}}}}}}}}

    assert undocumented(document, "/v1/x", "GET", 200, "application/json") is None
    assert undocumented(document, "/v1/x", "GET", 409, "application/problem+json") is not None
    assert undocumented(document, "/v1/x", "GET", 200, "text/html") is not None


def test_every_status_and_media_type_an_operation_serves_is_documented(app) -> None:  # type: ignore[no-untyped-def]
    """Each operation called as clients get it wrong and right: no token, an agent, an admin with ids that do
    not exist, an empty body, a body that is not JSON; every answer's status and media type is documented."""
    import re

    from crm_platform import auth

    rt = app.extensions["crm.runtime"]
    document = served_document(app)
    workspace_id = _a_workspace(rt)
    tokens = [
        None,
        auth.mint_for(rt.settings, workspace_id=workspace_id, user_id="u-agent", role="agent"),
        auth.mint_for(rt.settings, workspace_id=workspace_id, user_id="u-admin", role="admin"),
    ]
    client = app.test_client()
    answers, problems = 0, []
    for path, item in document["paths"].items():
        url = re.sub(r"\{[^}]+\}", "01900000-0000-7000-8000-000000000000", path)
        for method in item:
            for token in tokens:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                for body in (None, {}, "not json"):
                    if body is not None and method == "get":
                        continue
                    kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict) else {"data": body}
                    if isinstance(body, str):
                        kwargs["content_type"] = "application/json"
                    response = client.open(url, method=method.upper(), headers=headers, **kwargs)
                    response.close()
                    answers += 1
                    if reason := undocumented(document, path, method, response.status_code, response.mimetype):
                        problems.append(reason)

    assert answers > len(document["paths"])
    assert problems == [], "\n".join(sorted(set(problems)))


def _a_workspace(rt: Any) -> str:
    """A migrated database, and a workspace that exists where the service can tell (contacts owns them)."""
    from crm_platform import migrations

    migrations.upgrade(rt.spec, rt.settings.database_url)
    if rt.spec.name != "contacts":
        return "01900000-0000-7000-8000-0000000000aa"
    from crm_contacts.workspaces import service as workspaces

    return workspaces.create(rt.database.unit_of_work(), name="Contract", default_region="ES").id
