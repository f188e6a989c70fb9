"""What consul-template renders from the watcher's template for a ``/v1/health/service/<name>`` response.

consul-template is not installable here (no Debian or PyPI package; ``apt-cache policy consul-template``
finds nothing), so the tests pin the template text byte for byte (:data:`EXPECTED_TEMPLATE`) and render
it with this model of exactly the functions it uses, as consul-template v0.42 implements them:

- ``service "<name>@<dc>"`` without a filter is ``health.service`` with the ``passing`` filter
  (``dependency/health_service.go``: ``filters = []string{HealthPassing}``): Consul is asked with
  ``?passing`` and every entry whose checks' aggregated status is not ``passing`` is dropped
  (``acceptStatus``; Consul's ``AggregatedStatus``: maintenance > critical > warning > passing, no checks
  = passing);
- each entry's ``.Address`` is the service address, or the node's when that is empty;
- the list is sorted by node name, then service ID (``ByNodeThenID``);
- ``with`` skips an empty list, ``index . 0`` is the first entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

EXPECTED_TEMPLATE = (
    "{{- /* secure-mesh: the first passing instance by node name, then service ID (consul-template's order) */ -}}"
    "\n"
    '{{- with service "orders-db@dc1" -}}'
    "{{- with index . 0 -}}{{ .Address }} {{ .Port }}{{- end -}}"
    "{{- end -}}\n"
)
"""The only template text the model renders (``{{-``/``-}}`` trim every newline, so the output has none)."""

MAINTENANCE_PREFIXES = ("_node_maintenance", "_service_maintenance:")


def aggregated_status(checks: Sequence[Mapping[str, Any]]) -> str:
    """Consul's ``HealthChecks.AggregatedStatus`` (api/health.go)."""
    statuses = set()
    for check in checks:
        if str(check.get("CheckID", "")).startswith(MAINTENANCE_PREFIXES):
            return "maintenance"
        statuses.add(check.get("Status"))
    for status in ("critical", "warning"):
        if status in statuses:
            return status
    return "passing"


def render(template: str, entries: Sequence[Mapping[str, Any]]) -> str:
    """The rendered file for one health response (the template must be :data:`EXPECTED_TEMPLATE`)."""
    if template != EXPECTED_TEMPLATE:
        raise AssertionError("the model renders only the template it was written for")
    passing = [e for e in entries if aggregated_status(e.get("Checks") or []) == "passing"]
    services = [
        {
            "Node": e["Node"]["Node"],
            "ID": e["Service"]["ID"],
            "Address": e["Service"].get("Address") or e["Node"]["Address"],
            "Port": e["Service"]["Port"],
        }
        for e in passing
    ]
    services.sort(key=lambda s: (s["Node"], s["ID"]))
    if not services:
        return ""
    first = services[0]
    return f"{first['Address']} {first['Port']}"
