"""The inputs of :class:`~secure_mesh.onboarding.component.AppOnboarding`: plain values and upstream Outputs only.

Every field is a value the stack's configuration decides (names, documents, TTLs, flags), except the
``pulumi.Input`` fields, which another resource computes and whose dependency travels with the data: the
Kubernetes auth mount the roles are written to, the KV mount of the watchers' Consul tokens, the Consul
release the Gateway API objects and catalog look-ups wait for, Consul's CA, and the databases' root
credentials (a secret). :mod:`secure_mesh.composition.apps` maps settings and the layout to these; a program
of its own can write them by hand (``tests/onboarding/test_standalone.py`` does). Nothing here imports the
settings models or the layout (issue 15).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclasses_field
from typing import Any

import pulumi

from ..vocabulary import DatabaseTlsMode, GatewayCertificateDelivery


@dataclass(frozen=True)
class VaultClientArgs:
    """How onboarded workloads reach Vault and log in to it (what pod annotations and Kubernetes objects spell)."""

    address: str
    """Vault's address as pods reach it (``https://vault.example:8200``)."""
    auth_path: str
    """The Kubernetes auth mount's path as pods name it (``auth/<path>`` in annotations, ``mount`` in VSO)."""
    audience: str
    """The token audience the app, watcher and gateway roles check (and their pods request)."""
    dedicated_audience: bool
    """Whether that audience is a dedicated one: pods then log in with a projected service-account token volume."""
    ca_secret_name: str
    """The Secret that holds Vault's CA in each app namespace and in Consul's namespace (``tls-secret``)."""
    ca_secret_key: str
    """The key of that Secret holding the PEM."""
    namespace: str | None = None
    """The Vault Enterprise namespace, if any."""
    tls_server_name: str | None = None
    """The name to verify Vault's certificate against, when it differs from the address's host."""
    ca_cert_pem: str | None = None
    """The (public) CA of Vault's listener certificate, when it is not in the system trust store."""
    csi_ca_cert_path: str | None = None
    """Where the Vault CSI provider finds that CA (``vaultCACertPath`` of a ``SecretProviderClass``)."""


@dataclass(frozen=True)
class CatalogWatcherArgs:
    """Names of the consul-template watcher that keeps one database connection at its Consul catalog address."""

    workload: str
    """The Deployment, its service account and its ConfigMap (in Consul's namespace)."""
    auth_role: str
    """The watcher's Kubernetes-auth role."""
    policy: str
    """The watcher's Vault policy (update on the one connection's config)."""
    consul_policy: str
    """The Consul ACL policy that may read the database's service (and the nodes, for health queries)."""
    consul_token_name: str
    """The KV-v2 secret (under ``kv_mount``) holding the watcher's Consul token."""
    consul_token_path: str
    """That secret's API path with ``/data/`` (what the watcher's policy grants and its agent renders)."""
    consul_token_field: str = "value"
    """The secret's field holding the token."""


