"""The mailer's `smtp` process in the chart: its Deployment, Service (ClusterIP or LoadBalancer), probes,
NetworkPolicy, settings and STARTTLS certificate, all from mailer.inbound."""

from __future__ import annotations

import pathlib
from typing import Any

from test_chart import (
    by_name,
    component,
    deep_merge,
    default_values,
    env_of,
    manifests_of,
    only_container,
    port_number,
    render_valid,
    schema_errors,
)

SMTP = component("default", "mailer", "smtp")


def smtp_container(manifests: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    return only_container(by_name(manifests, "Deployment")[SMTP]["spec"]["template"]["spec"])


def test_the_smtp_process_listens_on_2525_and_is_probed_on_its_metrics_port() -> None:
    container = smtp_container(manifests_of("default"))

    assert container["args"] == ["serve", "mailer", "smtp"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"smtp": 2525, "metrics": 9100}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"]["path"] == path
        assert port_number(container, container[probe]["httpGet"]["port"]) == 9100
    env = env_of(container)
    assert env["MAILER_INBOUND_SMTP_PORT"]["value"] == "2525"
    assert env["MAILER_INBOUND_DOMAIN"]["value"] == "inbound.example.com"
    assert env["MAILER_INBOUND_MAX_BYTES"]["value"] == "26214400"
    assert "MAILER_INBOUND_TLS_CERT" not in env and "MAILER_INBOUND_AUTHSERV_ID" not in env


def test_every_mailer_process_knows_the_inbound_domain() -> None:
    deployments = by_name(manifests_of("default"), "Deployment")
    for process in ("http", "grpc", "worker", "smtp"):
        container = only_container(deployments[component("default", "mailer", process)]["spec"]["template"]["spec"])
        assert env_of(container)["MAILER_INBOUND_DOMAIN"]["value"] == "inbound.example.com", process


def test_the_listener_service_is_cluster_ip_on_port_25_by_default() -> None:
    service = by_name(manifests_of("default"), "Service")[SMTP]

    assert service["spec"]["type"] == "ClusterIP"
    assert {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        "smtp": (25, "smtp"),
        "metrics": (9100, "metrics"),
    }


def test_a_load_balancer_takes_mail_from_the_internet_with_its_source_ranges(tmp_path: pathlib.Path) -> None:
    override = {
        "mailer": {
            "inbound": {
                "domain": "in.acme.example",
                "authservId": "mx.acme.example",
                "service": {
                    "type": "LoadBalancer",
                    "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
                    "loadBalancerSourceRanges": ["203.0.113.0/24"],
                    "externalTrafficPolicy": "Local",
                },
                "networkPolicy": {"allowFrom": ["203.0.113.0/24"]},
                "tls": {"existingSecret": "crm-inbound-tls"},
            }
        }
    }
    manifests = render_valid(tmp_path, override)
    service = by_name(manifests, "Service")[SMTP]
    policy = by_name(manifests, "NetworkPolicy")[SMTP]
    deployment = by_name(manifests, "Deployment")[SMTP]
    container = smtp_container(manifests)
    env = env_of(container)

    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["loadBalancerSourceRanges"] == ["203.0.113.0/24"]
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    assert service["metadata"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    [smtp_rule] = [r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == "smtp"]
    assert smtp_rule["from"] == [{"ipBlock": {"cidr": "203.0.113.0/24"}}]
    assert env["MAILER_INBOUND_DOMAIN"]["value"] == "in.acme.example"
    assert env["MAILER_INBOUND_AUTHSERV_ID"]["value"] == "mx.acme.example"
    assert env["MAILER_INBOUND_TLS_CERT"]["value"] == "/etc/crm/inbound-tls/tls.crt"
    assert env["MAILER_INBOUND_TLS_KEY"]["value"] == "/etc/crm/inbound-tls/tls.key"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["inbound-tls"]["secret"]["secretName"] == "crm-inbound-tls"
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["inbound-tls"] == {"name": "inbound-tls", "mountPath": "/etc/crm/inbound-tls", "readOnly": True}
    http = only_container(
        by_name(manifests, "Deployment")[component("default", "mailer", "http")]["spec"]["template"]["spec"]
    )
    assert "MAILER_INBOUND_TLS_CERT" not in env_of(http)  # only the listener holds the certificate


def test_the_listener_can_be_left_out(tmp_path: pathlib.Path) -> None:
    manifests = render_valid(tmp_path, {"mailer": {"inbound": {"enabled": False}}})

    for kind in ("Deployment", "Service", "NetworkPolicy"):
        assert SMTP not in by_name(manifests, kind), kind
    assert component("default", "mailer", "worker") in by_name(manifests, "Deployment")


def test_the_listener_scales_like_any_process(tmp_path: pathlib.Path) -> None:
    listener = {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}, "pdb": {"enabled": True}}
    manifests = render_valid(tmp_path, {"mailer": {"inbound": {"listener": listener}}})

    assert by_name(manifests, "HorizontalPodAutoscaler")[SMTP]["spec"]["maxReplicas"] == 5
    assert SMTP in by_name(manifests, "PodDisruptionBudget")
    assert "replicas" not in by_name(manifests, "Deployment")[SMTP]["spec"]


def test_the_schema_refuses_a_wrong_service_type_or_domain() -> None:
    for override in (
        {"mailer": {"inbound": {"service": {"type": "ExternalName"}}}},
        {"mailer": {"inbound": {"domain": "not a domain"}}},
        {"mailer": {"inbound": {"maxBytes": 0}}},
        {"mailer": {"inbound": {"listner": {}}}},
    ):
        assert schema_errors(deep_merge(default_values(), override)) != [], override


def test_every_mailer_process_reads_the_keys_production_requires_from_one_secret(tmp_path: pathlib.Path) -> None:
    """Without MAILER_DKIM_ENCRYPTION_KEYS and MAILER_TOKEN_KEY a production mailer stops at start."""
    deployments = by_name(manifests_of("default"), "Deployment")
    for process in ("http", "grpc", "worker", "smtp"):
        env = env_of(only_container(deployments[component("default", "mailer", process)]["spec"]["template"]["spec"]))
        assert env["MAILER_DKIM_ENCRYPTION_KEYS"]["valueFrom"]["secretKeyRef"] == {
            "name": "crm-mailer-keys",
            "key": "dkim-encryption-keys",
        }, process
        assert env["MAILER_TOKEN_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "crm-mailer-keys", "key": "token-key"}
        assert "MAILER_PUBLIC_URL" not in env

    override = {"mailer": {"keys": {"existingSecret": "mail-keys"}, "publicUrl": "https://crm.acme.test"}}
    deployments = by_name(render_valid(tmp_path, override), "Deployment")
    env = env_of(only_container(deployments[component("default", "mailer", "worker")]["spec"]["template"]["spec"]))
    assert env["MAILER_TOKEN_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "mail-keys"
    assert env["MAILER_PUBLIC_URL"]["value"] == "https://crm.acme.test"
    assert schema_errors(deep_merge(default_values(), {"mailer": {"publicUrl": "crm.acme.test"}})) != []
