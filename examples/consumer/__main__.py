"""A consumer of the secure-mesh stack outputs: trust the mesh's server CA and get a Vault identity.

Everything it needs about the platform comes from ``StackReference.require_output`` with the names
of the platform's output contract (docs/settings.md, "Stack outputs"); nothing is spelled twice. It runs outside
the mesh's cluster, so it talks to Vault at ``vaultExternalAddress`` (not the in-cluster
``vaultAddress``) and verifies Vault's certificate with ``vaultCaCertPem`` when the mesh publishes one.

Run it (a Pulumi CLI logged in to the same backend as the mesh, ``VAULT_TOKEN`` and ``KUBECONFIG`` set)::

    cd examples/consumer
    pulumi stack init dev
    pulumi config set meshStack <org>/secure-mesh/dev   # the file backend: organization/secure-mesh/dev
    pulumi config set service billing
    pulumi up
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_vault as vault

config = pulumi.Config()
service = config.require("service")
mesh = pulumi.StackReference(config.require("meshStack"))



def vault_ca_file(pem: str) -> str | None:
    """The Vault provider reads its CA from a file: write the published PEM to one (None: public CA)."""
    if not pem:
        return None
    path = Path(tempfile.mkdtemp(prefix="secure-mesh-vault-ca-")) / "ca.pem"
    path.write_text(pem)
    return str(path)


vault_provider = vault.Provider(
    "vault",
    address=mesh.require_output("vaultExternalAddress"),
    ca_cert_file=mesh.require_output("vaultCaCertPem").apply(vault_ca_file),
    tls_server_name=mesh.require_output("vaultTlsServerName").apply(lambda name: name or None),
    skip_tls_verify=False,
)
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
