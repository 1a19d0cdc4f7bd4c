"""All-in-one mode: every installed service in one process on one HTTP port, on SQLite files under
``./var/``, the local bus, and outgoing mail in a Maildir. Same code paths as microservices; only the
URLs differ: the services still call each other over gRPC (on loopback) and exchange events over a bus."""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response

from crm_platform import apidocs, auth, discovery, limits, metrics, migrations, openapi, service_tokens
from crm_platform.grpc_server import GrpcServer
from crm_platform.processes import Worker
from crm_platform.service import Runtime, ServiceSpec, bootstrap
from crm_platform.settings import DEFAULT_MAX_JSON_BODY_BYTES, load

log = logging.getLogger(__name__)


def environment(
    var: Path, *, grpc_port: int, base: Mapping[str, str] | None = None, create: bool = True
) -> dict[str, str]:
    """The configuration all-in-one mode gives each service; values already set in ``base`` win.

    ``create=False`` reads an existing ``var/`` (the operator commands beside ``crm run``) and writes nothing.
    """
    env = dict(os.environ if base is None else base)
    if create:
        var.mkdir(parents=True, exist_ok=True)
    services = discovery.specs()
    for service, spec in services.items():
        env.setdefault(discovery.variable(service, "DATABASE_URL"), f"sqlite:///{var.resolve()}/{service}.db")
        env.setdefault(discovery.grpc_target_variable(service), f"127.0.0.1:{grpc_port}")
        if spec.local_settings is not None:  # e.g. a folder for files or mail: no SMTP server here
            for name, value in spec.local_settings(var.resolve(), None).items():
                env.setdefault(name, value)
    if not env.get("CRM_AMQP_URL"):
        env.setdefault("CRM_LOCAL_BUS_URL", f"sqlite:///{var.resolve()}/bus.db")
    if not env.get("CRM_JWT_SECRET") and not env.get("CRM_JWT_JWKS_URL"):
        secret_file = var / "jwt-secret"
        if not create and not secret_file.exists():
            return env
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(48))
            secret_file.chmod(0o600)
        env["CRM_JWT_SECRET"] = secret_file.read_text().strip()
    if not env.get("CRM_TRUSTED_SERVICE_KEYS"):
        for name, value in service_tokens.local_keys(var / "service-keys", tuple(services)).items():
            env.setdefault(name, value)
    return env


def is_var_dir(var: Path) -> bool:
    """Whether ``var`` holds an all-in-one mode's data (``crm run`` has started there)."""
    return (var / "jwt-secret").is_file() or any((var / f"{name}.db").is_file() for name in discovery.names())


class PrefixDispatcher:
    """Routes ``/v1/<service>...`` to that service's app, like the Ingress does in a cluster."""

    def __init__(self, apps: Mapping[str, Any], root: Any) -> None:
        self.apps = sorted(apps.items(), key=lambda item: -len(item[0]))
        self.root = root

    def _app_for(self, path: str) -> Any:
        for prefix, app in self.apps:
            if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "?"):
                return app
        return self.root

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._app_for(environ.get("PATH_INFO", ""))(environ, start_response)  # type: ignore[no-any-return]

    def crm_body_cap(self, method: str, path: str) -> int:
        """The body cap of the service app a request routes to (asked by the HTTP server; see limits)."""
        app = self._app_for(path)
        if app is self.root:  # health, metrics and the merged document take no body
            return DEFAULT_MAX_JSON_BODY_BYTES
        return limits.body_cap_of(app)(method, path)

    @property
    def crm_largest_body(self) -> int:
        return max([DEFAULT_MAX_JSON_BODY_BYTES, *(limits.largest_cap_of(app) for _, app in self.apps)])


def merged_openapi(apps: Mapping[str, Any]) -> dict[str, Any]:
    """One OpenAPI document for the whole platform, merged from each service's (schemas namespaced)."""
    return openapi.merged({prefix.rsplit("/", 1)[-1]: openapi.served_document(app) for prefix, app in apps.items()})


def root_app(runtimes: Mapping[str, Runtime], apps: Mapping[str, Any], workers: Iterable[Worker] = ()) -> Flask:
    app = Flask("crm_allinone")
    workers = list(workers)
    apidocs.install(app)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response('{"status":"ok"}', mimetype="application/json")

    @app.get("/readyz")
    def readyz() -> Response:
        for worker in workers:
            if worker.died is not None:
                reason = json.dumps({"status": "not ready", "reason": f"{worker.rt.spec.name}: {worker.died}"})
                return Response(reason, 503, mimetype="application/json")
        for name, rt in runtimes.items():
            try:
                rt.database.ping()
            except Exception as exc:  # noqa: BLE001
                return Response(
                    json.dumps({"status": "not ready", "reason": f"{name}: {exc!r}"}), 503, mimetype="application/json"
                )
        return Response('{"status":"ready"}', mimetype="application/json")

    @app.get("/metrics")
    def metrics_view() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    @app.get("/v1/openapi.json")
    def openapi() -> Response:
        return Response(json.dumps(merged_openapi(apps)), mimetype="application/json")

    return app


class AllInOne:
    """Builds and starts every service of ``specs`` in this process."""

    def __init__(self, specs: Mapping[str, ServiceSpec], env: Mapping[str, str], *, grpc_port: int) -> None:
        from crm_platform.web import create_app

        self.runtimes = {name: bootstrap(spec, load(name, env)) for name, spec in specs.items()}
        self.grpc_port = grpc_port
        for rt in self.runtimes.values():
            migrations.upgrade(rt.spec, rt.settings.database_url)
        self.apps = {f"/v1/{name}": create_app(rt) for name, rt in self.runtimes.items()}
        self.workers = [Worker(rt) for rt in self.runtimes.values()]
        self.wsgi = PrefixDispatcher(self.apps, root_app(self.runtimes, self.apps, self.workers))
        bindings = [(b, rt.metrics) for rt in self.runtimes.values() for b in rt.spec.grpc_bindings(rt)]
        any_settings = next(iter(self.runtimes.values())).settings  # keys and reflection are the same for all
        self.grpc = GrpcServer(bindings, address=f"127.0.0.1:{grpc_port}", settings=any_settings)
        self._stop_embedded: list[Callable[[], None]] = []

    def start(self) -> None:
        self.grpc.start()
        for worker in self.workers:
            worker.start()
        for rt in self.runtimes.values():  # the services' own process types (the mailer's SMTP listener)
            for process in rt.spec.process_types.values():
                if process.embed is not None:
                    self._stop_embedded.append(process.embed(rt))

    def dead_worker(self) -> str | None:
        """Why a service's worker died (a loop ended early), if one did: the process should then exit."""
        for worker in self.workers:
            if worker.died is not None:
                return f"{worker.rt.spec.name}: {worker.died}"
        return None

    def stop(self) -> None:
        for stop_embedded in reversed(self._stop_embedded):
            stop_embedded()
        for worker in self.workers:
            worker.stop.set()
        for worker in self.workers:
            worker.shutdown()
        self.grpc.stop(grace=2)
        for rt in self.runtimes.values():
            rt.close()

    def seed_demo(self) -> dict[str, str]:
        shown: dict[str, str] = {}
        for rt in self.runtimes.values():
            if rt.spec.demo_seed is not None:
                shown.update(rt.spec.demo_seed(rt))
        return shown

    def admin_token(self, workspace_id: str, user_id: str) -> str:
        """A token for the demo workspace's admin member (``user_id``), as ``seed_demo`` returned them."""
        settings = next(iter(self.runtimes.values())).settings
        return auth.mint_for(settings, workspace_id=workspace_id, user_id=user_id, role="admin")
