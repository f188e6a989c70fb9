"""The stack outputs: an API other Pulumi projects read through ``StackReference``.

Every output is listed once in :data:`STACK_OUTPUTS` with its type and meaning; the table in docs/settings.md
and the contract test (``tests/program/test_stack_outputs.py``, against a checked-in snapshot) are
built from this list, so an output cannot disappear or change type unnoticed. Names are camelCase.
Values are names and paths computed from the layout (stable in every phase of every custody) and
public certificates; the one secret, a peering acceptor's ``peeringTokens``, is exported only as a Pulumi secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pulumi

from .identities.roles import workload_audience
from .jwt.plan import app_token_paths
from .layout import Layout
from .onboarding.plan import all_agent_annotations, all_token_volumes
from .pki.component import generation_key
from .rotation.documents import BOOTSTRAP_TOKEN_VERSION_KEY, GOSSIP_VERSION_KEY, REPLICATION_TOKEN_VERSION_KEY
from .settings import ChainName
from .topology.documents import peer_upstream_annotations

if TYPE_CHECKING:
    from .platform import SecureMeshPlatform

OutputKind = Literal["string", "map", "list"]


@dataclass(frozen=True)
class StackOutput:
    """One exported name: its JSON kind, whether it is a Pulumi secret, and what it means."""

    name: str
    kind: OutputKind
    description: str
    secret: bool = False


STACK_OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("environment", "string", "The stack's environment: dev, staging or prod."),
    StackOutput("vaultAddress", "string", "Vault's address as workloads in the cluster reach it (in-cluster)."),
    StackOutput(
        "vaultExternalAddress",
        "string",
        "Vault's address from outside the cluster, as this stack's own program reaches it (`vault.providerAddress`, "
        "else `vault.address`): what another project's Vault provider uses.",
    ),
    StackOutput(
        "vaultCaCertPem",
        "string",
        "PEM of the CA that signed Vault's listener certificate (`vault.tls.caCertPem`); empty when Vault's "
        "certificate is publicly trusted.",
    ),
    StackOutput("vaultTlsServerName", "string", "The name to verify Vault's certificate against; empty for the host."),
    StackOutput("vaultKubernetesAuthPath", "string", "The Kubernetes auth mount of this datacenter (no `auth/`)."),
    StackOutput(
        "vaultKubernetesAudience",
        "string",
        "The audience the roles of Consul's identities check (the API server's default audience).",
    ),
    StackOutput("vaultKvMount", "string", "The KV-v2 mount holding Consul's and apps' secrets (`apps/<app>/…`)."),
    StackOutput("vaultAuthRoles", "map", "Consul identity → Kubernetes-auth role name (server, connect-injector, …)."),
    StackOutput("vaultPolicies", "map", "Consul identity → Vault policy name."),
    StackOutput("consulDatacenter", "string", "Consul's datacenter."),
    StackOutput("consulDomain", "string", "Consul's DNS domain."),
    StackOutput("consulNamespace", "string", "The Kubernetes namespace Consul runs in."),
    StackOutput("consulReleaseName", "string", "The Helm release name of the Consul chart."),
    StackOutput("consulFullname", "string", "The chart's fullname (`global.name`), prefix of every Consul object."),
    StackOutput("consulUiService", "string", "The Kubernetes service of Consul's UI."),
    StackOutput("consulApiService", "string", "The Kubernetes service of Consul's HTTPS API (the servers)."),
    StackOutput("consulKvPaths", "map", "Consul secret → its KV-v2 path in the `/data/` form Helm and policies use."),
    StackOutput("pkiMountPaths", "map", "Chain (server, connect, gateway, webhook) → its mounts, level 1 first."),
    StackOutput("pkiIssuePaths", "map", "Chain → the `<mount>/issue/<role>` path that issues its leaves."),
    StackOutput("pkiCaPaths", "map", "Chain → the `<mount>/cert/ca` path of its issuing CA."),
    StackOutput("pkiCaChainPems", "map", "Chain → PEM of its issuing CA chain up to the root, for clients to trust."),
    StackOutput(
        "pkiNotAfter",
        "map",
        "`root` and each signed chain (server, connect, gateway, webhook) → when it expires, ISO-8601 UTC "
        "(`2036-01-01T00:00:00Z`), read from the certificates: a chain's earliest-expiring Vault-held level, the "
        "date it stops issuing. Consul's own connect intermediate is not here (Consul renews it); the scheduled "
        "CA expiry check reads it live.",
    ),
    StackOutput("pkiLevel1Csrs", "map", "External custody only: chain → level-1 CSR waiting for the offline root."),
    StackOutput("meshRootPkiPath", "string", "`connectCA.rootPKIPath`: the mesh chain's deepest Vault-held CA."),
    StackOutput("meshIntermediatePkiPath", "string", "`connectCA.intermediatePKIPath`, owned by Consul."),
    StackOutput("serverCaChainPem", "string", "PEM of the Consul server TLS chain (empty until the chain is signed)."),
    StackOutput("appVaultRoles", "map", "App → its Kubernetes-auth role in `vaultKubernetesAuthPath`."),
    StackOutput("appVaultPolicies", "map", "App → its Vault policy (only its own KV secrets and credentials)."),
    StackOutput("appVaultAnnotations", "map", "App → pod annotations for the Vault agent to render its secrets."),
    StackOutput(
        "appVaultTokenVolumes",
        "map",
        "App → pod volumes to add with the annotations: the projected token (audience `vaultWorkloadAudience`) its "
        "Vault agent logs in with; empty when the app logs in with the pod's default token.",
    ),
    StackOutput(
        "vaultWorkloadAudience",
        "string",
        "The audience apps' and the API gateway's Kubernetes-auth roles check (`vaultKubernetesAudience` when Vault "
        "reviews with the client's JWT).",
    ),
    StackOutput("appDatabaseCredsPaths", "map", "App with a database → where its short-lived credentials come from."),
    StackOutput(
        "datacenter",
        "string",
        "Consul's datacenter, the name other clusters' stacks read (equal to `consulDatacenter`).",
    ),
    StackOutput(
        "connectRootPkiPath",
        "string",
        "The connect root (`connectCA.rootPKIPath`, equal to `meshRootPkiPath`): a peer checks it differs from "
        "its own.",
    ),
    StackOutput(
        "meshGatewayAddress",
        "string",
        "`host:port` of this cluster's mesh gateway (its LoadBalancer Service) on a peering member or a federated "
        "datacenter; empty otherwise or until the load balancer has an address.",
    ),
    StackOutput(
        "secondaryServerIssuePaths",
        "map",
        "Federation primary: secondary datacenter → where its servers get their certificates "
        "(`<server CA mount>/issue/consul-server-<dc>`), once the role exists; empty otherwise.",
    ),
    StackOutput(
        "peeringTokens",
        "map",
        "Peering acceptor: dialer stack name (`peer-west`) → the peering token generated for it; empty otherwise. "
        "Only ever a secret: the dialer's stack reads it through a stack reference.",
        secret=True,
    ),
    StackOutput(
        "peerUpstreamAnnotations",
        "map",
        "App → pod annotations declaring the peers' services it calls (`<service>.svc.<peer>.peer:<port>`).",
    ),
    StackOutput(
        "jwtProviders",
        "map",
        "JWT provider → what a token must match to pass its permissions: `issuer`, `jwksUri`, `audiences` (a "
        "`vault-identity` provider's audience is its Vault OIDC key's name).",
    ),
    StackOutput(
        "appJwtTokenPaths",
        "map",
        "App → JWT provider → `identity/oidc/token/<role>`: where the app reads the Vault identity token the "
        "destinations it calls require (its agent also renders it to `/vault/secrets/jwt-<provider>`).",
    ),
    StackOutput(
        "rotationVersions",
        "map",
        "Rotation → the version the last successful `up` reached: `serverTlsGeneration` (the server chain's issuing "
        "CA) once the chain of trust is complete, in every stack but a federation secondary (which has no server "
        "chain); `connectRootGeneration` (Consul's root path) wherever the program writes the Connect CA's "
        "configuration through Consul's API; with the Consul secrets engine `gossipKeyVersion` and "
        "`bootstrapTokenVersion`; in a WAN federation `replicationTokenVersion` (a secondary has no gossip or "
        "bootstrap token version). The next run reads it back to refuse lowering or skipping a version.",
    ),
)


def rotation_versions(platform: SecureMeshPlatform) -> dict[str, pulumi.Output[int]]:
    """Each rotation's checked version (resolved once its Job, if any, completed), keyed as in the settings."""
    rotations = {
        GOSSIP_VERSION_KEY: platform.gossip_rotation,
        BOOTSTRAP_TOKEN_VERSION_KEY: platform.bootstrap_token_rotation,
        REPLICATION_TOKEN_VERSION_KEY: platform.replication_token_rotation,
    }
    versions = {key: rotation.version for key, rotation in rotations.items() if rotation is not None}
    server_generation = platform.pki.issuing_generations.get(ChainName.SERVER)
    if server_generation is not None:  # resolved once the generation is the server mount's default issuer
        versions[generation_key(ChainName.SERVER)] = server_generation
    connect_generation = platform.pki.issuing_generations.get(ChainName.CONNECT)
    if connect_generation is not None and platform.connect_ca is not None:
        # Resolved once Consul took the generation's rootPKIPath (and cross-signed it with the old root): the next
        # run then drops the cross-sign grant and may raise again.
        versions[generation_key(ChainName.CONNECT)] = pulumi.Output.all(
            platform.connect_ca.id, connect_generation
        ).apply(lambda values: int(values[1]))
    return versions


