"""Chart values an operator of Bitnami-style charts expects: images per service, external PostgreSQL and
RabbitMQ by parts, the ServiceAccount, probes, drain, scheduling presets, pod extras and settings.

Rendered with the same renderer as test_chart.py; each override is also checked against the schema and
every rendered object against the Kubernetes schemas.
"""

from __future__ import annotations

import copy
import pathlib
import re
import shutil
import ssl
import subprocess
import sys
from typing import Any

import kubernetes_validate
import pika
import pytest
import yaml
from test_chart import (
    CHART,
    KUBERNETES_VERSION,
    PROCESSES,
    REPO,
    SERVICES,
    by_name,
    deep_merge,
    default_values,
    env_of,
    manifests_of,
    of_kind,
    only_container,
    pod_specs,
    render,
    render_manifests,
    schema_errors,
    selects,
    values_of,
    write_values,
)

from tests.support import infra

EXTERNAL = "external-values.yaml"
GRPC_SERVER_GRACE_SECONDS = 10  # GrpcServer.stop's grace for calls in flight


def render_valid(tmp_path: pathlib.Path, override: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Render an override that must satisfy the schema and give valid Kubernetes objects."""
    assert schema_errors(deep_merge(default_values(), override)) == []
    manifests = tuple(render_manifests(write_values(tmp_path, override)))
    for manifest in manifests:
        if not manifest["apiVersion"].startswith("monitoring.coreos.com/"):
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    return manifests


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
# Images


def test_make_images_builds_each_service_dockerfile_under_the_charts_default_image() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "-s", "images"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    builds = re.findall(r"^docker build -f (\S+) -t (\S+) \.$", dry_run.stdout, re.MULTILINE)
    rendered = {
        template["metadata"]["labels"]["crm/service"]: only_container(template["spec"])["image"]
        for _, template in pod_specs(manifests_of("default"))
    }

    assert len(builds) == len(SERVICES)
    for (dockerfile, image), service in zip(builds, SERVICES, strict=True):
        assert dockerfile == f"services/{service}/Dockerfile"
        text = (REPO / dockerfile).read_text()
        assert f"COPY services/{service} services/{service}" in text
        assert f'CMD ["serve", "{service}", "http"]' in text
        assert image == rendered[service] == f"ghcr.io/example/crm-{service}:0.1.0"


def test_make_images_push_and_the_chart_agree_on_registry_and_tag(tmp_path: pathlib.Path) -> None:
    dry_run = subprocess.run(
        ["make", "-n", "-s", "images-push", "REGISTRY=registry.example.com/team", "TAG=1.4.2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pushed = set(re.findall(r"^docker push (\S+)$", dry_run.stdout, re.MULTILINE))
    manifests = render_valid(tmp_path, {"global": {"imageRegistry": "registry.example.com/team", "imageTag": "1.4.2"}})

    assert pushed == {f"registry.example.com/team/crm-{service}:1.4.2" for service in SERVICES}
    assert {only_container(t["spec"])["image"] for _, t in pod_specs(manifests)} == pushed


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
    assert parameters.ssl_options.server_hostname == "b-1234.mq.eu-west-1.amazonaws.com"
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
        assert url.startswith("amqps://crm:pw@rabbitmq.messaging.svc:5672/%2F?ssl_options="), where
        parameters = pika.URLParameters(url)
        assert parameters.virtual_host == "/"
        assert parameters.ssl_options.server_hostname == "rabbitmq.messaging.svc"
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


@pytest.mark.parametrize(
    ("path", "bad_value"),
    [
        (("externalDatabase", "sslmode"), "verify"),
        (("externalDatabase", "port"), 70000),
        (("externalRabbitmq", "user"), "crm@ops"),
        (("externalRabbitmq", "tls", "enabled"), "yes"),
        (("services", "contacts", "database", "name"), "crm contacts"),
        (("services", "tickets", "grpc", "podAntiAffinityPreset"), "medium"),
        (("services", "mailer", "worker", "preStopSleepSeconds"), -1),
        (("settings", "logLevel"), "LOUD"),
        (("settings", "httpWorkers"), 0),
        (("serviceAccount", "name"), "CRM_Workloads"),
    ],
)
def test_schema_rejects_a_wrong_operator_value(path: tuple[str, ...], bad_value: Any) -> None:
    values = copy.deepcopy(default_values())
    node = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad_value
    assert any(error.startswith(".".join(path) + ":") for error in schema_errors(values))


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
        env = resolve_env(container, {"crm-postgresql": {"password": "unused"}, "crm-rabbitmq": {"password": "x"}})
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


# ---------------------------------------------------------------------------------------------
# ServiceAccount, probes, drain, scheduling, pod extras


def test_default_release_runs_every_pod_as_its_own_service_account_without_a_token() -> None:
    manifests = manifests_of("default")
    (account,) = of_kind(manifests, "ServiceAccount")
    assert account["metadata"]["name"] == "crm" and account["automountServiceAccountToken"] is False
    for where, template in pod_specs(manifests):
        spec = template["spec"]
        # Migration hooks run before the chart's ServiceAccount exists.
        expected = "default" if where.startswith("Job/") else "crm"
        assert spec["serviceAccountName"] == expected, where
        assert spec["automountServiceAccountToken"] is False, where


def test_an_existing_service_account_is_used_by_every_pod_and_none_is_created() -> None:
    manifests = manifests_of(EXTERNAL)
    assert of_kind(manifests, "ServiceAccount") == []
    assert {t["spec"]["serviceAccountName"] for _, t in pod_specs(manifests)} == {"crm-workloads"}


@pytest.mark.parametrize("scenario", ["default", "minimal-values.yaml", "ha-values.yaml", EXTERNAL])
def test_grpc_pods_drain_before_sigterm_and_within_the_grace_period(scenario: str) -> None:
    deployments = by_name(manifests_of(scenario), "Deployment")
    for name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        process = deployment["spec"]["template"]["metadata"]["labels"]["crm/process"]
        container = only_container(spec)
        pre_stop = container.get("lifecycle", {}).get("preStop")
        if process == "worker":
            assert pre_stop is None, name
            continue
        (sleep, seconds) = pre_stop["exec"]["command"]
        assert sleep == "sleep" and int(seconds) > 0, name
        drain = int(seconds) + (GRPC_SERVER_GRACE_SECONDS if process == "grpc" else 0)
        assert spec["terminationGracePeriodSeconds"] > drain, name


def test_external_values_reach_the_pods_of_the_processes_they_name() -> None:
    manifests = manifests_of(EXTERNAL)
    deployments = by_name(manifests, "Deployment")
    http = deployments["crm-contacts-http"]["spec"]["template"]
    grpc = deployments["crm-contacts-grpc"]["spec"]["template"]
    worker = deployments["crm-contacts-worker"]["spec"]["template"]

    assert http["spec"]["priorityClassName"] == "crm-critical"
    assert all(
        "priorityClassName" not in d["spec"]["template"]["spec"]
        for n, d in deployments.items()
        if n != "crm-contacts-http"
    )
    startup = only_container(http["spec"])["startupProbe"]
    assert startup["httpGet"] == {"path": "/healthz", "port": "http"} and startup["failureThreshold"] == 20
    assert "startupProbe" not in only_container(grpc["spec"])

    assert grpc["spec"]["terminationGracePeriodSeconds"] == 45
    assert only_container(grpc["spec"])["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "10"]

    (sidecar,) = worker["spec"]["containers"][1:]
    assert sidecar["name"] == "otel-agent"
    assert {"name": "otel-config", "configMap": {"name": "crm-otel-agent"}} in worker["spec"]["volumes"]

    for where, template in pod_specs(manifests):
        labels = template["metadata"]["labels"]
        assert labels["cost-center"] == "support", where
        assert (labels.get("tier") == "api") == (where == "Deployment/crm-contacts-http"), where
        assert template["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "true"
    for deployment in deployments.values():
        assert "cost-center" not in deployment["spec"]["selector"]["matchLabels"]


def test_anti_affinity_presets_keep_the_pods_of_one_process_apart() -> None:
    manifests = manifests_of(EXTERNAL)
    deployments = by_name(manifests, "Deployment")
    for name, deployment in deployments.items():
        template = deployment["spec"]["template"]
        affinity = template["spec"].get("affinity")
        if name == "crm-contacts-worker":  # preset "" and no affinity of its own
            assert affinity is None
            continue
        anti = affinity["podAntiAffinity"]
        if name == "crm-contacts-grpc":
            (term,) = anti["requiredDuringSchedulingIgnoredDuringExecution"]
        else:  # the default preset, soft
            ((preferred),) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
            term = preferred["podAffinityTerm"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        peers = [
            d
            for d in deployments.values()
            if selects(term["labelSelector"]["matchLabels"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert [p["metadata"]["name"] for p in peers] == [name]


def test_an_explicit_affinity_replaces_the_preset(tmp_path: pathlib.Path) -> None:
    zone = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["a"]}]}
                ]
            }
        }
    }
    override = {"services": {"reports": {"http": {"affinity": zone, "podAntiAffinityPreset": "hard"}}}}
    deployments = by_name(render_valid(tmp_path, override), "Deployment")
    assert deployments["crm-reports-http"]["spec"]["template"]["spec"]["affinity"] == zone


def test_service_settings_are_values_and_are_left_to_the_code_by_default() -> None:
    default_names = set()
    for _, template in pod_specs(manifests_of("default")):
        default_names |= set(env_of(only_container(template["spec"])))
    settings_vars = {
        "CRM_LOG_LEVEL",
        "CRM_HTTP_WORKERS",
        "CRM_HTTP_THREADS",
        "CRM_GRPC_WORKERS",
        "CRM_GRPC_DEADLINE_SECONDS",
        "CRM_EVENT_MAX_ATTEMPTS",
        "CRM_EVENT_RETRY_BASE_SECONDS",
        "CONTACTS_MAX_FILE_BYTES",
        "MAILER_FROM",
    }
    assert default_names & settings_vars == set()

    for where, template in pod_specs(manifests_of(EXTERNAL)):
        service = template["metadata"]["labels"]["crm/service"]
        env = {name: var.get("value") for name, var in env_of(only_container(template["spec"])).items()}
        assert env["CRM_LOG_LEVEL"] == "WARNING", where
        assert env["CRM_HTTP_WORKERS"] == "3" and env["CRM_GRPC_DEADLINE_SECONDS"] == "2.5", where
        assert env["CRM_EVENT_MAX_ATTEMPTS"] == "8" and "CRM_GRPC_WORKERS" not in env, where
        assert env.get("CONTACTS_MAX_FILE_BYTES") == ("10485760" if service == "contacts" else None), where
        if service == "mailer":
            assert env["MAILER_FROM"] == "Acme Support <support@acme.example>", where
            assert env["MAILER_SMTP_STARTTLS"] == "true", where
        else:
            assert "MAILER_FROM" not in env, where


def test_every_new_process_value_is_declared_for_every_process_of_every_service() -> None:
    for service in SERVICES:
        for process in PROCESSES:
            block = values_of("default")["services"][service][process]
            for key in ("podLabels", "priorityClassName", "podAntiAffinityPreset", "startupProbe"):
                assert key in block, f"services.{service}.{process}.{key}"
            assert block["preStopSleepSeconds"] == (0 if process == "worker" else 5)
    assert (CHART / "ci" / EXTERNAL).exists()


# ---------------------------------------------------------------------------------------------
# README


def test_every_kubectl_command_of_the_chart_readme_names_the_namespace() -> None:
    readme = (CHART / "README.md").read_text()
    commands = [line for line in readme.splitlines() if re.search(r"\bkubectl ", line)]
    assert commands
    for line in commands:
        assert re.search(r"kubectl -n \S+ ", line) or "kubectl create namespace" in line, line


# What each process' readinessProbe checks, as the code does it (web.readyz, GrpcServer, Worker.ready).
READINESS = {
    "http": "the database is unreachable",
    "grpc": "SERVING",
    "worker": "the database or the broker is unreachable",
}


def test_readme_and_values_describe_readiness_the_same_way() -> None:
    readme = (CHART / "README.md").read_text()
    values_text = (CHART / "values.yaml").read_text()
    for process, condition in READINESS.items():
        (row,) = [line for line in readme.splitlines() if line.startswith(f"| `<release>-<service>-{process}` |")]
        readiness_cell = row.split(" | ")[-1]
        (doc,) = set(re.findall(rf"## @param services\.\w+\.{process}\.readinessProbe\.enabled (.*)", values_text))
        assert condition in readiness_cell and condition in doc, process