@dataclass(frozen=True)
class AppDatabaseArgs:
    """Everything Vault is told about one app's database (its address aside, when it comes from the catalog)."""

    connection_name: str
    """The connection in the database mount (``<mount>/config/<connection>``)."""
    role_name: str
    """The role whose credentials the app reads (``<mount>/creds/<role>``)."""
    creds_path: str
    """``<mount>/creds/<role>``: what the app's policy grants read on."""
    database_name: str
    """The database the app's users may connect to."""
    port: int
    """The database's port (the catalog's port wins for a catalog service)."""
    creation_statements: Sequence[str]
    """What Vault runs to create a short-lived user (``{{name}}``, ``{{password}}``, ``{{expiration}}``)."""
    revocation_statements: Sequence[str]
    """What Vault runs to take a user's grants back and drop it."""
    root_rotation_statements: Sequence[str]
    """What Vault runs to rotate the root password."""
    default_ttl: int
    """Seconds a credential lives unless renewed."""
    max_ttl: int
    """Seconds a credential lives at most."""
    root_password_version: int
    """The declared root password version: raising it hands Vault the configured password and rotates again."""
    root_password_version_setting: str
    """The camelCase config key of that version, named when a lower version is refused."""
    rotate_root_path: str
    """``<mount>/rotate-root/<connection>``: Vault's endpoint that rotates the root password."""
    connection_config_path: str
    """``<mount>/config/<connection>``: the connection's configuration."""
    ssl_mode: DatabaseTlsMode = DatabaseTlsMode.VERIFY_FULL
    """libpq ``sslmode`` in the connection URL."""
    static_host: str | None = None
    """A fixed host (exclusive with ``consul_service``)."""
    consul_service: str | None = None
    """The Consul catalog service to resolve host and port from at deploy time."""
    follows_catalog: bool = False
    """Whether the catalog watcher owns the address after creation (needs ``watcher``)."""
    tls_ca_pem: str | None = None
    """The database's CA for Vault's ``tls_ca`` (None: Vault's own trust store)."""
    verify_connection: bool = True
    """Whether Vault connects when the connection is written (and refuses an address it cannot reach)."""
    rotation_period: int | None = None
    """Vault Enterprise 1.19+: rotate the root password every so many seconds."""
    rotation_schedule: str | None = None
    """Vault Enterprise 1.19+: rotate on this cron schedule."""
    rotation_window: int | None = None
    """Vault Enterprise 1.19+: seconds after the schedule in which a rotation may run."""
    watcher: CatalogWatcherArgs | None = None
    """The watcher's names (with ``follows_catalog``)."""


@dataclass(frozen=True)
class AppRouteArgs:
    """One app's public route through the API gateway."""

    hostname: str
    """The host name the route matches (also on the listener certificate)."""
    path_prefix: str
    """The path prefix the route matches."""
    service: str
    """The app's Kubernetes Service the route sends traffic to."""
    service_port: int
    """That Service's port."""
    http_route: str
    """The ``HTTPRoute``'s name (in the app's namespace)."""


@dataclass(frozen=True)
class AppArgs:
    """One onboarded app: who it runs as, what it may read, and how its pods get it."""

    name: str
    """The app's name (keys every output map)."""
    namespace: str
    """The Kubernetes namespace it runs in."""
    service_account: str
    """The service account its pods run as (the only one its role binds)."""
    auth_role: str
    """Its Kubernetes-auth role."""
    policy: str
    """Its Vault policy."""
    kv_read_paths: Sequence[str]
    """KV-v2 API paths (with ``/data/``) of its own secrets: its policy grants read on exactly these."""
    annotations: Mapping[str, str]
    """The Vault agent pod annotations its pods carry (exported as they are)."""
    database: AppDatabaseArgs | None = None
    """Its database, for dynamic credentials."""
    route: AppRouteArgs | None = None
    """Its public route through the API gateway."""
    jwt_token_paths: Mapping[str, str] = dataclasses_field(default_factory=dict)
    """JWT provider → ``identity/oidc/token/<role>``: the Vault identity tokens it presents to destinations that
    require them (its policy grants read on each; its Vault agent renders each to ``/vault/secrets/jwt-<provider>``)."""


@dataclass(frozen=True)
class ChartReleaseArgs:
    """A Helm release the component installs: where, and with which values."""

    name: str
    """The release's name."""
    namespace: str
    """The namespace it is installed in."""
    values: Mapping[str, Any]
    """The chart's values (a free-form document the chart defines)."""


@dataclass(frozen=True)
class GatewayVsoArgs:
    """Vault Secrets Operator delivery of the listener certificate."""

    release: ChartReleaseArgs
    """The operator's Helm release."""
    vault_connection: str
    """The ``VaultConnection`` and ``VaultAuth`` (one name, two kinds)."""
    vault_ca_secret: str
    """The Secret holding Vault's CA as ``ca.crt`` (used when Vault has a CA of its own)."""


