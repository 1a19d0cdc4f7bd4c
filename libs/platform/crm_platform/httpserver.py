"""The HTTP server of every run mode: waitress, holding each client to the platform's limits.

waitress reads requests in one I/O thread and gives a worker thread only a request whose body has fully
arrived, so a slow or idle client costs a socket and a buffer, never a thread: ``/healthz`` keeps answering
while hundreds of uploads trickle in. On top of waitress's own settings this server adds:

- the body cap of the endpoint a request routes to (``crm_platform.limits``), checked against
  ``Content-Length`` as soon as the headers are in, so an oversized body is refused with 413 before a byte of
  it is buffered, and applied while a chunked body is read;
- a read deadline: a request must have arrived within ``read_timeout`` seconds plus one second for every
  ``min_upload_rate`` bytes it carries, or it is answered 408 and its connection closed (a client trickling a
  byte every few seconds is never idle long enough for the idle timeout);
- problem+json for every answer the server gives itself (400, 408, 413, 431, 501).

``crm run`` serves all-in-one mode with it; under gunicorn each worker process runs it (``WaitressWorker``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher
from waitress.utilities import Error, RequestEntityTooLarge

from crm_platform.limits import BodyCap, body_cap_of, largest_cap_of, problem_document
from crm_platform.settings import SettingsError, _int


@dataclass(frozen=True)
class ServerLimits:
    """What one HTTP process lets its clients hold; read from ``CRM_HTTP_*`` variables at start."""

    max_connections: int = 1000  # open connections per process; more wait in the listen backlog
    idle_timeout: float = 30.0  # seconds without a byte either way before a connection is closed
    read_timeout: float = 30.0  # seconds a request (headers and body) may take to arrive, before the rate term
    min_upload_rate: int = 4096  # bytes a second a long body must keep up on top of read_timeout
    max_header_bytes: int = 64 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerLimits:
        env = os.environ if env is None else env
        variables = {
            "max_connections": ("CRM_HTTP_MAX_CONNECTIONS", cls.max_connections),
            "idle_timeout": ("CRM_HTTP_IDLE_TIMEOUT_SECONDS", int(cls.idle_timeout)),
            "read_timeout": ("CRM_HTTP_READ_TIMEOUT_SECONDS", int(cls.read_timeout)),
            "min_upload_rate": ("CRM_HTTP_MIN_UPLOAD_BYTES_PER_SECOND", cls.min_upload_rate),
        }
        values = {}
        for field_name, (variable, default) in variables.items():
            values[field_name] = _int(env, variable, default)
            if values[field_name] < 1:
                raise SettingsError(f"{variable} must be at least 1, got {values[field_name]}")
        return cls(**values)  # type: ignore[arg-type]

    def allowed_seconds(self, received_bytes: int) -> float:
        return self.read_timeout + received_bytes / self.min_upload_rate


class ProblemError(Error):
    """An answer the server gives itself, as problem+json like every answer of the API."""

    def __init__(self, code: int, reason: str, slug: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code, self.reason, self.slug, self.extra = code, reason, slug, extra

    @classmethod
    def from_waitress(cls, error: Error) -> ProblemError:
        slug = error.reason.lower().replace(" ", "-")
        return cls(error.code, error.reason, slug, str(error.body))

    def to_response(self, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
        body = problem_document(self.code, self.reason, code=self.slug, detail=str(self.body), **self.extra)
        return f"{self.code} {self.reason}", [("Content-Type", "application/problem+json")], body


class _BodyCapped:
    """The server's adjustments with one request's body cap (waitress refuses ``size >= max_request_body_size``)."""

    def __init__(self, adj: Adjustments, cap: int) -> None:
        self._adj = adj
        self.max_request_body_size = cap + 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adj, name)


class GuardedParser(HTTPRequestParser):
    """One request as it arrives: capped by its endpoint's body limit, timed against the read deadline."""

    body_cap: BodyCap
    limits: ServerLimits
    adj: Any
    error: Any

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.started = time.monotonic()
        self.cap: int | None = None

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.chunked or self.content_length > 0:
            self.cap = self.body_cap(self.command, self.path)
            self.adj = _BodyCapped(self.adj, self.cap)

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.error is not None and not isinstance(self.error, ProblemError):
            self.expect_continue = False  # never invite a body that is refused already
            if isinstance(self.error, RequestEntityTooLarge) and self.cap is not None:
                self.error = ProblemError(
                    413,
                    "The request body is too large",
                    "body-too-large",
                    f"this endpoint takes at most {self.cap} bytes",
                    max_bytes=self.cap,
                )
            else:
                self.error = ProblemError.from_waitress(self.error)
        return consumed

    def overdue(self, now: float) -> bool:
        received = self.header_bytes_received + self.body_bytes_received
        return now - self.started > self.limits.allowed_seconds(received)


