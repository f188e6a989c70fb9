"""Canned results for the onboarding concern: the Consul catalog look-up of an app database's service."""

from __future__ import annotations

from typing import Any

CATALOG: dict[str, list[dict[str, Any]]] = {
    "orders-db": [
        # Deliberately out of order: the program must pick the first by node name, not the first listed.
        {"node": "node-b", "address": "10.0.0.12", "port": "5432"},
        {"node": "node-a", "address": "", "node_address": "10.0.0.11", "port": "6432"},
    ],
}
"""Service name → its catalog instances (an empty service address means the node's address)."""


def _instance(service: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": entry["address"],
        "createIndex": "1",
        "enableTagOverride": "false",
        "id": f"{service}-{entry['node']}",
        "meta": {},
        "modifyIndex": "1",
        "name": service,
        "nodeAddress": entry.get("node_address", entry["address"]),
        "nodeId": f"{entry['node']}-id",
        "nodeMeta": {},
        "nodeName": entry["node"],
        "port": entry["port"],
        "taggedAddresses": {},
        "tags": [],
    }


def _get_service(name: str, args: dict[str, Any]) -> dict[str, Any]:
    service = args["name"]
    return {
        "datacenter": args.get("datacenter"),
        "id": f"catalog-{service}",
        "name": service,
        "services": [_instance(service, entry) for entry in CATALOG.get(service, [])],
    }


OUTPUTS = {
    "consul:index/getService:getService": _get_service,
}


def _acl_token_secret_id(name: str, args: dict[str, Any]) -> dict[str, Any]:
    accessor = args["accessorId"]
    return {"accessorId": accessor, "id": accessor, "secretId": f"secret-of-{accessor}"}


OUTPUTS["consul:index/getAclTokenSecretId:getAclTokenSecretId"] = _acl_token_secret_id
