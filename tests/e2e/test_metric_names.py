"""Every metric the chart's alerts and dashboard query is exported by some process of the platform.

The names come from the PromQL of the PrometheusRule and Grafana dashboard as the chart renders them;
what is exported comes from the ``/metrics`` of ``crm run``, which builds every service's registries
(HTTP, gRPC, worker and its loops) in one process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from crm_platform.service import discover
from tests.chart.test_chart import SERVICES, manifests_of, of_kind
from tests.e2e.conftest import AllInOneProcess

SCENARIO = "ha-values.yaml"  # the CI scenario with the PrometheusRule and the dashboard enabled
# Series other exporters provide; the platform does not.
EXTERNAL = {
    "up": "Prometheus itself, one per scrape target",
    "kube_deployment_status_replicas_available": "kube-state-metrics",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SELECTED = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")
_TYPE = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)
_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def metric_names(expr: str) -> set[str]:
    """The metric of every selector (``name{...}``) of a PromQL expression; label values are left out."""
    return set(_SELECTED.findall(_STRING.sub('""', expr)))


def alert_exprs() -> list[str]:
    (rule,) = of_kind(manifests_of(SCENARIO), "PrometheusRule")
    return [alert["expr"] for group in rule["spec"]["groups"] for alert in group["rules"]]


def dashboard_exprs() -> list[str]:
    (config_map,) = [
        m
        for m in of_kind(manifests_of(SCENARIO), "ConfigMap")
        if m["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    (dashboard_json,) = config_map["data"].values()
    panels: list[dict[str, Any]] = json.loads(dashboard_json)["panels"]
    templated = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    return [expr.replace("${service}", service) for expr in templated for service in SERVICES]


def sample_names(exposition: str) -> set[str]:
    """The series names each exported family offers (a histogram's ``_bucket``, ``_sum``, ``_count``, ...)."""
    names = set()
    for family, kind in _TYPE.findall(exposition):
        base = family.removesuffix("_total") if kind == "counter" else family
        names |= {base + suffix for suffix in _SUFFIXES.get(kind, ("",))}
    return names


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process = AllInOneProcess(tmp_path_factory.mktemp("metrics") / "var")
    try:
        yield requests.get(process.url + "/metrics", timeout=30).text
    finally:
        process.stop()


@pytest.mark.parametrize("source", [alert_exprs, dashboard_exprs], ids=["alerts", "dashboard"])
def test_every_metric_the_chart_queries_is_exported_by_some_process(source: Any, exposition: str) -> None:
    exprs = source()
    assert exprs and all(metric_names(expr) for expr in exprs), "an expression without a metric selector"
    queried = set().union(*map(metric_names, exprs)) - set(EXTERNAL)
    exported = sample_names(exposition)
    assert queried and exported
    assert sorted(queried - exported) == []


def test_the_metric_name_extraction_reads_selectors_not_label_values() -> None:
    expr = 'sum by (le) (rate(crm_a_x_bucket{status=~"5..",d=~".*-b{1}"}[5m])) or absent(up{job="w"})'
    assert metric_names(expr) == {"crm_a_x_bucket", "up"}


def test_event_counters_that_alerts_read_start_at_zero_for_every_consumed_type(exposition: str) -> None:
    """``increase()`` needs a sample before the first dead letter, or the first one goes unseen."""
    expected = {
        f'crm_{name}_events_dead_lettered_total{{type="{event_type}"}} 0.0'
        for name, spec in discover().items()
        for event_type in spec.subscriptions.bindings
    }
    assert expected, "no service consumes events"
    assert sorted(line for line in expected if line not in exposition.splitlines()) == []
