"""Service onboarding: each app's Vault identity, its dynamic database credentials, and the API gateway's TLS.

Everything security-relevant (policies, role bindings, statements, TTLs, Kubernetes documents) is plain
data from :mod:`.identity`, :mod:`.database`, :mod:`.gateway` and :mod:`.annotations`; this component only
turns it into resources.

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

A database address from the Consul catalog is looked up at deploy time through the explicit Consul
provider (``consul.get_service``), after the Consul release exists. With ``followCatalog`` (the default
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_vault as vault

from ..consul.component import passed_dependencies
from ..identities.roles import AuthRoleSpec
from ..layout import Layout
from ..settings import GatewayCertificateDelivery, Settings
from ..settings.images import Image, image_reference
from .annotations import all_agent_annotations
from .catalog_watcher import config_map_data, consul_acl_rules, watcher_deployment, watcher_policy, watcher_role
from .database import (
    POSTGRESQL_PLUGIN,
    DatabasePlan,
    automated_rotation_inputs,
    database_plans,
    pick_catalog_instance,
    root_credentials,
)
from .gateway import (
    SECRETS_STORE_CSI_DRIVER_CHART,
    SECRETS_STORE_CSI_DRIVER_REPOSITORY,
    SECRETS_STORE_CSI_DRIVER_VERSION,
    csi_driver_values,
    gateway,
    gateway_enabled,
    http_route,
    needs_csi_driver,
    routed_apps,
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
    vso_values,
)
from .identity import app_policy, app_role, gateway_policy, gateway_role
from .root_version import RootPasswordVersion, RootPasswordVersionArgs

if TYPE_CHECKING:
    import pulumi_consul as consul  # imported where used: only catalog look-ups need it (issue 9)


def _kv_data(field: str) -> Callable[[str], str]:
    """The KV-v2 ``data_json`` of a one-field secret (a function, so each loop iteration keeps its own field)."""

    def render(value: str) -> str:
        return json.dumps({field: value}, sort_keys=True)

    return render

DATABASE_DEFAULT_LEASE_SECONDS = 3600
CONNECTION_URL_PROPERTY = "postgresql.connectionUrl"
"""The connection's address field, owned by the catalog watcher once the connection exists."""


@dataclass(frozen=True)
class AppOnboardingArgs:
    """Inputs of :class:`AppOnboarding`."""

    settings: Settings
    layout: Layout
    database_root_credentials: pulumi.Output[Any] | None = None
    """The ``databaseRootCredentials`` secret object ``{<app>: {username, password}}`` (a Pulumi secret)."""
    consul_provider: consul.Provider | None = None
    """The explicit Consul provider, for catalog look-ups of database addresses (``consulService``)."""
    consul_ca_pem: pulumi.Input[str] | None = None
    """The CA chain of Consul's server certificates (public), which catalog watchers verify Consul with."""


