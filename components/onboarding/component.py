"""Service onboarding: each app's Vault identity, its dynamic database credentials, and the API gateway's TLS.

:class:`AppOnboarding` takes :class:`~secure_mesh.onboarding.args.AppOnboardingArgs` (issue 15): per-app plain
values (names, namespace, service account, the KV paths it may read, its database and route, its annotations)
and, as Inputs, what other resources compute. Each dependency follows that data: a role is written to the
Kubernetes auth mount whose path it is given and carries its policy's name; database roles name the mount's
path and the connection's name; the watchers' Consul tokens go to the KV mount whose path they are given;
Gateway API objects, catalog look-ups, Consul ACL objects and objects in Consul's namespace wait for the Consul
release's Output (one shared Output, no per-app chain). The Consul provider, like every provider, comes
through ``opts``. Documents (policies, role bindings, statements, Kubernetes objects) are plain data from
:mod:`.identity`, :mod:`.database`, :mod:`.gateway`, :mod:`.gateway_vso` and :mod:`.catalog_watcher`, none of
which reads the settings or the layout (:mod:`secure_mesh.composition.apps` and :mod:`.plan` do).

Database resources: a ``vault.Mount`` of type ``database`` plus, per app, one
``database.SecretBackendConnection``, one ``database.SecretBackendRole``, one ``generic.Endpoint`` that
runs Vault's ``rotate-root`` on the connection, and one :class:`.root_version.RootPasswordVersion` record
— rather than ``database.SecretsMount`` (which holds every connection as a nested block of one
resource). Separate connections can be updated independently (a database that moved in the Consul
catalog rewrites only its own connection), are protected one by one, and adding or removing an app
never rewrites another app's connection.

The root password is passed through the provider's write-only ``password_wo`` with
``password_wo_version``: a write-only field is never read back (no drift once Vault has rotated it) and
is only sent at creation and when the version (``apps[].database.rootPasswordVersion``) changes.
Connection URL changes are sent without it. Right after the connection is written, the rotation
endpoint (``disable_read``/``disable_delete``: ``rotate-root`` has no GET or DELETE) writes
``<mount>/rotate-root/<name>``; its data is the version, so a new version is a changed input, which
the provider applies by writing the path again (terraform-provider-vault resource_generic_endpoint.go:
``Update`` is the same write as ``Create``), i.e. Vault rotates again. Order: mount → version record
(refuses a lower version) → connection → rotation.

A database address from the Consul catalog is looked up at deploy time through the Consul provider of the
component's ``opts`` (``consul.get_service``), after the Consul release exists. With ``followCatalog`` (the default
for a catalog service) that address is only the connection's first one: the connection ignores changes
of ``postgresql.connectionUrl`` and the in-cluster watcher (:mod:`.catalog_watcher`) owns it from then on.
``pulumi refresh`` reads the watcher's address back into state and the next ``pulumi up`` shows no diff
(``ignore_changes`` keeps the state's value); when Pulumi updates the connection for another reason it
sends the URL from its state, and the watcher's pod template carries a digest of exactly those other
fields, so the same ``pulumi up`` restarts the watcher, which writes the catalog's address again.
Without ``followCatalog`` each ``pulumi up`` re-reads the catalog and updates the connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_vault as vault

from ..args import coerce_args
from ..consul.component import waits_for
from ..identities.documents import AuthRoleSpec, PolicyDocument
from ..vocabulary import GatewayCertificateDelivery
from .args import (
    AppArgs,
    AppDatabaseArgs,
    AppOnboardingArgs,
    AppRouteArgs,
    CatalogWatcherArgs,
    ChartReleaseArgs,
    GatewayArgs,
    GatewayCsiArgs,
    GatewayVsoArgs,
    VaultClientArgs,
)
from .catalog_watcher import config_map_data, consul_acl_rules, watcher_deployment, watcher_policy, watcher_role
from .database import (
    POSTGRESQL_PLUGIN,
    automated_rotation_inputs,
    connection_url,
    pick_catalog_instance,
    root_credentials,
    rotate_root_data,
    static_connection_url,
)
from .gateway import (
    SECRETS_STORE_CSI_DRIVER_CHART,
    SECRETS_STORE_CSI_DRIVER_REPOSITORY,
    SECRETS_STORE_CSI_DRIVER_VERSION,
    gateway_document,
    http_route,
    routed,
    secret_provider_class,
    sync_workload,
)
from .gateway_vso import (
    VSO_CA_KEY,
    VSO_CHART,
    VSO_REPOSITORY,
    VSO_VERSION,
    vault_auth,
    vault_connection,
    vault_pki_secret,
)
from .identity import app_policy, app_role, gateway_policy, gateway_role
from .root_version import RootPasswordVersion, RootPasswordVersionArgs

__all__ = [
    "AppArgs",
    "AppDatabaseArgs",
    "AppOnboarding",
    "AppOnboardingArgs",
    "AppRouteArgs",
    "CatalogWatcherArgs",
    "ChartReleaseArgs",
    "GatewayArgs",
    "GatewayCsiArgs",
    "GatewayVsoArgs",
    "VaultClientArgs",
]

TYPE_TOKEN = "secure-mesh:index:AppOnboarding"
OLD_TYPE_TOKEN = "secure-mesh:onboarding:AppOnboarding"
"""The type token before issue 15; an alias keeps deployed stacks' URNs."""
DATABASE_DEFAULT_LEASE_SECONDS = 3600
CONNECTION_URL_PROPERTY = "postgresql.connectionUrl"
"""The connection's address field, owned by the catalog watcher once the connection exists."""


