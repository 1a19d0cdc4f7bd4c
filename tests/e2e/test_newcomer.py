"""What a newcomer meets after `make run`: the printed token is the Demo workspace's first admin member, and the
README's operator commands work as printed beside the running all-in-one mode, finding its var/."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.e2e.conftest import AllInOneProcess

CRM_BIN = Path(sys.executable).parent  # where `crm` is installed, as .venv/bin is on a newcomer's PATH


def _as_printed(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A README command run in the folder `make run` was started from, with no CRM setting in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_") and not k.endswith("_DATABASE_URL")}
    env["PATH"] = f"{CRM_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(shlex.split(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _get(allinone: AllInOneProcess, path: str, token: str, **headers: str) -> requests.Response:
    return requests.get(allinone.url + path, headers={"Authorization": f"Bearer {token}", **headers}, timeout=10)


def test_the_printed_admin_token_belongs_to_the_demo_workspaces_first_admin(allinone: AllInOneProcess) -> None:
    token = allinone.admin_token()
    me = _get(allinone, "/v1/contacts/members/me", token)
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    first = requests.post(
        allinone.url + "/v1/contacts", json={"name": "Eva Gil", "phone": "622 111 333"}, headers=headers, timeout=10
    )
    again = requests.post(
        allinone.url + "/v1/contacts", json={"name": "Eva G.", "phone": "+34622111333"}, headers=headers, timeout=10
    )
    spanish = requests.post(
        allinone.url + "/v1/contacts",
        json={"name": "Eva G.", "phone": "+34622111333"},
        headers={**headers, "Accept-Language": "es"},
        timeout=10,
    )

    assert me.status_code == 200, me.text
    assert (me.json()["role"], me.json()["name"], me.json()["active"]) == ("admin", "Demo Admin", True)
    assert first.status_code == 201 and first.json()["owner_id"] == me.json()["id"]
    assert again.status_code == 409
    assert again.json()["detail"] == "Phone in use by: Eva Gil; Responsible: Demo Admin"
    assert spanish.json()["detail"] == "Teléfono en uso por: Eva Gil; Responsable: Demo Admin"


def test_the_readme_operator_commands_work_as_printed_beside_crm_run(allinone: AllInOneProcess) -> None:
    here = allinone.var.parent  # `crm run` keeps its data in ./var of this folder
    created = _as_printed('crm workspace create "Other Co" --admin-email boss@example.com --admin-name Boss', here)
    assert created.returncode == 0, created.stderr
    workspace_id, boss_id = created.stdout.split()
    member = _as_printed(
        f"crm member create --workspace {workspace_id} --name Eva --email eva@example.com --role agent", here
    )
    assert member.returncode == 0, member.stderr
    token = _as_printed(f"crm token --workspace {workspace_id} --user {member.stdout.strip()} --role agent", here)
    assert token.returncode == 0, token.stderr
    (here / "people.csv").write_text("name,email\nRosa Diaz,rosa@example.com\n")
    imported = _as_printed(f"crm contacts import people.csv --workspace {workspace_id} --user {boss_id}", here)
    assert imported.returncode == 0 or "taken by a worker" in imported.stderr, imported.stderr
    deadletters = _as_printed("crm deadletters list contacts", here)
    migrated = _as_printed("crm migrate contacts", here)

    me = _get(allinone, "/v1/contacts/members/me", token.stdout.strip())
    assert me.status_code == 200 and me.json()["name"] == "Eva", me.text
    deadline = time.monotonic() + 30
    while True:  # the import ran in the command (or, if the running worker took the job first, there)
        exported = _as_printed(f"crm contacts export --workspace {workspace_id}", here)
        if "rosa@example.com" in exported.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert exported.returncode == 0 and "Rosa Diaz" in exported.stdout, exported.stderr
    assert deadletters.returncode == 0 and "0 dead-lettered event(s) in crm.contacts.dead" in deadletters.stdout
    assert migrated.returncode == 0 and "contacts: database at head" in migrated.stdout, migrated.stderr


def test_an_operator_command_far_from_any_var_folder_says_what_to_set(tmp_path: Path) -> None:
    refused = _as_printed("crm member create --workspace w --name Eva --email eva@example.com --role agent", tmp_path)

    assert refused.returncode == 2
    assert "CONTACTS_DATABASE_URL is required" in refused.stderr
    assert f"no all-in-one data in {tmp_path.resolve()}/var" in refused.stderr and "--var" in refused.stderr


def test_the_readme_reply_line_answers_the_newest_mail_and_shows_it_on_the_ticket(allinone: AllInOneProcess) -> None:
    here, token = allinone.var.parent, allinone.admin_token()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [line] = [text for text in readme.splitlines() if text.startswith(".venv/bin/crm mail reply ")]
    headers = {"Authorization": f"Bearer {token}"}
    contact = requests.post(
        allinone.url + "/v1/contacts",
        json={"name": "Rita Reply", "email": "rita@example.com"},
        headers=headers,
        timeout=10,
    ).json()
    ticket = requests.post(
        allinone.url + "/v1/tickets",
        json={"subject": "Scanner jammed", "contact_id": contact["id"]},
        headers=headers,
        timeout=10,
    ).json()
    comment = requests.post(
        allinone.url + f"/v1/tickets/{ticket['id']}/comments",
        json={"body": "Try the blue lever.", "public": True},
        headers=headers,
        timeout=10,
    )
    assert comment.status_code == 201, comment.text
    deadline = time.monotonic() + 30
    while not any(b"Scanner jammed" in p.read_bytes() for p in (allinone.var / "mail" / "new").glob("*")):
        assert time.monotonic() < deadline, "the comment's mail never reached var/mail/"
        time.sleep(0.2)
    time.sleep(0.05)  # `ls -t` orders by mtime: the comment's mail is the newest

    command = line.replace(".venv/bin/crm", str(CRM_BIN / "crm")).replace("<token>", token)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_") and not k.endswith("_DATABASE_URL")}
    # `make run` answers on 8080 and listens for mail on 2525, the defaults; this one on free ports.
    env["CRM_API_URL"], env["CRM_MAIL_REPLY_SMTP"] = allinone.url, f"127.0.0.1:{allinone.smtp_port}"
    shown = subprocess.run(["bash", "-c", command], cwd=here, env=env, capture_output=True, text=True, timeout=120)

    assert shown.returncode == 0, shown.stderr
    assert (
        f"ticket #{ticket['number']} 'Scanner jammed' is open; customer comment:\nStill broken, thanks." in shown.stdout
    )
