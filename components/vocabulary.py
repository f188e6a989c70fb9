"""The shared vocabulary: the enumerations settings, the layout, the composition and the components all speak.

Plain ``StrEnum`` types with no dependency: a component takes these in its ``...Args`` without importing the
settings models (issue 15); :mod:`secure_mesh.settings` and :mod:`secure_mesh.layout` re-export them.
"""

from __future__ import annotations

from enum import StrEnum


class Environment(StrEnum):
    """What the stack is for; production-only rules (quorum, protect) key off ``prod``, https all but ``dev``."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class VaultPlacement(StrEnum):
    """Where Vault runs relative to the Consul cluster; decides the Kubernetes auth reviewer."""

    IN_CLUSTER = "in-cluster"
    EXTERNAL = "external"


class TokenReviewer(StrEnum):
    """Whose JWT Vault presents to the Kubernetes TokenReview API when it runs outside the cluster."""

    CLIENT_JWT = "client-jwt"
    """Each client's own (short-lived) JWT reviews itself; its service account holds ``system:auth-delegator``."""
    LONG_LIVED_SECRET = "long-lived-secret"
    """A reviewer service account's legacy token Secret: a JWT that never expires, copied into Vault and state."""


class AuditDeviceType(StrEnum):
    """Vault's audit device types (Vault docs, "Audit devices")."""

    FILE = "file"
    SOCKET = "socket"
    SYSLOG = "syslog"


class AuditSocketType(StrEnum):
    """The socket audit device's ``socket_type``."""

    TCP = "tcp"
    UDP = "udp"
    UNIX = "unix"


class RootCustody(StrEnum):
    """Who holds the root CA's private key."""

    VAULT = "vault"
    EXTERNAL = "external"
    AWS_KMS = "aws-kms"


class KeyType(StrEnum):
    """Key algorithm of every CA in every chain (one type throughout, for Consul's cross-signing)."""

    EC = "ec"
    RSA = "rsa"


class ChainName(StrEnum):
    """The purposes a certificate chain can serve; each gets its own mounts under the root."""

    SERVER = "server"
    CONNECT = "connect"
    GATEWAY = "gateway"
    WEBHOOK = "webhook"


class AclBootstrap(StrEnum):
    """How the ACL bootstrap token comes to be."""

    AUTO = "auto"
    """Stored empty; the chart's server-acl-init job bootstraps ACLs and writes the token back."""
    GENERATED = "generated"
    """The program generates a UUID (a Pulumi secret) and Consul adopts it."""


class GatewayCertificateDelivery(StrEnum):
    """How the API gateway's listener certificate reaches its ``kubernetes.io/tls`` Secret."""

    VSO = "vso"
    """Vault Secrets Operator's ``VaultPKISecret``: ``tls.crt`` is the leaf followed by its issuing chain (no root)."""
    CSI = "csi"
    """The Vault CSI provider and the Secrets Store CSI driver's secret sync: the leaf alone, no chain."""


class IntentionsRendering(StrEnum):
    """How the intention graph reaches Consul."""

    CONFIG_ENTRIES = "config-entries"
    CRDS = "crds"


JWT_SERVICE_ACCOUNT_CLAIM = "k8s_service_account"
"""The claim a ``vault-identity`` provider's tokens carry the calling app's service account in (not one of Vault's
reserved claims: ``iat aud exp iss sub namespace``, vault ``identity_store_oidc.go`` ``requiredClaims``)."""
JWT_NAMESPACE_CLAIM = "k8s_namespace"
"""The claim carrying the calling app's Kubernetes namespace (``namespace`` itself is Vault's: its namespace ID)."""


class JwtProviderKind(StrEnum):
    """Where a JWT provider's tokens come from (``mesh.jwtProviders[].kind``)."""

    VAULT_IDENTITY = "vault-identity"
    """Vault's identity tokens: an OIDC key and a role per calling app, claims bound to the app's service account."""
    REMOTE = "remote"
    """Another issuer: its ``issuer``, JWKS address, the JWKS server's CA and ``audiences`` are given."""


class Protocol(StrEnum):
    """A service's protocol as Consul's service-defaults know it."""

    TCP = "tcp"
    HTTP = "http"
    HTTP2 = "http2"
    GRPC = "grpc"


class IntentionAction(StrEnum):
    """What an intention does to traffic from its source."""

    ALLOW = "allow"
    DENY = "deny"


class DatabaseEngine(StrEnum):
    """Database engines the onboarding can issue dynamic credentials for."""

    POSTGRESQL = "postgresql"


class DatabaseTlsMode(StrEnum):
    """libpq ``sslmode`` values; only ``verify-full`` checks both the CA and the host name."""

    DISABLE = "disable"
    ALLOW = "allow"
    PREFER = "prefer"
    REQUIRE = "require"
    VERIFY_CA = "verify-ca"
    VERIFY_FULL = "verify-full"


class TopologyMode(StrEnum):
    """How this cluster relates to other Consul clusters."""

    STANDALONE = "standalone"
    PEERING = "peering"
    FEDERATION_PRIMARY = "federation-primary"
    """The primary datacenter of a WAN federation: creates the replication token, issues every server certificate."""
    FEDERATION_SECONDARY = "federation-secondary"
    """A secondary datacenter of a WAN federation: joins its primary (named by ``topology.primaryStack``)."""


class PeerRole(StrEnum):
    """This cluster's side of one peering."""

    ACCEPTOR = "acceptor"
    """This cluster generates the peering token (Consul's ``/v1/peering/token``) and exports it as a secret."""
    DIALER = "dialer"
    """This cluster reads the token from the acceptor's stack outputs and establishes the peering."""


class Identity(StrEnum):
    """The Consul components that log in to Vault, each with its own role and policy."""

    SERVER = "server"
    CLIENT = "client"
    SERVER_ACL_INIT = "server-acl-init"
    PARTITION_INIT = "partition-init"
    CONNECT_INJECTOR = "connect-injector"
    CA_READER = "ca-reader"


class KvSecret(StrEnum):
    """Consul's secrets kept in the KV-v2 mount."""

    GOSSIP = "gossip"
    BOOTSTRAP_TOKEN = "bootstrap-token"
    REPLICATION_TOKEN = "replication-token"
    PARTITION_TOKEN = "partition-token"
    LICENSE = "license"
    SNAPSHOT_AGENT = "snapshot-agent"


L7_PROTOCOLS = frozenset({Protocol.HTTP, Protocol.HTTP2, Protocol.GRPC})
"""The protocols L7 intention permissions work on: Consul refuses permissions on any other destination
(``IsProtocolHTTPLike``; agent/consul/state/config_entry.go, ``validateProposedConfigEntryInGraph``)."""

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")
"""The methods an L7 permission may match, spelled as consul-k8s's webhook compares them (exact strings;
control-plane/api/v1alpha1/serviceintentions_types.go ``IntentionHTTPPermission.validate``, v2.0.3)."""

HTTP_PATH_PATTERN = r"^/[^*\s]*$"
"""A request path an L7 permission or a route may match: Consul and consul-k8s require the leading ``/``
(agent/structs/config_entry_intentions.go ``validate``: "PathExact doesn't start with '/'"); this project also
refuses ``*`` (Consul matches it literally, never as a glob) and whitespace."""
