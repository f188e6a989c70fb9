"""The Consul cluster (placeholder until the Consul issue lands)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from ..layout import Layout
from ..settings import Settings


@dataclass(frozen=True)
class ConsulClusterArgs:
    """Inputs of :class:`ConsulCluster`."""

    settings: Settings
    layout: Layout


class ConsulCluster(pulumi.ComponentResource):
    """Consul's namespace, the Vault CA secret and the pinned Helm release."""

    ready: list[pulumi.Resource]
    """Resources that must exist before the Consul release reads from Vault."""

    def __init__(self, name: str, args: ConsulClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:consul:ConsulCluster", name, None, opts)
        self.ready = []
        self.register_outputs({})
