"""Layer 2: every name the system shares, computed once from settings.

Vault mount paths, PKI roles and their issue/CA endpoints, KV-v2 paths (in both the API form with
``/data/`` and the logical form), Vault policy and Kubernetes-auth role names, the Consul chart's
fullname and service accounts, namespaces. The Helm values, the Vault policies, the roles and the
policy pack all read names from here, so they cannot drift apart. Nothing else spells a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .settings import AppSettings, ChainName, RootCustody, Settings
from .settings.consistency import API_GATEWAY_SERVICE
from .settings.models import CONSUL_CHART_NAME as CONSUL_CHART_NAME
from .settings.models import JwtProviderSettings
from .vocabulary import (  # re-exported: settings and layout users keep their imports
    Identity as Identity,
)
from .vocabulary import (
    JwtProviderKind,
)
from .vocabulary import (
    KvSecret as KvSecret,
)

CONSUL_CHART_REPOSITORY = "https://helm.releases.hashicorp.com"
VAULT_CHART_NAME = "vault"
VAULT_CHART_REPOSITORY = CONSUL_CHART_REPOSITORY
"""HashiCorp's Helm repository also serves the Vault chart (agent injector and CSI provider)."""
CONSUL_TELEMETRY_COLLECTOR_ACCOUNT = "consul-telemetry-collector"






KV_FIELDS: dict[KvSecret, str] = {
    KvSecret.GOSSIP: "key",
    KvSecret.BOOTSTRAP_TOKEN: "token",
    KvSecret.REPLICATION_TOKEN: "token",
    KvSecret.PARTITION_TOKEN: "token",
    KvSecret.LICENSE: "license",
    KvSecret.SNAPSHOT_AGENT: "config",
}
"""The field inside each KV secret that holds the value the chart reads."""

FEDERATION_SHARED_SECRETS: frozenset[KvSecret] = frozenset({KvSecret.GOSSIP, KvSecret.REPLICATION_TOKEN})
"""The KV secrets a WAN federation shares: the primary stores them, every secondary reads the primary's path
(one gossip key for the WAN pool; the replication token the primary's server-acl-init created)."""


def truncate_name(name: str, limit: int = 63) -> str:
    """Helm's ``trunc 63 | trimSuffix "-"``, as the chart applies it to ``consul.fullname`` (and only there)."""
    return name[:limit].rstrip("-")


@dataclass(frozen=True)
class PkiMount:
    """One Vault PKI mount holding exactly one CA."""

    chain: ChainName | None
    level: int
    """0 for the root mount, 1–3 for the intermediate levels (1 is signed by the root)."""
    path: str

    @property
    def ca_path(self) -> str:
        """The endpoint that serves this CA's certificate (the chart reads ``.Data.certificate``)."""
        return f"{self.path}/cert/ca"

    @property
    def ca_chain_path(self) -> str:
        """The endpoint that serves this CA's chain up to the root."""
        return f"{self.path}/cert/ca_chain"

    def issue_path(self, role: str) -> str:
        """The endpoint that issues certificates with one of this mount's roles."""
        return f"{self.path}/issue/{role}"


@dataclass(frozen=True)
class KvPath:
    """A secret in the KV-v2 mount, in every form the system spells it."""

    mount: str
    name: str
    field: str

    @property
    def data_path(self) -> str:
        """The API path with ``/data/``, as Helm values and Vault policies need it."""
        return f"{self.mount}/data/{self.name}"

    @property
    def metadata_path(self) -> str:
        """The metadata API path (never granted to workloads)."""
        return f"{self.mount}/metadata/{self.name}"


@dataclass(frozen=True)
class AppNames:
    """Names that belong to one onboarded application."""

    app: str
    namespace: str
    service_account: str
    auth_role: str
    policy: str
    kv_prefix: str
    database_role: str
    database_creds_path: str
    http_route: str = ""
    """The Gateway API ``HTTPRoute`` (in the app's namespace) of an app with a public route."""
    database_secret_file: str = "database-credentials"
    """The file the Vault agent renders the database credentials to (``/vault/secrets/<file>``)."""


@dataclass(frozen=True)
class JwtProviderNames:
    """Names and addresses of one JWT provider (``mesh.jwtProviders[]``) as proxies and Vault know it."""

    name: str
    """The provider's name: the Consul ``jwt-provider`` entry and the ``JWTProvider`` resource."""
    issuer: str
    """The tokens' ``iss``."""
    jwks_uri: str
    """Where proxies fetch the key set."""
    audiences: tuple[str, ...]
    """The ``aud`` values accepted."""
    oidc_key: str | None
    """``vault-identity``: the Vault OIDC key that signs the tokens (None for a remote issuer)."""


@dataclass(frozen=True)
class CatalogWatcherNames:
    """Names of the consul-template watcher that keeps one app's database connection at its catalog address."""

    workload: str
    """The Deployment, its service account and its ConfigMap (in Consul's namespace)."""
    auth_role: str
    policy: str
    consul_policy: str
    """The Consul ACL policy that may read the database's service (and the nodes, for health queries)."""
    consul_token: KvPath
    """Where the watcher's Consul token secret is kept in Vault KV (read by the watcher's Vault agent)."""
    connection_config_path: str
    """``<database mount>/config/<connection>``: the one path the watcher may update."""


class Layout:
    """The one place that computes shared names from settings. Pure and cheap; build it once per run."""

    def __init__(self, settings: Settings, primary: Settings | None = None) -> None:
        self.settings = settings
        self.primary = Layout(primary) if primary is not None else None
        """A WAN-federation secondary's primary (its settings from its stack file); None elsewhere."""

    # ---------------------------------------------------------------------------- federation
    @cached_property
    def is_federation_secondary(self) -> bool:
        """True for a WAN-federation secondary (``topology.mode: federation-secondary``)."""
        return self.settings.topology.mode.value == "federation-secondary"

    @cached_property
    def federation_primary(self) -> Layout:
        """The primary's layout: the names a secondary shares with it (gossip, replication token, server TLS, root)."""
        if self.primary is None:
            raise ValueError(
                "a federation secondary's layout needs its primary's settings: Layout(settings, primary) with the "
                "settings of topology.primaryStack (secure_mesh.settings.federation.primary_settings)"
            )
        return self.primary

    @cached_property
    def local_chains(self) -> tuple[ChainName, ...]:
        """The chains this stack holds in its own mounts: all, except in a secondary, whose server-TLS chain and
        connect root are the primary's (it keeps its gateway and webhook chains).
        """
        if self.is_federation_secondary:
            return (ChainName.GATEWAY, ChainName.WEBHOOK)
        return tuple(ChainName)

    def secondary_server_role(self, datacenter: str) -> str:
        """The role on a primary's server-TLS chain that issues one secondary's server certificates."""
        return f"{self.primary_server_role}-{datacenter}"

    def secondary_server_domains(self, datacenter: str) -> tuple[str, ...]:
        """A secondary's server names: its datacenter's, and the server Service's (the same fullname and namespace,
        which the settings require of a secondary).
        """
        return (f"{datacenter}.{self.settings.consul.domain}", *self.server_dns_domains[1:])

    @cached_property
    def federation_server_domains(self) -> tuple[str, ...]:
        """A primary's secondaries' datacenter domains (``<dc>.<domain>``), which its server-TLS chain permits too."""
        if not self.is_federation_primary:
            return ()
        domain = self.settings.consul.domain
        return tuple(f"{dc}.{domain}" for dc in self.settings.topology.secondaries)

    # --------------------------------------------------------------------------- Vault basics
    @cached_property
    def mount_prefix(self) -> str:
        """Every Vault mount this stack creates lives under this path."""
        return self.settings.vault.mount_prefix

    @cached_property
    def name_prefix(self) -> str:
        """The mount prefix as a name fragment, for Vault objects with flat names (policies)."""
        return self.mount_prefix.replace("/", "-").replace("_", "-")

    @cached_property
    def datacenter(self) -> str:
        """The Consul datacenter this stack deploys."""
        return self.settings.consul.datacenter

    # ----------------------------------------------------------------------------------- PKI
    @cached_property
    def root_mount(self) -> PkiMount | None:
        """The mount holding the root CA; only when the root lives in Vault (dev custody)."""
        if self.settings.pki.root_custody is not RootCustody.VAULT:
            return None
        return PkiMount(chain=None, level=0, path=f"{self.mount_prefix}/pki_root")

    def chain_mounts(self, chain: ChainName) -> tuple[PkiMount, ...]:
        """The Vault-held intermediate mounts of one chain, level 1 (signed by the root) first; none for a chain
        this stack does not hold (a secondary's server and connect chains).
        """
        if chain not in self.local_chains:
            return ()
        levels = self.settings.pki.chains.by_name(chain).levels
        mounts = [
            PkiMount(chain=chain, level=level, path=f"{self.mount_prefix}/{chain.value}/pki_int{level}")
            for level in range(1, levels + 1)
        ]
        if chain is ChainName.CONNECT:  # Consul rotates its root only when rootPKIPath names another mount
            mounts[-1] = self.connect_root_mount(self.connect_root_generation)
        return tuple(mounts)

    @cached_property
    def connect_root_generation(self) -> int:
        """The generation of the connect chain's deepest CA (``rotation.connectRootGeneration``)."""
        return self.settings.rotation.connect_root_generation

    def connect_root_mount(self, generation: int) -> PkiMount:
        """Generation ``generation`` of the connect chain's deepest mount (Consul's ``rootPKIPath``): generation 1
        is ``…/connect/pki_int<L>``, generation N ≥ 2 its own mount ``…/connect/pki_int<L>_g<N>``.
        """
        level = self.settings.pki.chains.connect.levels
        base = f"{self.mount_prefix}/{ChainName.CONNECT.value}/pki_int{level}"
        return PkiMount(chain=ChainName.CONNECT, level=level, path=base if generation == 1 else f"{base}_g{generation}")

    @cached_property
    def superseded_connect_root_mount(self) -> PkiMount | None:
        """The connect root's previous generation while a later one is declared (None at generation 1, and in a
        stack without the connect chain): Consul cross-signs the new root with it, and it stays until the raise
        after.
        """
        if ChainName.CONNECT not in self.local_chains or self.connect_root_generation == 1:
            return None
        return self.connect_root_mount(self.connect_root_generation - 1)

    def issuing_mount(self, chain: ChainName) -> PkiMount:
        """The deepest Vault-held CA of a chain: where its roles live (and, for connect, Consul's root path); the
        primary's for a chain a secondary shares with it.
        """
        if chain not in self.local_chains:
            return self.federation_primary.issuing_mount(chain)
        return self.chain_mounts(chain)[-1]

    @cached_property
    def all_pki_mounts(self) -> tuple[PkiMount, ...]:
        """Every PKI mount this stack creates, root first (if in Vault), then chain by chain."""
        mounts = [self.root_mount] if self.root_mount is not None else []
        for chain in self.local_chains:
            mounts.extend(self.chain_mounts(chain))
        return tuple(mounts)

    primary_server_role = "consul-server"
    """PKI role on the server chain that issues the servers' TLS certificates (a secondary's: ``-<dc>`` appended)."""

    @cached_property
    def server_role(self) -> str:
        """The PKI role this stack's servers request their certificates with (in the primary's mount in a secondary)."""
        if self.is_federation_secondary:
            return self.federation_primary.secondary_server_role(self.datacenter)
        return self.primary_server_role

    gateway_role = "api-gateway"
    """PKI role on the gateway chain that issues the API gateway's listener certificate."""
    webhook_role = "connect-injector"
    """PKI role on the webhook chain that issues the connect injector's webhook certificate."""

    @cached_property
    def server_pki_issue_path(self) -> str:
        """``server.serverCert.secretName``: where servers request their certificate."""
        return self.issuing_mount(ChainName.SERVER).issue_path(self.server_role)

    @cached_property
    def server_ca_path(self) -> str:
        """``global.tls.caCert.secretName``: the CA every Consul agent trusts for server TLS."""
        return self.issuing_mount(ChainName.SERVER).ca_path

    @cached_property
    def gateway_pki_issue_path(self) -> str:
        """Where the API gateway's certificate is issued (through the Vault CSI provider)."""
        return self.issuing_mount(ChainName.GATEWAY).issue_path(self.gateway_role)

    @cached_property
    def webhook_pki_issue_path(self) -> str:
        """``connectInject.tlsCert.secretName``: the injector's webhook certificate."""
        return self.issuing_mount(ChainName.WEBHOOK).issue_path(self.webhook_role)

    @cached_property
    def webhook_ca_path(self) -> str:
        """``connectInject.caCert.secretName``: the CA the API server trusts for the webhook."""
        return self.issuing_mount(ChainName.WEBHOOK).ca_path

    @cached_property
    def connect_root_pki_path(self) -> str:
        """``connectCA.rootPKIPath``: the mesh chain's deepest Vault-held CA, which Consul signs with."""
        return self.issuing_mount(ChainName.CONNECT).path

    @cached_property
    def connect_intermediate_pki_path(self) -> str:
        """``connectCA.intermediatePKIPath``: created and owned by Consul, one per datacenter."""
        return f"{self.mount_prefix}/connect/pki_consul_{self.datacenter.replace('-', '_')}"

    @cached_property
    def vault_api_base_url(self) -> str:
        """Vault's API as clients reach it (``<address>/v1``, plus the Vault namespace if any)."""
        namespace = self.settings.vault.namespace
        base = f"{self.settings.vault.address}/v1"
        return f"{base}/{namespace}" if namespace else base

    def pki_issuing_certificate_url(self, mount: PkiMount) -> str:
        """The AIA ``issuing_certificates`` URL of a PKI mount: where clients fetch its CA (DER)."""
        return f"{self.vault_api_base_url}/{mount.path}/ca"

    def pki_crl_distribution_point(self, mount: PkiMount) -> str:
        """The CRL distribution point of a PKI mount."""
        return f"{self.vault_api_base_url}/{mount.path}/crl"

    # ------------------------------------------------------------------------------------ KV
    @cached_property
    def kv_mount(self) -> str:
        """The KV version 2 mount that holds Consul's secrets."""
        return f"{self.mount_prefix}/kv"

    def kv(self, secret: KvSecret) -> KvPath:
        """One of Consul's secrets in the KV mount; a secondary reads the primary's gossip key and replication token."""
        if self.is_federation_secondary and secret in FEDERATION_SHARED_SECRETS:
            return self.federation_primary.kv(secret)
        return KvPath(mount=self.kv_mount, name=f"consul/{secret.value}", field=KV_FIELDS[secret])

    @cached_property
    def is_secondary_datacenter(self) -> bool:
        """True in a WAN-federation secondary (``topology.mode: federation-secondary``): ACL replication applies,
        nothing is bootstrapped here, and the primary owns the federation's config entries.
        """
        return self.is_federation_secondary

    @cached_property
    def is_federation_primary(self) -> bool:
        """True for a WAN-federation primary (``topology.mode: federation-primary``): it makes the replication token."""
        return self.settings.topology.mode.value == "federation-primary"

    @cached_property
    def kv_secrets(self) -> tuple[KvSecret, ...]:
        """The KV secrets this stack holds: gossip and bootstrap always (none of both in a federation secondary,
        which reads the primary's gossip key and bootstraps nothing), the rest when the settings call for them.
        """
        if self.is_federation_secondary:
            return ()  # nor the Enterprise ones: the settings refuse Enterprise (partitions) with WAN federation
        wanted = [KvSecret.GOSSIP, KvSecret.BOOTSTRAP_TOKEN]
        if self.is_federation_primary:
            wanted.append(KvSecret.REPLICATION_TOKEN)
        if self.settings.consul.enterprise:
            wanted.extend((KvSecret.PARTITION_TOKEN, KvSecret.LICENSE))
        if self.settings.consul.snapshot_agent.enabled:
            wanted.append(KvSecret.SNAPSHOT_AGENT)
        return tuple(wanted)

    @cached_property
    def consul_kv_secrets(self) -> tuple[KvSecret, ...]:
        """Every KV secret Consul's pods read: the ones stored here, and in a secondary the primary's shared ones."""
        if self.is_federation_secondary:
            return (*sorted(FEDERATION_SHARED_SECRETS), *self.kv_secrets)
        return self.kv_secrets

    def app_kv(self, app: AppSettings, secret: str) -> KvPath:
        """One of an application's own secrets in the KV mount."""
        return KvPath(mount=self.kv_mount, name=f"apps/{app.name}/{secret}", field="value")

    # ------------------------------------------------------------------------ Kubernetes auth
    @cached_property
    def kubernetes_auth_path(self) -> str:
        """The Kubernetes auth mount of this datacenter (``kubernetes-<dc>`` unless set)."""
        return self.settings.kubernetes_auth_mount

    @cached_property
    def kubernetes_auth_login_path(self) -> str:
        """Where pods log in (``auth/<mount>``), the value of the agent's auth-path annotation."""
        return f"auth/{self.kubernetes_auth_path}"

    def auth_role(self, identity: Identity) -> str:
        """The Kubernetes-auth role name a Consul component logs in with."""
        return f"consul-{identity.value}"

    def policy_name(self, identity: Identity) -> str:
        """The Vault policy attached to one Consul identity (names are global in a Vault namespace)."""
        return f"{self.name_prefix}-{self.datacenter}-{identity.value}"

    @cached_property
    def mesh_ca_policy_name(self) -> str:
        """The policy that lets Consul's Vault CA provider drive the mesh CA paths."""
        return f"{self.name_prefix}-{self.datacenter}-mesh-ca"

    @cached_property
    def gateway_policy_name(self) -> str:
        """The policy that lets the API gateway's CSI mount issue its listener certificate."""
        return f"{self.name_prefix}-{self.datacenter}-api-gateway"

    @cached_property
    def gateway_auth_role(self) -> str:
        """The Kubernetes-auth role the API gateway's CSI volume logs in with."""
        return "api-gateway"

    gateway_name = API_GATEWAY_SERVICE
    """The Gateway API ``Gateway`` (class ``consul``) in Consul's namespace that serves the apps' public routes."""

    @cached_property
    def gateway_service_account(self) -> str:
        """The gateway's service account: consul-k8s creates (and owns) one named after the Gateway, in its namespace.

        Do not create it: consul-k8s refuses a service account of that name that the Gateway does not own.
        """
        return self.gateway_name

    @cached_property
    def gateway_tls_secret_name(self) -> str:
        """The ``kubernetes.io/tls`` secret the CSI driver syncs the listener certificate into."""
        return f"{self.gateway_name}-tls"

    @cached_property
    def gateway_secret_provider_class(self) -> str:
        """The ``SecretProviderClass`` that issues the listener certificate from Vault's gateway chain."""
        return f"{self.gateway_name}-vault-tls"

    @cached_property
    def gateway_certificate_sync_workload(self) -> str:
        """The Deployment that mounts the CSI volume (the driver only syncs secrets of mounted volumes)."""
        return f"{self.gateway_name}-certificate-sync"

    @cached_property
    def gateway_certificate_service_account(self) -> str:
        """The service account Vault Secrets Operator logs in as for the listener certificate (Consul's namespace)."""
        return f"{self.gateway_name}-certificate"

    @cached_property
    def gateway_vault_connection(self) -> str:
        """The ``VaultConnection`` and ``VaultAuth`` (one name, two kinds) VSO uses for the listener certificate."""
        return f"{self.gateway_name}-vault"

    @cached_property
    def gateway_vso_ca_secret(self) -> str:
        """The Secret holding Vault's CA as ``ca.crt`` (VSO's ``VaultConnection.caCertSecretRef`` reads that key)."""
        return f"{self.gateway_name}-vault-ca"

    vso_release_name = "vault-secrets-operator"
    """The Helm release of Vault Secrets Operator (installed by the program with ``vso`` certificate delivery)."""
    vso_namespace = "vault-secrets-operator-system"

    csi_driver_release_name = "csi-secrets-store"
    """The Helm release of the Secrets Store CSI driver (this program installs it only for an external Vault)."""
    csi_driver_namespace = "kube-system"

    @cached_property
    def token_reviewer_service_account(self) -> str:
        """The service account whose token Vault uses to review logins when it runs outside the cluster."""
        return "vault-token-reviewer"

    token_reviewer_namespace = "vault-auth"
    """The token reviewer's own namespace (Consul's namespace belongs to the Consul release, which waits for Vault)."""

    @cached_property
    def token_reviewer_secret_name(self) -> str:
        """The ``kubernetes.io/service-account-token`` secret holding the reviewer's long-lived JWT."""
        return f"{self.token_reviewer_service_account}-token"

    @cached_property
    def token_reviewer_binding_name(self) -> str:
        """The ClusterRoleBinding that grants the reviewer ``system:auth-delegator`` (TokenReview)."""
        return f"{self.token_reviewer_service_account}-auth-delegator"

    @cached_property
    def vault_clients_binding_name(self) -> str:
        """The ClusterRoleBinding of ``system:auth-delegator`` to exactly the service accounts that log in to Vault.

        Only with an external Vault reviewing logins with the client's own JWT (``vault.tokenReviewer: client-jwt``).
        """
        return f"{self.name_prefix}-{self.datacenter}-vault-clients-auth-delegator"

    @cached_property
    def mesh_gateway_service_account(self) -> str:
        """The chart's mesh gateway service account (``<fullname>-mesh-gateway``); it logs in with the CA-read role."""
        return f"{self.consul_fullname}-mesh-gateway"

    @cached_property
    def mesh_gateway_service(self) -> str:
        """The chart's mesh gateway Service (``<fullname>-mesh-gateway``, templates/mesh-gateway-service.yaml)."""
        return f"{self.consul_fullname}-mesh-gateway"

    @cached_property
    def audit_device_path(self) -> str:
        """Where this stack's Vault audit device is enabled (``sys/audit/<path>``); one per datacenter."""
        return self.settings.vault.audit.path or f"secure-mesh-{self.datacenter}"

    # --------------------------------------------------------------------------- Consul chart
    @cached_property
    def consul_namespace(self) -> str:
        """The Kubernetes namespace of the Consul release (and every Consul service account)."""
        return self.settings.kubernetes.consul_namespace

    @cached_property
    def consul_release_name(self) -> str:
        """The Helm release name of the Consul chart."""
        return self.settings.consul.release_name

    @cached_property
    def consul_fullname(self) -> str:
        """The chart's ``consul.fullname``: ``global.name``, else ``<release>-consul``, truncated to 63 as Helm does.

        Names derived from it (``<fullname>-server``, service accounts, Services) are *not* truncated by the chart, so
        the layout does not truncate them either (a cut name would bind a Vault role to another account, e.g.
        ``<fullname>-server-acl-init`` cut to ``<fullname>-server``); the settings keep the fullname short enough
        (``CONSUL_FULLNAME_MAX``) for every derived name to be valid.
        """
        return truncate_name(self.settings.consul.fullname)

    def service_account(self, identity: Identity) -> str:
        """The Kubernetes service account the chart creates for a Consul component (``<fullname>-<component>``)."""
        if identity is Identity.CA_READER:
            return "*"
        return f"{self.consul_fullname}-{identity.value}"

    @cached_property
    def identities(self) -> tuple[Identity, ...]:
        """The Consul identities this stack needs, given clients and Enterprise partitions."""
        wanted = [Identity.SERVER, Identity.SERVER_ACL_INIT, Identity.CONNECT_INJECTOR, Identity.CA_READER]
        if self.settings.consul.clients_enabled:
            wanted.insert(1, Identity.CLIENT)
        if self.settings.consul.enterprise:
            wanted.append(Identity.PARTITION_INIT)
        return tuple(wanted)

    @cached_property
    def server_dns_domains(self) -> tuple[str, ...]:
        """The server role's ``allowed_domains``, exactly as the chart requests names (contract §4)."""
        fn, ns = self.consul_fullname, self.consul_namespace
        return (
            f"{self.datacenter}.{self.settings.consul.domain}",
            f"{fn}-server",
            f"{fn}-server.{ns}",
            f"{fn}-server.{ns}.svc",
        )

    @cached_property
    def server_common_name(self) -> str:
        """The common name a Consul server requests: ``server.<dc>.<domain>``."""
        return f"server.{self.datacenter}.{self.settings.consul.domain}"

    @cached_property
    def webhook_dns_names(self) -> tuple[str, ...]:
        """The names the connect injector's webhook certificate carries."""
        base = f"{self.consul_fullname}-connect-injector"
        return (
            base,
            f"{base}.{self.consul_namespace}",
            f"{base}.{self.consul_namespace}.svc",
            f"{base}.{self.consul_namespace}.svc.cluster.local",
        )

    @cached_property
    def consul_ui_service(self) -> str:
        """The Kubernetes service of Consul's UI."""
        return f"{self.consul_fullname}-ui"

    @cached_property
    def consul_server_service(self) -> str:
        """The Kubernetes service of Consul's servers (HTTPS API and RPC)."""
        return f"{self.consul_fullname}-server"

    @cached_property
    def vault_ca_secret_name(self) -> str:
        """The Kubernetes secret, in Consul's namespace, that holds the CA of Vault's TLS certificate."""
        return f"{self.consul_fullname}-vault-ca"

    vault_ca_secret_key = "tls.crt"

    vault_csi_ca_directory = "/vault/tls"
    """Where the Vault CSI provider installed for an external Vault mounts the CA of Vault's certificate."""

    @cached_property
    def vault_csi_ca_cert_path(self) -> str:
        """The ``vaultCACertPath`` a ``SecretProviderClass`` names: the CA file inside the CSI provider pod."""
        return f"{self.vault_csi_ca_directory}/{self.vault_ca_secret_key}"

    vault_namespace = "vault"
    """The Kubernetes namespace of Vault's own pods: the in-cluster server, or the agent injector and CSI
    provider installed for an external Vault. Never part of the mesh (Consul's pods must reach Vault)."""

    vault_injector_release_name = "vault"
    """The Helm release of HashiCorp's Vault chart (server disabled) when Vault runs outside the cluster."""

    # ---------------------------------------------------------------------------------- JWT
    def jwt_provider(self, provider: JwtProviderSettings) -> JwtProviderNames:
        """One JWT provider's names. A ``vault-identity`` provider's tokens are Vault identity tokens: Vault's
        issuer is ``<api_addr or identity/oidc/config issuer>/v1/<namespace/>identity/oidc`` and its key set is
        that plus ``/.well-known/keys`` (vault ``identity_store_oidc.go``, ``getOIDCConfig``, ``pathOIDCDiscovery``),
        read here at ``vault.address``; the audience is the OIDC key's name, which every role of the key sets as
        its ``client_id`` (the ``aud`` of its tokens).
        """
        if provider.kind is JwtProviderKind.REMOTE:
            return JwtProviderNames(
                name=provider.name,
                issuer=provider.issuer or "",
                jwks_uri=provider.jwks_uri or "",
                audiences=tuple(provider.audiences),
                oidc_key=None,
            )
        base = f"{self.vault_api_base_url}/identity/oidc"
        key = f"{self.name_prefix}-{self.datacenter}-jwt-{provider.name}"
        return JwtProviderNames(
            name=provider.name,
            issuer=provider.issuer or base,
            jwks_uri=f"{base}/.well-known/keys",
            audiences=(key,),
            oidc_key=key,
        )

    def jwt_role(self, provider: JwtProviderSettings, app: AppSettings) -> str:
        """The Vault OIDC role an app fetches a ``vault-identity`` provider's tokens from (names are global in a
        Vault namespace, so the stack's prefix and datacenter lead).
        """
        return f"{self.name_prefix}-{self.datacenter}-jwt-{provider.name}-{app.name}"

    # ---------------------------------------------------------------------------------- apps
    def app(self, app: AppSettings) -> AppNames:
        """Names that belong to one onboarded application."""
        return AppNames(
            app=app.name,
            namespace=app.namespace,
            service_account=app.service_account,
            auth_role=f"app-{app.name}",
            policy=f"{self.name_prefix}-{self.datacenter}-app-{app.name}",
            kv_prefix=f"{self.kv_mount}/data/apps/{app.name}",
            database_role=f"app-{app.name}",
            database_creds_path=f"{self.database_mount}/creds/app-{app.name}",
            http_route=f"{app.name}-route",
        )

    @cached_property
    def database_mount(self) -> str:
        """The database secrets engine mount for applications' dynamic credentials."""
        return f"{self.mount_prefix}/database"

    def database_connection(self, app: AppSettings) -> str:
        """The database connection (one per app database) in the database mount."""
        return f"{app.name}-{app.database.database_name if app.database else 'db'}".replace("_", "-")

    def database_connection_config_path(self, app: AppSettings) -> str:
        """``<mount>/config/<connection>``: the connection's configuration (the watcher updates its address)."""
        return f"{self.database_mount}/config/{self.database_connection(app)}"

    def database_rotate_root_path(self, app: AppSettings) -> str:
        """``<mount>/rotate-root/<connection>``: Vault's endpoint that rotates the connection's root password."""
        return f"{self.database_mount}/rotate-root/{self.database_connection(app)}"

    def catalog_watcher(self, app: AppSettings) -> CatalogWatcherNames:
        """Names of the watcher that follows an app database's Consul service (issue 18)."""
        return CatalogWatcherNames(
            workload=f"{app.name}-db-address-watcher",
            auth_role=f"db-address-{app.name}",
            policy=f"{self.name_prefix}-{self.datacenter}-db-address-{app.name}",
            consul_policy=f"{self.name_prefix}-db-address-{app.name}",
            consul_token=KvPath(
                mount=self.kv_mount, name=f"platform/db-address-watcher/{app.name}/consul-token", field="value"
            ),
            connection_config_path=self.database_connection_config_path(app),
        )
