"""Settings and layout → :class:`~secure_mesh.onboarding.component.AppOnboardingArgs` (issue 15).

The layout names everything (roles, policies, paths, Kubernetes objects); settings decide the rest. The
values another resource computes (the Kubernetes auth mount, the KV mount, the Consul release, Consul's CA,
the databases' root credentials) are passed in by the platform from the upstream components' outputs.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from ..jwt.plan import app_token_paths
from ..layout import Layout
from ..onboarding.args import (
    AppArgs,
    AppOnboardingArgs,
    AppRouteArgs,
    ChartReleaseArgs,
    GatewayArgs,
    GatewayCsiArgs,
    GatewayVsoArgs,
    VaultClientArgs,
)
from ..onboarding.plan import (
    agent_annotations,
    csi_driver_values,
    database_plan,
    gateway_certificate_account,
    gateway_enabled,
    needs_csi_driver,
    vault_client,
    vso_values,
)
from ..settings import AppSettings, ChainName, GatewayCertificateDelivery, Settings, duration_seconds
from ..settings.images import Image, image_reference


def app_args(
    layout: Layout, app: AppSettings, index: int | None = None, vault: VaultClientArgs | None = None
) -> AppArgs:
    """One app's Args: its names from the layout, its secrets, database and route from its settings.

    ``index`` (its place in ``apps``) and ``vault`` (:func:`vault_client`) are computed once by a caller mapping
    every app; without them they are derived here.
    """
    names = layout.app(app)
    route = None
    if app.route is not None:
        route = AppRouteArgs(
            hostname=app.route.hostname,
            path_prefix=app.route.path_prefix,
            service=app.service,
            service_port=app.route.service_port,
            http_route=names.http_route,
        )
    return AppArgs(
        name=app.name,
        namespace=app.namespace,
        service_account=app.service_account,
        auth_role=names.auth_role,
        policy=names.policy,
        kv_read_paths=tuple(layout.app_kv(app, secret).data_path for secret in app.secrets),
        annotations=agent_annotations(layout, app, vault),
        database=database_plan(layout, app, index) if app.database is not None else None,
        route=route,
        jwt_token_paths=app_token_paths(layout, app),
    )


def gateway_args(settings: Settings, layout: Layout) -> GatewayArgs | None:
    """The API gateway's Args, or None when the stack has no gateway (``consul.apiGateway`` off or no route)."""
    if not gateway_enabled(settings):
        return None
    delivery = settings.consul.api_gateway_certificate_delivery
    leaf_ttl = settings.pki.chains.gateway.leaf_ttl
    vso = csi = None
    if delivery is GatewayCertificateDelivery.VSO:
        vso = GatewayVsoArgs(
            release=ChartReleaseArgs(
                name=layout.vso_release_name, namespace=layout.vso_namespace, values=vso_values(settings)
            ),
            vault_connection=layout.gateway_vault_connection,
            vault_ca_secret=layout.gateway_vso_ca_secret,
        )
    else:
        driver = None
        if needs_csi_driver(settings):
            driver = ChartReleaseArgs(
                name=layout.csi_driver_release_name,
                namespace=layout.csi_driver_namespace,
                values=csi_driver_values(settings),
            )
        csi = GatewayCsiArgs(
            secret_provider_class=layout.gateway_secret_provider_class,
            sync_workload=layout.gateway_certificate_sync_workload,
            sync_image=image_reference(settings, Image.PAUSE),
            driver=driver,
        )
    return GatewayArgs(
        name=layout.gateway_name,
        namespace=layout.consul_namespace,
        listener_secret=layout.gateway_tls_secret_name,
        policy=layout.gateway_policy_name,
        auth_role=layout.gateway_auth_role,
        login_service_account=gateway_certificate_account(layout),
        pki_mount=layout.issuing_mount(ChainName.GATEWAY).path,
        pki_role=layout.gateway_role,
        leaf_ttl=leaf_ttl,
        leaf_ttl_seconds=duration_seconds(leaf_ttl),
        certificate_delivery=delivery,
        vso=vso,
        csi=csi,
    )


def onboarding_args(
    settings: Settings,
    layout: Layout,
    *,
    kubernetes_auth_mount: pulumi.Input[str],
    kv_mount: pulumi.Input[str] | None = None,
    consul_release: pulumi.Input[str] | None = None,
    consul_ca_pem: pulumi.Input[str] | None = None,
    database_root_credentials: pulumi.Input[Mapping[str, Mapping[str, str]]] | None = None,
) -> AppOnboardingArgs:
    """The onboarding component's Args for this stack, with the upstream components' outputs passed in."""
    vault = vault_client(layout)
    apps = tuple(app_args(layout, app, index, vault) for index, app in enumerate(settings.apps))
    watched = any(app.database is not None and app.database.follows_catalog for app in apps)
    return AppOnboardingArgs(
        apps=apps,
        vault=vault,
        kubernetes_auth_mount=kubernetes_auth_mount,
        datacenter=layout.datacenter,
        consul_namespace=layout.consul_namespace,
        consul_server_service=layout.consul_server_service,
        consul_release=consul_release,
        consul_ca_pem=consul_ca_pem,
        kv_mount=kv_mount,
        database_mount=layout.database_mount if any(app.database is not None for app in apps) else None,
        database_root_credentials=database_root_credentials,
        gateway=gateway_args(settings, layout),
        consul_template_image=image_reference(settings, Image.CONSUL_TEMPLATE) if watched else None,
        vault_agent_image=image_reference(settings, Image.VAULT_AGENT) if watched else None,
        protect=settings.is_production,
    )
