"""`make up` as a newcomer runs it beside other stacks: its ports, database names and RabbitMQ vhost are options,
its vhost is its own (created when missing), and it prints where every process listens."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from crm_devtools.devstack import dev_port_offsets

from crm_platform import discovery
from tests.e2e.conftest import free_port_block
from tests.support import infra

ROOT = Path(__file__).resolve().parents[2]


def test_make_passes_the_options_through_to_crm_up() -> None:
    planned = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-n",
            "up",
            "PORT=8090",
            "BASE_PORT=19000",
            "SMTP_PORT=19025",
            "DB_PREFIX=crm_mine",
            "VHOST=mine",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]

    assert planned.split()[1:] == [
        "up",
        "--port",
        "8090",
        "--base-port",
        "19000",
        "--smtp-port",
        "19025",
        "--db-prefix",
        "crm_mine",
        "--vhost",
        "mine",
    ]


def _vhosts() -> list[str]:
    listed = subprocess.run(["rabbitmqctl", "-q", "list_vhosts", "name"], capture_output=True, text=True, timeout=60)
    return listed.stdout.split()


def test_crm_up_runs_on_its_own_ports_databases_and_vhost_and_prints_them(tmp_path: Path) -> None:
    infra.require_postgres()
    infra.require_rabbitmq()
    base = free_port_block()
    gateway, smtp = base + 55, base + 56
    prefix, vhost = f"crm_e2e_up_{uuid.uuid4().hex[:8]}", f"crm-e2e-up-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_") and not k.endswith("_DATABASE_URL")}
    command = [sys.executable, "-m", "crm_platform.cli", "up", "--port", str(gateway), "--base-port", str(base)]
    command += ["--smtp-port", str(smtp), "--db-prefix", prefix, "--vhost", vhost, "--var", str(tmp_path / "up")]
    command += ["--amqp-url", infra.amqp_url(), "--postgres-url", infra.postgres_url("").removesuffix("/")]
    log = open(tmp_path / "up.log", "wb")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    banner = ""
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 240
        while "curl -s" not in banner and time.monotonic() < deadline and process.poll() is None:
            banner += process.stdout.readline().decode()
        assert "curl -s" in banner, banner + (tmp_path / "up.log").read_text()[-3000:]
        token = re.search(r"Admin token:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        me = requests.get(
            f"http://127.0.0.1:{gateway}/v1/contacts/members/me",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        health = {
            service: requests.get(f"http://127.0.0.1:{base + offset}/healthz", timeout=10).status_code
            for service, offset in dev_port_offsets(discovery.names()).items()
        }
        created_vhosts = _vhosts()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
        log.close()
        for service in discovery.names():
            infra.drop_database(f"{prefix}_{service}")
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)

    assert f"gateway  http://127.0.0.1:{gateway}" in banner and f"smtp     127.0.0.1:{smtp}" in banner
    assert f"contacts       http :{base}  grpc :{base + 1} (metrics :{base + 2})  worker metrics :{base + 3}" in banner
    assert f"reports        http :{base + 40}" in banner
    assert f"databases {prefix}_<service>" in banner and f"vhost '{vhost}'" in banner
    assert vhost in created_vhosts
    assert health == dict.fromkeys(discovery.names(), 200)
    assert me.status_code == 200 and me.json()["name"] == "Demo Admin", me.text