def _kv_data(field: str) -> Callable[[str], str]:
    """The KV-v2 ``data_json`` of a one-field secret (a function, so each loop iteration keeps its own field)."""

    def render(value: str) -> str:
        return json.dumps({field: value}, sort_keys=True)

    return render


T = TypeVar("T")


def _known(value: T) -> pulumi.Output[T]:
    """An Output of plain, already-known data (no Outputs inside), holding ``value`` as it is.

    ``pulumi.Output.from_input`` unwraps deeply: one Output, an ``Output.all`` and an apply per nested dict,
    list and value (the 2,000 apps' annotations: about 2 s of a 2,000-service run, issue 15). Plain data has
    nothing to unwrap, so one known Output whose apply returns the value is the same output for a fraction.
    """
    return pulumi.Output.from_input(0).apply(lambda _: value)


class AppOnboarding(pulumi.ComponentResource):
    """The onboarded apps: Vault roles and policies, database credentials, the API gateway and its routes."""

    app_roles: pulumi.Output[Mapping[str, str]]
    """The Kubernetes-auth role of each app."""
    app_policies: pulumi.Output[Mapping[str, str]]
    """The Vault policy of each app."""
    app_annotations: pulumi.Output[Mapping[str, Mapping[str, str]]]
    """Vault agent pod annotations by app name, ready for app charts."""
    database_creds_paths: pulumi.Output[Mapping[str, str]]
    """Where each app with a database reads its credentials."""
    database_mount_path: pulumi.Output[str]
    """The database secrets engine's mount path (empty without databases)."""
    gateway_name: pulumi.Output[str]
    """The API gateway's ``Gateway`` (consul-k8s names its Service, the gateway's address, after it; empty: none)."""
    gateway_listener_secret: pulumi.Output[str]
    """The ``kubernetes.io/tls`` Secret the gateway's HTTPS listener serves (empty without a gateway)."""

    def __init__(self, name: str, args: AppOnboardingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(AppOnboardingArgs, args)
        # Production protects every child (children inherit ``protect`` from their parent); a caller's own
        # ``protect`` in ``opts`` wins. The alias keeps the URNs of stacks deployed under the old type token.
        own = pulumi.ResourceOptions(protect=True if args.protect else None)
        alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=OLD_TYPE_TOKEN)])
        opts = pulumi.ResourceOptions.merge(pulumi.ResourceOptions.merge(own, opts), alias)
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._args = args
        self._audience = args.vault.audience
        self._after_release = waits_for(args.consul_release)
        """Gateway API objects, catalog look-ups, Consul ACL objects and objects in Consul's namespace wait for it."""
        self.ready: list[pulumi.Resource] = []

        self.policies: dict[str, vault.Policy] = {}
        self.roles: dict[str, vault.kubernetes.AuthBackendRole] = {}
        for app in args.apps:
            self._identity(f"app-{app.name}", app_policy(app), app_role(app, self._audience))
        self.vault_ca_secrets = self._vault_ca_secrets()

        self.database_mount: vault.Mount | None = None
        self.connections: dict[str, vault.database.SecretBackendConnection] = {}
        self.database_roles: dict[str, vault.database.SecretBackendRole] = {}
        self.root_rotations: dict[str, vault.generic.Endpoint] = {}
        self.root_versions: dict[str, RootPasswordVersion] = {}
        self.watchers: dict[str, kubernetes.apps.v1.Deployment] = {}
        databases = [(app.name, app.database) for app in args.apps if app.database is not None]
        if databases:
            self._databases(databases)
            self._catalog_watchers(databases)

        self.csi_driver: kubernetes.helm.v3.Release | None = None
        self.vso: kubernetes.helm.v3.Release | None = None
        self.certificate: kubernetes.apiextensions.CustomResource | None = None
        self.gateway: kubernetes.apiextensions.CustomResource | None = None
        self.routes: dict[str, kubernetes.apiextensions.CustomResource] = {}
        if args.gateway is not None:
            self._gateway(args.gateway)

        self.app_roles = _known({app.name: app.auth_role for app in args.apps})
        self.app_policies = _known({app.name: app.policy for app in args.apps})
        self.app_annotations = _known({app.name: dict(app.annotations) for app in args.apps})
        self.database_creds_paths = _known({name: database.creds_path for name, database in databases})
        self.database_mount_path = self.database_mount.path if self.database_mount else pulumi.Output.from_input("")
        gateway = args.gateway
        self.gateway_name = pulumi.Output.from_input(gateway.name if gateway else "")
        self.gateway_listener_secret = pulumi.Output.from_input(gateway.listener_secret if gateway else "")
        self.register_outputs(
            {
                "appRoles": self.app_roles,
                "appPolicies": self.app_policies,
                "appAnnotations": self.app_annotations,
                "databaseCredsPaths": self.database_creds_paths,
                "databaseMountPath": self.database_mount_path,
                "gatewayName": self.gateway_name,
                "gatewayListenerSecret": self.gateway_listener_secret,
            }
        )

    # ------------------------------------------------------------------------------- identities
    def _identity(self, key: str, document: PolicyDocument, spec: AuthRoleSpec) -> None:
        """A policy and the role that carries it, written to the Kubernetes auth mount (its path is the dependency)."""
        policy = vault.Policy(
            f"{self._name}-{key}-policy",
            name=document.name,
            policy=document.render(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        inputs = spec.resource_args("")
        # The auth mount's path and the policy's name are the upstream Outputs: the role follows both.
        inputs["backend"] = self._args.kubernetes_auth_mount
        inputs["token_policies"] = [policy.name]
        role = vault.kubernetes.AuthBackendRole(
            f"{self._name}-{key}-role", **inputs, opts=pulumi.ResourceOptions(parent=self)
        )
        self.policies[key] = policy
        self.roles[key] = role
        self.ready.extend((policy, role))

    def _vault_ca_secrets(self) -> list[kubernetes.core.v1.Secret]:
        """The (public) CA of Vault's TLS certificate in each app namespace, for the agent's ``tls-secret``."""
        client = self._args.vault
        if client.ca_cert_pem is None:
            return []
        created = []
        for namespace in sorted({app.namespace for app in self._args.apps}):
            created.append(
                kubernetes.core.v1.Secret(
                    f"{self._name}-{namespace}-vault-ca",
                    metadata={"name": client.ca_secret_name, "namespace": namespace},
                    type="Opaque",
                    string_data={client.ca_secret_key: client.ca_cert_pem},
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return created

    # -------------------------------------------------------------------------------- databases
    def _databases(self, databases: Sequence[tuple[str, AppDatabaseArgs]]) -> None:
        args = self._args
        if args.database_mount is None:
            raise ValueError(f"{self._name}: apps with a database need database_mount")
        if args.database_root_credentials is None:
            raise ValueError(f"{self._name}: apps with a database need the databaseRootCredentials secret")
        credentials = pulumi.Output.secret(args.database_root_credentials)
        max_ttls = [database.max_ttl for _, database in databases]
        self.database_mount = vault.Mount(
            f"{self._name}-database",
            path=args.database_mount,
            type="database",
            description="Dynamic database credentials for onboarded applications",
            default_lease_ttl_seconds=min(DATABASE_DEFAULT_LEASE_SECONDS, *max_ttls),
            max_lease_ttl_seconds=max(max_ttls),
            opts=pulumi.ResourceOptions(parent=self),
        )
        mount_path = self.database_mount.path
        for app, database in databases:
            username, password = self._root_credentials(app, credentials)
            version = RootPasswordVersion(
                f"{self._name}-{app}-db-root-version",
                RootPasswordVersionArgs(
                    version=database.root_password_version,
                    connection=database.connection_config_path,
                    setting=database.root_password_version_setting,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            connection = vault.database.SecretBackendConnection(
                f"{self._name}-{app}-db-connection",
                backend=mount_path,
                name=database.connection_name,
                plugin_name=POSTGRESQL_PLUGIN,
                allowed_roles=[database.role_name],
                verify_connection=database.verify_connection,
                root_rotation_statements=list(database.root_rotation_statements),
                postgresql=vault.database.SecretBackendConnectionPostgresqlArgs(
                    connection_url=self._connection_url(app, database),
                    username=username,
                    password_wo=password,
                    password_wo_version=database.root_password_version,
                    tls_ca=database.tls_ca_pem,
                ),
                **automated_rotation_inputs(database),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # The version record's check (a lower version is refused) must pass before Vault sees the
                    # password; no property of the connection carries that record.
                    depends_on=[version],
                    # Set at creation, then owned by the catalog watcher (see the module docstring).
                    ignore_changes=[CONNECTION_URL_PROPERTY] if database.follows_catalog else None,
                ),
            )
            rotation = vault.generic.Endpoint(
                f"{self._name}-{app}-db-rotate-root",
                path=database.rotate_root_path,
                data_json=rotate_root_data(database.root_password_version),
                disable_read=True,
                disable_delete=True,
                # rotate-root needs the connection (Vault refuses an unknown one); the path is plain text.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[connection]),
            )
            role = vault.database.SecretBackendRole(
                f"{self._name}-{app}-db-role",
                backend=mount_path,
                name=database.role_name,
                db_name=connection.name,
                creation_statements=list(database.creation_statements),
                revocation_statements=list(database.revocation_statements),
                default_ttl=database.default_ttl,
                max_ttl=database.max_ttl,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.connections[app] = connection
            self.database_roles[app] = role
            self.root_rotations[app] = rotation
            self.root_versions[app] = version
            self.ready.extend((version, connection, rotation, role))
        self.ready.insert(0, self.database_mount)

    @staticmethod
    def _root_credentials(app: str, credentials: pulumi.Output[Any]) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """One app's root username and password from the secret object, both kept secret."""

        def pick(index: int) -> Any:
            def get(value: Mapping[str, Any]) -> str:
                return root_credentials(app, value)[index]

            return get

        username: pulumi.Output[str] = pulumi.Output.secret(credentials.apply(pick(0)))
        password: pulumi.Output[str] = pulumi.Output.secret(credentials.apply(pick(1)))
        return username, password

    def _connection_url(self, app: str, database: AppDatabaseArgs) -> pulumi.Input[str]:
        """The static URL, or one built from the Consul catalog instance of the database's service."""
        static = static_connection_url(database)
        if static is not None:
            return static
        service = database.consul_service
        if service is None or self._args.consul_release is None:
            raise ValueError(f"{self._name}: app '{app}' needs a static database host or the Consul release")
        import pulumi_consul as consul  # imported where used: only catalog look-ups need it (issue 9)

        # The Consul provider comes from this component's providers (opts), like every child's.
        found = consul.get_service_output(
            name=service,
            datacenter=self._args.datacenter,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=self._after_release),
        )

        def to_url(result: consul.GetServiceResult) -> str:
            instances = [
                {
                    "address": instance.address,
                    "node_address": instance.node_address,
                    "port": instance.port,
                    "node_name": instance.node_name,
                    "id": instance.id,
                }
                for instance in result.services or []
            ]
            host, port = pick_catalog_instance(service, instances)
            return connection_url(database, host, port)

        return found.apply(to_url)

    # ------------------------------------------------------------------------------ catalog watchers
    def _catalog_watchers(self, databases: Sequence[tuple[str, AppDatabaseArgs]]) -> None:
        """One consul-template watcher per followed catalog database (issue 18)."""
        followed = [(app, database) for app, database in databases if database.follows_catalog]
        if not followed:
            return
        args = self._args
        if args.consul_ca_pem is None or args.kv_mount is None or args.consul_release is None:
            raise ValueError(
                f"{self._name}: a database that follows the catalog needs consul_release, consul_ca_pem and kv_mount"
            )
        import pulumi_consul as consul

        for app, database in followed:
            names = database.watcher
            if names is None:
                raise ValueError(f"{self._name}: app '{app}' follows the catalog but names no watcher")
            key = f"{app}-db-address-watcher"
            service = database.consul_service or ""
            in_consul_namespace = pulumi.ResourceOptions(parent=self, depends_on=self._after_release)
            account = kubernetes.core.v1.ServiceAccount(
                f"{self._name}-{key}-account",
                metadata={"name": names.workload, "namespace": args.consul_namespace},
                automount_service_account_token=False,
                opts=in_consul_namespace,
            )
            policy = vault.Policy(
                f"{self._name}-{key}-policy",
                name=names.policy,
                policy=watcher_policy(database),
                opts=pulumi.ResourceOptions(parent=self),
            )
            inputs = watcher_role(args, database).resource_args("")
            inputs["backend"] = args.kubernetes_auth_mount
            inputs["token_policies"] = [policy.name]
            role = vault.kubernetes.AuthBackendRole(
                f"{self._name}-{key}-role", **inputs, opts=pulumi.ResourceOptions(parent=self)
            )
            consul_policy = consul.AclPolicy(
                f"{self._name}-{key}-consul-policy",
                name=names.consul_policy,
                description=f"secure-mesh: read the catalog service {service} (database of app {app})",
                rules=consul_acl_rules(service),
                datacenters=[args.datacenter],
                opts=pulumi.ResourceOptions(parent=self, depends_on=self._after_release),
            )
            consul_token = consul.AclToken(
                f"{self._name}-{key}-consul-token",
                description=f"secure-mesh: {names.workload} (reads {service} only)",
                policies=[consul_policy.name],
                local=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            secret_id = consul.get_acl_token_secret_id_output(
                accessor_id=consul_token.id,
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).secret_id
            token_data: pulumi.Output[str] = pulumi.Output.secret(
                pulumi.Output.from_input(secret_id).apply(_kv_data(names.consul_token_field))
            )
            token_secret = vault.kv.SecretV2(
                f"{self._name}-{key}-consul-token-kv",
                mount=args.kv_mount,
                name=names.consul_token_name,
                data_json=token_data,
                opts=pulumi.ResourceOptions(parent=self),
            )
            data: dict[str, pulumi.Input[str]] = dict(config_map_data(args, service))
            data["consul-ca.pem"] = args.consul_ca_pem
            config_map = kubernetes.core.v1.ConfigMap(
                f"{self._name}-{key}-config",
                metadata={"name": names.workload, "namespace": args.consul_namespace},
                data=data,
                opts=in_consul_namespace,
            )
            document = watcher_deployment(args, database)
            deployment = kubernetes.apps.v1.Deployment(
                f"{self._name}-{key}",
                metadata=document["metadata"],
                spec=document["spec"],
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # Its Vault login, its Consul token in KV, and the connection it updates must exist first.
                    depends_on=[
                        account,
                        policy,
                        role,
                        token_secret,
                        config_map,
                        self.connections[app],
                        self.database_roles[app],
                    ],
                ),
            )
            self.watchers[app] = deployment
            self.ready.extend(
                (account, policy, role, consul_policy, consul_token, token_secret, config_map, deployment)
            )

    # ---------------------------------------------------------------------------------- gateway
    def _gateway(self, gateway: GatewayArgs) -> None:
        apps = routed(self._args.apps)
        self._identity("gateway", gateway_policy(gateway), gateway_role(gateway, self._audience))
        # The Gateway API CRDs come with the Consul release.
        self.gateway = self._custom_resource("gateway", gateway_document(gateway, apps), self._after_release)
        if gateway.certificate_delivery is GatewayCertificateDelivery.VSO:
            if gateway.vso is None:
                raise ValueError(f"{self._name}: vso certificate delivery needs gateway.vso")
            self._gateway_certificate_vso(gateway, gateway.vso, apps)
        else:
            if gateway.csi is None:
                raise ValueError(f"{self._name}: csi certificate delivery needs gateway.csi")
            self._gateway_certificate_csi(gateway, gateway.csi, apps)
        for app in apps:
            # After the Gateway (and deleted before it): consul-k8s binds each route to its listener.
            self.routes[app.name] = self._custom_resource(
                f"{app.name}-route", http_route(gateway, app), [*self._after_release, self.gateway]
            )
        self.ready.extend((self.gateway, *self.routes.values()))

    def _release(
        self, key: str, chart: str, version: str, repository: str, release: ChartReleaseArgs, **extra: Any
    ) -> kubernetes.helm.v3.Release:
        """A pinned chart the component installs (VSO, the CSI driver): atomic, cleaned up on failure."""
        return kubernetes.helm.v3.Release(
            f"{self._name}-{key}",
            name=release.name,
            chart=chart,
            version=version,
            repository_opts={"repo": repository},
            namespace=release.namespace,
            **extra,
            values=dict(release.values),
            atomic=True,
            cleanup_on_fail=True,
            timeout=300,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _gateway_certificate_vso(self, gateway: GatewayArgs, vso: GatewayVsoArgs, apps: Sequence[AppArgs]) -> None:
        """Vault Secrets Operator: its chart, its login, and the PKI secret that writes the listener Secret."""
        client = self._args.vault
        self.vso = self._release("vso", VSO_CHART, VSO_VERSION, VSO_REPOSITORY, vso.release, create_namespace=True)
        account = kubernetes.core.v1.ServiceAccount(
            f"{self._name}-gateway-certificate-account",
            metadata={"name": gateway.login_service_account, "namespace": gateway.namespace},
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._after_release),
        )
        connection_needs: list[pulumi.Resource] = [self.vso]
        if client.ca_cert_pem is not None:
            connection_needs.append(
                kubernetes.core.v1.Secret(
                    f"{self._name}-gateway-vso-vault-ca",
                    metadata={"name": vso.vault_ca_secret, "namespace": gateway.namespace},
                    type="Opaque",
                    string_data={VSO_CA_KEY: client.ca_cert_pem},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=self._after_release),
                )
            )
        connection = self._custom_resource(
            "gateway-vault-connection", vault_connection(gateway, vso, client), connection_needs
        )
        auth = self._custom_resource(
            "gateway-vault-auth",
            vault_auth(gateway, vso, client),
            [self.vso, connection, account, self.roles["gateway"], self.policies["gateway"]],
        )
        assert self.gateway is not None
        # The Gateway first: consul-k8s creates the Deployment VSO restarts on each new certificate.
        self.certificate = self._custom_resource(
            "gateway-certificate", vault_pki_secret(gateway, vso, apps), [self.vso, auth, self.gateway]
        )
        self.ready.extend((self.vso, account, *connection_needs[1:], connection, auth, self.certificate))

    def _gateway_certificate_csi(self, gateway: GatewayArgs, csi: GatewayCsiArgs, apps: Sequence[AppArgs]) -> None:
        """The Vault CSI provider and the Secrets Store CSI driver's sync (the leaf alone)."""
        spc_needs: list[pulumi.Input[pulumi.Resource]] = list(self._after_release)
        if csi.driver is not None:
            self.csi_driver = self._release(
                "csi-driver",
                SECRETS_STORE_CSI_DRIVER_CHART,
                SECRETS_STORE_CSI_DRIVER_VERSION,
                SECRETS_STORE_CSI_DRIVER_REPOSITORY,
                csi.driver,
            )
            spc_needs.append(self.csi_driver)
            self.ready.append(self.csi_driver)
        spc = self._custom_resource(
            "gateway-tls-provider", secret_provider_class(gateway, csi, apps, self._args.vault), spc_needs
        )
        assert self.gateway is not None
        document = sync_workload(gateway, csi)
        self.certificate_sync = kubernetes.apps.v1.Deployment(
            f"{self._name}-gateway-certificate-sync",
            metadata=document["metadata"],
            spec=document["spec"],
            opts=pulumi.ResourceOptions(
                parent=self,
                # The Gateway's service account is created by consul-k8s for the Gateway; Vault must accept its login.
                depends_on=[spc, self.gateway, self.roles["gateway"], self.policies["gateway"]],
            ),
        )
        self.ready.extend((spc, self.certificate_sync))

    def _custom_resource(
        self, key: str, document: Mapping[str, Any], depends_on: Sequence[pulumi.Input[pulumi.Resource]]
    ) -> kubernetes.apiextensions.CustomResource:
        return kubernetes.apiextensions.CustomResource(
            f"{self._name}-{key}",
            api_version=document["apiVersion"],
            kind=document["kind"],
            metadata=document["metadata"],
            spec=document["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )
