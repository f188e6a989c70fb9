"""The top component: composes the PKI, Consul's secrets, the Vault identities, the Consul cluster,
the mesh intentions and the onboarded applications, in dependency order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pulumi

from .audit import VaultAudit
from .composition.apps import onboarding_args
from .composition.consul import (
    cluster_peering_args,
    connect_ca_config_json,
    consul_cluster_args,
    federation_secondary_args,
    mesh_gateway_args,
    mesh_intentions_args,
    peering_enabled,
)
from .composition.pki import expiry_check_args, external_next_steps, pki_args
from .composition.vault import (
    MESH_CA_POLICY_KEY,
    RotationWiring,
    audit_args,
    bootstrap_token_rotation_args,
    gossip_rotation_args,
    identities_args,
    replication_token_rotation_args,
    secrets_args,
    secrets_engine_args,
)
from .consul.component import ConsulCluster
from .identities.component import VaultIdentities
from .jwt.component import VaultJwtIssuer
from .jwt.plan import jwt_issuer_args
from .layout import Layout
from .mesh.component import MeshIntentions
from .onboarding.component import AppOnboarding
from .pki.component import CertificateAuthority
from .pki.expiry_check import CaExpiryCheck
from .providers import build_consul_provider
from .rotation.component import (
    BootstrapTokenRotation,
    ConsulSecretsEngine,
    GossipKeyRotation,
    ReplicationTokenRotation,
    deployed_versions,
)
from .rotation.documents import EngineRole
from .secrets.component import ConsulSecrets
from .settings import ChainName, Settings
from .topology.component import ClusterPeering, mesh_gateway_address
from .topology.federation import FederationSecondary

if TYPE_CHECKING:
    import pulumi_consul as consul  # only for annotations; see providers.py

TYPE_PREFIX = "secure-mesh"


@dataclass(frozen=True)
class SecretInputs:
    """Secret stack config values, read once as Pulumi secrets (never part of the settings models)."""

    consul_license: pulumi.Output[str] | None = None
    database_root_credentials: pulumi.Output[Any] | None = None
    """``databaseRootCredentials``: ``{<app>: {username, password}}`` (only when an app has a database)."""


@dataclass(frozen=True)
class PlatformArgs:
    """Inputs of :class:`SecureMeshPlatform`: the validated settings and the names derived from them."""

    settings: Settings
    layout: Layout
    secrets: SecretInputs = SecretInputs()


class SecureMeshPlatform(pulumi.ComponentResource):
    """One environment of the secure mesh: Vault PKI and secrets, Consul on Kubernetes, intentions."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:index:Platform", name, None, opts)
        settings, layout = args.settings, args.layout
        self.settings = settings
        self.layout = layout
        child = pulumi.ResourceOptions(parent=self)

        # --- Vault's audit trail (issue 13 item 11): on by default in prod ------------------------
        self.audit = VaultAudit(f"{name}-audit", audit_args(settings, layout), child)

        # --- What the last successful `up` recorded (issue 17): one StackReference to this stack -----
        self.deployed_versions = deployed_versions()
        """This stack's previous ``rotationVersions``: every declared version is checked against it."""

        # --- PKI (issue 3) ---------------------------------------------------------------------
        self.pki = CertificateAuthority(f"{name}-pki", pki_args(settings, layout, self.deployed_versions), child)
        if self.pki.pending_chains:
            pulumi.log.warn(external_next_steps(self.pki.pending_chains), resource=self.pki)

        # --- WAN federation (issue 16): a secondary's primary, its outputs checked first -------------
        self.federation: FederationSecondary | None = None
        self.server_ca_chain_pem: pulumi.Output[str] | None = self.pki.ca_chain_pems.get(ChainName.SERVER)
        """The server-TLS CA chain every Consul client of this stack trusts (the primary's in a secondary)."""
        if layout.is_federation_secondary:
            self.federation = FederationSecondary(f"{name}-federation", federation_secondary_args(layout), child)
            self.server_ca_chain_pem = self.federation.server_ca_chain_pem

        # --- KV secrets and Vault identities (issue 4) -----------------------------------------
        self.secrets = ConsulSecrets(
            f"{name}-secrets",
            secrets_args(settings, layout, license=args.secrets.consul_license),
            child,
        )
        self.identities = VaultIdentities(
            f"{name}-identities", identities_args(settings, layout, self.deployed_versions), child
        )

        # --- JWT-authorized intentions (issue 17 item 5): Vault identity tokens as a provider's issuer ----
        self.jwt_issuers: dict[str, VaultJwtIssuer] = {
            issuer.provider: VaultJwtIssuer(f"{name}-jwt-{issuer.provider}", issuer, child)
            for issuer in jwt_issuer_args(layout, self.identities.auth_mount_accessor)
        }
        """Each ``vault-identity`` JWT provider's OIDC key and per-app roles, by provider name."""

        # --- Consul and intentions (issue 5): only once the chain of trust is complete ---------
        self.consul: ConsulCluster | None = None
        self.intentions: MeshIntentions | None = None
        self.onboarding: AppOnboarding | None = None
        self.peering: ClusterPeering | None = None
        self.mesh_gateway_address: pulumi.Output[str] | None = None
        """``host:port`` of the mesh gateway of a peering member or a federation primary (what others dial)."""
        """This cluster's side of each peering (topology.mode 'peering'), after the mesh entry."""
        self.secrets_engine: ConsulSecretsEngine | None = None
        self.connect_ca: pulumi.CustomResource | None = None
        """The Connect CA's configuration written through Consul's API (``consul.CertificateAuthority``)."""
        self.gossip_rotation: GossipKeyRotation | None = None
        self.bootstrap_token_rotation: BootstrapTokenRotation | None = None
        self.replication_token_rotation: ReplicationTokenRotation | None = None
        self.expiry_check: CaExpiryCheck | None = None
        """The scheduled check of every CA's live expiry (``pki.expiryCheck``), once Consul runs."""
        self.consul_provider: consul.Provider | None = None
        """Consul's API (config-entry intentions, catalog look-ups), trusting the server chain's CA from Vault."""
        server_ca = self.server_ca_chain_pem
        if self.pki.complete and server_ca is not None:
            self.consul_provider = build_consul_provider(settings, layout, server_ca)
            # The role names, the auth mount's path and the KV secrets' paths reach the release as data (values);
            # the rest of what the chart's pods read from Vault at start-up (policies, the auth config's reviewer,
            # PKI issuers, URLs, CRL configs) is named by no value, so it stays an explicit dependency
            # (ConsulCluster's module docstring).
            vault_ready = [*self.pki.ready, *self.secrets.ready, *self.identities.ready]
            self.consul = ConsulCluster(
                f"{name}-consul",
                consul_cluster_args(
                    settings,
                    layout,
                    role_names=self.identities.role_names,
                    auth_mount_path=self.identities.auth_mount_path,
                    kv_paths=self.secrets.kv_paths,
                    server_ca_pem=server_ca,
                    primary_gateways=self.federation.primary_gateways if self.federation is not None else None,
                ),
                pulumi.ResourceOptions(parent=self, depends_on=vault_ready),
            )
            # The release is named by no property of an entry: an explicit dependency (MeshIntentions' docstring).
            # A Vault-issued provider's key exists before proxies are told to fetch its key set.
            self.intentions = MeshIntentions(
                f"{name}-intentions",
                mesh_intentions_args(settings, layout),
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[self.consul.release, *(issuer.key for issuer in self.jwt_issuers.values())],
                    providers=[self.consul_provider] if self.consul_provider is not None else None,
                ),
            )
            # A peering member is never a federated secondary (settings refuse both), so it owns its mesh entry.
            if peering_enabled(settings) and self.consul_provider is not None and self.intentions.mesh is not None:
                # Consul reads the mesh entry when it generates a token or dials; no property of a token or a peering
                # names it, so it is an explicit dependency with the release (ClusterPeering's docstring).
                self.peering = ClusterPeering(
                    f"{name}-peering",
                    cluster_peering_args(settings, layout, self.consul.status),
                    pulumi.ResourceOptions(
                        parent=self,
                        depends_on=[self.consul.release, self.intentions.mesh],
                        providers=[self.consul_provider],
                    ),
                )
            if self.peering is not None:
                self.mesh_gateway_address = self.peering.mesh_gateway_address
            elif layout.is_federation_primary or layout.is_federation_secondary:
                self.mesh_gateway_address = mesh_gateway_address(
                    f"{name}-mesh-gateway-service", mesh_gateway_args(layout, self.consul.status), self.consul
                )
            # --- Service onboarding (issue 7): app identities, database credentials, gateway TLS -------
            self.onboarding = AppOnboarding(
                f"{name}-onboarding",
                onboarding_args(
                    settings,
                    layout,
                    # Upstream outputs, so each dependency follows the data: roles are written to the auth
                    # mount, watcher tokens to the KV mount; Gateway API objects and catalog look-ups wait for
                    # the release's status (the release itself waits for every Vault resource the chart reads).
                    kubernetes_auth_mount=self.identities.auth_mount_path,
                    kv_mount=self.secrets.kv_mount,
                    consul_release=self.consul.status,
                    consul_ca_pem=server_ca,
                    database_root_credentials=args.secrets.database_root_credentials,
                ),
                # Catalog look-ups and the watchers' Consul ACL objects use Consul's API through this provider.
                pulumi.ResourceOptions(
                    parent=self, providers=[self.consul_provider] if self.consul_provider is not None else None
                ),
            )

            # --- Day 2 (issue 17): the Connect CA's configuration after bootstrap, through Consul's API ---
            # Helm values only bootstrap it (components/consul/connect_ca.py); a secondary keeps its own, which
            # names its own intermediate path and follows the primary's root.
            if self.consul_provider is not None and not layout.is_federation_secondary:
                import pulumi_consul as consul_api

                # A new rootPKIPath makes Consul cross-sign the new root with the old one inside this PUT, under the
                # mesh CA policy's temporary grant (composition/vault.py cross_sign_grant): named by no property of
                # the configuration, so an explicit dependency, as is the new root's mount being able to sign.
                self.connect_ca = consul_api.CertificateAuthority(
                    f"{name}-connect-ca",
                    connect_provider="vault",
                    config_json=connect_ca_config_json(settings, layout),
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        provider=self.consul_provider,
                        depends_on=[
                            *self.consul.ready,
                            self.identities.policies[MESH_CA_POLICY_KEY],
                            *self.pki.issuing_ready(ChainName.CONNECT),
                        ],
                    ),
                )

            # --- Day 2 (issue 17): CA expiry guardrails, a daily check of every live CA ----------------
            expiry = expiry_check_args(settings, layout)
            if expiry is not None:
                self.expiry_check = CaExpiryCheck(
                    f"{name}-ca-expiry-check",
                    expiry,
                    consul_release=cast(pulumi.Output[str], self.consul.release.name),
                    parent=self,
                )

            # --- Day 2 (issue 17): Vault's Consul secrets engine, rotations as declared versions -------
            if settings.rotation.consul_secrets_engine.enabled and self.consul_provider is not None:
                self.secrets_engine = ConsulSecretsEngine(
                    f"{name}-consul-secrets-engine",
                    secrets_engine_args(settings, layout, server_ca),
                    pulumi.ResourceOptions(parent=self, providers=[self.consul_provider], depends_on=self.consul.ready),
                )
            self._rotations(name, settings, layout, server_ca, self.consul, child)

        self.register_outputs({})

    def _rotations(
        self,
        name: str,
        settings: Settings,
        layout: Layout,
        server_ca: pulumi.Output[str],
        consul_cluster: ConsulCluster,
        child: pulumi.ResourceOptions,
    ) -> None:
        """Each rotation as a declared version: the gossip key and the bootstrap token with the secrets engine, the
        replication token in a WAN federation (a secondary's needs no engine).
        """
        engine = self.secrets_engine
        if engine is None and not layout.is_federation_secondary:
            return
        wiring = RotationWiring(
            auth_mount_path=self.identities.auth_mount_path,
            kv_mount=None if layout.is_federation_secondary else self.secrets.kv_mount,
            server_ca_pem=server_ca,
            consul_release=cast(pulumi.Output[str], consul_cluster.release.name),
            engine_roles=(
                {EngineRole(role): resource.name for role, resource in engine.roles.items()} if engine else {}
            ),
            deployed=self.deployed_versions,
        )
        if engine is not None:
            self.gossip_rotation = GossipKeyRotation(
                f"{name}-gossip-rotation", gossip_rotation_args(settings, layout, wiring), child
            )
        if engine is not None and not layout.is_federation_secondary:  # a secondary holds no bootstrap token
            self.bootstrap_token_rotation = BootstrapTokenRotation(
                f"{name}-bootstrap-token-rotation", bootstrap_token_rotation_args(settings, layout, wiring), child
            )
        if layout.is_federation_secondary or (engine is not None and layout.is_federation_primary):
            self.replication_token_rotation = ReplicationTokenRotation(
                f"{name}-replication-token-rotation", replication_token_rotation_args(settings, layout, wiring), child
            )
