"""The contacts service on SQLite and on PostgreSQL, migrated once per module; each test makes its own workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.contacts.support.config_team import Team, new_team
from tests.support import infra
from tests.support.stack import RunningService, running


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory) -> Iterator[RunningService]:  # type: ignore[no-untyped-def]
    from crm_contacts.app import SERVICE

    tmp_path = tmp_path_factory.mktemp("contacts")
    if request.param == "sqlite":
        with running(SERVICE, f"sqlite:///{tmp_path}/contacts.db", tmp_path) as service:
            yield service
    else:
        with infra.fresh_postgres() as url, running(SERVICE, url, tmp_path) as service:
            yield service


@pytest.fixture
def team(api: RunningService) -> Team:
    return new_team(api)


@pytest.fixture
def other_team(api: RunningService) -> Team:
    return new_team(api, name="Other")
