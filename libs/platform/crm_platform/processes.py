"""The process types of a service: HTTP under gunicorn, the gRPC server, and the event worker.

Each installs SIGTERM handling so that Kubernetes can stop it gracefully, and the gRPC server and worker
serve ``/healthz``, ``/readyz`` and ``/metrics`` on the metrics port for probes and Prometheus.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crm_platform import metrics
from crm_platform.consumer import IdempotentConsumer
from crm_platform.outbox import OutboxRelay
from crm_platform.service import Runtime

log = logging.getLogger(__name__)


# --- ops endpoint for the gRPC and worker processes -------------------------------------------
def serve_ops(port: int, ready: Callable[[], str | None], host: str) -> ThreadingHTTPServer:
    """``/healthz`` (the process is alive), ``/readyz`` (``ready()`` returns None or why not), ``/metrics``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(200, b'{"status":"ok"}', "application/json")
            elif self.path == "/readyz":
                reason = ready()
                if reason is None:
                    self._send(200, b'{"status":"ready"}', "application/json")
                else:
                    self._send(
                        503,
                        json.dumps({"status": "not ready", "reason": reason}).encode(),
                        "application/json",
                    )
            elif self.path == "/metrics":
                body, content_type = metrics.exposition()
                self._send(200, body, content_type)
            else:
                self._send(404, b'{"status":"not found"}', "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="ops-http", daemon=True).start()
    return server


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: Any) -> None:
        log.info("received signal %d, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _database_ready(rt: Runtime) -> str | None:
    try:
        rt.database.ping()
    except Exception as exc:  # noqa: BLE001
        return f"database: {exc.__class__.__name__}"
    return None


# --- worker -------------------------------------------------------------------------------------
class Worker:
    """The relay, the idempotent consumer and the service's own loops, each in a thread.

    A loop is meant to run until ``stop``: one that raises or returns before marks the worker dead (not
    ready, with the reason) and stops the others, so that the process exits and is restarted, instead of
    looking healthy while, say, no mail is sent."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.broker_error: str | None = None
        self.died: str | None = None  # which loop ended early, and why

    def start(self) -> None:
        rt = self.rt
        spec = rt.spec
        relay = OutboxRelay(rt.database, rt.connect_bus, rt.metrics)
        self._spawn(f"{spec.name}-relay", relay.run)
        if spec.subscriptions.handlers:
            rt.metrics.start_event_counters(spec.subscriptions.bindings)
            consumer = IdempotentConsumer(spec.name, rt.database, spec.subscriptions, rt, metrics=rt.metrics)
            self._spawn(f"{spec.name}-consumer", lambda stop: self._consume(consumer, stop))
        for index, loop in enumerate(spec.loops):
            self._spawn(f"{spec.name}-loop{index}", functools.partial(loop, rt))

    def _consume(self, consumer: IdempotentConsumer, stop: threading.Event) -> None:
        while not stop.is_set():
            bus = None
            try:
                bus = self.rt.connect_bus()
                bus.declare(self.rt.spec.queue, self.rt.spec.subscriptions.bindings)
                self.broker_error = None
                bus.consume(
                    self.rt.spec.queue, consumer, stop=stop, observer=self.rt.metrics, batch=consumer.handle_batch
                )
            except Exception as exc:  # noqa: BLE001 - keep consuming whatever happens
                self.broker_error = repr(exc)
                log.warning("consumer of %s failed, restarting: %r", self.rt.spec.queue, exc)
                stop.wait(1.0)
            finally:
                if bus is not None:
                    bus.close()

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        def run() -> None:
            try:
                target(self.stop)
            except BaseException as exc:  # any way out of a loop kills the worker
                log.exception("%s died", name)
                self._die(f"{name} died: {exc!r}")
            else:
                if not self.stop.is_set():
                    self._die(f"{name} returned before the worker was stopped")

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _die(self, reason: str) -> None:
        if self.died is None:
            self.died = reason
        self.stop.set()

    def ready(self) -> str | None:
        return self.died or _database_ready(self.rt) or self.broker_error

    def shutdown(self, timeout: float = 20.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)


def run_worker(rt: Runtime) -> None:
    worker = Worker(rt)
    _stop_on_signals(worker.stop)
    ops = serve_ops(rt.settings.metrics_port, worker.ready, host=rt.settings.listen_host)
    worker.start()
    log.info("worker of %s started", rt.spec.name)
    worker.stop.wait()
    worker.shutdown()
    ops.shutdown()
    if worker.died is not None:
        log.error("worker of %s exits: %s", rt.spec.name, worker.died)
        raise SystemExit(1)


# --- gRPC ---------------------------------------------------------------------------------------
def run_grpc(rt: Runtime) -> None:
    from crm_platform.grpc_server import GrpcServer

    server = GrpcServer(
        [(b, rt.metrics) for b in rt.spec.grpc_bindings(rt)],
        address=f"{rt.settings.listen_host}:{rt.settings.grpc_port}",
        settings=rt.settings,
        max_workers=rt.settings.grpc_workers,
    )
    stop = threading.Event()
    _stop_on_signals(stop)
    ops = serve_ops(rt.settings.metrics_port, lambda: _database_ready(rt), host=rt.settings.listen_host)
    server.start()
    log.info("gRPC server of %s listening on %s:%d", rt.spec.name, rt.settings.listen_host, server.port)
    stop.wait()
    server.stop()
    ops.shutdown()


# --- HTTP under gunicorn --------------------------------------------------------------------------
DEFAULT_HTTP_WORKERS, DEFAULT_HTTP_THREADS = 2, 8  # per service; CRM_HTTP_WORKERS, CRM_HTTP_THREADS


def run_http(build_app: Callable[[], Any], *, host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:  # files of a previous run (an emptyDir survives container restarts) would skew counters
        os.makedirs(multiproc_dir, exist_ok=True)
        for stale in Path(multiproc_dir).glob("*.db"):
            stale.unlink()

    def child_exit(_server: Any, worker: Any) -> None:
        if multiproc_dir:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid)

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            # each worker serves with crm_platform.httpserver (slow clients cost no thread; see httpworker)
            self.cfg.set("worker_class", "crm_platform.httpworker.WaitressWorker")
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("accesslog", None)
            self.cfg.set("child_exit", child_exit)

        def load(self) -> Any:
            return build_app()  # built in each worker after the fork: no shared connections

    Application().run()
