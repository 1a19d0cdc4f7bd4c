"""Fixtures shared by every tier; see tests/support for the helpers behind them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import infra


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database (fails under CI=true when PostgreSQL is missing)."""
    with infra.fresh_postgres() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path}/test.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Runs the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/test.db"
    else:
        with infra.fresh_postgres() as url:
            yield url


@pytest.fixture(scope="module")
def vhost_url() -> Iterator[str]:
    """A fresh RabbitMQ virtual host for the module (fails under CI=true when RabbitMQ is missing)."""
    with infra.fresh_vhost() as url:
        yield url
