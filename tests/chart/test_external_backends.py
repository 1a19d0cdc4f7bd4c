"""External PostgreSQL and RabbitMQ given by parts (ci/external-values.yaml): the URLs the containers get,
what pika makes of the amqps one, and the first workspace created with a pod's production environment.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import ssl
import subprocess
import sys
from typing import Any

import pika
import pytest
import yaml
from test_chart import (
    SERVICES,
    by_name,
    deep_merge,
    env_of,
    manifests_of,
    only_container,
    pod_specs,
    render,
    render_valid,
    write_values,
)

from tests.support import infra, service_keys

EXTERNAL = "external-values.yaml"


def resolve_env(container: dict[str, Any], secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """The environment the kubelet gives the container: secretKeyRefs read, $(NAME) of earlier variables expanded."""
    resolved: dict[str, str] = {}
    for var in container["env"]:
        if "valueFrom" in var:
            ref = var["valueFrom"]["secretKeyRef"]
            # Secrets a test does not care about resolve to a placeholder naming them.
            resolved[var["name"]] = secrets.get(ref["name"], {}).get(ref["key"], f"<{ref['name']}/{ref['key']}>")
        else:
            resolved[var["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: resolved.get(m[1], m[0]), var["value"]
            )
    return resolved


# ---------------------------------------------------------------------------------------------
# External PostgreSQL and RabbitMQ by parts

EXTERNAL_SECRETS = {
    "crm-postgresql": {f"{service}-password": f"pg-{service}" for service in SERVICES},
    "crm-rabbitmq": {"rabbitmq-password": "s3cret-amqp"},
    "crm-smtp": {"username": "smtp-user", "password": "smtp-pass"},
}


def test_external_values_compose_database_urls_from_parts_with_tls_and_no_password() -> None:
    manifests = manifests_of(EXTERNAL)
    database_names = {s: f"crm_{s}" for s in SERVICES} | {"tickets": "helpdesk_tickets"}
    users = {s: f"crm_{s}" for s in SERVICES} | {"tickets": "helpdesk"}
    host = "crm.cluster-abc123.eu-west-1.rds.amazonaws.com"
    for where, template in pod_specs(manifests):
        service = template["metadata"]["labels"]["crm/service"]
        container = only_container(template["spec"])
        env = env_of(container)

        assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "crm-postgresql",
            "key": f"{service}-password",
        }, where
        assert env[f"{service.upper()}_DATABASE_URL"]["value"] == (
            f"postgresql+psycopg://{users[service]}@{host}:5432/{database_names[service]}"
            "?sslmode=verify-full&sslrootcert=/etc/crm/tls/postgresql/ca.crt"
        ), where
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        assert mounts["postgresql-ca"] == {
            "name": "postgresql-ca",
            "mountPath": "/etc/crm/tls/postgresql",
            "readOnly": True,
        }
        assert volumes["postgresql-ca"]["secret"] == {
            "secretName": "rds-ca",
            "items": [{"key": "ca.crt", "path": "ca.crt"}],
        }
    text = yaml.safe_dump(list(manifests))
    assert not any(password in text for secret in EXTERNAL_SECRETS.values() for password in secret.values())


def _self_signed_ca(directory: pathlib.Path) -> pathlib.Path:
    ca = directory / "ca.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=crm-test-ca"),
            *("-keyout", str(directory / "ca.key"), "-out", str(ca)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return ca


def test_external_rabbitmq_url_gives_pika_the_password_vhost_and_a_verifying_tls_context(
    tmp_path: pathlib.Path,
) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a CA certificate for this test")
    ca = _self_signed_ca(tmp_path)
    deployments = by_name(manifests_of(EXTERNAL), "Deployment")
    container = only_container(deployments["crm-contacts-worker"]["spec"]["template"]["spec"])
    names = [var["name"] for var in container["env"]]
    assert names.index("CRM_AMQP_PASSWORD") < names.index("CRM_AMQP_URL")  # $(NAME) only sees earlier vars
    assert "s3cret" not in container["env"][names.index("CRM_AMQP_URL")]["value"]

    url = resolve_env(container, EXTERNAL_SECRETS)["CRM_AMQP_URL"]
    mounted_ca = "/etc/crm/tls/rabbitmq/ca.pem"
    parameters = pika.URLParameters(url.replace("%2Fetc%2Fcrm%2Ftls%2Frabbitmq%2Fca.pem", str(ca)))

    assert mounted_ca.replace("/", "%2F") in url
    assert (parameters.host, parameters.port, parameters.virtual_host) == (
        "b-1234.mq.eu-west-1.amazonaws.com",
        5671,
        "crm",
    )
    assert (parameters.credentials.username, parameters.credentials.password) == ("crm", "s3cret-amqp")
    assert parameters.ssl_options is not None
    context = parameters.ssl_options.context
    assert parameters.ssl_options.server_hostname is None  # pika then checks the certificate against host
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 1  # exactly the mounted CA, not the system bundle


def test_rabbitmq_tls_without_a_ca_secret_verifies_against_the_image_system_cas(tmp_path: pathlib.Path) -> None:
    override = {
        "externalRabbitmq": {
            "host": "rabbitmq.messaging.svc",
            "vhost": "/",
            "existingSecret": "crm-rabbitmq",
            "tls": {"enabled": True},
        }
    }
    manifests = render_valid(tmp_path, override)
    for where, template in pod_specs(manifests):
        container = only_container(template["spec"])
        url = resolve_env(container, {"crm-rabbitmq": {"password": "pw"}})["CRM_AMQP_URL"]
        assert url == "amqps://crm:pw@rabbitmq.messaging.svc:5672/%2F", where
        parameters = pika.URLParameters(url)
        assert parameters.virtual_host == "/"
        context = parameters.ssl_options.context
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname, where
        assert context.cert_store_stats()["x509_ca"] > 1, where  # the system bundle
        assert "rabbitmq-ca" not in {m["name"] for m in container["volumeMounts"]}, where
    plain = render_valid(tmp_path, deep_merge(override, {"externalRabbitmq": {"tls": {"enabled": False}}}))
    for _, template in pod_specs(plain):
        url = env_of(only_container(template["spec"]))["CRM_AMQP_URL"]["value"]
        assert url == "amqp://crm:$(CRM_AMQP_PASSWORD)@rabbitmq.messaging.svc:5672/%2F"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"externalDatabase": {"host": "pg"}}, "externalDatabase.existingSecret is required"),
        ({"externalRabbitmq": {"host": "mq"}}, "externalRabbitmq.existingSecret is required"),
    ],
)
def test_parts_mode_without_a_password_secret_fails_with_a_clear_message(
    tmp_path: pathlib.Path, override: dict[str, Any], message: str
) -> None:
    result = render(write_values(tmp_path, override))
    assert result.returncode != 0 and message in result.stderr


def test_the_first_workspace_and_admin_are_created_in_the_pods_production_environment(
    tmp_path: pathlib.Path,
) -> None:
    """`kubectl exec deploy/<release>-contacts-http -- crm workspace create`: the same command, with the
    environment the chart gives that container (parts mode, CRM_ENV=production), on a real PostgreSQL."""
    with infra.fresh_postgres("crm_chart") as url:
        database = url.rsplit("/", 1)[1]
        override = {
            "externalDatabase": {
                "host": infra.PG_HOST,
                "port": infra.PG_PORT,
                "user": infra.PG_USER,
                "existingSecret": "crm-postgresql",
            },
            "externalRabbitmq": {"host": infra.AMQP_HOST, "existingSecret": "crm-rabbitmq"},
            "services": {"contacts": {"database": {"name": database}}},
        }
        deployments = by_name(render_valid(tmp_path, override), "Deployment")
        container = only_container(deployments["crm-contacts-http"]["spec"]["template"]["spec"])
        keys = service_keys.env()  # what `crm service-keys` puts in the chart's crm-service-keys Secret
        key_secret = {"contacts": keys["CONTACTS_SERVICE_KEY"], "trusted": keys["CRM_TRUSTED_SERVICE_KEYS"]}
        env = resolve_env(
            container,
            {
                "crm-postgresql": {"password": "unused"},
                "crm-rabbitmq": {"password": "x"},
                "crm-service-keys": key_secret,
            },
        )
        assert env["CRM_ENV"] == "production" and "CRM_JWT_SECRET" not in env
        env |= {"PATH": str(pathlib.Path(sys.executable).parent), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

        def crm(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "crm_platform.cli", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        migrated = crm("migrate", "contacts", "--skip-bus")
        assert migrated.returncode == 0, migrated.stderr
        created = crm("workspace", "create", "Acme", "--region", "ES", "--admin-email", "ops@acme.example")
        assert created.returncode == 0, created.stderr
        workspace_id, admin_id = created.stdout.split()
        agent = crm(
            "member",
            "create",
            "--workspace",
            workspace_id,
            "--name",
            "Luis",
            "--email",
            "l@acme.example",
            "--role",
            "agent",
        )
        assert agent.returncode == 0 and len(agent.stdout.split()) == 1, agent.stderr
        again = crm("workspace", "create", "Acme", "--reuse", "--admin-email", "ops@acme.example")
        assert again.stdout.split() == [workspace_id, admin_id], again.stderr
        refused = crm("token", "--workspace", workspace_id, "--user", admin_id, "--role", "admin")
        assert refused.returncode != 0  # production tokens come from the identity provider only
