"""End-to-end fixtures: the platform started the way users start it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from crm_devtools import devstack

from crm_platform import auth
from tests.support import infra


def free_port_block(size: int = 60) -> int:
    """The first port of ``size`` consecutive free ports."""
    import random
    import socket

    for _ in range(200):
        base = random.randrange(20000, 32000 - size)  # below the ephemeral range: no self-connects
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
    raise RuntimeError("no free port block")


def make_stack(tmp: Path, vhost_url: str, **overrides: object) -> devstack.Stack:
    infra.require_postgres()
    base = free_port_block()
    config = devstack.StackConfig(
        var=tmp,
        amqp_url=vhost_url,
        db_prefix=f"crm_e2e_{uuid.uuid4().hex[:8]}",
        gateway_port=base + 55,
        smtp_port=base + 56,
        base_port=base,
        http_workers=1,
        extra_env={"CRM_EVENT_MAX_ATTEMPTS": "3", "CRM_EVENT_RETRY_BASE_SECONDS": "0.2", "CRM_LOG_LEVEL": "WARNING"},
        drop_databases_on_stop=True,
        **overrides,  # type: ignore[arg-type]
    )
    return devstack.Stack(config)


def workspace_in_stack(stack: devstack.Stack, name: str) -> str:
    """``crm workspace create NAME`` with the contacts service's configuration, as an operator runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "crm_platform.cli", "workspace", "create", name],
        env=stack.env_for("contacts", "cli"),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def token_for(stack: devstack.Stack, workspace_id: str, role: str = "admin") -> str:
    return auth.mint(
        secret=stack.config.jwt_secret, production=False, workspace_id=workspace_id, user_id=f"user-{role}", role=role
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, vhost_url: str) -> Iterator[devstack.Stack]:
    """Every service as its own processes on PostgreSQL and RabbitMQ, with a real SMTP server."""
    with make_stack(tmp_path_factory.mktemp("stack"), vhost_url) as running:
        yield running


class AllInOneProcess:
    def __init__(self, var: Path) -> None:
        base = free_port_block(5)
        self.var = var
        self.port, self.grpc_port, self.smtp_port = base, base + 1, base + 2
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_") and not k.endswith("_DATABASE_URL")}
        env["PYTHONUNBUFFERED"] = "1"
        env["MAILER_INBOUND_SMTP_PORT"] = str(self.smtp_port)  # not 2525: another `crm run` may hold it
        self.log = open(var.parent / "allinone.log", "wb")
        self.popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crm_platform.cli",
                "run",
                "--port",
                str(self.port),
                "--grpc-port",
                str(self.grpc_port),
                "--var",
                str(var),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=var.parent,
        )
        self.banner = self._read_banner()
        self.url = f"http://127.0.0.1:{self.port}"

    def _read_banner(self) -> str:
        assert self.popen.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.popen.stdout.readline().decode()
            if not line and self.popen.poll() is not None:
                raise RuntimeError("crm run exited:\n" + (self.var.parent / "allinone.log").read_text()[-3000:])
            lines.append(line)
            if line.strip().startswith("curl -s http") and "/v1/contacts -H" in line and "-X POST" not in line:
                return "".join(lines)
        raise TimeoutError("crm run printed no banner")

    def workspace_id(self) -> str:
        match = re.search(r"Demo workspace: (\S+)", self.banner)
        assert match, self.banner
        return match.group(1)

    def admin_token(self) -> str:
        match = re.search(r"Admin token:\s+(\S+)", self.banner)
        assert match, self.banner
        return match.group(1)

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
        self.log.close()


@pytest.fixture(scope="module")
def allinone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AllInOneProcess]:
    """``crm run`` as a newcomer starts it (SQLite under var/, the local bus, mail in a Maildir)."""
    process = AllInOneProcess(tmp_path_factory.mktemp("aio") / "var")
    try:
        assert requests.get(process.url + "/readyz", timeout=10).status_code == 200
        yield process
    finally:
        process.stop()
