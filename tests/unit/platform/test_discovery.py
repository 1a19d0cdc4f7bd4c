"""The library knows no service by name: a service is whatever an installed distribution declares under the
``crm.services`` entry point group. A service the library never heard of (``billing``, a real distribution
on ``sys.path`` made here) is discovered, configured from variables derived from its name, migrated by
``crm migrate`` and served; and nothing in libs/platform names one of the services of this repository."""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from crm_platform import allinone, auth, cli, discovery, service_tokens
from crm_platform.service import bootstrap, discover
from crm_platform.settings import SettingsError, load
from crm_platform.web import create_app

ROOT = Path(__file__).resolve().parents[3]
SECRET = "discovery-unit-test-secret-long-enough-for-hs256"

BILLING_APP = '''
"""A service outside the repository: one table, one endpoint."""

from pathlib import Path

from flask_openapi3 import APIBlueprint
from sqlalchemy import Column, String, Table

from crm_platform.db import new_metadata
from crm_platform.service import ServiceSpec
from crm_platform.web import SECURITY, caller, json_response

metadata = new_metadata()
invoices = Table("invoices", metadata, Column("workspace_id", String(36), primary_key=True))
api = APIBlueprint("billing", __name__, url_prefix="/v1/billing", abp_security=SECURITY)


@api.get("/whoami")
def whoami():
    return json_response({"workspace_id": caller().workspace_id, "service": "billing"})


SERVICE = ServiceSpec(
    name="billing",
    metadata=metadata,
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    register_http=lambda app, rt: app.register_api(api),
    workspace_lookup=lambda rt: lambda workspace_id: True,
    dev_port_offset=50,
)
'''


@pytest.fixture
def billing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A distribution ``crm-billing`` installed on ``sys.path``: its package and its dist-info's entry point."""
    site = tmp_path / "site"
    package = site / "crm_billing"
    (package / "migrations" / "versions").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(textwrap.dedent(BILLING_APP))
    info = site / "crm_billing-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crm-billing\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[crm.services]\nbilling = crm_billing.app:SERVICE\n")
    monkeypatch.syspath_prepend(str(site))
    yield tmp_path
    for name in [m for m in sys.modules if m == "crm_billing" or m.startswith("crm_billing.")]:
        del sys.modules[name]


def billing_env(folder: Path) -> dict[str, str]:
    return {
        "BILLING_DATABASE_URL": f"sqlite:///{folder}/billing.db",
        "CRM_LOCAL_BUS_URL": f"sqlite:///{folder}/bus.db",
        "CRM_JWT_SECRET": SECRET,
        "CRM_CONTACTS_GRPC_TARGET": "127.0.0.1:1",
        "CRM_BILLING_GRPC_TARGET": "127.0.0.1:2",
        "CRM_ENV": "test",
    }


def test_the_installed_services_are_those_their_distributions_declare() -> None:
    assert set(discovery.names()) >= {"contacts", "tickets", "conversations", "mailer", "reports"}
    assert "billing" not in discovery.names()


def test_a_service_outside_the_library_is_discovered_and_configured_by_its_name(billing: Path) -> None:
    assert "billing" in discovery.names()
    spec = discover()["billing"]
    settings = load("billing", billing_env(billing))

    assert spec.name == "billing" and settings.service == "billing"
    assert settings.database_url == f"sqlite:///{billing}/billing.db"
    assert settings.grpc_targets == {"contacts": "127.0.0.1:1", "billing": "127.0.0.1:2"}
    keys = service_tokens.local_keys(billing / "keys", discovery.names())
    assert "BILLING_SERVICE_KEY" in keys and "billing:" in keys["CRM_TRUSTED_SERVICE_KEYS"]
    assert load("billing", billing_env(billing) | keys).service_key == keys["BILLING_SERVICE_KEY"]
    local = allinone.environment(billing / "var", grpc_port=50999, base={})
    assert local["BILLING_DATABASE_URL"] == f"sqlite:///{(billing / 'var').resolve()}/billing.db"
    assert local["CRM_BILLING_GRPC_TARGET"] == "127.0.0.1:50999"


