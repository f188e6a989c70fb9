"""The certificate authority component (placeholder until the PKI issue lands)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from ..layout import Layout
from ..settings import Settings


@dataclass(frozen=True)
class CertificateAuthorityArgs:
    """Inputs of :class:`CertificateAuthority`."""

    settings: Settings
    layout: Layout


class CertificateAuthority(pulumi.ComponentResource):
    """Root custody and the per-purpose chains of Vault-held intermediates."""

    ready: list[pulumi.Resource]
    """Resources anything that issues or reads certificates must wait for."""
    complete: bool
    """False while an external root has not yet signed level 1 (nothing dependent is created)."""

    def __init__(self, name: str, args: CertificateAuthorityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:pki:CertificateAuthority", name, None, opts)
        self.ready = []
        self.complete = True
        self.register_outputs({})