class GuardedChannel(HTTPChannel):
    parser_class = GuardedParser
    request: Any

    def refuse_overdue_request(self) -> None:
        """Answer the request still arriving with 408 and close the connection (I/O thread)."""
        with self.requests_lock:
            request = self.request
            if request is None or request.completed or self.will_close or self.close_when_flushed:
                return
            if not request.headers_finished:
                HTTPRequestParser.parse_header(request, b"GET / HTTP/1.0\r\n")  # what an answer needs to be built
            request.error = ProblemError(
                408, "Request Timeout", "request-timeout", "the request did not arrive in time; send it faster"
            )
            request.completed = True
            self.request = None
            self.requests.append(request)
            if len(self.requests) == 1:
                self.server.add_task(self)


class GuardedServer(TcpWSGIServer):
    """waitress's TCP server on an already bound socket, with the read deadline checked every second."""

    limits: ServerLimits

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        clock = time.monotonic()
        for channel in list(self.active_channels.values()):
            request = channel.request
            if isinstance(request, GuardedParser) and not request.completed and request.overdue(clock):
                channel.refuse_overdue_request()


class HttpServer:
    """One or more listening sockets served by one waitress I/O loop and a pool of ``threads``."""

    def __init__(self, wsgi: Any, sockets: Sequence[socket.socket], *, threads: int, limits: ServerLimits) -> None:
        parser = type("Parser", (GuardedParser,), {"body_cap": staticmethod(body_cap_of(wsgi)), "limits": limits})
        channel = type("Channel", (GuardedChannel,), {"parser_class": parser})
        server_class = type("Server", (GuardedServer,), {"channel_class": channel, "limits": limits})
        self.adj = Adjustments(
            sockets=list(sockets),
            threads=threads,
            connection_limit=limits.max_connections,
            channel_timeout=int(limits.idle_timeout),
            cleanup_interval=1,  # how often idle connections and read deadlines are checked
            max_request_header_size=limits.max_header_bytes,
            max_request_body_size=largest_cap_of(wsgi) + 1,
            asyncore_use_poll=True,  # select() cannot watch more than 1024 sockets
            ident="crm",
        )
        self.map: dict[int, Any] = {}
        self._stopping = False
        self.dispatcher = ThreadedTaskDispatcher()
        self.dispatcher.set_thread_count(threads)
        self.servers = [
            server_class(wsgi, self.map, True, sock, dispatcher=self.dispatcher, adj=self.adj, bind_socket=False)
            for sock in sockets
        ]

    @property
    def port(self) -> int:
        return int(self.servers[0].effective_port)

    def run(self, grace: float = 20.0) -> None:
        """Serve until ``stop()``, then let running requests finish for up to ``grace`` seconds and close."""
        while not self._stopping:
            wasyncore.loop(timeout=self.adj.asyncore_loop_timeout, map=self.map, use_poll=True, count=1)
        for server in self.servers:
            server.accepting = False
            server.del_channel()  # no new connections; the socket itself belongs to whoever bound it
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self._answering():
            wasyncore.loop(timeout=0.1, map=self.map, use_poll=True, count=1)
        self.dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(self.map)

    def _answering(self) -> bool:
        channels = [c for c in list(self.map.values()) if isinstance(c, HTTPChannel)]
        return any(c.requests or c.total_outbufs_len for c in channels)

    def stop(self) -> None:
        """Ask ``run()`` to finish (safe from a signal handler or another thread)."""
        self._stopping = True
        self.servers[0].pull_trigger()


def listen(host: str, port: int, backlog: int = 1024) -> socket.socket:
    sock = socket.create_server((host, port), backlog=backlog)
    sock.setblocking(False)
    return sock


def serve_in_thread(server: HttpServer) -> threading.Thread:
    thread = threading.Thread(target=server.run, name="http-io", daemon=True)
    thread.start()
    return thread
