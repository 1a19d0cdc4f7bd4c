"""Microservices mode on one machine (``crm up`` / ``make up``, and the end-to-end tests).

Every service runs as its own processes (HTTP under gunicorn, gRPC server, worker), each on its own
PostgreSQL database, talking over RabbitMQ, with a real SMTP server (aiosmtpd) on loopback that files
what it receives in a Maildir. A small gateway routes ``/v1/<service>`` to the owning service, like the
Ingress does in a cluster. Processes that die are restarted, like a kubelet would.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from crm_platform import apidocs, discovery, metrics, openapi

log = logging.getLogger(__name__)

PROCESSES = ("http", "grpc", "worker")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


@dataclass
class StackConfig:
    var: Path
    postgres_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    db_prefix: str = "crm"
    gateway_port: int = 8080
    base_port: int = 18000
    smtp_port: int = 18025
    http_workers: int = 2
    jwt_secret: str = "development-secret-of-the-local-stack-0123456789"
    services: tuple[str, ...] = field(default_factory=discovery.names)  # every installed service by default
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # extra environment of one process, e.g. {("mailer", "worker"): {"CRM_FAILPOINTS": "..."}}
    process_env: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)
    drop_databases_on_stop: bool = False


# http, grpc, the gRPC server's metrics, the worker's metrics; then a port and a metrics port for each process
# type of the service's own (the mailer's smtp: +4, +5).
PORTS_PER_SERVICE = 6


def dev_port_offsets(services: Iterable[str]) -> dict[str, int]:
    """Each service's own ``dev_port_offset`` (its spec declares it, so adding a service moves no other)."""
    specs = discovery.specs()
    offsets: dict[str, int] = {}
    for service in services:
        offset = specs[service].dev_port_offset if service in specs else None
        if offset is None or offset < 0:
            raise RuntimeError(f"the {service} service declares no dev_port_offset (its ServiceSpec's)")
        for other, taken in offsets.items():
            if abs(taken - offset) < PORTS_PER_SERVICE:
                raise RuntimeError(f"the dev ports of {service} (+{offset}) and {other} (+{taken}) overlap")
        offsets[service] = offset
    return offsets


def own_processes(service: str) -> tuple[str, ...]:
    """The process types a service declares besides http, grpc and worker (the mailer's smtp)."""
    spec = discovery.specs().get(service)
    return tuple(sorted(spec.process_types)) if spec is not None else ()


def ports(config: StackConfig, service: str) -> dict[str, int]:
    base = config.base_port + dev_port_offsets([service])[service]
    found = {"http": base, "grpc": base + 1, "grpc_metrics": base + 2, "worker_metrics": base + 3}
    for index, name in enumerate(own_processes(service)):
        found[name], found[f"{name}_metrics"] = base + 4 + 2 * index, base + 5 + 2 * index
    return found


def port_lines(config: StackConfig) -> list[str]:
    """Where every process of the stack listens, one line per service, for the start banner."""
    lines = [
        f"  gateway  http://127.0.0.1:{config.gateway_port}",
        f"  smtp     127.0.0.1:{config.smtp_port} (the mail sink)",
    ]
    offsets = dev_port_offsets(config.services)  # refuses overlapping ports before anything starts
    for service in sorted(config.services, key=offsets.__getitem__):
        p = ports(config, service)
        own = "".join(f"  {name} :{p[name]} (metrics :{p[f'{name}_metrics']})" for name in own_processes(service))
        lines.append(
            f"  {service:<14} http :{p['http']}  grpc :{p['grpc']} (metrics :{p['grpc_metrics']})"
            f"  worker metrics :{p['worker_metrics']}{own}"
        )
    return lines


def amqp_url_with_vhost(server_url: str, vhost: str) -> str:
    """``server_url`` (``amqp://user:password@host:port``) on ``vhost``."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))


def ensure_vhost(amqp_url: str) -> None:
    """Create the URL's RabbitMQ vhost, with its user's permissions, when missing (``rabbitmqctl``, as the
    local broker's administrator runs it); the default vhost ``/`` always exists."""
    parts = urlsplit(amqp_url)
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    if vhost == "/":
        return
    try:
        listed = subprocess.run(
            ["rabbitmqctl", "-q", "list_vhosts", "name"], capture_output=True, text=True, check=True, timeout=60
        )
        if vhost in listed.stdout.split():
            return
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], capture_output=True, check=True, timeout=60)
        user = unquote(parts.username or "guest")
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(
            f"could not create the RabbitMQ vhost {vhost!r} with rabbitmqctl ({exc}); create it "
            f"(rabbitmqctl add_vhost {vhost}) or choose an existing one with --vhost"
        ) from exc


