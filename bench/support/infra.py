"""Throw-away infrastructure for a benchmark run: free ports, fresh PostgreSQL databases and RabbitMQ vhosts."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent.parent  # bench/
ROOT = BENCH_DIR.parent
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
AMQP = "amqp://guest:guest@127.0.0.1:5672"


class BenchError(Exception):
    """Something failed: the benchmark's figures cannot be trusted."""


def wait_for_port(port: int, timeout: float = 30.0, process: subprocess.Popen[Any] | None = None) -> None:
    """Until something listens on 127.0.0.1:``port``; BenchError after ``timeout`` seconds, or at once when
    ``process`` (the one that should listen) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise BenchError(f"{' '.join(map(str, process.args))} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(f"nothing listens on {port} after {timeout:g}s") from None
            time.sleep(0.1)


def free_port_block(size: int = 60) -> int:
    """The first of ``size`` consecutive free ports below 32000 (no TCP self-connects)."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - size)
        sockets = []
        try:
            for port in range(base, base + size):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                sockets.append(sock)
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise BenchError("no free port block")


def rabbitmqctl(*args: str) -> None:
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise BenchError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")


def fresh_vhost(stack: ExitStack, name: str) -> str:
    rabbitmqctl("add_vhost", name)
    stack.callback(lambda: subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60))
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return f"{AMQP}/{quote(name, safe='')}"


def fresh_database(stack: ExitStack, name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.callback(drop)
    return f"{PG_URL}/{name}"


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")