class AppOnboarding(pulumi.ComponentResource):
    """The onboarded apps: Vault roles and policies, database credentials, the API gateway and its routes."""

    app_annotations: dict[str, dict[str, str]]
    """Vault agent pod annotations by app name, ready for app charts."""
    app_roles: dict[str, str]
    """The Kubernetes-auth role of each app."""
    app_policies: dict[str, str]
    """The Vault policy of each app."""
    database_creds_paths: dict[str, str]
    """Where each app with a database reads its credentials."""
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: AppOnboardingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:onboarding:AppOnboarding", name, None, opts)
        settings, layout = args.settings, args.layout
        self._name = name
        self._layout = layout
        self._protect = settings.is_production
        self._upstream = passed_dependencies(opts)
        self.ready = []

        self.policies: dict[str, vault.Policy] = {}
        self.roles: dict[str, vault.kubernetes.AuthBackendRole] = {}
        for app in settings.apps:
            self._identity(
                f"app-{app.name}", app_policy(layout, app).name, app_policy(layout, app).render(), app_role(layout, app)
            )
        self.app_roles = {app.name: layout.app(app).auth_role for app in settings.apps}
        self.app_policies = {app.name: layout.app(app).policy for app in settings.apps}
        self.app_annotations = all_agent_annotations(layout)
        self.vault_ca_secrets = self._vault_ca_secrets(settings)

        plans = database_plans(layout)
        self.database_creds_paths = {
            app.name: layout.app(app).database_creds_path for app in settings.apps if app.database is not None
        }
        self.database_mount: vault.Mount | None = None
        self.connections: dict[str, vault.database.SecretBackendConnection] = {}
        self.database_roles: dict[str, vault.database.SecretBackendRole] = {}
        self.root_rotations: dict[str, vault.generic.Endpoint] = {}
        self.root_versions: dict[str, RootPasswordVersion] = {}
        self.watchers: dict[str, kubernetes.apps.v1.Deployment] = {}
        if plans:
            if args.database_root_credentials is None:
                raise ValueError(f"{name}: apps with a database need the databaseRootCredentials secret")
            version_keys = {app.name: f"apps[{i}].database.rootPasswordVersion" for i, app in enumerate(settings.apps)}
            self._databases(plans, args.database_root_credentials, args.consul_provider, version_keys)
            self._catalog_watchers(settings, plans, args.consul_provider, args.consul_ca_pem)

        self.csi_driver: kubernetes.helm.v3.Release | None = None
        self.vso: kubernetes.helm.v3.Release | None = None
        self.certificate: kubernetes.apiextensions.CustomResource | None = None
        self.gateway: kubernetes.apiextensions.CustomResource | None = None
        self.routes: dict[str, kubernetes.apiextensions.CustomResource] = {}
        if gateway_enabled(settings):
            self._gateway(settings)

        self.register_outputs(
            {
                "appRoles": self.app_roles,
                "appPolicies": self.app_policies,
                "appAnnotations": self.app_annotations,
                "databaseCredsPaths": self.database_creds_paths,
            }
        )

    # ------------------------------------------------------------------------------- identities
    def _identity(self, key: str, policy_name: str, policy_text: str, spec: AuthRoleSpec) -> None:
        policy = vault.Policy(
            f"{self._name}-{key}-policy",
            name=policy_name,
            policy=policy_text,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._upstream),
        )
        role = vault.kubernetes.AuthBackendRole(
            f"{self._name}-{key}-role",
            **spec.resource_args(self._layout.kubernetes_auth_path),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self._upstream, policy]),
        )
        self.policies[key] = policy
        self.roles[key] = role
        self.ready.extend((policy, role))

    def _vault_ca_secrets(self, settings: Settings) -> list[kubernetes.core.v1.Secret]:
        """The (public) CA of Vault's TLS certificate in each app namespace, for the agent's ``tls-secret``."""
        ca_pem = settings.vault.tls.ca_cert_pem
        if ca_pem is None:
            return []
        created = []
        for namespace in sorted({app.namespace for app in settings.apps}):
            created.append(
                kubernetes.core.v1.Secret(
                    f"{self._name}-{namespace}-vault-ca",
                    metadata={"name": self._layout.vault_ca_secret_name, "namespace": namespace},
                    type="Opaque",
                    string_data={self._layout.vault_ca_secret_key: ca_pem},
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return created

    # -------------------------------------------------------------------------------- databases
    def _databases(
        self,
        plans: tuple[DatabasePlan, ...],
        credentials: pulumi.Output[Any],
        consul_provider: consul.Provider | None,
        version_keys: Mapping[str, str],
    ) -> None:
        layout = self._layout
        self.database_mount = vault.Mount(
            f"{self._name}-database",
            path=layout.database_mount,
            type="database",
            description="Dynamic database credentials for onboarded applications",
            default_lease_ttl_seconds=min(DATABASE_DEFAULT_LEASE_SECONDS, *(p.max_ttl for p in plans)),
            max_lease_ttl_seconds=max(p.max_ttl for p in plans),
            opts=pulumi.ResourceOptions(parent=self, protect=self._protect, depends_on=self._upstream),
        )
        for plan in plans:
            username, password = self._root_credentials(plan.app, credentials)
            version = RootPasswordVersion(
                f"{self._name}-{plan.app}-db-root-version",
                RootPasswordVersionArgs(
                    version=plan.root_password_version,
                    connection=plan.connection_config_path,
                    setting=version_keys[plan.app],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            connection = vault.database.SecretBackendConnection(
                f"{self._name}-{plan.app}-db-connection",
                backend=layout.database_mount,
                name=plan.connection_name,
                plugin_name=POSTGRESQL_PLUGIN,
                allowed_roles=list(plan.allowed_roles),
                verify_connection=plan.verify_connection,
                root_rotation_statements=list(plan.root_rotation_statements),
                postgresql=vault.database.SecretBackendConnectionPostgresqlArgs(
                    connection_url=self._connection_url(plan, consul_provider),
                    username=username,
                    password_wo=password,
                    password_wo_version=plan.root_password_version,
                    tls_ca=plan.tls_ca_pem,
                ),
                **automated_rotation_inputs(plan),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    protect=self._protect,
                    depends_on=[*self._upstream, self.database_mount, version],
                    # Set at creation, then owned by the catalog watcher (see the module docstring).
                    ignore_changes=[CONNECTION_URL_PROPERTY] if plan.follows_catalog else None,
                ),
            )
            rotation = vault.generic.Endpoint(
                f"{self._name}-{plan.app}-db-rotate-root",
                path=plan.rotate_root_path,
                data_json=plan.rotate_root_data,
                disable_read=True,
                disable_delete=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[connection]),
            )
            role = vault.database.SecretBackendRole(
                f"{self._name}-{plan.app}-db-role",
                backend=layout.database_mount,
                name=plan.role_name,
                db_name=plan.connection_name,
                creation_statements=list(plan.creation_statements),
                revocation_statements=list(plan.revocation_statements),
                default_ttl=plan.default_ttl,
                max_ttl=plan.max_ttl,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[connection]),
            )
            self.connections[plan.app] = connection
            self.database_roles[plan.app] = role
            self.root_rotations[plan.app] = rotation
            self.root_versions[plan.app] = version
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

    def _connection_url(self, plan: DatabasePlan, consul_provider: consul.Provider | None) -> pulumi.Input[str]:
        """The static URL, or one built from the Consul catalog instance of the database's service."""
        static = plan.static_connection_url()
        if static is not None:
            return static
        service = plan.consul_service
        if service is None or consul_provider is None:
            raise ValueError(f"{self._name}: app '{plan.app}' needs a static database host or the Consul provider")
        import pulumi_consul as consul

        found = consul.get_service_output(
            name=service,
            datacenter=self._layout.datacenter,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=consul_provider, depends_on=self._upstream),
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
            return plan.connection_url(host, port)

        return found.apply(to_url)

    # ------------------------------------------------------------------------------ catalog watchers
    def _catalog_watchers(
        self,
        settings: Settings,
        plans: tuple[DatabasePlan, ...],
        consul_provider: consul.Provider | None,
        consul_ca_pem: pulumi.Input[str] | None,
    ) -> None:
        """One consul-template watcher per followed catalog database (issue 18)."""
        followed = [p for p in plans if p.follows_catalog]
        if not followed:
            return
        if consul_provider is None or consul_ca_pem is None:
            raise ValueError(f"{self._name}: a database that follows the catalog needs the Consul provider and CA")
        import pulumi_consul as consul

        layout = self._layout
        apps = {app.name: app for app in settings.apps}
        for plan in followed:
            app = apps[plan.app]
            names = layout.catalog_watcher(app)
            key = f"{plan.app}-db-address-watcher"
            service = plan.consul_service or ""
            child = pulumi.ResourceOptions(parent=self)
            account = kubernetes.core.v1.ServiceAccount(
                f"{self._name}-{key}-account",
                metadata={"name": names.workload, "namespace": layout.consul_namespace},
                automount_service_account_token=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=self._upstream),
            )
            policy = vault.Policy(
                f"{self._name}-{key}-policy",
                name=names.policy,
                policy=watcher_policy(layout, app, plan),
                opts=pulumi.ResourceOptions(parent=self, depends_on=self._upstream),
            )
            role = vault.kubernetes.AuthBackendRole(
                f"{self._name}-{key}-role",
                **watcher_role(layout, app).resource_args(layout.kubernetes_auth_path),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*self._upstream, policy]),
            )
            consul_policy = consul.AclPolicy(
                f"{self._name}-{key}-consul-policy",
                name=names.consul_policy,
                description=f"secure-mesh: read the catalog service {service} (database of app {plan.app})",
                rules=consul_acl_rules(service),
                datacenters=[layout.datacenter],
                opts=pulumi.ResourceOptions(parent=self, provider=consul_provider, depends_on=self._upstream),
            )
            consul_token = consul.AclToken(
                f"{self._name}-{key}-consul-token",
                description=f"secure-mesh: {names.workload} (reads {service} only)",
                policies=[consul_policy.name],
                local=True,
                opts=pulumi.ResourceOptions(parent=self, provider=consul_provider, depends_on=[consul_policy]),
            )
            secret_id = consul.get_acl_token_secret_id_output(
                accessor_id=consul_token.id,
                opts=pulumi.InvokeOutputOptions(parent=self, provider=consul_provider),
            ).secret_id
            token_data: pulumi.Output[str] = pulumi.Output.secret(
                pulumi.Output.from_input(secret_id).apply(_kv_data(names.consul_token.field))
            )
            token_secret = vault.kv.SecretV2(
                f"{self._name}-{key}-consul-token-kv",
                mount=names.consul_token.mount,
                name=names.consul_token.name,
                data_json=token_data,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*self._upstream, consul_token]),
            )
            data: dict[str, pulumi.Input[str]] = dict(config_map_data(layout, app, service))
            data["consul-ca.pem"] = consul_ca_pem
            config_map = kubernetes.core.v1.ConfigMap(
                f"{self._name}-{key}-config",
                metadata={"name": names.workload, "namespace": layout.consul_namespace},
                data=data,
                opts=child,
            )
            document = watcher_deployment(layout, app, plan)
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
                        self.connections[plan.app],
                        self.database_roles[plan.app],
                    ],
                ),
            )
            self.watchers[plan.app] = deployment
            self.ready.extend(
                (account, policy, role, consul_policy, consul_token, token_secret, config_map, deployment)
            )

    # ---------------------------------------------------------------------------------- gateway
    def _gateway(self, settings: Settings) -> None:
        layout = self._layout
        self._identity("gateway", gateway_policy(layout).name, gateway_policy(layout).render(), gateway_role(layout))
        self.gateway = self._custom_resource("gateway", gateway(layout), list(self._upstream))
        if settings.consul.api_gateway_certificate_delivery is GatewayCertificateDelivery.VSO:
            self._gateway_certificate_vso(settings)
        else:
            self._gateway_certificate_csi(settings)
        for app in routed_apps(settings):
            self.routes[app.name] = self._custom_resource(
                f"{app.name}-route", http_route(layout, app), [*self._upstream, self.gateway]
            )
        self.ready.extend((self.gateway, *self.routes.values()))

    def _gateway_certificate_vso(self, settings: Settings) -> None:
        """Vault Secrets Operator: its chart, its login, and the PKI secret that writes the listener Secret."""
        layout = self._layout
        self.vso = kubernetes.helm.v3.Release(
            f"{self._name}-vso",
            name=layout.vso_release_name,
            chart=VSO_CHART,
            version=VSO_VERSION,
            repository_opts={"repo": VSO_REPOSITORY},
            namespace=layout.vso_namespace,
            create_namespace=True,
            values=vso_values(settings),
            atomic=True,
            cleanup_on_fail=True,
            timeout=300,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._upstream),
        )
        account = kubernetes.core.v1.ServiceAccount(
            f"{self._name}-gateway-certificate-account",
            metadata={"name": layout.gateway_certificate_service_account, "namespace": layout.consul_namespace},
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._upstream),
        )
        connection_needs: list[pulumi.Resource] = [self.vso]
        ca_pem = settings.vault.tls.ca_cert_pem
        if ca_pem is not None:
            connection_needs.append(
                kubernetes.core.v1.Secret(
                    f"{self._name}-gateway-vso-vault-ca",
                    metadata={"name": layout.gateway_vso_ca_secret, "namespace": layout.consul_namespace},
                    type="Opaque",
                    string_data={VSO_CA_KEY: ca_pem},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=self._upstream),
                )
            )
        connection = self._custom_resource("gateway-vault-connection", vault_connection(layout), connection_needs)
        auth = self._custom_resource(
            "gateway-vault-auth",
            vault_auth(layout),
            [self.vso, connection, account, self.roles["gateway"], self.policies["gateway"]],
        )
        assert self.gateway is not None
        # The Gateway first: consul-k8s creates the Deployment VSO restarts on each new certificate.
        self.certificate = self._custom_resource(
            "gateway-certificate", vault_pki_secret(layout), [self.vso, auth, self.gateway]
        )
        self.ready.extend((self.vso, account, *connection_needs[1:], connection, auth, self.certificate))

    def _gateway_certificate_csi(self, settings: Settings) -> None:
        """The Vault CSI provider and the Secrets Store CSI driver's sync (the leaf alone)."""
        layout = self._layout
        spc_needs: list[pulumi.Resource] = list(self._upstream)
        if needs_csi_driver(settings):
            self.csi_driver = kubernetes.helm.v3.Release(
                f"{self._name}-csi-driver",
                name=layout.csi_driver_release_name,
                chart=SECRETS_STORE_CSI_DRIVER_CHART,
                version=SECRETS_STORE_CSI_DRIVER_VERSION,
                repository_opts={"repo": SECRETS_STORE_CSI_DRIVER_REPOSITORY},
                namespace=layout.csi_driver_namespace,
                values=csi_driver_values(settings),
                atomic=True,
                cleanup_on_fail=True,
                timeout=300,
                opts=pulumi.ResourceOptions(parent=self, depends_on=self._upstream),
            )
            spc_needs.append(self.csi_driver)
            self.ready.append(self.csi_driver)
        spc_document = secret_provider_class(layout)
        spc = self._custom_resource("gateway-tls-provider", spc_document, spc_needs)
        assert self.gateway is not None
        sync = sync_workload(layout, image_reference(settings, Image.PAUSE))
        self.certificate_sync = kubernetes.apps.v1.Deployment(
            f"{self._name}-gateway-certificate-sync",
            metadata=sync["metadata"],
            spec=sync["spec"],
            opts=pulumi.ResourceOptions(
                parent=self,
                # The Gateway's service account is created by consul-k8s for the Gateway; Vault must accept its login.
                depends_on=[spc, self.gateway, self.roles["gateway"], self.policies["gateway"]],
            ),
        )
        self.ready.extend((spc, self.certificate_sync))

    def _custom_resource(
        self, key: str, document: Mapping[str, Any], depends_on: list[pulumi.Resource]
    ) -> kubernetes.apiextensions.CustomResource:
        return kubernetes.apiextensions.CustomResource(
            f"{self._name}-{key}",
            api_version=document["apiVersion"],
            kind=document["kind"],
            metadata=document["metadata"],
            spec=document["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
