"""Canned computed outputs for the Consul concern: what a deployed Helm release reports back."""

from __future__ import annotations

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


OUTPUTS = {
    "kubernetes:helm.sh/v3:Release": _release_status,
}
