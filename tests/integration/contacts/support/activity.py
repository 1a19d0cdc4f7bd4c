"""One contacts service per backend for the whole activity suite; each test works in a workspace of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext

import pytest

from tests.integration.contacts.support.activity_world import MAX_FILE_BYTES, World
from tests.support import infra
from tests.support.stack import RunningService, running


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory) -> Iterator[RunningService]:  # type: ignore[no-untyped-def]
    from crm_contacts.app import SERVICE

    folder = tmp_path_factory.mktemp(f"activity-{request.param}")
    database: AbstractContextManager[str] = (
        nullcontext(f"sqlite:///{folder}/contacts.db") if request.param == "sqlite" else infra.fresh_postgres()
    )
    with (
        database as url,
        running(
            SERVICE,
            url,
            folder,
            CONTACTS_STORAGE_DIR=str(folder / "files"),
            CONTACTS_MAX_FILE_BYTES=str(MAX_FILE_BYTES),
        ) as service,
    ):
        yield service


@pytest.fixture
def world(api: RunningService) -> World:
    """A fresh workspace with an admin, two agents and an inactive member."""
    return World.create(api)