class SmtpSink:
    """A real SMTP server on loopback that files every message it accepts in a Maildir."""

    def __init__(self, maildir: Path, port: int) -> None:
        import mailbox

        from aiosmtpd.controller import Controller

        for folder in ("tmp", "new", "cur"):
            (maildir / folder).mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(maildir, create=False)
        lock = threading.Lock()

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
                with lock:
                    box.add(envelope.original_content or envelope.content)
                return "250 OK"

        self.maildir = maildir
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def _answer(start_response: Callable[..., Any], status: int, content_type: str, body: bytes) -> list[bytes]:
    reason = http.client.responses.get(status, "")
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


class Gateway:
    """Routes ``/v1/<service>...`` to that service's HTTP port (the Ingress of a cluster)."""

    # Like the Ingress' proxy-body-size: above every service's own caps, which refuse more precisely.
    crm_largest_body = 64 * 1024 * 1024

    def __init__(self, routes: Mapping[str, int], port: int) -> None:
        from crm_platform import httpserver

        self.routes = sorted(routes.items(), key=lambda item: -len(item[0]))
        self.listener = httpserver.listen("127.0.0.1", port)
        self.server = httpserver.HttpServer(
            self, [self.listener], threads=16, limits=httpserver.ServerLimits.from_env()
        )
        self.port = port

    def crm_body_cap(self, _method: str, _path: str) -> int:
        return self.crm_largest_body

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        target = next((p for prefix, p in self.routes if path == prefix or path.startswith(prefix + "/")), None)
        if target is None:
            return self.own_page(path, environ, start_response)
        query = environ.get("QUERY_STRING")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _HOP_BY_HOP
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        connection = http.client.HTTPConnection("127.0.0.1", target, timeout=60)
        try:
            # PATH_INFO arrives decoded: quoted again, a %00 or a space reaches the service as the client sent it
            target_path = quote(path.encode("latin-1"), safe="/:@!$&'()*+,;=-._~")  # WSGI: bytes as latin-1
            connection.request(
                environ["REQUEST_METHOD"], target_path + (f"?{query}" if query else ""), body=body, headers=headers
            )
            response = connection.getresponse()
            payload = response.read()
        except OSError:
            return _answer(start_response, 502, apidocs.PROBLEM_JSON, apidocs.problem_body(502, "Bad gateway", path))
        finally:
            connection.close()
        out_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-length"}]
        start_response(f"{response.status} {response.reason}", [*out_headers, ("Content-Length", str(len(payload)))])
        return [payload]

    def own_page(self, path: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """What the gateway answers itself: probes, metrics, the merged document, /docs, else a 404 problem."""
        if (docs := apidocs.serve_docs(environ, start_response)) is not None:
            return docs
        if path == "/healthz":
            return _answer(start_response, 200, "application/json", b'{"status":"ok"}')
        if path == "/metrics":
            body, content_type = metrics.exposition()
            return _answer(start_response, 200, content_type, body)
        if path == apidocs.DOCUMENT_URL:
            try:
                documents = {prefix.rsplit("/", 1)[-1]: self._document(prefix, port) for prefix, port in self.routes}
            except OSError:
                return _answer(
                    start_response, 502, apidocs.PROBLEM_JSON, apidocs.problem_body(502, "Bad gateway", path)
                )
            return _answer(start_response, 200, "application/json", json.dumps(openapi.merged(documents)).encode())
        return _answer(start_response, 404, apidocs.PROBLEM_JSON, apidocs.problem_body(404, "Not found", path))

    @staticmethod
    def _document(prefix: str, port: int) -> dict[str, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", f"{prefix}/openapi.json")
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def start(self) -> None:
        self.thread = threading.Thread(target=self.server.run, kwargs={"grace": 2}, name="gateway", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=5)
        self.listener.close()


@dataclass
class _Process:
    service: str
    kind: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.var = config.var
        self.maildir = self.var / "mail"
        self.processes: list[_Process] = []
        self.smtp: SmtpSink | None = None
        self.gateway: Gateway | None = None
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._service_keys: dict[str, str] | None = None

    def service_keys(self) -> dict[str, str]:
        """Every service's key setting and the trusted public keys, made under var/ on the first run."""
        if self._service_keys is None:
            from crm_platform.service_tokens import local_keys

            self._service_keys = local_keys(self.var / "service-keys", self.config.services)
        return self._service_keys

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    def database_url(self, service: str) -> str:
        return f"{self.config.postgres_url}/{self.config.db_prefix}_{service}"

    def env_for(self, service: str, kind: str) -> dict[str, str]:
        c = self.config
        p = ports(c, service)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_") and not k.endswith("_DATABASE_URL")}
        env.update(
            {
                "CRM_ENV": "development",
                discovery.variable(service, "DATABASE_URL"): self.database_url(service),
                "CRM_AMQP_URL": c.amqp_url,
                "CRM_JWT_SECRET": c.jwt_secret,
                "CRM_LISTEN_HOST": "127.0.0.1",
                # Only its own private key: a process can prove to be its service and no other.
                discovery.variable(service, "SERVICE_KEY"): self.service_keys()[
                    discovery.variable(service, "SERVICE_KEY")
                ],
                "CRM_TRUSTED_SERVICE_KEYS": self.service_keys()["CRM_TRUSTED_SERVICE_KEYS"],
                "CRM_HTTP_PORT": str(p["http"]),
                "CRM_GRPC_PORT": str(p["grpc"]),
                "CRM_METRICS_PORT": str(p.get(f"{kind}_metrics") or p["worker_metrics"]),
                "CRM_HTTP_WORKERS": str(c.http_workers),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for other in c.services:
            env[discovery.grpc_target_variable(other)] = f"127.0.0.1:{ports(c, other)['grpc']}"
        spec = discovery.specs()[service]
        for name, process_type in spec.process_types.items():  # every process agrees on where they listen
            if process_type.port_variable:
                env[process_type.port_variable] = str(p[name])
        if spec.local_settings is not None:  # e.g. a folder the http and worker processes share, the SMTP sink
            env.update(spec.local_settings(self.var.resolve(), c.smtp_port))
        if kind == "http":
            multiproc = self.var / "metrics" / service
            shutil.rmtree(multiproc, ignore_errors=True)
            multiproc.mkdir(parents=True, exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
        env.update(c.extra_env)
        env.update(c.process_env.get((service, kind), {}))
        return env

    def _crm(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "crm_platform.cli", *args]

    def create_databases(self) -> None:
        import psycopg

        admin = self.config.postgres_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            for service in self.config.services:
                name = f"{self.config.db_prefix}_{service}"
                if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                    connection.execute(f'CREATE DATABASE "{name}"')

    def drop_databases(self) -> None:
        import psycopg

        admin = self.config.postgres_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            for service in self.config.services:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.config.db_prefix}_{service}" WITH (FORCE)')

    def start(self, timeout: float = 120.0) -> None:
        dev_port_offsets(self.config.services)
        self.var.mkdir(parents=True, exist_ok=True)
        self.create_databases()
        self.smtp = SmtpSink(self.maildir, self.config.smtp_port)
        self.smtp.start()
        for service in self.config.services:
            result = subprocess.run(
                self._crm("migrate", service), env=self.env_for(service, "migrate"), capture_output=True, text=True
            )
            if result.returncode != 0:
                raise RuntimeError(f"crm migrate {service} failed:\n{result.stdout}\n{result.stderr}")
        for service in self.config.services:
            for kind in (*PROCESSES, *own_processes(service)):
                process = _Process(
                    service,
                    kind,
                    self._crm("serve", service, kind),
                    self.env_for(service, kind),
                    self.var / "logs" / f"{service}-{kind}.log",
                )
                process.start()
                self.processes.append(process)
        self.gateway = Gateway(
            {f"/v1/{s}": ports(self.config, s)["http"] for s in self.config.services}, self.config.gateway_port
        )
        self.gateway.start()
        self.wait_ready(timeout)
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._supervisor.start()

    def readiness_urls(self) -> dict[str, str]:
        urls = {}
        for service in self.config.services:
            p = ports(self.config, service)
            urls[f"{service}-http"] = f"127.0.0.1:{p['http']}"
            urls[f"{service}-grpc"] = f"127.0.0.1:{p['grpc_metrics']}"
            urls[f"{service}-worker"] = f"127.0.0.1:{p['worker_metrics']}"
            for name in own_processes(service):
                urls[f"{service}-{name}"] = f"127.0.0.1:{p[f'{name}_metrics']}"
        return urls

    def _ready(self, hostport: str) -> bool:
        host, port = hostport.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=2)
        try:
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        pending = self.readiness_urls()
        while pending:
            for process in self.processes:
                if process.popen is not None and process.popen.poll() is not None and not self._supervisor:
                    tail = process.log_path.read_text(errors="replace")[-3000:]
                    raise RuntimeError(
                        f"{process.service} {process.kind} exited with {process.popen.returncode}:\n{tail}"
                    )
            pending = {name: url for name, url in pending.items() if not self._ready(url)}
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")
            if pending:
                time.sleep(0.3)

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            for process in self.processes:
                if process.popen is not None and process.popen.poll() is not None:
                    log.warning(
                        "%s %s exited with %s; restarting", process.service, process.kind, process.popen.returncode
                    )
                    process.restarts += 1
                    process.start()

    def process(self, service: str, kind: str) -> _Process:
        return next(p for p in self.processes if p.service == service and p.kind == kind)

    def stop(self) -> None:
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(5)
        for process in self.processes:
            if process.popen is not None and process.popen.poll() is None:
                os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            if process.popen is None:
                continue
            try:
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
        if self.gateway is not None:
            self.gateway.stop()
        if self.smtp is not None:
            self.smtp.stop()
        if self.config.drop_databases_on_stop:
            self.drop_databases()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
