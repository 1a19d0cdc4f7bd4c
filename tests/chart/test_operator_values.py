"""Chart values an operator of Bitnami-style charts expects: images per service, the ServiceAccount, probes,
drain, scheduling presets, pod extras and settings, and a README that agrees with the chart.
(External PostgreSQL and RabbitMQ: test_external_backends.py.)
"""

from __future__ import annotations

import copy
import pathlib
import re
import subprocess
from typing import Any

import pytest
from test_chart import (
    CHART,
    PROCESSES,
    REPO,
    SERVICES,
    by_name,
    default_values,
    env_of,
    manifests_of,
    of_kind,
    only_container,
    pod_specs,
    render_valid,
    schema_errors,
    selects,
    values_of,
)

EXTERNAL = "external-values.yaml"
GRPC_SERVER_GRACE_SECONDS = 10  # GrpcServer.stop's grace for calls in flight


# ---------------------------------------------------------------------------------------------
# Images


def test_make_images_builds_each_service_dockerfile_under_the_charts_default_image() -> None:
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "-s", "images"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    builds = re.findall(r"^docker build -f (\S+) -t (\S+) \.$", dry_run.stdout, re.MULTILINE)
    rendered = {
        template["metadata"]["labels"]["crm/service"]: only_container(template["spec"])["image"]
        for _, template in pod_specs(manifests_of("default"))
    }

    assert len(builds) == len(SERVICES)
    for (dockerfile, image), service in zip(sorted(builds), sorted(SERVICES), strict=True):
        assert dockerfile == f"services/{service}/Dockerfile"
        text = (REPO / dockerfile).read_text()
        assert f"COPY services/{service} services/{service}" in text
        assert f'CMD ["serve", "{service}", "http"]' in text
        assert image == rendered[service] == f"ghcr.io/example/crm-{service}:0.1.0"


def test_make_images_push_and_the_chart_agree_on_registry_and_tag(tmp_path: pathlib.Path) -> None:
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "-s", "images-push", "REGISTRY=registry.example.com/team", "TAG=1.4.2"],
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
