"""Chart tier: render deploy/helm/crm in every CI scenario and check what operators rely on.

Rendering uses `helm template` when helm is on PATH, else the Go renderer built by
tests/chart/setup.sh. Values are checked against values.schema.json, every Kubernetes manifest
against the Kubernetes OpenAPI schemas (kubernetes-validate, strict), and Prometheus operator
resources, which it has no schema for, by the assertions below.
"""

from __future__ import annotations

import copy
import functools
import json
import pathlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHART = REPO / "deploy" / "helm" / "crm"
RENDERER = HERE / ".bin" / "crm-render"

KUBERNETES_VERSION = "1.30"
RELEASE = "crm"
NAMESPACE = "crm"
SERVICES = ("contacts", "tickets", "conversations", "mailer", "reports")
PROCESSES = ("http", "grpc", "worker")
PROMETHEUS_OPERATOR_API = "monitoring.coreos.com/v1"

SCENARIOS = {"default": None} | {path.name: path for path in sorted((CHART / "ci").glob("*.yaml"))}


# ---------------------------------------------------------------------------------------------
# Rendering


@functools.cache
def renderer() -> tuple[str, ...]:
    """`helm template`, or the Go renderer, which setup.sh builds when it is missing or stale."""
    helm = shutil.which("helm")
    if helm:
        return (
            helm,
            "template",
            "--kube-version",
            f"{KUBERNETES_VERSION}.0",
            "--api-versions",
            PROMETHEUS_OPERATOR_API,
        )
    setup = subprocess.run(
        ["bash", str(HERE / "setup.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if setup.returncode != 0:
        pytest.fail(f"tests/chart/setup.sh could not build the renderer:\n{setup.stderr}")
    return (str(RENDERER),)


def render_command(values_files: tuple[pathlib.Path, ...]) -> list[str]:
    flags = [arg for path in values_files for arg in ("-f", str(path))]
    return [*renderer(), "--namespace", NAMESPACE, *flags, RELEASE, str(CHART)]


def render(*values_files: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        render_command(values_files),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def render_manifests(*values_files: pathlib.Path) -> list[dict[str, Any]]:
    result = render(*values_files)
    assert result.returncode == 0, f"rendering failed:\n{result.stderr}"
    assert "# Source: crm/templates/" in result.stdout
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@functools.cache
def manifests_of(scenario: str) -> tuple[dict[str, Any], ...]:
    path = SCENARIOS[scenario]
    return tuple(render_manifests(*([path] if path else [])))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of a values file over values.yaml: maps merge, a null deletes the key."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@functools.cache
def default_values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


@functools.cache
def values_of(scenario: str) -> dict[str, Any]:
    """The scenario's merged values; shared between tests, so never mutate the result."""
    path = SCENARIOS[scenario]
    override = yaml.safe_load(path.read_text()) if path else {}
    return deep_merge(default_values(), override or {})


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads((CHART / "values.schema.json").read_text())


def schema_errors(values: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema())
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(values)
    ]


def write_values(tmp_path: pathlib.Path, values: dict[str, Any]) -> pathlib.Path:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def render_valid(tmp_path: pathlib.Path, override: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Render an override that must satisfy the schema and give valid Kubernetes objects."""
    assert schema_errors(deep_merge(default_values(), override)) == []
    manifests = tuple(render_manifests(write_values(tmp_path, override)))
    for manifest in manifests:
        if not manifest["apiVersion"].startswith("monitoring.coreos.com/"):
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    return manifests


# ---------------------------------------------------------------------------------------------
# Looking things up in rendered manifests


def of_kind(manifests: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == kind]


def gateway_ingress(manifests: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """The gateway's Ingress (the APIs by prefix), not the realtime stream's own (its WebSocket timeouts)."""
    (ingress,) = [m for m in of_kind(manifests, "Ingress") if not m["metadata"]["name"].endswith("-realtime")]
    return ingress


def by_name(manifests: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in of_kind(manifests, kind)}


def enabled_services(scenario: str) -> list[str]:
    return [name for name in SERVICES if values_of(scenario)["services"][name]["enabled"]]


def processes_of(scenario: str, service: str) -> tuple[str, ...]:
    """http, grpc and worker; the mailer's smtp too when mailer.inbound is enabled, conversations' realtime when
    realtime is."""
    values = values_of(scenario)
    if service == "mailer" and values["mailer"]["inbound"]["enabled"]:
        return (*PROCESSES, "smtp")
    if service == "conversations" and values["realtime"]["enabled"]:
        return (*PROCESSES, "realtime")
    return PROCESSES


def process_values(values: dict[str, Any], service: str, process: str) -> dict[str, Any]:
    """A process's block of values: services.<service>.<process>, the smtp one mailer.inbound.listener."""
    if process == "migrate":
        return values["migrations"]  # type: ignore[no-any-return]
    if process == "smtp":
        return values["mailer"]["inbound"]["listener"]  # type: ignore[no-any-return]
    if process == "realtime":
        return values["realtime"]["server"]  # type: ignore[no-any-return]
    return values["services"][service][process]  # type: ignore[no-any-return]


def disabled_services(scenario: str) -> list[str]:
    return [name for name in SERVICES if not values_of(scenario)["services"][name]["enabled"]]


def fullname(scenario: str) -> str:
    return values_of(scenario).get("fullnameOverride") or RELEASE


def component(scenario: str, service: str, process: str) -> str:
    return f"{fullname(scenario)}-{service}-{process}"


def grpc_target(scenario: str, service: str) -> str:
    """What clients dial: the headless gRPC Service's full name, resolved to every pod behind it."""
    domain = values_of(scenario).get("clusterDomain", "cluster.local")
    return f"dns:///{component(scenario, service, 'grpc')}.{NAMESPACE}.svc.{domain}:50051"


def only_container(pod_spec: dict[str, Any]) -> dict[str, Any]:
    """The process' own container: the only one, or the first when sidecars (which come after it) are set."""
    container = pod_spec["containers"][0]
    assert container["name"] in (*PROCESSES, "smtp", "realtime", "migrate"), container["name"]
    return container


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {var["name"]: var for var in container.get("env", [])}


def port_number(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return number


def pod_specs(
    manifests: tuple[dict[str, Any], ...],
) -> Iterator[tuple[str, dict[str, Any]]]:
    for manifest in manifests:
        if manifest["kind"] in ("Deployment", "Job"):
            yield (
                f"{manifest['kind']}/{manifest['metadata']['name']}",
                manifest["spec"]["template"],
            )


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


all_scenarios = pytest.mark.parametrize("scenario", list(SCENARIOS))


# ---------------------------------------------------------------------------------------------
# Chart, values and schema


def test_chart_metadata_names_the_crm_chart_at_0_1_0() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert (chart["name"], chart["version"], str(chart["appVersion"])) == (
        "crm",
        "0.1.0",
        "0.1.0",
    )


def test_values_schema_is_a_valid_draft_07_schema_with_a_shared_service_definition() -> None:
    assert schema()["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema())
    service_refs = {name: schema()["properties"]["services"]["properties"][name] for name in SERVICES}
    assert all(ref == {"$ref": "#/definitions/service"} for ref in service_refs.values())


@all_scenarios
def test_values_of_every_scenario_satisfy_the_schema(scenario: str) -> None:
    assert schema_errors(values_of(scenario)) == []


@pytest.mark.parametrize(
    ("path", "bad_value"),
    [
        (("services", "contacts", "http", "replicas"), "two"),
        (("services", "tickets", "grpc", "autoscaling", "targetCPU"), 150),
        (("services", "mailer", "image", "pullPolicy"), "Sometimes"),
        (("services", "reports", "ingressPrefix"), "v1/reports"),
        (("ingress", "tls"), "yes"),
    ],
)
def test_schema_rejects_a_wrong_value(path: tuple[str, ...], bad_value: Any) -> None:
    values = copy.deepcopy(default_values())
    parent = functools.reduce(lambda node, key: node[key], path[:-1], values)
    parent[path[-1]] = bad_value

    errors = schema_errors(values)

    assert any(error.startswith(".".join(path) + ":") for error in errors), errors


def test_schema_rejects_a_misspelt_key() -> None:
    values = copy.deepcopy(default_values())
    values["services"]["contacts"]["http"]["replica"] = 3

    errors = schema_errors(values)

    assert any("'replica' was unexpected" in error for error in errors), errors


def test_invalid_values_file_is_refused(tmp_path: pathlib.Path) -> None:
    values_file = write_values(tmp_path, {"services": {"contacts": {"http": {"replicas": "two"}}}})
    merged = deep_merge(default_values(), yaml.safe_load(values_file.read_text()))

    assert schema_errors(merged) == ["services.contacts.http.replicas: 'two' is not of type 'integer'"]
    if shutil.which("helm"):  # helm checks the schema itself; the Go renderer leaves it to us
        result = render(values_file)
        assert result.returncode != 0 and "replicas" in result.stderr


# The only defaults that may differ between the services' blocks, and what they are per service.
PER_SERVICE_DEFAULTS = {
    "persistence.enabled": {name: name == "contacts" for name in SERVICES},
}


def _service_block_text(name: str) -> str:
    text = (CHART / "values.yaml").read_text()
    match = re.search(rf"^  {name}:\n(.*?)(?=^  \w+:\n|\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no services.{name} block in values.yaml"
    block = match.group(1).replace(name.upper(), "<SVC>").replace(name, "<svc>")
    for path in PER_SERVICE_DEFAULTS:
        key = re.escape(path.rsplit(".", 1)[-1])
        block, count = re.subn(
            rf"(## @param services\.<svc>\.{re.escape(path)} .*\n\s+{key}: ).*",
            r"\g<1><per-service>",
            block,
        )
        assert count == 1, f"services.{name}.{path} is not declared once"
    return block


def test_every_service_carries_the_same_documented_block() -> None:
    blocks = {name: _service_block_text(name) for name in SERVICES}
    assert len(set(blocks.values())) == 1, "services.<name> blocks differ beyond the name"


def test_only_the_listed_defaults_differ_between_services() -> None:
    for path, expected in PER_SERVICE_DEFAULTS.items():
        actual = {
            name: functools.reduce(
                lambda node, key: node[key],
                path.split("."),
                default_values()["services"][name],
            )
            for name in SERVICES
        }
        assert actual == expected, path


def _leaf_paths(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaf_paths(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


def test_every_value_is_documented_where_it_is_declared() -> None:
    documented = set(re.findall(r"## @param (\S+)", (CHART / "values.yaml").read_text()))

    def is_documented(path: str) -> bool:
        parts = path.split(".")
        return any(".".join(parts[:n]) in documented for n in range(len(parts), 0, -1))

    undocumented = [path for path in _leaf_paths(default_values()) if not is_documented(path)]
    assert undocumented == []


# ---------------------------------------------------------------------------------------------
# Every manifest is valid Kubernetes


def _check_service_monitor(monitor: dict[str, Any]) -> None:
    spec = monitor["spec"]
    assert set(spec) <= {"jobLabel", "selector", "endpoints", "namespaceSelector"}
    assert spec["selector"]["matchLabels"]
    for endpoint in spec["endpoints"]:
        assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout"}
        assert endpoint["port"] in ("http", "metrics") and endpoint["path"] == "/metrics"
        assert re.fullmatch(r"\d+(ms|s|m|h)", endpoint["interval"])


def _check_prometheus_rule(rule: dict[str, Any]) -> None:
    groups = rule["spec"]["groups"]
    assert set(rule["spec"]) == {"groups"} and groups
    for group in groups:
        assert set(group) == {"name", "rules"} and group["rules"]
        for alert in group["rules"]:
            assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", alert["alert"])
            assert isinstance(alert["expr"], str) and alert["expr"].strip()
            assert alert["labels"]["severity"] in ("warning", "critical")
            assert {"summary", "description"} <= set(alert["annotations"])
            if "for" in alert:
                assert re.fullmatch(r"\d+[smh]", alert["for"])


CUSTOM_RESOURCE_CHECKS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _check_service_monitor,
    ("monitoring.coreos.com/v1", "PrometheusRule"): _check_prometheus_rule,
}


@all_scenarios
def test_every_manifest_is_valid_for_kubernetes(scenario: str) -> None:
    problems = []
    for manifest in manifests_of(scenario):
        kind = f"{manifest['kind']}/{manifest['metadata']['name']}"
        custom_check = CUSTOM_RESOURCE_CHECKS.get((manifest["apiVersion"], manifest["kind"]))
        try:
            if custom_check:
                custom_check(manifest)
            else:
                kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except (kubernetes_validate.ValidationError, AssertionError, KeyError) as error:
            problems.append(f"{kind}: {getattr(error, 'message', error)!r}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{kind}: {error.message}")
    assert problems == []


@all_scenarios
def test_names_are_unique_dns_labels(scenario: str) -> None:
    seen = set()
    for manifest in manifests_of(scenario):
        name = manifest["metadata"]["name"]
        assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", name), name
        assert (manifest["kind"], name) not in seen, f"two {manifest['kind']}s named {name}"
        seen.add((manifest["kind"], name))
        assert manifest["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE


# ---------------------------------------------------------------------------------------------
# Processes: args, ports, probes, environment, security


@all_scenarios
def test_each_enabled_service_runs_http_grpc_and_worker_processes(
    scenario: str,
) -> None:
    deployments = by_name(manifests_of(scenario), "Deployment")
    expected = {
        component(scenario, service, process)
        for service in enabled_services(scenario)
        for process in processes_of(scenario, service)
    }
    assert set(deployments) == expected
    for service in enabled_services(scenario):
        for process in processes_of(scenario, service):
            container = only_container(deployments[component(scenario, service, process)]["spec"]["template"]["spec"])
            assert container["args"] == ["serve", service, process]
            assert "command" not in container, "the image's entrypoint is `crm`"


def _probe_target(container: dict[str, Any], probe: dict[str, Any]) -> tuple[str, str, int]:
    if "grpc" in probe:
        return ("grpc", "", probe["grpc"]["port"])
    return (
        "http",
        probe["httpGet"]["path"],
        port_number(container, probe["httpGet"]["port"]),
    )


@pytest.mark.parametrize(
    ("process", "liveness", "readiness", "ports"),
    [
        ("http", ("http", "/healthz", 8000), ("http", "/readyz", 8000), {"http": 8000}),
        (
            "grpc",
            ("grpc", "", 50051),
            ("grpc", "", 50051),
            {"grpc": 50051, "metrics": 9100},
        ),
        (
            "worker",
            ("http", "/healthz", 9100),
            ("http", "/readyz", 9100),
            {"metrics": 9100},
        ),
    ],
)
def test_probes_and_ports_follow_the_process_contract(
    process: str, liveness: tuple, readiness: tuple, ports: dict[str, int]
) -> None:
    deployments = by_name(manifests_of("default"), "Deployment")
    for service in SERVICES:
        container = only_container(deployments[component("default", service, process)]["spec"]["template"]["spec"])
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == ports
        assert _probe_target(container, container["livenessProbe"]) == liveness
        assert _probe_target(container, container["readinessProbe"]) == readiness


def test_a_disabled_probe_is_left_out() -> None:
    deployments = by_name(manifests_of("minimal-values.yaml"), "Deployment")
    container = only_container(deployments["crm-dev-tickets-grpc"]["spec"]["template"]["spec"])
    assert "readinessProbe" not in container and "livenessProbe" in container


@all_scenarios
def test_every_container_gets_the_platform_environment(scenario: str) -> None:
    values = values_of(scenario)
    for where, template in pod_specs(manifests_of(scenario)):
        service = template["metadata"]["labels"]["crm/service"]
        env = env_of(only_container(template["spec"]))
        database = values["services"][service]["database"]

        assert env["CRM_ENV"]["value"] == "production", where
        assert env["CRM_SERVICE"]["value"] == service, where
        if not values["externalDatabase"]["host"]:  # else composed by parts, see test_external_values.py
            assert env[f"{service.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
                "name": database["existingSecret"],
                "key": database["existingSecretKey"],
            }, where
        if not values["externalRabbitmq"]["host"]:
            assert env["CRM_AMQP_URL"]["valueFrom"]["secretKeyRef"] == {
                "name": values["amqp"]["existingSecret"],
                "key": values["amqp"]["existingSecretKey"],
            }, where
        assert env["CRM_JWT_JWKS_URL"]["value"] == values["auth"]["jwksUrl"], where
        assert env["CRM_JWT_AUDIENCE"]["value"] == values["auth"]["audience"], where
        assert env["CRM_JWT_ISSUER"]["value"] == values["auth"]["issuer"], where
        for other in SERVICES:  # every service can call every other, enabled here or not
            target = env[f"CRM_{other.upper()}_GRPC_TARGET"]["value"]
            assert target == grpc_target(scenario, other), where
        assert env["PROMETHEUS_MULTIPROC_DIR"]["value"] == "/tmp/metrics", where
        for extra in values["extraEnv"] + values["services"][service]["extraEnv"]:
            assert env[extra["name"]] == extra, where


@all_scenarios
def test_containers_run_unprivileged_on_a_read_only_root_with_a_writable_tmp(
    scenario: str,
) -> None:
    values = values_of(scenario)
    for where, template in pod_specs(manifests_of(scenario)):
        spec = template["spec"]
        container = only_container(spec)
        service = template["metadata"]["labels"]["crm/service"]
        process = template["metadata"]["labels"]["crm/process"]
        configured = process_values(values, service, process)

        if configured["containerSecurityContext"]["enabled"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["runAsNonRoot"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
        else:
            assert "securityContext" not in container, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["automountServiceAccountToken"] is False, where

        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], where
        assert "emptyDir" in volumes[mounts["/tmp/metrics"]], where


@all_scenarios
def test_images_come_from_the_configured_registry_with_the_app_version_by_default(
    scenario: str,
) -> None:
    values = values_of(scenario)
    for where, template in pod_specs(manifests_of(scenario)):
        image = values["services"][template["metadata"]["labels"]["crm/service"]]["image"]
        registry = values["global"]["imageRegistry"] or image["registry"]
        tag = image["tag"] or "0.1.0"
        assert only_container(template["spec"])["image"] == f"{registry}/{image['repository']}:{tag}"
        pull_secrets = [{"name": name} for name in values["global"]["imagePullSecrets"]]
        assert template["spec"].get("imagePullSecrets", []) == pull_secrets, where


def test_mailer_gets_its_smtp_relay_without_credentials_by_default() -> None:
    for where, template in pod_specs(manifests_of("default")):
        env = env_of(only_container(template["spec"]))
        if template["metadata"]["labels"]["crm/service"] == "mailer":
            assert env["MAILER_SMTP_HOST"]["value"] == "smtp-relay.mail.svc.cluster.local"
            assert env["MAILER_SMTP_PORT"]["value"] == "587"
            assert "MAILER_SMTP_USERNAME" not in env and "MAILER_SMTP_PASSWORD" not in env
        else:
            assert not any(name.startswith("MAILER_SMTP_") for name in env), where


def test_mailer_inbound_processing_goes_to_every_mailer_pod_and_only_its_two_values_pass(
    tmp_path: pathlib.Path,
) -> None:
    for where, template in pod_specs(manifests_of("default")):
        if template["metadata"]["labels"]["crm/service"] == "mailer":
            assert env_of(only_container(template["spec"]))["MAILER_INBOUND_PROCESSING"]["value"] == "listener", where
    rendered = render_valid(tmp_path, {"mailer": {"inbound": {"processing": "worker"}}})
    mailer_pods = [t for _, t in pod_specs(rendered) if t["metadata"]["labels"]["crm/service"] == "mailer"]
    assert len(mailer_pods) >= 3  # http, grpc, worker and smtp alike: the listener and the workers must agree
    assert {env_of(only_container(t["spec"]))["MAILER_INBOUND_PROCESSING"]["value"] for t in mailer_pods} == {"worker"}
    assert schema_errors(deep_merge(default_values(), {"mailer": {"inbound": {"processing": "threads"}}}))


def test_mailer_reads_smtp_credentials_from_the_existing_secret() -> None:
    for where, template in pod_specs(manifests_of("ha-values.yaml")):
        if template["metadata"]["labels"]["crm/service"] != "mailer":
            continue
        env = env_of(only_container(template["spec"]))
        assert env["MAILER_SMTP_HOST"]["value"] == "smtp.sendgrid.net", where
        assert env["MAILER_SMTP_USERNAME"]["valueFrom"]["secretKeyRef"] == {
            "name": "crm-smtp",
            "key": "username",
        }
        assert env["MAILER_SMTP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "crm-smtp",
            "key": "password",
        }


# ---------------------------------------------------------------------------------------------
# Services, Ingress, scaling


@all_scenarios
def test_each_service_object_selects_the_pods_of_exactly_one_process(
    scenario: str,
) -> None:
    manifests = manifests_of(scenario)
    deployments = of_kind(manifests, "Deployment")
    for service in of_kind(manifests, "Service"):
        name = service["metadata"]["name"]
        matching = [
            d for d in deployments if selects(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert [d["metadata"]["name"] for d in matching] == [name]
        container = only_container(matching[0]["spec"]["template"]["spec"])
        container_ports = {p["name"] for p in container["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in container_ports, f"{name}:{port['name']}"


@all_scenarios
def test_http_and_grpc_services_expose_the_contract_ports(scenario: str) -> None:
    services = by_name(manifests_of(scenario), "Service")
    metrics = values_of(scenario)["metrics"]["enabled"]
    for service in enabled_services(scenario):
        http = services[component(scenario, service, "http")]
        grpc = services[component(scenario, service, "grpc")]
        assert [(p["name"], p["port"]) for p in http["spec"]["ports"]] == [("http", 8000)]
        expected_grpc = [("grpc", 50051)] + ([("metrics", 9100)] if metrics else [])
        assert [(p["name"], p["port"]) for p in grpc["spec"]["ports"]] == expected_grpc
        assert grpc["spec"]["clusterIP"] == "None"  # headless: clients balance over every pod themselves
        worker = services.get(component(scenario, service, "worker"))
        if metrics:
            assert [(p["name"], p["port"]) for p in worker["spec"]["ports"]] == [("metrics", 9100)]
        else:
            assert worker is None


@all_scenarios
def test_ingress_routes_each_prefix_to_the_owning_service(scenario: str) -> None:
    manifests = manifests_of(scenario)
    ingress = gateway_ingress(manifests)
    services = by_name(manifests, "Service")
    (rule,) = ingress["spec"]["rules"]
    routes = {
        path["path"]: (
            path["pathType"],
            path["backend"]["service"]["name"],
            path["backend"]["service"]["port"]["name"],
        )
        for path in rule["http"]["paths"]
    }

    assert routes == {
        f"/v1/{service}": ("Prefix", component(scenario, service, "http"), "http")
        for service in enabled_services(scenario)
    }
    for _, backend, port in routes.values():
        assert port in {p["name"] for p in services[backend]["spec"]["ports"]}
    host = values_of(scenario)["ingress"]["host"]
    assert rule.get("host", "") == host


def test_ingress_serves_tls_with_the_configured_class_and_annotations() -> None:
    ingress = gateway_ingress(manifests_of("ha-values.yaml"))
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["api.crm.example.org"], "secretName": "crm-tls"}]
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"


@all_scenarios
def test_autoscaled_processes_get_an_hpa_and_no_fixed_replica_count(
    scenario: str,
) -> None:
    manifests = manifests_of(scenario)
    hpas = by_name(manifests, "HorizontalPodAutoscaler")
    deployments = by_name(manifests, "Deployment")
    for service in enabled_services(scenario):
        for process in PROCESSES:
            name = component(scenario, service, process)
            configured = values_of(scenario)["services"][service][process]
            if configured["autoscaling"]["enabled"]:
                hpa = hpas[name]["spec"]
                assert hpa["scaleTargetRef"] == {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": name,
                }
                assert hpa["minReplicas"] == configured["autoscaling"]["minReplicas"]
                assert hpa["maxReplicas"] == configured["autoscaling"]["maxReplicas"]
                (metric,) = hpa["metrics"]
                assert metric["resource"]["target"]["averageUtilization"] == (configured["autoscaling"]["targetCPU"])
                assert "replicas" not in deployments[name]["spec"]
            else:
                assert name not in hpas
                assert deployments[name]["spec"]["replicas"] == configured["replicas"]


@all_scenarios
def test_disruption_budgets_cover_the_pods_of_their_process(scenario: str) -> None:
    manifests = manifests_of(scenario)
    deployments = by_name(manifests, "Deployment")
    pdbs = by_name(manifests, "PodDisruptionBudget")
    for service in enabled_services(scenario):
        for process in PROCESSES:
            name = component(scenario, service, process)
            configured = values_of(scenario)["services"][service][process]["pdb"]
            if not configured["enabled"]:
                assert name not in pdbs
                continue
            pdb = pdbs[name]["spec"]
            assert pdb["minAvailable"] == configured["minAvailable"]
            pods = [
                d
                for d in deployments.values()
                if selects(
                    pdb["selector"]["matchLabels"],
                    d["spec"]["template"]["metadata"]["labels"],
                )
            ]
            assert [d["metadata"]["name"] for d in pods] == [name]


# ---------------------------------------------------------------------------------------------
# Migrations


@all_scenarios
def test_migration_jobs_run_before_install_and_upgrade(scenario: str) -> None:
    jobs = by_name(manifests_of(scenario), "Job")
    if not values_of(scenario)["migrations"]["enabled"]:
        assert jobs == {}
        return
    assert set(jobs) == {component(scenario, s, "migrate") for s in enabled_services(scenario)}
    for service in enabled_services(scenario):
        job = jobs[component(scenario, service, "migrate")]
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert re.fullmatch(r"-?\d+", annotations["helm.sh/hook-weight"])
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        assert only_container(pod)["args"] == ["migrate", service]


# ---------------------------------------------------------------------------------------------
# Disabled services and required secrets


@all_scenarios
def test_disabled_services_render_nothing(scenario: str) -> None:
    for manifest in manifests_of(scenario):
        labels = manifest["metadata"]["labels"]
        assert labels.get("crm/service") not in disabled_services(scenario), manifest["metadata"]
        text = json.dumps(manifest)
        for service in disabled_services(scenario):
            # Only the gRPC target that every container gets may mention a disabled service.
            text = text.replace(f'"{grpc_target(scenario, service)}"', "")
            assert f"/v1/{service}" not in text
            assert f"-{service}-" not in text


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"services": {"contacts": {"database": {"existingSecret": ""}}}},
            "services.contacts.database.existingSecret is required",
        ),
        ({"amqp": {"existingSecret": ""}}, "amqp.existingSecret is required"),
        (
            {"ingress": {"tls": True, "host": ""}},
            "ingress.host is required when ingress.tls is true",
        ),
    ],
)
def test_rendering_fails_with_a_clear_message_when_a_required_value_is_missing(
    tmp_path: pathlib.Path, override: dict[str, Any], message: str
) -> None:
    result = render(write_values(tmp_path, override))
    assert result.returncode != 0
    assert message in result.stderr


def test_a_disabled_service_needs_no_database_secret(tmp_path: pathlib.Path) -> None:
    override = {"services": {"reports": {"enabled": False, "database": {"existingSecret": ""}}}}
    manifests = render_manifests(write_values(tmp_path, override))
    assert not any(m["metadata"]["labels"].get("crm/service") == "reports" for m in manifests)


# ---------------------------------------------------------------------------------------------
# Observability


@all_scenarios
def test_service_monitors_scrape_every_process_of_each_enabled_service(
    scenario: str,
) -> None:
    manifests = manifests_of(scenario)
    values = values_of(scenario)["metrics"]
    monitors = by_name(manifests, "ServiceMonitor")
    if not (values["enabled"] and values["serviceMonitor"]["enabled"]):
        assert monitors == {}
        return
    services = of_kind(manifests, "Service")
    for service in enabled_services(scenario):
        monitor = monitors[f"{fullname(scenario)}-{service}"]
        for key, value in values["serviceMonitor"]["labels"].items():
            assert monitor["metadata"]["labels"][key] == value
        selected = [s for s in services if selects(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
        endpoint_ports = {e["port"] for e in monitor["spec"]["endpoints"]}
        scraped = {
            (s["metadata"]["name"], p["port"])
            for s in selected
            for p in s["spec"]["ports"]
            if p["name"] in endpoint_ports
        }
        assert scraped == {
            (component(scenario, service, process), 8000 if process == "http" else 9100)
            for process in processes_of(scenario, service)
        }


@all_scenarios
def test_prometheus_rules_alert_on_errors_outbox_lag_and_dead_letters(
    scenario: str,
) -> None:
    rules = of_kind(manifests_of(scenario), "PrometheusRule")
    if not values_of(scenario)["prometheusRule"]["enabled"]:
        assert rules == []
        return
    (rule,) = rules
    groups = {g["name"]: g["rules"] for g in rule["spec"]["groups"]}
    assert set(groups) == {f"crm-{service}" for service in enabled_services(scenario)}
    for service in enabled_services(scenario):
        exprs = " ".join(alert["expr"] for alert in groups[f"crm-{service}"])
        assert re.search(rf'crm_{service}_http_requests_total\{{status=~"5\.\."', exprs)
        server_codes = "UNKNOWN|INTERNAL|UNIMPLEMENTED|UNAVAILABLE|DEADLINE_EXCEEDED|DATA_LOSS"
        assert f'crm_{service}_grpc_requests_total{{code=~"{server_codes}"' in exprs
        assert "NOT_FOUND" not in exprs and "INVALID_ARGUMENT" not in exprs
        assert re.search(rf"crm_{service}_outbox_lag_seconds\{{[^}}]*\}}\) > 60\b", exprs)
        assert re.search(
            rf"increase\(crm_{service}_events_dead_lettered_total\{{[^}}]*\}}\[10m\]\)\) > 0",
            exprs,
        )
        assert all(a["labels"]["crm_service"] == service for a in groups[f"crm-{service}"])
        worker = f'up{{service="{component(scenario, service, "worker")}",namespace="{NAMESPACE}"}}'
        (down,) = [a for a in groups[f"crm-{service}"] if a["alert"] == "CrmWorkerDown"]
        assert down["expr"] == f"min by (namespace) ({worker}) == 0 or absent({worker})"


@all_scenarios
def test_grafana_dashboard_is_a_labelled_config_map_with_valid_json(
    scenario: str,
) -> None:
    config_maps = [
        m
        for m in of_kind(manifests_of(scenario), "ConfigMap")
        if m["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    if not values_of(scenario)["grafanaDashboard"]["enabled"]:
        assert config_maps == []
        return
    (config_map,) = config_maps
    (dashboard_json,) = config_map["data"].values()
    dashboard = json.loads(dashboard_json)
    assert dashboard["uid"] == "crm-overview" and dashboard["panels"]
    exprs = " ".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    assert "crm_${service}_http_requests_total" in exprs
    assert "crm_${service}_outbox_lag_seconds" in exprs


# What a dashboard may group or filter by: label sets fixed by the code (an event catalogue, a status list),
# never one that grows with the tenants (a workspace, a contact, an address): one series per value.
BOUNDED_LABELS = {"status", "le", "code", "type", "kind", "deployment", "namespace", "method", "route"}
_GROUPED = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_MATCHED = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")


def dashboard_of(scenario: str) -> dict[str, Any]:
    (config_map,) = [
        m
        for m in of_kind(manifests_of(scenario), "ConfigMap")
        if m["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    (dashboard_json,) = config_map["data"].values()
    return json.loads(dashboard_json)  # type: ignore[no-any-return]


def test_the_dashboard_shows_the_platforms_business_throughput() -> None:
    panels = {
        panel["title"]: [t["expr"] for t in panel["targets"]] for panel in dashboard_of("ha-values.yaml")["panels"]
    }

    (published,) = panels["Events published by type (platform)"]
    assert published.startswith("sum by (type) (")
    assert all(f"crm_{service}_events_published_total" in published for service in SERVICES)
    assert panels["Events consumed by type (${service})"][0].startswith(
        "sum by (type) (rate(crm_${service}_events_consumed_total"
    )
    outcomes = " ".join(panels["Mail outcomes (mailer)"])
    for counted in ("crm_mailer_mail_sent_total", "crm_mailer_mail_deferred_total", "crm_mailer_mail_failed_total"):
        assert counted in outcomes
    assert 'type="mailer.delivery.bounced"' in outcomes and 'type="mailer.message.suppressed"' in outcomes
    assert panels["Bounces read by kind (mailer)"] == [
        'sum by (kind) (rate(crm_mailer_inbound_bounces_total{namespace="$namespace"}[5m]))'
    ]


def test_the_dashboard_groups_and_filters_only_by_bounded_labels() -> None:
    exprs = [t["expr"] for panel in dashboard_of("ha-values.yaml")["panels"] for t in panel["targets"]]
    grouped = {label.strip() for expr in exprs for found in _GROUPED.findall(expr) for label in found.split(",")}
    matched = {label for expr in exprs for label in _MATCHED.findall(expr)}

    assert grouped and grouped <= BOUNDED_LABELS
    assert matched and matched <= BOUNDED_LABELS
    assert not {"workspace_id", "workspace", "contact_id", "recipient"} & (grouped | matched)


# ---------------------------------------------------------------------------------------------
# Persistent file storage


def _data_volume(template: dict[str, Any]) -> tuple[dict | None, dict | None]:
    """The (volume, mount) that put a PersistentVolumeClaim into a pod, or (None, None)."""
    spec = template["spec"]
    claims = {v["name"]: v for v in spec["volumes"] if "persistentVolumeClaim" in v}
    mounts = [m for m in only_container(spec)["volumeMounts"] if m["name"] in claims]
    assert len(claims) <= 1 and len(mounts) == len(claims)
    return (claims[mounts[0]["name"]], mounts[0]) if mounts else (None, None)


def _storage_env(template: dict[str, Any]) -> dict[str, str]:
    env = env_of(only_container(template["spec"]))
    return {name: var["value"] for name, var in env.items() if "STORAGE_DIR" in name}


def _check_storage(
    manifests: tuple[dict[str, Any], ...] | list[dict[str, Any]],
    values: dict[str, Any],
    prefix: str,
) -> None:
    """Claims, mounts and <SVC>_STORAGE_DIR are exactly what each service's persistence asks for."""
    expected_claims = set()
    for where, template in pod_specs(tuple(manifests)):
        service = template["metadata"]["labels"]["crm/service"]
        process = template["metadata"]["labels"]["crm/process"]
        persistence = values["services"][service]["persistence"]
        volume, mount = _data_volume(template)
        if persistence["enabled"] and process in ("http", "worker"):
            claim = persistence["existingClaim"] or f"{prefix}-{service}-data"
            if not persistence["existingClaim"]:
                expected_claims.add(claim)
            assert volume["persistentVolumeClaim"] == {"claimName": claim}, where
            assert mount["mountPath"] == persistence["mountPath"], where
            assert not mount.get("readOnly"), where
            assert _storage_env(template) == {f"{service.upper()}_STORAGE_DIR": persistence["mountPath"]}, where
        else:
            assert volume is None, where
            assert _storage_env(template) == {}, where
        container = only_container(template["spec"])
        if "securityContext" in container:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
    claims = by_name(tuple(manifests), "PersistentVolumeClaim")
    assert set(claims) == expected_claims


@all_scenarios
def test_http_and_worker_pods_mount_the_data_volume_and_others_do_not(
    scenario: str,
) -> None:
    _check_storage(manifests_of(scenario), values_of(scenario), fullname(scenario))


def test_contacts_data_claim_is_created_and_kept_on_uninstall_by_default() -> None:
    manifests = manifests_of("default")
    claims = by_name(manifests, "PersistentVolumeClaim")
    assert set(claims) == {"crm-contacts-data"}
    claim = claims["crm-contacts-data"]
    assert claim["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert claim["metadata"]["labels"]["crm/service"] == "contacts"
    assert claim["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "10Gi"}},
    }  # no storageClassName: the cluster's default class

    deployments = by_name(manifests, "Deployment")
    for process in ("http", "worker"):
        template = deployments[f"crm-contacts-{process}"]["spec"]["template"]
        volume, mount = _data_volume(template)
        assert volume["persistentVolumeClaim"]["claimName"] == "crm-contacts-data"
        assert mount["mountPath"] == "/data"
        assert _storage_env(template) == {"CONTACTS_STORAGE_DIR": "/data"}
    grpc = deployments["crm-contacts-grpc"]["spec"]["template"]
    assert _data_volume(grpc) == (None, None)
    assert "CONTACTS_STORAGE_DIR" not in env_of(only_container(grpc["spec"]))
    migrate = by_name(manifests, "Job")["crm-contacts-migrate"]["spec"]["template"]
    assert _data_volume(migrate) == (None, None) and _storage_env(migrate) == {}


def test_an_existing_claim_is_mounted_instead_of_creating_one() -> None:
    manifests = manifests_of("ha-values.yaml")
    assert of_kind(manifests, "PersistentVolumeClaim") == []
    deployments = by_name(manifests, "Deployment")
    for process in ("http", "worker"):
        template = deployments[f"crm-contacts-{process}"]["spec"]["template"]
        volume, mount = _data_volume(template)
        assert volume["persistentVolumeClaim"] == {"claimName": "crm-contacts-files"}
        assert mount["mountPath"] == "/var/lib/crm/contacts"
        assert _storage_env(template) == {"CONTACTS_STORAGE_DIR": "/var/lib/crm/contacts"}
        env = env_of(only_container(template["spec"]))
        assert env["CONTACTS_MAX_FILE_BYTES"]["value"] == "26214400"


def test_disabled_persistence_renders_no_claim_volume_or_storage_env() -> None:
    manifests = manifests_of("minimal-values.yaml")
    assert of_kind(manifests, "PersistentVolumeClaim") == []
    for where, template in pod_specs(manifests):
        assert _data_volume(template) == (None, None), where
        assert _storage_env(template) == {}, where
    assert "STORAGE_DIR" not in json.dumps(manifests)


def test_storage_settings_reach_the_claim_and_any_service_can_have_a_volume(
    tmp_path: pathlib.Path,
) -> None:
    override = {
        "services": {
            "contacts": {
                "persistence": {
                    "size": "50Gi",
                    "storageClass": "efs-rwx",
                    "mountPath": "/srv/files",
                    "annotations": {
                        "backup.velero.io/backup-volumes": "data",
                        "helm.sh/resource-policy": "delete",  # the keep policy wins
                    },
                }
            },
            "tickets": {
                "persistence": {
                    "enabled": True,
                    "storageClass": "-",
                    "accessModes": ["ReadWriteOnce"],
                }
            },
            "reports": {"enabled": False, "persistence": {"enabled": True}},
        }
    }
    values = deep_merge(default_values(), override)
    assert schema_errors(values) == []
    manifests = render_manifests(write_values(tmp_path, override))

    _check_storage(manifests, values, RELEASE)
    claims = by_name(tuple(manifests), "PersistentVolumeClaim")
    assert set(claims) == {"crm-contacts-data", "crm-tickets-data"}
    contacts, tickets = claims["crm-contacts-data"], claims["crm-tickets-data"]
    assert contacts["metadata"]["annotations"] == {
        "backup.velero.io/backup-volumes": "data",
        "helm.sh/resource-policy": "keep",
    }
    assert contacts["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert contacts["spec"]["storageClassName"] == "efs-rwx"
    assert tickets["spec"]["storageClassName"] == ""  # "-": no dynamic provisioning
    assert tickets["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert tickets["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    deployments = by_name(tuple(manifests), "Deployment")
    assert _storage_env(deployments["crm-tickets-worker"]["spec"]["template"]) == {"TICKETS_STORAGE_DIR": "/data"}
    for claim in claims.values():
        kubernetes_validate.validate(claim, KUBERNETES_VERSION, strict=True)
    for deployment in deployments.values():
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    ("key", "bad_value", "error"),
    [
        ("size", 10, "size: 10 is not of type 'string'"),
        ("size", "10 GB", "size: '10 GB' does not match"),
        (
            "accessModes",
            ["ReadWriteSometimes"],
            "accessModes.0: 'ReadWriteSometimes' is not one of",
        ),
        ("accessModes", [], "accessModes: [] should be non-empty"),
        ("mountPath", "data", "mountPath: 'data' does not match"),
        ("mountPath", "/tmp", "mountPath: '/tmp' should not be valid"),
        (
            "existingClaim",
            "Contacts_Files",
            "existingClaim: 'Contacts_Files' does not match",
        ),
        ("sizeLimit", "1Gi", "Additional properties are not allowed ('sizeLimit'"),
    ],
)
def test_schema_rejects_a_wrong_persistence_value(key: str, bad_value: Any, error: str) -> None:
    values = copy.deepcopy(default_values())
    values["services"]["contacts"]["persistence"][key] = bad_value

    errors = schema_errors(values)

    assert any(e.startswith("services.contacts.persistence") and error in e for e in errors), errors


@pytest.mark.parametrize("size", ["10Gi", "500Mi", "1.5Ti", "1G", "1e9"])
def test_schema_accepts_kubernetes_quantities_as_the_size(size: str) -> None:
    values = copy.deepcopy(default_values())
    values["services"]["mailer"]["persistence"]["size"] = size
    assert schema_errors(values) == []
