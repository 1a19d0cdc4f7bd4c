"""``crm workspace create --admin-email`` and ``crm member create`` as an operator runs them, checked over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from crm_contacts.app import SERVICE
from crm_platform import migrations
from tests.support.stack import running, service_env

CRM = str(Path(sys.executable).with_name("crm"))


def crm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CRM, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_workspace_created_with_its_first_admin_and_a_member_added_from_the_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/contacts.db"
    migrations.upgrade(SERVICE, url)
    env = service_env("contacts", url, tmp_path)

    created = crm(
        "workspace",
        "create",
        "Inmobiliaria Sol",
        "--admin-email",
        "Laura@Sol.example",
        "--admin-name",
        "Laura",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    workspace_id, admin_id = created.stdout.split()
    added = crm(
        "member", "create", "--workspace", workspace_id, "--name", "Luis", "--email", "luis@sol.example",
        "--role", "agent", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    (agent_id,) = added.stdout.split()
    taken = crm(
        "member", "create", "--workspace", workspace_id, "--name", "L", "--email", "LUIS@sol.example",
        "--role", "agent", env=env,
    )  # fmt: skip

    with running(SERVICE, url, tmp_path) as api:
        me = api.client.get("/v1/contacts/members/me", headers=api.auth(workspace_id, user_id=admin_id, role="admin"))
        agent = api.client.get(f"/v1/contacts/members/{agent_id}", headers=api.auth(workspace_id, user_id=admin_id))

    assert me.status_code == 200
    assert (me.get_json()["email"], me.get_json()["name"], me.get_json()["role"]) == (
        "laura@sol.example",
        "Laura",
        "admin",
    )
    assert (agent.status_code, agent.get_json()["role"]) == (200, "agent")
    assert taken.returncode != 0
    assert "already exists" in taken.stderr


def test_member_create_for_an_unknown_workspace_fails_without_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/contacts.db"
    migrations.upgrade(SERVICE, url)

    answer = crm(
        "member", "create", "--workspace", "01900000-0000-7000-8000-000000000000", "--name", "L",
        "--email", "l@x.example", "--role", "agent", env=service_env("contacts", url, tmp_path),
    )  # fmt: skip

    assert answer.returncode == 1
    assert "no workspace" in answer.stderr
    assert "Traceback" not in answer.stderr


def test_the_demo_seed_gives_the_demo_workspace_one_admin_member_even_in_an_older_var(tmp_path: Path) -> None:
    from crm_contacts.members import service as members
    from crm_contacts.workspaces import service as workspaces

    with running(SERVICE, f"sqlite:///{tmp_path}/contacts.db", tmp_path) as contacts:
        rt = contacts.rt
        older = workspaces.create(rt.database.unit_of_work(), name="Demo", default_region="ES")  # before admins
        first = SERVICE.demo_seed(rt)  # type: ignore[misc]
        again = SERVICE.demo_seed(rt)  # type: ignore[misc]
        team = members.list_active(rt.database.unit_of_work(), workspace_id=older.id)
        me = contacts.client.get("/v1/contacts/members/me", headers=contacts.auth(older.id, user_id=first["admin_id"]))

    assert first == again and first["workspace_id"] == older.id
    assert [(m.id, m.name, m.role) for m in team] == [(first["admin_id"], "Demo Admin", "admin")]
    assert me.status_code == 200 and me.get_json()["email"] == "admin@example.com"
