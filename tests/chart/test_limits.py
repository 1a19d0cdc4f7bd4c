"""The chart's limits: every service gets its body caps and rate limits from values, and the Ingress carries
ingress-nginx annotations that match them (the body cap is the largest any endpoint takes)."""

from __future__ import annotations

import pathlib
from typing import Any

from tests.chart.test_chart import (
    SERVICES,
    env_of,
    gateway_ingress,
    manifests_of,
    only_container,
    pod_specs,
    render_manifests,
    schema_errors,
    values_of,
    write_values,
)

NGINX = "nginx.ingress.kubernetes.io/"


def ingress_annotations(manifests: tuple[dict[str, Any], ...]) -> dict[str, str]:
    return gateway_ingress(manifests)["metadata"].get("annotations", {})  # type: ignore[no-any-return]


def test_every_process_gets_the_body_cap_and_rate_limits_and_contacts_its_upload_caps() -> None:
    manifests = manifests_of("default")
    limits = values_of("default")["limits"]

    for name, template in pod_specs(manifests):
        env = env_of(only_container(template["spec"]))
        assert env["CRM_MAX_JSON_BODY_BYTES"]["value"] == str(limits["maxJsonBodyBytes"]), name
        assert env["CRM_RATE_LIMIT_PER_TOKEN"]["value"] == "1200", name
        assert env["CRM_RATE_LIMIT_PER_WORKSPACE"]["value"] == "6000", name
        is_contacts = "-contacts-" in name
        assert ("CONTACTS_MAX_IMPORT_BYTES" in env) == is_contacts, name
        if is_contacts:
            assert env["CONTACTS_MAX_FILE_BYTES"]["value"] == "26214400"
            assert env["CONTACTS_MAX_IMPORT_BYTES"]["value"] == "33554432"
            assert env["CONTACTS_MAX_ICON_BYTES"]["value"] == "65536"
    assert len(SERVICES) == 5


def test_the_ingress_caps_bodies_at_the_largest_upload_and_limits_each_client() -> None:
    for scenario in ("default", "ha-values.yaml", "minimal-values.yaml"):
        annotations = ingress_annotations(manifests_of(scenario))

        assert annotations[NGINX + "proxy-body-size"] == str(32 * 1024 * 1024 + 64 * 1024), scenario
        assert annotations[NGINX + "proxy-request-buffering"] == "on"
        assert annotations[NGINX + "limit-rpm"] == "6000"
        assert annotations[NGINX + "limit-burst-multiplier"] == "1"
        assert annotations[NGINX + "limit-connections"] == "100"
    assert ingress_annotations(manifests_of("ha-values.yaml"))["cert-manager.io/cluster-issuer"] == "letsencrypt"


def test_the_ingress_body_cap_follows_the_upload_caps_and_an_operator_annotation_wins(tmp_path: pathlib.Path) -> None:
    bigger = render_manifests(write_values(tmp_path, {"limits": {"contactsMaxFileBytes": 100 * 1024 * 1024}}))
    overridden = render_manifests(
        write_values(
            tmp_path, {"ingress": {"annotations": {NGINX + "limit-rpm": "60", NGINX + "proxy-body-size": "1m"}}}
        )
    )
    off = render_manifests(write_values(tmp_path, {"limits": {"ingress": {"enabled": False}}}))

    assert ingress_annotations(bigger)[NGINX + "proxy-body-size"] == str(100 * 1024 * 1024 + 64 * 1024)
    contacts_env = [
        env_of(only_container(t["spec"])) for name, t in pod_specs(bigger) if name == "Deployment/crm-contacts-http"
    ]
    assert contacts_env and contacts_env[0]["CONTACTS_MAX_FILE_BYTES"]["value"] == "104857600"
    assert ingress_annotations(overridden)[NGINX + "limit-rpm"] == "60"
    assert ingress_annotations(overridden)[NGINX + "proxy-body-size"] == "1m"
    assert not any(key.startswith(NGINX) for key in ingress_annotations(off))


def test_the_schema_refuses_a_negative_rate_limit_and_a_zero_body_cap() -> None:
    values = values_of("default")
    assert schema_errors(values) == []
    for key, bad in (("rateLimitPerToken", -1), ("maxJsonBodyBytes", 0), ("contactsMaxImportBytes", "32m")):
        broken = {**values, "limits": {**values["limits"], key: bad}}
        assert schema_errors(broken), key
