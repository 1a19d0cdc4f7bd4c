"""Chart tier, gRPC security: the NetworkPolicies that fence each port, and the service keys every pod gets."""

from __future__ import annotations

import pathlib
from typing import Any

import kubernetes_validate
import pytest

from tests.chart.test_chart import (
    KUBERNETES_VERSION,
    RELEASE,
    SCENARIOS,
    by_name,
    component,
    enabled_services,
    env_of,
    fullname,
    manifests_of,
    of_kind,
    only_container,
    pod_specs,
    processes_of,
    render,
    render_manifests,
    selects,
    values_of,
    write_values,
)

scenarios = pytest.mark.parametrize("scenario", list(SCENARIOS))


def pod_labels(scenario: str) -> dict[str, dict[str, str]]:
    """The pod labels of every Deployment, by Deployment name."""
    return {
        deployment["metadata"]["name"]: deployment["spec"]["template"]["metadata"]["labels"]
        for deployment in of_kind(manifests_of(scenario), "Deployment")
    }


ANYWHERE: dict[str, Any] = {"from": "anywhere"}  # a rule without `from`: any source (the SMTP port)


def rules_of(policy: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Who may connect, by port name."""
    rules: dict[str, list[dict[str, Any]]] = {}
    for rule in policy["spec"]["ingress"]:
        for port in rule["ports"]:
            rules.setdefault(port["port"], []).extend(rule.get("from", [ANYWHERE]))
    return rules


def namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


@scenarios
def test_each_port_is_reachable_only_from_who_needs_it(scenario: str) -> None:
    policies = by_name(manifests_of(scenario), "NetworkPolicy")
    values = values_of(scenario)["networkPolicy"]
    pods = pod_labels(scenario)
    ingress, monitoring = namespace(values["ingressNamespace"]), namespace(values["monitoringNamespace"])

    assert len(policies) == sum(len(processes_of(scenario, service)) for service in enabled_services(scenario))
    for service in enabled_services(scenario):
        for process in processes_of(scenario, service):
            name = component(scenario, service, process)
            policy = policies[name]
            selected = [
                pod for pod, labels in pods.items() if selects(policy["spec"]["podSelector"]["matchLabels"], labels)
            ]
            assert selected == [name]
            assert policy["spec"]["policyTypes"] == ["Ingress"]
            rules = rules_of(policy)
            if process == "http":
                assert rules == {"http": [ingress]}, name
            elif process == "grpc":
                assert rules.keys() == {"grpc", "metrics"} and rules["metrics"] == [monitoring], name
                [own_pods] = rules["grpc"]
                assert set(own_pods) == {"podSelector"}  # no namespaceSelector: this namespace only
                assert all(selects(own_pods["podSelector"]["matchLabels"], labels) for labels in pods.values())
                assert own_pods["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == RELEASE
            elif process == "realtime":  # the WebSocket comes through the Ingress controller, as the APIs do
                assert rules == {"realtime": [ingress], "metrics": [monitoring]}, name
            elif process == "smtp":  # mail comes from anywhere unless mailer.inbound.networkPolicy.allowFrom says
                assert rules == {"smtp": [ANYWHERE], "metrics": [monitoring]}, name
            else:
                assert rules == {"metrics": [monitoring]}, name


def test_the_ingress_and_monitoring_namespaces_are_settings(tmp_path: pathlib.Path) -> None:
    override = {"networkPolicy": {"ingressNamespace": "traefik", "monitoringNamespace": "observability"}}
    policies = by_name(tuple(render_manifests(write_values(tmp_path, override))), "NetworkPolicy")

    assert rules_of(policies[component("default", "contacts", "http")]) == {"http": [namespace("traefik")]}
    assert rules_of(policies[component("default", "mailer", "worker")]) == {"metrics": [namespace("observability")]}


def test_network_policies_can_be_left_to_the_cluster(tmp_path: pathlib.Path) -> None:
    manifests = render_manifests(write_values(tmp_path, {"networkPolicy": {"enabled": False}}))

    assert [m for m in manifests if m["kind"] == "NetworkPolicy"] == []


@scenarios
def test_every_pod_gets_its_own_service_key_the_trusted_keys_and_listens_on_every_address(scenario: str) -> None:
    values = values_of(scenario)
    secret = values["grpcAuth"]["existingSecret"] or f"{fullname(scenario)}-service-keys"
    for where, template in pod_specs(manifests_of(scenario)):
        service = template["metadata"]["labels"]["crm/service"]
        env = env_of(only_container(template["spec"]))

        assert env[f"{service.upper()}_SERVICE_KEY"]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": service}
        assert [name for name in env if name.endswith("_SERVICE_KEY")] == [f"{service.upper()}_SERVICE_KEY"], where
        assert env["CRM_TRUSTED_SERVICE_KEYS"]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": "trusted"}
        assert env["CRM_LISTEN_HOST"]["value"] == values["listen"]["host"], where
        assert env["CRM_GRPC_REFLECTION"]["value"] == str(values["grpcAuth"]["reflection"]).lower(), where


def test_without_an_existing_secret_the_chart_makes_one_from_the_keys_in_values(tmp_path: pathlib.Path) -> None:
    keys = {service: f"{service[0]}" * 43 for service in ("contacts", "tickets", "conversations", "mailer", "reports")}
    override = {"grpcAuth": {"existingSecret": "", "privateKeys": keys, "trusted": "contacts:abc"}}
    manifests = tuple(render_manifests(write_values(tmp_path, override)))

    secret = by_name(manifests, "Secret")[f"{RELEASE}-service-keys"]
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)
    assert secret["stringData"] == {**keys, "trusted": "contacts:abc"}
    contacts_http = next(
        t for w, t in pod_specs(manifests) if w == f"Deployment/{component('default', 'contacts', 'http')}"
    )
    ref = env_of(only_container(contacts_http["spec"]))["CONTACTS_SERVICE_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": f"{RELEASE}-service-keys", "key": "contacts"}


def test_without_an_existing_secret_a_missing_key_fails_rendering_with_its_name(tmp_path: pathlib.Path) -> None:
    override = {"grpcAuth": {"existingSecret": "", "privateKeys": {"contacts": "c" * 43}, "trusted": "contacts:abc"}}

    result = render(write_values(tmp_path, override))

    assert result.returncode != 0
    assert "grpcAuth.privateKeys.conversations is required" in result.stderr
