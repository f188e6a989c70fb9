"""Consul's secrets in KV-v2 (placeholder until the identities issue lands)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from ..layout import Layout
from ..settings import Settings


@dataclass(frozen=True)
class ConsulSecretsArgs:
    """Inputs of :class:`ConsulSecrets`."""

    settings: Settings
    layout: Layout


class ConsulSecrets(pulumi.ComponentResource):
    """The KV-v2 mount and Consul's secrets in it."""

    ready: list[pulumi.Resource]
    """Resources that must exist before the Consul release reads from Vault."""

    def __init__(self, name: str, args: ConsulSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:secrets:ConsulSecrets", name, None, opts)
        self.ready = []
        self.register_outputs({})