def _by_chain(values: dict[ChainName, Any]) -> dict[str, Any]:
    return {chain.value: value for chain, value in values.items()}


def stack_output_values(platform: SecureMeshPlatform) -> dict[str, Any]:
    """The value of every contract output for this run (plain values or Outputs)."""
    layout: Layout = platform.layout
    settings = platform.settings
    pki = platform.pki
    return {
        "environment": settings.environment.value,
        "vaultAddress": settings.vault.address,
        "vaultExternalAddress": settings.vault.provider_address or settings.vault.address,
        "vaultCaCertPem": settings.vault.tls.ca_cert_pem or "",
        "vaultTlsServerName": settings.vault.tls.server_name or "",
        "vaultKubernetesAuthPath": layout.kubernetes_auth_path,
        "vaultKubernetesAudience": settings.vault.kubernetes_audience,
        "vaultKvMount": layout.kv_mount,
        "vaultAuthRoles": {identity.value: layout.auth_role(identity) for identity in layout.identities},
        "vaultPolicies": {
            **{identity.value: layout.policy_name(identity) for identity in layout.identities},
            "mesh-ca": layout.mesh_ca_policy_name,
        },
        "consulDatacenter": layout.datacenter,
        "consulDomain": settings.consul.domain,
        "consulNamespace": layout.consul_namespace,
        "consulReleaseName": layout.consul_release_name,
        "consulFullname": layout.consul_fullname,
        "consulUiService": layout.consul_ui_service,
        "consulApiService": layout.consul_server_service,
        "consulKvPaths": {secret.value: layout.kv(secret).data_path for secret in layout.consul_kv_secrets},
        "pkiMountPaths": {chain.value: [m.path for m in layout.chain_mounts(chain)] for chain in ChainName},
        "pkiIssuePaths": {
            ChainName.SERVER.value: layout.server_pki_issue_path,
            ChainName.GATEWAY.value: layout.gateway_pki_issue_path,
            ChainName.WEBHOOK.value: layout.webhook_pki_issue_path,
        },
        "pkiCaPaths": {chain.value: layout.issuing_mount(chain).ca_path for chain in ChainName},
        "pkiCaChainPems": _by_chain(pki.ca_chain_pems),
        "pkiNotAfter": pki.not_after,
        "pkiLevel1Csrs": _by_chain(pki.level1_csrs),
        "meshRootPkiPath": layout.connect_root_pki_path,
        "meshIntermediatePkiPath": layout.connect_intermediate_pki_path,
        "serverCaChainPem": platform.server_ca_chain_pem if platform.server_ca_chain_pem is not None else "",
        "appVaultRoles": {app.name: layout.app(app).auth_role for app in settings.apps},
        "appVaultPolicies": {app.name: layout.app(app).policy for app in settings.apps},
        "appVaultAnnotations": all_agent_annotations(layout),
        "appVaultTokenVolumes": all_token_volumes(layout),
        "vaultWorkloadAudience": workload_audience(settings),
        "appDatabaseCredsPaths": {
            app.name: layout.app(app).database_creds_path for app in settings.apps if app.database is not None
        },
        "datacenter": layout.datacenter,
        "connectRootPkiPath": layout.connect_root_pki_path,
        "meshGatewayAddress": platform.mesh_gateway_address if platform.mesh_gateway_address is not None else "",
        "secondaryServerIssuePaths": {
            dc: pki.secondary_issue_paths[layout.secondary_server_role(dc)]
            for dc in (settings.topology.secondaries if layout.is_federation_primary else ())
            if layout.secondary_server_role(dc) in pki.secondary_issue_paths
        },
        "peeringTokens": dict(platform.peering.tokens) if platform.peering is not None else {},
        "peerUpstreamAnnotations": peer_upstream_annotations(settings),
        "rotationVersions": rotation_versions(platform),
        "jwtProviders": {
            names.name: {"issuer": names.issuer, "jwksUri": names.jwks_uri, "audiences": list(names.audiences)}
            for names in (layout.jwt_provider(provider) for provider in settings.mesh.jwt_providers)
        },
        "appJwtTokenPaths": {
            app.name: paths for app in settings.apps if (paths := app_token_paths(layout, app))
        },
    }


def export_stack_outputs(platform: SecureMeshPlatform) -> None:
    """Export every contract output, secret ones as Pulumi secrets; fail loudly if the contract and values differ."""
    values = stack_output_values(platform)
    declared = {output.name for output in STACK_OUTPUTS}
    if set(values) != declared:
        raise AssertionError(f"stack outputs differ from the contract: {sorted(set(values) ^ declared)}")
    for output in STACK_OUTPUTS:
        value = values[output.name]
        pulumi.export(output.name, pulumi.Output.secret(value) if output.secret else value)


def stack_outputs_markdown() -> str:
    """The table of stack outputs in docs/settings.md."""
    rows = ["| output | type | meaning |", "|---|---|---|"]
    rows += [f"| `{o.name}` | {o.kind}{' (secret)' if o.secret else ''} | {o.description} |" for o in STACK_OUTPUTS]
    return "\n".join(rows) + "\n"
