"""Conversations' `realtime` process in the chart: its Deployment, Service, the Ingress path that carries the
WebSocket upgrade with its own timeouts, probes, NetworkPolicy and scaling, all from realtime."""

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
    render_valid,
    schema_errors,
)

REALTIME = component("default", "conversations", "realtime")


def realtime_container(manifests: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    return only_container(by_name(manifests, "Deployment")[REALTIME]["spec"]["template"]["spec"])


def test_the_realtime_process_listens_on_8090_and_is_probed_on_its_metrics_port() -> None:
    manifests = manifests_of("default")
    container = realtime_container(manifests)

    assert container["args"] == ["serve", "conversations", "realtime"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"realtime": 8090, "metrics": 9100}
    assert env_of(container)["CONVERSATIONS_REALTIME_PORT"]["value"] == "8090"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert by_name(manifests, "Deployment")[REALTIME]["spec"]["replicas"] == 2
    assert REALTIME in by_name(manifests, "PodDisruptionBudget")


def test_the_ingress_routes_the_realtime_path_to_its_service_with_websocket_timeouts() -> None:
    manifests = manifests_of("default")
    service = by_name(manifests, "Service")[REALTIME]
    [ingress] = [m for m in manifests if m["kind"] == "Ingress" and m["metadata"]["name"].endswith("-realtime")]

    assert {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}["realtime"] == (
        8090,
        "realtime",
    )
    [rule] = ingress["spec"]["rules"]
    [path] = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/v1/conversations/realtime", "Prefix")
    assert path["backend"]["service"] == {"name": REALTIME, "port": {"name": "realtime"}}
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "3600"


def test_only_the_ingress_controller_reaches_the_realtime_port() -> None:
    policy = by_name(manifests_of("default"), "NetworkPolicy").get(REALTIME)
    if policy is None:  # the default scenario may leave NetworkPolicies off
        return
    [rule] = [r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == "realtime"]
    assert "namespaceSelector" in rule["from"][0]


def test_the_realtime_process_can_be_left_out(tmp_path: pathlib.Path) -> None:
    manifests = render_valid(tmp_path, {"realtime": {"enabled": False}})

    for kind in ("Deployment", "Service", "NetworkPolicy"):
        assert REALTIME not in by_name(manifests, kind), kind
    assert not [m for m in manifests if m["kind"] == "Ingress" and m["metadata"]["name"].endswith("-realtime")]
    assert component("default", "conversations", "worker") in by_name(manifests, "Deployment")


def test_the_realtime_process_scales_like_any_process(tmp_path: pathlib.Path) -> None:
    server = {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 8}}
    manifests = render_valid(tmp_path, {"realtime": {"server": server}, "networkPolicy": {"enabled": True}})

    assert by_name(manifests, "HorizontalPodAutoscaler")[REALTIME]["spec"]["maxReplicas"] == 8
    assert "replicas" not in by_name(manifests, "Deployment")[REALTIME]["spec"]
    policy = by_name(manifests, "NetworkPolicy")[REALTIME]
    assert {r["ports"][0]["port"] for r in policy["spec"]["ingress"]} == {"realtime", "metrics"}


def test_the_schema_refuses_a_relative_path_or_an_unknown_key() -> None:
    for override in (
        {"realtime": {"path": "v1/conversations/realtime"}},
        {"realtime": {"idleTimeoutSeconds": 5}},
        {"realtime": {"sever": {}}},
    ):
        assert schema_errors(deep_merge(default_values(), override)) != [], override
