"""secure-mesh: Consul on Kubernetes with Vault as its certificate authority and secrets store.

The package is layered so that data flows one way:

* ``settings``   – the stack's configuration, validated once into frozen typed models;
* ``layout``     – every shared Vault path, role, policy and Kubernetes name, computed once;
* documents      – Vault policies, Helm values and intentions as plain Python data
  (``identities.policies``, ``consul.helm_values``, ``mesh.graph``, ``pki.plan``);
* components     – Pulumi ``ComponentResource`` classes that turn those documents into resources;
* entry points   – ``__main__.py`` (Pulumi), ``policy/`` (CrossGuard) and ``python -m secure_mesh``.
"""

# The public API: every reusable component and its Args (issue 15). Each component module is imported here, so
# `from secure_mesh import CertificateAuthority, CertificateAuthorityArgs` works; none of them imports the settings
# models (tests/package/test_public_api.py). Keep the list sorted; the component package (provider/) hosts every
# component named here.
from .audit import VaultAudit, VaultAuditArgs
from .consul.component import ConsulCluster, ConsulClusterArgs
from .identities.component import VaultIdentities, VaultIdentitiesArgs
from .jwt.component import VaultJwtIssuer
from .jwt.issuer import VaultJwtIssuerArgs
from .mesh.component import MeshIntentions, MeshIntentionsArgs
from .onboarding.component import AppOnboarding, AppOnboardingArgs
from .pki.component import CertificateAuthority, CertificateAuthorityArgs
from .rotation.component import (
    BootstrapTokenRotation,
    BootstrapTokenRotationArgs,
    ConsulSecretsEngine,
    ConsulSecretsEngineArgs,
    GossipKeyRotation,
    GossipKeyRotationArgs,
    ReplicationTokenRotation,
    ReplicationTokenRotationArgs,
)
from .secrets.component import ConsulSecrets, ConsulSecretsArgs
from .topology.component import ClusterPeering, ClusterPeeringArgs
from .topology.federation import FederationSecondary, FederationSecondaryArgs

__all__: list[str] = [
    "AppOnboarding",
    "AppOnboardingArgs",
    "BootstrapTokenRotation",
    "BootstrapTokenRotationArgs",
    "CertificateAuthority",
    "CertificateAuthorityArgs",
    "ClusterPeering",
    "ClusterPeeringArgs",
    "ConsulCluster",
    "ConsulClusterArgs",
    "ConsulSecrets",
    "ConsulSecretsArgs",
    "ConsulSecretsEngine",
    "ConsulSecretsEngineArgs",
    "FederationSecondary",
    "FederationSecondaryArgs",
    "GossipKeyRotation",
    "GossipKeyRotationArgs",
    "MeshIntentions",
    "MeshIntentionsArgs",
    "ReplicationTokenRotation",
    "ReplicationTokenRotationArgs",
    "VaultAudit",
    "VaultAuditArgs",
    "VaultIdentities",
    "VaultIdentitiesArgs",
    "VaultJwtIssuer",
    "VaultJwtIssuerArgs",
]

__version__ = "0.2.0"
"""The package's version (pyproject.toml reads it from here; the component package's schema carries it)."""
