"""A consumer of the secure-mesh stack outputs: trust the mesh's server CA and get a Vault identity.

Everything it needs about the platform comes from ``StackReference.require_output`` with the names
of the platform's output contract (README, "Stack outputs"); nothing is spelled twice.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_vault as vault

config = pulumi.Config()
service = config.require("service")
mesh = pulumi.StackReference(config.require("meshStack"))

vault_provider = vault.Provider("vault", address=mesh.require_output("vaultAddress"))
kubernetes_provider = kubernetes.Provider("kubernetes")

namespace = kubernetes.core.v1.Namespace(
    "namespace",
    metadata={"name": service},
    opts=pulumi.ResourceOptions(provider=kubernetes_provider),
)

# The mesh's server CA chain, for clients that call Consul's HTTPS API directly.
kubernetes.core.v1.ConfigMap(
    "consul-ca",
    metadata={"name": "consul-server-ca", "namespace": service},
    data={"ca.crt": mesh.require_output("serverCaChainPem")},
    opts=pulumi.ResourceOptions(provider=kubernetes_provider, depends_on=[namespace]),
)

# A Vault identity for this service in the mesh's Kubernetes auth mount.
policy = vault.Policy(
    "policy",
    name=f"team-{service}",
    policy=mesh.require_output("vaultKvMount").apply(
        lambda mount: json.dumps({"path": {f"{mount}/data/apps/{service}/*": {"capabilities": ["read"]}}})
    ),
    opts=pulumi.ResourceOptions(provider=vault_provider),
)
vault.kubernetes.AuthBackendRole(
    "role",
    backend=mesh.require_output("vaultKubernetesAuthPath"),
    role_name=f"team-{service}",
    bound_service_account_names=[service],
    bound_service_account_namespaces=[service],
    audience=mesh.require_output("vaultKubernetesAudience"),
    alias_name_source="serviceaccount_uid",
    token_ttl=3600,
    token_max_ttl=14400,
    token_policies=[policy.name],
    opts=pulumi.ResourceOptions(provider=vault_provider),
)

pulumi.export("consulDatacenter", mesh.require_output("consulDatacenter"))
