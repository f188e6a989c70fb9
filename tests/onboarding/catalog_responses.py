"""Recorded ``GET /v1/health/service/orders-db`` answers (Consul's JSON, trimmed to the fields the template reads)."""

from __future__ import annotations

from typing import Any


def entry(node: str, node_address: str, service_id: str, address: str, port: int, *statuses: str) -> dict[str, Any]:
    """One ``ServiceEntry``: the node, the service instance and its checks (the node's serfHealth first)."""
    checks = [{"Node": node, "CheckID": "serfHealth", "Status": "passing", "ServiceID": ""}]
    checks += [
        {"Node": node, "CheckID": f"service:{service_id}:{i}", "Status": s, "ServiceID": service_id}
        for i, s in enumerate(statuses or ("passing",))
    ]
    return {
        "Node": {"ID": f"{node}-id", "Node": node, "Address": node_address, "Datacenter": "dc1"},
        "Service": {"ID": service_id, "Service": "orders-db", "Address": address, "Port": port, "Tags": []},
        "Checks": checks,
    }


ONE = [entry("node-a", "10.0.0.11", "orders-db-1", "10.0.1.5", 5432)]

SEVERAL = [
    # Listed out of order; node-0 is first by name but its instance is critical; node-a's service has no
    # address of its own (→ the node's); node-a has two instances, the lower ID wins.
    entry("node-c", "10.0.0.13", "orders-db-3", "10.0.3.5", 5432),
    entry("node-a", "10.0.0.11", "orders-db-2", "", 6432),
    entry("node-0", "10.0.0.10", "orders-db-0", "10.0.0.5", 5432, "critical"),
    entry("node-a", "10.0.0.11", "orders-db-9", "10.0.1.9", 5432),
    entry("node-b", "10.0.0.12", "orders-db-1", "10.0.2.5", 5432, "passing", "warning"),
]

NONE: list[dict[str, Any]] = []

NONE_PASSING = [
    entry("node-a", "10.0.0.11", "orders-db-1", "10.0.1.5", 5432, "critical"),
    entry("node-b", "10.0.0.12", "orders-db-2", "10.0.2.5", 5432, "warning"),
    {
        **entry("node-c", "10.0.0.13", "orders-db-3", "10.0.3.5", 5432),
        "Checks": [
            {"Node": "node-c", "CheckID": "_node_maintenance", "Status": "critical", "ServiceID": ""},
        ],
    },
]

MOVED = [entry("node-d", "10.0.0.14", "orders-db-4", "10.0.4.5", 5433)]
"""After a failover: the database now runs on node-d, port 5433."""

IPV6 = [entry("node-a", "fd00::11", "orders-db-1", "fd00::1:5", 5432)]
