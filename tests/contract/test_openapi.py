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
        "CRM_ENV": "test",
    }
    rt = bootstrap(discover()[name], settings_module.load(name, env))
    try:
        yield create_app(rt)
    finally:
        rt.close()


def test_every_service_is_discovered() -> None:
    assert SERVICES == sorted(settings_module.SERVICES)


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
