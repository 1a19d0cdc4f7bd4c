"""No client can exhaust a process: slow uploads, oversized bodies and trickling clients against the real
servers of both run modes (``crm run``, and one service's HTTP process under gunicorn with few threads)."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import AllInOneProcess, free_port_block

SLOW_UPLOADS = 200
GUNICORN_THREADS = 4  # far fewer threads than slow clients: a thread per slow client would starve /healthz


@dataclass
class Server:
    name: str
    port: int
    upload_path: str  # an endpoint taking a JSON body, capped at 1 MiB by default

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class HttpProcess:
    """``crm serve tickets http``: gunicorn with one worker of GUNICORN_THREADS threads, on SQLite."""

    def __init__(self, folder: Path, **env: str) -> None:
        self.port = free_port_block(1)
        self.log = open(folder / "http.log", "wb")
        (folder / "prometheus").mkdir(exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith("CRM_") and not k.endswith("_DATABASE_URL")}
        base.update(
            {
                "TICKETS_DATABASE_URL": f"sqlite:///{folder}/tickets.db",
                "CRM_LOCAL_BUS_URL": f"sqlite:///{folder}/bus.db",
                "CRM_JWT_SECRET": "limits-e2e-secret-long-enough-for-hs256",
                "CRM_HTTP_PORT": str(self.port),
                "CRM_HTTP_WORKERS": "1",
                "CRM_HTTP_THREADS": str(GUNICORN_THREADS),
                "PROMETHEUS_MULTIPROC_DIR": str(folder / "prometheus"),
                **env,
            }
        )
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "crm_platform.cli", "serve", "tickets", "http"],
            env=base,
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.popen.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise TimeoutError("the HTTP process did not answer /healthz:\n" + (folder / "http.log").read_text()[-2000:])

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
        self.log.close()


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    process = HttpProcess(tmp_path_factory.mktemp("http"))
    try:
        yield Server("gunicorn", process.port, "/v1/tickets")
    finally:
        process.stop()


@pytest.fixture(scope="module")
def allinone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    process = AllInOneProcess(tmp_path_factory.mktemp("aio-limits") / "var")
    try:
        yield Server("all-in-one", process.port, "/v1/contacts")
    finally:
        process.stop()


@pytest.fixture(params=["allinone_server", "gunicorn"])
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def send_head(port: int, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode())
    return sock


def upload_head(path: str, length: int) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


class SlowUploads:
    """``count`` uploads that sent their headers and now trickle one byte of body a second each."""

    def __init__(self, port: int, path: str, count: int) -> None:
        self.sockets = [send_head(port, upload_head(path, 500_000) + "{") for _ in range(count)]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(1.0):
            for sock in self.sockets:
                try:
                    sock.send(b" ")
                except OSError:
                    pass

    def still_open(self) -> int:
        """How many of the uploads the server still holds open (nothing answered, nothing closed)."""
        held = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                sock.recv(1)  # an answer, or b"" for a closed connection: not held
            except BlockingIOError:
                held += 1
            except OSError:
                pass
        return held

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def test_healthz_answers_quickly_while_200_slow_uploads_are_open(server: Server) -> None:
    uploads = SlowUploads(server.port, server.upload_path, SLOW_UPLOADS)
    try:
        time.sleep(2.5)  # every upload has trickled a few bytes: each is a connection mid-body
        latencies = []
        for _ in range(20):
            started = time.perf_counter()
            answer = requests.get(server.url + "/healthz", timeout=10)
            latencies.append(time.perf_counter() - started)
            assert answer.status_code == 200
        held = uploads.still_open()
    finally:
        uploads.close()

    print(
        f"\n{server.name}: /healthz with {SLOW_UPLOADS} slow uploads open: median "
        f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; {held} uploads held"
    )
    assert held == SLOW_UPLOADS  # the server kept every slow upload, and still answered
    assert statistics.median(latencies) < 0.5 and max(latencies) < 2.0


@pytest.mark.parametrize("announced", [2 * 1024 * 1024, 100 * 1024 * 1024])
def test_a_json_body_over_1_mib_is_refused_413_from_content_length_before_it_is_sent(
    server: Server, announced: int
) -> None:
    sock = send_head(server.port, upload_head(server.upload_path, announced))  # the headers, and no body at all
    try:
        status, headers, body = read_answer(sock)
    finally:
        sock.close()

    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"] == "urn:crm:problem:body-too-large" and problem["max_bytes"] == 1024 * 1024


def test_uploads_have_their_own_cap_announced_500_mb_is_refused_before_it_is_sent(allinone_server: Server) -> None:
    for path, cap in [("/v1/contacts/c-1/files", 25 * 1024 * 1024), ("/v1/contacts/imports", 32 * 1024 * 1024)]:
        sock = send_head(allinone_server.port, upload_head(path, 500 * 1024 * 1024))
        try:
            status, _, body = read_answer(sock)
        finally:
            sock.close()
        assert status == 413, body
        assert json.loads(body)["max_bytes"] == cap + 64 * 1024  # the file and its multipart envelope


def test_a_chunked_body_is_cut_at_the_cap_while_it_arrives(server: Server) -> None:
    head = (
        f"POST {server.upload_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    sock = send_head(server.port, head)
    chunk = b"x" * 65536
    sent = 0
    try:
        with pytest.raises(OSError):  # the server answers and closes long before the body would end
            for _ in range(100 * 16):  # 100 MiB, never finished
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        status, _, body = read_answer(sock)
    finally:
        sock.close()

    assert sent < 8 * 1024 * 1024
    assert status == 413 and json.loads(body)["type"] == "urn:crm:problem:body-too-large"


def test_a_client_trickling_its_request_is_answered_408_and_let_go(tmp_path: Path) -> None:
    process = HttpProcess(tmp_path, CRM_HTTP_READ_TIMEOUT_SECONDS="2", CRM_HTTP_MIN_UPLOAD_BYTES_PER_SECOND="100")
    try:
        sock = send_head(process.port, upload_head("/v1/tickets", 5000))
        started = time.monotonic()
        sock.settimeout(0.5)
        answer = b""
        while time.monotonic() - started < 15 and not answer:
            try:
                sock.send(b" ")  # a byte every half second: never idle, far slower than 100 bytes a second
                answer = sock.recv(65536)
            except TimeoutError:
                continue
        waited = time.monotonic() - started
        sock.settimeout(5)
        while chunk := sock.recv(65536):  # the rest of the answer, until the server closes
            answer += chunk
        sock.close()
        healthy = requests.get(f"http://127.0.0.1:{process.port}/healthz", timeout=5).status_code
    finally:
        process.stop()

    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"urn:crm:problem:request-timeout" in answer
    assert 2 <= waited < 6
    assert healthy == 200
