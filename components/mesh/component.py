"""Mesh intentions (placeholder until the Consul issue lands)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from ..layout import Layout
from ..settings import Settings


@dataclass(frozen=True)
class MeshIntentionsArgs:
    """Inputs of :class:`MeshIntentions`."""

    settings: Settings
    layout: Layout


class MeshIntentions(pulumi.ComponentResource):
    """The intention graph rendered as config entries or CRDs."""

    ready: list[pulumi.Resource]
    """Resources that must exist before the Consul release reads from Vault."""

    def __init__(self, name: str, args: MeshIntentionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:mesh:MeshIntentions", name, None, opts)
        self.ready = []
        self.register_outputs({})
