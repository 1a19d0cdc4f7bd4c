"""Settings: a process refuses to start on a missing or unsafe setting, and says which one."""

from __future__ import annotations

import pytest

from crm_platform import discovery
from crm_platform.settings import Settings, SettingsError, load
from tests.support import service_keys

BASE = {
    "CONTACTS_DATABASE_URL": "postgresql+psycopg://crm@db/crm_contacts",
    "CRM_AMQP_URL": "amqp://guest:guest@rabbit/",
    "CRM_JWT_SECRET": "dev-secret",
}


def env_without(*names: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in BASE.items() if k not in names}
    env.update(extra)
    return env


def test_complete_environment_gives_frozen_settings_with_defaults() -> None:
    settings = load("contacts", BASE)

    assert settings.database_url == BASE["CONTACTS_DATABASE_URL"]
    assert settings.environment == "development"
    assert settings.grpc_port == 50051
    with pytest.raises(AttributeError):
        settings.database_url = "sqlite://"  # type: ignore[misc]


def test_missing_database_url_names_the_prefixed_variable() -> None:
    with pytest.raises(SettingsError, match="CONTACTS_DATABASE_URL is required"):
        load("contacts", env_without("CONTACTS_DATABASE_URL"))


def test_an_empty_database_url_counts_as_missing() -> None:
    with pytest.raises(SettingsError, match="CONTACTS_DATABASE_URL"):
        load("contacts", env_without(CONTACTS_DATABASE_URL=""))


def test_another_services_database_url_does_not_satisfy_this_one() -> None:
    with pytest.raises(SettingsError, match="TICKETS_DATABASE_URL"):
        load("tickets", BASE)


def test_missing_bus_names_both_bus_variables() -> None:
    with pytest.raises(SettingsError) as error:
        load("contacts", env_without("CRM_AMQP_URL"))

    assert "CRM_AMQP_URL" in str(error.value) and "CRM_LOCAL_BUS_URL" in str(error.value)


def test_the_local_bus_is_enough_without_rabbitmq() -> None:
    settings = load("contacts", env_without("CRM_AMQP_URL", CRM_LOCAL_BUS_URL="sqlite:///var/bus.db"))

    assert settings.amqp_url is None and settings.local_bus_url == "sqlite:///var/bus.db"


def test_missing_jwt_configuration_names_both_jwt_variables() -> None:
    with pytest.raises(SettingsError) as error:
        load("contacts", env_without("CRM_JWT_SECRET"))

    assert "CRM_JWT_JWKS_URL" in str(error.value) and "CRM_JWT_SECRET" in str(error.value)


def test_production_refuses_the_development_jwt_secret() -> None:
    env = env_without(CRM_ENV="production", CRM_JWT_JWKS_URL="https://idp.example/jwks.json")

    with pytest.raises(SettingsError, match="CRM_JWT_SECRET"):
        load("contacts", env)


PRODUCTION = {"CRM_ENV": "production", "CRM_JWT_JWKS_URL": "https://idp.example/jwks.json", **service_keys.env()}


def test_production_starts_with_a_jwks_url_only() -> None:
    settings = load("contacts", env_without("CRM_JWT_SECRET", **PRODUCTION))

    assert settings.is_production and settings.jwt_secret is None


@pytest.mark.parametrize("missing", ["CONTACTS_SERVICE_KEY", "CRM_TRUSTED_SERVICE_KEYS"])
def test_production_refuses_to_start_without_service_keys(missing: str) -> None:
    env = {k: v for k, v in env_without("CRM_JWT_SECRET", **PRODUCTION).items() if k != missing}

    with pytest.raises(SettingsError, match="CONTACTS_SERVICE_KEY and CRM_TRUSTED_SERVICE_KEYS are required"):
        load("contacts", env)


def test_each_service_loads_only_its_own_private_key_and_every_trusted_public_key() -> None:
    contacts = load("contacts", env_without(**service_keys.env()))

    assert contacts.service_key == service_keys.private_key("contacts")
    assert sorted(contacts.trusted_service_keys) == sorted(discovery.names())


@pytest.mark.parametrize(
    ("trusted", "message"),
    [("mailer", "must be <service>:<public key>"), ("Billing Co:abc", "must be"), ("mailer:abc", "not an Ed25519 key")],
)
def test_malformed_trusted_service_keys_are_refused_with_the_variable_named(trusted: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"CRM_TRUSTED_SERVICE_KEYS.*{message}"):
        load("contacts", env_without(CRM_TRUSTED_SERVICE_KEYS=trusted))


@pytest.mark.parametrize(
    ("environment", "setting", "expected"),
    [("production", None, False), ("production", "true", True), ("development", None, True), ("test", "false", False)],
)
def test_grpc_reflection_is_off_in_production_unless_turned_on(
    environment: str, setting: str | None, expected: bool
) -> None:
    env = env_without("CRM_JWT_SECRET", **PRODUCTION) if environment == "production" else dict(BASE)
    env["CRM_ENV"] = environment
    if setting is not None:
        env["CRM_GRPC_REFLECTION"] = setting

    assert load("contacts", env).grpc_reflection is expected


def test_processes_listen_on_loopback_unless_told_otherwise() -> None:
    assert load("contacts", BASE).listen_host == "127.0.0.1"
    assert load("contacts", env_without(CRM_LISTEN_HOST="0.0.0.0")).listen_host == "0.0.0.0"


def test_unknown_environment_name_is_refused() -> None:
    with pytest.raises(SettingsError, match="CRM_ENV"):
        load("contacts", env_without(CRM_ENV="staging"))


def test_a_malformed_port_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="CRM_GRPC_PORT must be an integer"):
        load("contacts", env_without(CRM_GRPC_PORT="fifty"))


def test_the_grpc_server_runs_a_few_threads_unless_told_otherwise() -> None:
    assert load("contacts", BASE).grpc_workers == 4
    assert load("contacts", env_without(CRM_GRPC_WORKERS="8")).grpc_workers == 8
    with pytest.raises(SettingsError, match="CRM_GRPC_WORKERS must be at least 1"):
        load("contacts", env_without(CRM_GRPC_WORKERS="0"))


def test_unknown_service_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown service 'billing'"):
        load("billing", BASE)


def test_grpc_targets_and_service_specific_variables_are_picked_up() -> None:
    settings = load(
        "contacts",
        env_without(CRM_TICKETS_GRPC_TARGET="tickets:50051", CONTACTS_SMTP_HOST="mail", TICKETS_SMTP_HOST="other"),
    )

    assert settings.grpc_targets == {"tickets": "tickets:50051"}
    assert settings.require("CONTACTS_SMTP_HOST") == "mail"
    assert "TICKETS_SMTP_HOST" not in settings.extra


def test_a_missing_service_specific_variable_is_named_when_required() -> None:
    settings = Settings(service="mailer", database_url="sqlite://")

    with pytest.raises(SettingsError, match="MAILER_SMTP_HOST is required by the mailer service"):
        settings.require("MAILER_SMTP_HOST")
