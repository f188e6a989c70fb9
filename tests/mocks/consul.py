"""Canned computed outputs for the Consul concern: what a deployed Helm release reports back."""

from __future__ import annotations

import base64
import json
from typing import Any


def _release_status(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": {
            "name": inputs.get("name", name),
            "namespace": inputs.get("namespace", "default"),
            "chart": inputs.get("chart"),
            "version": inputs.get("version"),
            "status": "deployed",
            "revision": 1,
        }
    }


MESH_GATEWAY_IP = "192.0.2.10"
"""The load-balancer address a mocked mesh-gateway Service reports (TEST-NET-1, RFC 5737)."""


def _service_status(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A LoadBalancer Service as the cloud reports it once the load balancer is provisioned."""
    return {"status": {"loadBalancer": {"ingress": [{"ip": MESH_GATEWAY_IP}]}}}


def peering_token_value(peer_name: str) -> str:
    """A token shaped like Consul's: base64 of the JSON ``structs.PeeringToken`` (agent/structs/peering.go)."""
    document = {
        "CA": ["-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----"],
        "ManualServerAddresses": None,
        "ServerAddresses": [f"{MESH_GATEWAY_IP}:443"],
        "ServerName": "server.east.peering.11111111-2222-3333-4444-555555555555.consul",
        "PeerID": f"00000000-0000-4000-8000-{sum(map(ord, peer_name)):012d}",
        "EstablishmentSecret": "6f1b0d6a-8d4c-4b7e-9a55-0c1f6f3c2b1a",
        "Remote": {"Partition": "", "Datacenter": "east"},
    }
    return base64.b64encode(json.dumps(document).encode()).decode()


def _peering_token(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"peeringToken": peering_token_value(str(inputs.get("peerName", name)))}


OUTPUTS = {
    "consul:index/peeringToken:PeeringToken": _peering_token,
    "kubernetes:helm.sh/v3:Release": _release_status,
    "kubernetes:core/v1:Service": _service_status,
}
