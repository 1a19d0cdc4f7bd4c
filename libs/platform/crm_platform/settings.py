"""Frozen settings read from environment variables; a missing required value stops the process at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar, get_args, get_type_hints

from crm_platform import discovery

DEFAULT_GRPC_WORKERS = 4  # threads of a gRPC server: few, since a call mostly holds the GIL (see GrpcServer)
DEFAULT_MAX_JSON_BODY_BYTES = 1024 * 1024
# Requests a minute; generous enough for integrations and the test suite, a setting for anything else.
DEFAULT_RATE_LIMIT_PER_TOKEN = 1200
DEFAULT_RATE_LIMIT_PER_WORKSPACE = 6000


_GRPC_TARGET = re.compile(r"CRM_([A-Z][A-Z0-9]*)_GRPC_TARGET")


class SettingsError(RuntimeError):
    """A required setting is missing or malformed; the message names the variable."""


def _get(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    return value if value not in (None, "") else default


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Everything one process of one service needs to know about its surroundings."""

    service: str
    database_url: str
    environment: str = "development"
    amqp_url: str | None = None
    local_bus_url: str | None = None
    jwt_secret: str | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    grpc_targets: Mapping[str, str] = field(default_factory=dict)
    grpc_port: int = 50051
    grpc_workers: int = DEFAULT_GRPC_WORKERS  # threads of the gRPC server (see GrpcServer)
    http_port: int = 8000
    metrics_port: int = 9100
    grpc_deadline_seconds: float = 5.0
    # gRPC authentication (see service_tokens): this service's private key, and the public keys of the
    # services it trusts as callers, by service; a key left out of them is revoked.
    service_key: str | None = None
    trusted_service_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    grpc_reflection: bool = True
    listen_host: str = "127.0.0.1"  # of the HTTP, gRPC and metrics ports; a pod listens on 0.0.0.0
    event_max_attempts: int = 5
    event_retry_base_seconds: float = 0.5
    event_delivery_limit: int = 20
    log_level: str = "INFO"
    max_json_body_bytes: int = DEFAULT_MAX_JSON_BODY_BYTES  # any body an endpoint declares no other limit for
    rate_limit_per_token: int = DEFAULT_RATE_LIMIT_PER_TOKEN  # requests a minute; 0 turns the limit off
    rate_limit_per_workspace: int = DEFAULT_RATE_LIMIT_PER_WORKSPACE
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def require(self, name: str) -> str:
        """A service-specific variable (e.g. MAILER_SMTP_HOST) that must be present."""
        value = self.extra.get(name)
        if value is None:
            raise SettingsError(f"{name} is required by the {self.service} service but is not set")
        return value

    def optional(self, name: str, default: str | None = None) -> str | None:
        return self.extra.get(name, default)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false", "1", "0"):
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    return raw.lower() in ("true", "1")


def _trusted_service_keys(raw: str | None) -> dict[str, tuple[str, ...]]:
    """``CRM_TRUSTED_SERVICE_KEYS``: ``service:public-key`` pairs separated by commas (several per service while
    a key is rotated)."""
    from crm_platform.service_tokens import decode_key

    trusted: dict[str, tuple[str, ...]] = {}
    for entry in (raw or "").split(","):
        if not entry.strip():
            continue
        service, colon, key = entry.strip().partition(":")
        # Any service name: an image holds one service but trusts the callers installed elsewhere.
        if not discovery.NAME.fullmatch(service) or not colon:
            raise SettingsError(f"CRM_TRUSTED_SERVICE_KEYS: {entry.strip()!r} must be <service>:<public key>")
        try:
            decode_key(key)
        except ValueError as exc:
            raise SettingsError(
                f"CRM_TRUSTED_SERVICE_KEYS: the key of {service} is not an Ed25519 key: {exc}"
            ) from None
        trusted[service] = (*trusted.get(service, ()), key.strip())
    return trusted