def test_a_service_outside_the_library_is_migrated_by_the_cli_and_served(
    billing: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in billing_env(billing).items():
        monkeypatch.setenv(name, value)

    assert cli.main(["migrate", "billing", "--skip-bus"]) == 0
    assert "billing: database at heads" in capsys.readouterr().out
    tables = set(inspect(create_engine(f"sqlite:///{billing}/billing.db")).get_table_names())
    assert {"outbox", "processed_events", "alembic_version"} <= tables
    assert "visibility_contacts" not in tables  # it did not opt in to the shared visibility branch

    rt = bootstrap(discover()["billing"], load("billing"))
    try:
        client = create_app(rt).test_client()
        token = auth.mint(secret=SECRET, production=False, workspace_id="w-1", user_id="u-1", role="agent")
        answer = client.get("/v1/billing/whoami", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json() == {"workspace_id": "w-1", "service": "billing"}
        assert client.get("/v1/billing/whoami").status_code == 401
        assert client.get("/readyz").status_code == 200
    finally:
        rt.close()


def test_the_cli_offers_exactly_the_installed_services(billing: Path) -> None:
    parser = cli.build_parser()

    assert parser.parse_args(["serve", "billing", "worker"]).service == "billing"
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "payroll", "worker"])
    with pytest.raises(SettingsError, match="unknown service 'payroll'; installed here: billing, contacts"):
        load("payroll", billing_env(billing))


def test_dev_ports_are_each_services_own_so_adding_one_moves_no_other(billing: Path) -> None:
    from crm_devtools import devstack

    before = devstack.StackConfig(var=billing, services=("contacts", "tickets", "conversations", "mailer", "reports"))
    after = devstack.StackConfig(var=billing)

    assert "billing" in after.services
    for service in before.services:
        assert devstack.ports(before, service) == devstack.ports(after, service)
    assert [
        devstack.ports(after, s)["http"] for s in ("contacts", "tickets", "conversations", "mailer", "reports")
    ] == [
        18000,
        18010,
        18020,
        18030,
        18040,
    ]
    assert devstack.ports(after, "billing") == {
        "http": 18050,
        "grpc": 18051,
        "grpc_metrics": 18052,
        "worker_metrics": 18053,
    }
    assert any(line.startswith("  billing        http :18050") for line in devstack.port_lines(after))


def test_two_services_whose_dev_ports_overlap_are_refused(billing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from crm_devtools import devstack

    spec = discover()["billing"]
    monkeypatch.setattr(sys.modules["crm_billing.app"], "SERVICE", dataclasses.replace(spec, dev_port_offset=32))
    with pytest.raises(RuntimeError, match=r"dev ports of (billing|mailer) .* overlap"):
        devstack.port_lines(devstack.StackConfig(var=billing))


# --- the library names no service ---------------------------------------------------------------------
SERVICE_NAMES = ("contacts", "tickets", "conversations", "mailer", "reports")
# The modules that are clients of one service's API, and the one service each may name: the platform's
# contacts client (generated from its proto; workspaces live there) and the copy of contact visibility kept
# from its events; devtools' `crm mail reply`, which shows the reply on its ticket through the tickets API.
# They are about a contract, not a list of services; anything else naming a service belongs to the service.
CLIENT_OF = {"clients/contacts.py": "contacts", "visibility.py": "contacts", "mailreply.py": "tickets"}
NAMED = re.compile(rf"\b({'|'.join(SERVICE_NAMES)})\b|\b({'|'.join(n.upper() for n in SERVICE_NAMES)})_", re.I)


def _code_strings(source: str) -> list[tuple[int, str]]:
    """The string literals of a module's code (f-strings' literal parts too), docstrings left out."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def names_of_services(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith("alembic/"):
            continue
        for line, text in _code_strings(path.read_text()):
            named = {match.group(0).lower().rstrip("_") for match in NAMED.finditer(text)}
            if named - {CLIENT_OF.get(relative)}:
                found.append(f"{relative}:{line}: {text!r}")
    return found


@pytest.mark.parametrize("package", ["platform/crm_platform", "devtools/crm_devtools"])
def test_the_libraries_name_no_service(package: str) -> None:
    assert names_of_services(ROOT / "libs" / package) == []


def test_the_scan_finds_a_service_named_in_code(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(
        '"""Docstrings may name contacts."""\n'
        'SERVICES = ("contacts", "tickets")\n'
        'def env(folder):\n    return {"MAILER_MAILDIR": f"{folder}/mail", "path": f"/v1/reports/{folder}"}\n'
    )

    assert [hit.split(": ", 1)[1] for hit in names_of_services(tmp_path)] == [
        "'contacts'",
        "'tickets'",
        "'MAILER_MAILDIR'",
        "'/v1/reports/'",
    ]