@dataclass(frozen=True)
class GatewayCsiArgs:
    """Vault CSI provider delivery of the listener certificate."""

    secret_provider_class: str
    """The ``SecretProviderClass`` that issues the certificate."""
    sync_workload: str
    """The Deployment that keeps the CSI volume mounted (so the driver syncs the Secret)."""
    sync_image: str
    """That Deployment's image (``pause``)."""
    driver: ChartReleaseArgs | None = None
    """The Secrets Store CSI driver release to install (None: someone else installs it)."""


@dataclass(frozen=True)
class GatewayArgs:
    """The API gateway: its listener, the identity its certificate is issued with, and how it is delivered."""

    name: str
    """The ``Gateway`` (class ``consul``); consul-k8s names its Deployment and service account after it."""
    namespace: str
    """Consul's namespace, where the Gateway and its certificate objects live."""
    listener_secret: str
    """The ``kubernetes.io/tls`` Secret the HTTPS listener serves."""
    policy: str
    """The Vault policy that may issue the listener certificate."""
    auth_role: str
    """The Kubernetes-auth role the certificate is issued with."""
    login_service_account: str
    """The service account that logs in with that role (VSO's own account for it, or the Gateway's)."""
    pki_mount: str
    """The gateway chain's issuing mount."""
    pki_role: str
    """The PKI role listener certificates are issued with."""
    leaf_ttl: str
    """The listener certificate's TTL (Vault duration, e.g. ``720h``)."""
    leaf_ttl_seconds: int
    """The same TTL in seconds (renewal offsets are a third of it)."""
    certificate_delivery: GatewayCertificateDelivery
    """How the certificate reaches the listener Secret (``vso`` or ``csi``)."""
    vso: GatewayVsoArgs | None = None
    """With ``vso`` delivery."""
    csi: GatewayCsiArgs | None = None
    """With ``csi`` delivery."""


@dataclass(frozen=True)
class AppOnboardingArgs:
    """Inputs of :class:`~secure_mesh.onboarding.component.AppOnboarding`."""

    apps: Sequence[AppArgs]
    """The onboarded apps, in order."""
    vault: VaultClientArgs
    """How the apps' pods, the watchers and the gateway's certificate reach Vault."""
    kubernetes_auth_mount: pulumi.Input[str]
    """The Kubernetes auth mount's path, from the auth backend's output: every role is written there after it."""
    datacenter: str
    """Consul's datacenter (catalog look-ups)."""
    consul_namespace: str
    """Consul's Kubernetes namespace (watchers, gateway objects)."""
    consul_server_service: str
    """The Kubernetes Service of Consul's servers (the watchers' HTTPS API address)."""
    consul_release: pulumi.Input[str] | None = None
    """An output of the Consul release (its status or name): Gateway API objects, catalog look-ups, Consul ACL
    objects and the objects in Consul's namespace wait for it (the chart installs the CRDs and runs Consul)."""
    consul_ca_pem: pulumi.Input[str] | None = None
    """The CA chain of Consul's server certificates (public), which catalog watchers verify Consul with."""
    kv_mount: pulumi.Input[str] | None = None
    """The KV-v2 mount's path, from its output (the watchers' Consul tokens are written there)."""
    database_mount: str | None = None
    """The database secrets engine's mount path (required when an app has a database)."""
    database_root_credentials: pulumi.Input[Mapping[str, Mapping[str, str]]] | None = None
    """The secret ``{<app>: {username, password}}`` (a Pulumi secret; required when an app has a database)."""
    gateway: GatewayArgs | None = None
    """The API gateway (None: no gateway)."""
    consul_template_image: str | None = None
    """The catalog watchers' consul-template image (required with a watcher)."""
    vault_agent_image: str | None = None
    """The image whose ``/bin/vault`` the watchers copy (required with a watcher)."""
    protect: bool = False
    """Protect the component and so every resource it creates from deletion (production stacks)."""