def load(service: str, env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings of ``service`` from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    installed = discovery.names()
    if service not in installed:
        raise SettingsError(f"unknown service {service!r}; installed here: {', '.join(installed) or 'none'}")
    prefix = discovery.variable(service, "")
    database_url = _get(env, f"{prefix}DATABASE_URL")
    if database_url is None:
        raise SettingsError(f"{prefix}DATABASE_URL is required (e.g. postgresql+psycopg://user@host/crm_{service})")
    environment = _get(env, "CRM_ENV", "development")
    assert environment is not None
    if environment not in ("development", "production", "test"):
        raise SettingsError(f"CRM_ENV must be development, production or test, got {environment!r}")
    amqp_url = _get(env, "CRM_AMQP_URL")
    local_bus_url = _get(env, "CRM_LOCAL_BUS_URL")
    if amqp_url is None and local_bus_url is None:
        raise SettingsError("set CRM_AMQP_URL (RabbitMQ) or CRM_LOCAL_BUS_URL (all-in-one local bus)")
    jwt_secret = _get(env, "CRM_JWT_SECRET")
    jwks_url = _get(env, "CRM_JWT_JWKS_URL")
    if environment == "production" and jwt_secret is not None:
        raise SettingsError("CRM_JWT_SECRET is a development setting; production verifies tokens with CRM_JWT_JWKS_URL")
    if jwt_secret is None and jwks_url is None:
        raise SettingsError("set CRM_JWT_JWKS_URL (production) or CRM_JWT_SECRET (development)")
    # Of every service this one may call, installed here or not: CRM_<NAME>_GRPC_TARGET.
    targets = {
        match.group(1).lower(): target
        for key in env
        if (match := _GRPC_TARGET.fullmatch(key)) is not None and (target := _get(env, key)) is not None
    }
    service_key = _get(env, f"{prefix}SERVICE_KEY")
    if service_key is not None:
        from crm_platform.service_tokens import decode_key

        try:
            decode_key(service_key)
        except ValueError as exc:
            raise SettingsError(f"{prefix}SERVICE_KEY is not an Ed25519 private key: {exc}") from None
    trusted = _trusted_service_keys(_get(env, "CRM_TRUSTED_SERVICE_KEYS"))
    if environment == "production" and (service_key is None or not trusted):
        raise SettingsError(
            f"{prefix}SERVICE_KEY and CRM_TRUSTED_SERVICE_KEYS are required in production: gRPC calls are "
            "authenticated with service keys (make them with `crm service-keys`)"
        )
    grpc_workers = _int(env, "CRM_GRPC_WORKERS", DEFAULT_GRPC_WORKERS)
    if grpc_workers < 1:
        raise SettingsError(f"CRM_GRPC_WORKERS must be at least 1, got {grpc_workers}")
    limits = {
        name: _int(env, name, default)
        for name, default in (
            ("CRM_MAX_JSON_BODY_BYTES", DEFAULT_MAX_JSON_BODY_BYTES),
            ("CRM_RATE_LIMIT_PER_TOKEN", DEFAULT_RATE_LIMIT_PER_TOKEN),
            ("CRM_RATE_LIMIT_PER_WORKSPACE", DEFAULT_RATE_LIMIT_PER_WORKSPACE),
        )
    }
    for name, value in limits.items():
        if value < 0 or (name == "CRM_MAX_JSON_BODY_BYTES" and value == 0):
            raise SettingsError(f"{name} must be a positive integer (0 turns a rate limit off), got {value}")
    extra = {k: v for k, v in env.items() if k.startswith(prefix) and v != ""}
    return Settings(
        service=service,
        database_url=database_url,
        environment=environment,
        amqp_url=amqp_url,
        local_bus_url=local_bus_url,
        jwt_secret=jwt_secret,
        jwt_jwks_url=jwks_url,
        jwt_audience=_get(env, "CRM_JWT_AUDIENCE"),
        jwt_issuer=_get(env, "CRM_JWT_ISSUER"),
        grpc_targets=targets,
        grpc_port=_int(env, "CRM_GRPC_PORT", 50051),
        grpc_workers=grpc_workers,
        http_port=_int(env, "CRM_HTTP_PORT", 8000),
        metrics_port=_int(env, "CRM_METRICS_PORT", 9100),
        grpc_deadline_seconds=float(_get(env, "CRM_GRPC_DEADLINE_SECONDS", "5") or 5),
        service_key=service_key,
        trusted_service_keys=trusted,
        grpc_reflection=_bool(env, "CRM_GRPC_REFLECTION", environment != "production"),
        listen_host=_get(env, "CRM_LISTEN_HOST", "127.0.0.1") or "127.0.0.1",
        event_max_attempts=_int(env, "CRM_EVENT_MAX_ATTEMPTS", 5),
        event_retry_base_seconds=float(_get(env, "CRM_EVENT_RETRY_BASE_SECONDS", "0.5") or 0.5),
        event_delivery_limit=_int(env, "CRM_EVENT_DELIVERY_LIMIT", 20),
        log_level=_get(env, "CRM_LOG_LEVEL", "INFO") or "INFO",
        max_json_body_bytes=limits["CRM_MAX_JSON_BODY_BYTES"],
        rate_limit_per_token=limits["CRM_RATE_LIMIT_PER_TOKEN"],
        rate_limit_per_workspace=limits["CRM_RATE_LIMIT_PER_WORKSPACE"],
        extra=extra,
    )


# --- a service's own settings, declared once ----------------------------------------------------------
T = TypeVar("T")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def setting(variable: str, default: Any = MISSING, *, doc: str = "") -> Any:
    """A field of a service's settings class, read from ``variable``; without a default it is required."""
    return field(default=default, metadata={"variable": variable, "doc": doc})


def _parse(variable: str, raw: str, kind: Any) -> Any:
    if kind is bool:
        if raw.lower() not in _BOOLEANS:
            raise SettingsError(f"{variable} must be true or false, got {raw!r}")
        return _BOOLEANS[raw.lower()]
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise SettingsError(f"{variable} must be a number, got {raw!r}") from None
    if kind is Path:
        return Path(raw)
    return raw


def read_declared(cls: type[T], settings: Settings) -> T:
    """Build a service's settings (a frozen dataclass of ``setting`` fields) from the process's environment.

    A required variable that is missing or a malformed value raises ``SettingsError`` naming the variable, and so
    does the class's own ``check()`` (rules across fields): at start, never later in a request or a loop."""
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for item in fields(cls):  # type: ignore[arg-type]
        variable = item.metadata.get("variable")
        if variable is None:
            continue
        raw = settings.extra.get(variable)
        if raw is None:
            if item.default is MISSING:
                raise SettingsError(f"{variable} is required by the {settings.service} service but is not set")
            continue
        kinds = [k for k in get_args(hints[item.name]) if k is not type(None)] or [hints[item.name]]
        values[item.name] = _parse(variable, raw.strip(), kinds[0])
    declared = cls(**values)
    check = getattr(declared, "check", None)
    if check is not None:
        check()
    return declared


def describe(cls: type) -> list[tuple[str, str, str]]:
    """(variable, default, doc) of each declared setting, for help texts and the README's table."""
    rows = []
    for item in fields(cls):  # type: ignore[arg-type]
        if "variable" in item.metadata:
            default = "required" if item.default is MISSING else repr(item.default)
            rows.append((item.metadata["variable"], default, item.metadata["doc"]))
    return rows
