"""A service's own settings are declared once, read and checked at start; a dead loop stops its worker."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from crm_mailer.app import SERVICE as MAILER
from crm_mailer.settings import MailerSettings
from crm_platform.processes import Worker
from crm_platform.service import ServiceSpec, bootstrap
from crm_platform.settings import SettingsError, describe, load, read_declared, setting


@dataclass(frozen=True)
class ExampleSettings:
    storage: Path = setting("MAILER_EXAMPLE_STORAGE")
    retries: int = setting("MAILER_EXAMPLE_RETRIES", 3, doc="how often")
    verbose: bool = setting("MAILER_EXAMPLE_VERBOSE", False)
    label: str | None = setting("MAILER_EXAMPLE_LABEL", None)


def platform_env(service: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        f"{service.upper()}_DATABASE_URL": f"sqlite:///{tmp_path}/{service}.db",
        "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp_path}/bus.db",
        "CRM_JWT_SECRET": "unit-tests-only-secret-0123456789abcdef",
        **extra,
    }


def example(tmp_path: Path, **extra: str) -> ExampleSettings:
    # "example" is no service of the platform: read the variables through a real service's settings.
    settings = load("mailer", platform_env("mailer", tmp_path, **extra))
    return read_declared(ExampleSettings, settings)


def test_declared_settings_are_parsed_by_their_types_with_defaults(tmp_path: Path) -> None:
    found = example(tmp_path, MAILER_EXAMPLE_STORAGE="/srv/files", MAILER_EXAMPLE_VERBOSE="true")

    assert found == ExampleSettings(storage=Path("/srv/files"), retries=3, verbose=True, label=None)
    with pytest.raises(AttributeError):
        found.retries = 4  # type: ignore[misc]


def test_a_missing_required_setting_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="MAILER_EXAMPLE_STORAGE is required by the mailer service"):
        example(tmp_path)


@pytest.mark.parametrize(
    ("variable", "raw", "says"),
    [
        ("MAILER_EXAMPLE_RETRIES", "three", "MAILER_EXAMPLE_RETRIES must be a number"),
        ("MAILER_EXAMPLE_VERBOSE", "maybe", "true or false"),
    ],
)
def test_a_malformed_value_is_refused_at_start_with_its_variable(
    tmp_path: Path, variable: str, raw: str, says: str
) -> None:
    with pytest.raises(SettingsError, match=says):
        example(tmp_path, MAILER_EXAMPLE_STORAGE="/srv", **{variable: raw})


def test_describe_lists_each_variable_with_its_default() -> None:
    assert ("MAILER_EXAMPLE_RETRIES", "3", "how often") in describe(ExampleSettings)
    assert ("MAILER_EXAMPLE_STORAGE", "required", "") in describe(ExampleSettings)


def test_a_mailer_with_neither_smtp_host_nor_maildir_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"MAILER_SMTP_HOST .* or MAILER_MAILDIR"):
        bootstrap(MAILER, load("mailer", platform_env("mailer", tmp_path)))


def test_a_mailer_with_a_malformed_sender_does_not_start(tmp_path: Path) -> None:
    env = platform_env("mailer", tmp_path, MAILER_MAILDIR=str(tmp_path), MAILER_FROM="nobody")
    with pytest.raises(SettingsError, match="MAILER_FROM must be an address"):
        bootstrap(MAILER, load("mailer", env))


def test_the_mailer_runtime_carries_its_checked_settings(tmp_path: Path) -> None:
    env = platform_env("mailer", tmp_path, MAILER_SMTP_HOST="relay.example", MAILER_SMTP_PORT="587")
    rt = bootstrap(MAILER, load("mailer", env))
    try:
        assert isinstance(rt.service_settings, MailerSettings)
        assert (rt.service_settings.smtp_host, rt.service_settings.smtp_port) == ("relay.example", 587)
        assert rt.service_settings.sender_domain == "crm.localhost"
    finally:
        rt.close()


def _worker_with_loop(tmp_path: Path, loop) -> Worker:  # type: ignore[no-untyped-def]
    spec = ServiceSpec(
        name="reports",
        metadata=MAILER.metadata,
        migrations_dir=MAILER.migrations_dir,
        register_http=lambda app, rt: None,
        loops=(loop,),
    )
    rt = bootstrap(spec, load("reports", platform_env("reports", tmp_path)))
    rt.database.metadata.create_all(rt.database.engine)
    return Worker(rt)


def test_a_background_loop_that_dies_makes_the_worker_not_ready_and_stops_it(tmp_path: Path) -> None:
    def broken_loop(_rt, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("smtp relay unreachable forever")

    worker = _worker_with_loop(tmp_path, broken_loop)
    worker.start()
    try:
        assert worker.stop.wait(5), "the worker kept running with a dead loop"
        assert "reports-loop0 died" in (worker.ready() or "")
        assert "smtp relay unreachable forever" in (worker.ready() or "")
    finally:
        worker.shutdown()
        worker.rt.close()


def test_a_background_loop_that_returns_early_counts_as_dead(tmp_path: Path) -> None:
    worker = _worker_with_loop(tmp_path, lambda _rt, _stop: None)
    worker.start()
    try:
        assert worker.stop.wait(5)
        assert "returned before the worker was stopped" in (worker.ready() or "")
    finally:
        worker.shutdown()
        worker.rt.close()


def test_a_healthy_worker_stays_ready_until_stopped(tmp_path: Path) -> None:
    worker = _worker_with_loop(tmp_path, lambda _rt, stop: stop.wait())
    worker.start()
    try:
        assert not worker.stop.wait(1)
        assert worker.ready() is None
    finally:
        worker.shutdown()
        assert worker.died is None
        worker.rt.close()
