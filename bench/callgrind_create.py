"""Instructions per contact create (POST /v1/contacts through the Flask test client), counted by callgrind.

Instruction counts do not depend on what else the machine runs, unlike rates and CPU time. One fresh
database like the peers' bench (migrated, the demo workspace, ``SEED`` contacts with an email and a phone
each); this process then runs itself under ``valgrind --tool=callgrind`` twice, each time ``WARMUP``
creates then ``MEASURED`` (0, then ``N``) more, and prints (instructions of the second run - the first) / N:
the Python process's instructions only (PostgreSQL's are not counted). The create's context cache and the
pool's idle ping are pinned so that valgrind's slowness does not change what runs.

    .venv/bin/python bench/callgrind_create.py     # N=20 WARMUP=10 SEED=20000 RUNS=2 SIDES=project,peer

``SIDES=peer`` counts the naive peer's create (bench/peers/orm_create.py) through the same client.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

JWT_SECRET = "s" * 40


def _creates(url: str, workspace: str, warmup: int, measured: int, side: str) -> None:
    """The child under valgrind: ``warmup`` creates, then ``measured`` more, by the project or by the peer."""
    if side == "peer":
        _peer_creates(url, workspace, warmup, measured)
        return
    from crm_contacts.app import SERVICE
    from crm_contacts.contacts import create
    from crm_platform import auth, db
    from crm_platform.service import bootstrap
    from crm_platform.settings import load
    from crm_platform.web import create_app

    create.CONTEXT_SECONDS = 3600.0
    db.PING_AFTER_IDLE_SECONDS = 3600.0
    env = {
        "CONTACTS_DATABASE_URL": url,
        "CRM_LOCAL_BUS_URL": f"sqlite:///{tempfile.gettempdir()}/{uuid.uuid4().hex}-bus.db",
        "CRM_JWT_SECRET": JWT_SECRET,
    }
    settings = load("contacts", env)
    rt = bootstrap(SERVICE, settings)
    token = auth.mint_for(settings, workspace_id=workspace, user_id="u1", role="admin")
    client = create_app(rt).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    run = uuid.uuid4().hex[:8]
    first_phone = random.randrange(10**8 // 2) * 2  # runs share the database: new numbers in each
    for i in range(warmup + measured):
        body = {"name": f"Ana Ruiz {run} {i}", "email": f"a{run}{i}@example.com", "phone": f"6{first_phone + i:08d}"}
        answer = client.post("/v1/contacts", json=body, headers=headers)
        assert answer.status_code == 201, answer.json
    rt.close()


def _peer_creates(url: str, workspace: str, warmup: int, measured: int) -> None:
    """The same creates through the naive peer's app (bench/peers/orm_create.py), at ``/contacts``."""
    os.environ.update(PEER_DATABASE_URL=url, PEER_WORKSPACE_ID=workspace)
    sys.path.insert(0, str(ROOT / "bench" / "peers"))
    import orm_create

    client = orm_create.app.test_client()
    run = uuid.uuid4().hex[:8]
    first_phone = random.randrange(10**8 // 2) * 2
    for i in range(warmup + measured):
        body = {"name": f"Ana Ruiz {run} {i}", "email": f"a{run}{i}@example.com", "phone": f"6{first_phone + i:08d}"}
        answer = client.post("/contacts", json=body)
        assert answer.status_code == 201, answer.data


def _instructions(url: str, workspace: str, warmup: int, measured: int, side: str) -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "child",
                json.dumps([url, workspace, warmup, measured, side]),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        if done.returncode != 0:
            raise RuntimeError(f"the run under valgrind failed:\n{done.stderr[-3000:]}")
        found = re.search(r"^summary:\s*(\d+)", out.read_text(errors="replace"), re.M)
        assert found, "no summary in callgrind's output"
        return int(found.group(1))


def main() -> None:
    from figures.orm_peers import _seed

    from crm_contacts.app import SERVICE
    from crm_platform import migrations
    from crm_platform.service import bootstrap
    from crm_platform.settings import load
    from tests.support import infra

    n, warmup = int(os.environ.get("N", "20")), int(os.environ.get("WARMUP", "10"))
    seed, runs = int(os.environ.get("SEED", "20000")), int(os.environ.get("RUNS", "2"))
    sides = os.environ.get("SIDES", "project,peer").split(",")
    name = "crm_callgrind_" + uuid.uuid4().hex[:6]
    url = infra.create_database(name)
    try:
        migrations.upgrade(SERVICE, url)
        env = {"CONTACTS_DATABASE_URL": url, "CRM_JWT_SECRET": JWT_SECRET}
        env["CRM_LOCAL_BUS_URL"] = f"sqlite:///{tempfile.gettempdir()}/{name}-bus.db"
        rt = bootstrap(SERVICE, load("contacts", env))
        workspace = SERVICE.demo_seed(rt)["workspace_id"]
        rt.close()
        _seed(url, workspace, seed)
        for _ in range(runs):
            for side in sides:
                base = _instructions(url, workspace, warmup, 0, side)
                more = _instructions(url, workspace, warmup, n, side)
                per_request = (more - base) / n / 1e6
                print(f"contact create ({side}): {per_request:.3f} M instructions per request (N={n}, seed={seed})")
    finally:
        infra.drop_database(name)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        _creates(*json.loads(sys.argv[2]))
    else:
        main()
