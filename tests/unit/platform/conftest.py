"""Fixtures of the platform's unit tests: the contacts service on a SQLite file, and a test client of its app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crm_contacts.app import SERVICE
from crm_platform import migrations, settings
from crm_platform.service import Runtime, bootstrap
from crm_platform.web import create_app


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One runtime per test module, as production builds it (settings from env, migrations, bootstrap)."""
    folder = tmp_path_factory.mktemp("platform")
    url = f"sqlite:///{folder}/contacts.db"
    env = {
        "CONTACTS_DATABASE_URL": url,
        "CRM_LOCAL_BUS_URL": f"sqlite:///{folder}/bus.db",
        "CRM_JWT_SECRET": "platform-unit-test-secret-long-enough-for-hs256",
        "CRM_ENV": "test",
    }
    migrations.upgrade(SERVICE, url)
    runtime = bootstrap(SERVICE, settings.load("contacts", env))
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def client(rt: Runtime) -> Any:
    return create_app(rt).test_client()
