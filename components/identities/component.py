"""Vault identities (placeholder until the identities issue lands)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from ..layout import Layout
from ..settings import Settings


@dataclass(frozen=True)
class VaultIdentitiesArgs:
    """Inputs of :class:`VaultIdentities`."""

    settings: Settings
    layout: Layout


class VaultIdentities(pulumi.ComponentResource):
    """The Kubernetes auth mount, its config, and one role and policy per Consul identity."""

    ready: list[pulumi.Resource]
    """Resources that must exist before the Consul release reads from Vault."""

    def __init__(self, name: str, args: VaultIdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:identities:VaultIdentities", name, None, opts)
        self.ready = []
        self.register_outputs({})
