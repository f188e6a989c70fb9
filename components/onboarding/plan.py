"""What the settings decide about onboarding, read from the settings and the layout (the component never imports it).

The composition (:mod:`secure_mesh.composition.apps`) and the stack outputs call these; the component only
sees the plain values they produce. Kept next to the modules whose documents they parametrise.
"""

from __future__ import annotations

from typing import Any

from ..identities.roles import dedicated_audience_possible, workload_audience
from ..jwt.plan import app_token_paths
from ..layout import Layout
from ..settings import AppSettings, GatewayCertificateDelivery, Settings, VaultPlacement, duration_seconds
from ..settings.images import Image, chart_image_values, configured_image
from .annotations import agent_annotations as _agent_annotations
from .annotations import token_volumes as _token_volumes
from .args import AppDatabaseArgs, CatalogWatcherArgs, VaultClientArgs
from .database import creation_statements, revocation_statements, root_rotation_statements
from .gateway import MAX_ROTATION_POLL_SECONDS, MIN_ROTATION_POLL_SECONDS


def vault_client(layout: Layout) -> VaultClientArgs:
    """How workloads reach Vault and log in to it, for this stack."""
    vault = layout.settings.vault
    return VaultClientArgs(
        address=vault.address,
        auth_path=layout.kubernetes_auth_path,
        audience=workload_audience(layout.settings),
        dedicated_audience=dedicated_audience_possible(layout.settings),
        ca_secret_name=layout.vault_ca_secret_name,
        ca_secret_key=layout.vault_ca_secret_key,
        namespace=vault.namespace or None,
        tls_server_name=vault.tls.server_name or None,
        ca_cert_pem=vault.tls.ca_cert_pem,
        csi_ca_cert_path=layout.vault_csi_ca_cert_path,
    )


# ------------------------------------------------------------------------------------------- apps
def agent_annotations(layout: Layout, app: AppSettings, vault: VaultClientArgs | None = None) -> dict[str, str]:
    """The pod annotations of one app: its database credentials and KV secrets, rendered by the Vault agent.

    ``vault`` is :func:`vault_client` of the layout, when the caller already has it (one per stack, not per app).
    """
    names = layout.app(app)
    database = (names.database_secret_file, names.database_creds_path) if app.database is not None else None
    secrets = []
    for secret in app.secrets:
        kv = layout.app_kv(app, secret)
        secrets.append((secret, kv.data_path, kv.field))
    jwt_tokens = app_token_paths(layout, app)
    return _agent_annotations(vault or vault_client(layout), names.auth_role, database, secrets, jwt_tokens)


def all_agent_annotations(layout: Layout) -> dict[str, dict[str, str]]:
    """Annotations by app name, for every onboarded app."""
    vault = vault_client(layout)
    return {app.name: agent_annotations(layout, app, vault) for app in layout.settings.apps}


def token_volumes(layout: Layout) -> list[dict[str, Any]]:
    """The pod volumes an app's pod spec adds for its Vault agent: the projected token, or none (default token)."""
    return _token_volumes(vault_client(layout))


def all_token_volumes(layout: Layout) -> dict[str, list[dict[str, Any]]]:
    """Token volumes by app name, for every onboarded app."""
    volumes = token_volumes(layout)
    return {app.name: volumes for app in layout.settings.apps}


# -------------------------------------------------------------------------------------- databases
def _seconds(duration: str | None) -> int | None:
    return None if duration is None else duration_seconds(duration)


def database_plan(layout: Layout, app: AppSettings, index: int | None = None) -> AppDatabaseArgs:
    """The connection, role and (for a followed catalog service) watcher of an app's database.

    ``index`` is the app's place in ``apps`` (found by name when not given), for the version's config key.
    """
    if app.database is None:
        raise ValueError(f"app '{app.name}' has no database")
    database = app.database
    names = layout.app(app)
    rotation = database.automated_root_rotation
    if index is None:
        index = next(i for i, candidate in enumerate(layout.settings.apps) if candidate.name == app.name)
    watcher = None
    if database.address.follows_catalog:
        watcher_names = layout.catalog_watcher(app)
        watcher = CatalogWatcherArgs(
            workload=watcher_names.workload,
            auth_role=watcher_names.auth_role,
            policy=watcher_names.policy,
            consul_policy=watcher_names.consul_policy,
            consul_token_name=watcher_names.consul_token.name,
            consul_token_path=watcher_names.consul_token.data_path,
            consul_token_field=watcher_names.consul_token.field,
        )
    return AppDatabaseArgs(
        connection_name=layout.database_connection(app),
        role_name=names.database_role,
        creds_path=names.database_creds_path,
        database_name=database.database_name,
        port=database.address.port,
        creation_statements=creation_statements(database.database_name),
        revocation_statements=revocation_statements(database.database_name),
        root_rotation_statements=root_rotation_statements(),
        default_ttl=duration_seconds(database.credential_ttl),
        max_ttl=duration_seconds(database.credential_max_ttl),
        root_password_version=database.root_password_version,
        root_password_version_setting=f"apps[{index}].database.rootPasswordVersion",
        rotate_root_path=layout.database_rotate_root_path(app),
        connection_config_path=layout.database_connection_config_path(app),
        ssl_mode=database.tls.mode,
        static_host=database.address.host,
        consul_service=database.address.consul_service,
        follows_catalog=database.address.follows_catalog,
        tls_ca_pem=database.tls.ca_cert_pem,
        rotation_period=_seconds(rotation.period if rotation else None),
        rotation_schedule=rotation.schedule if rotation else None,
        rotation_window=_seconds(rotation.window if rotation else None),
        watcher=watcher,
    )


# ---------------------------------------------------------------------------------------- gateway
def gateway_enabled(settings: Settings) -> bool:
    """The gateway and its certificate exist only with ``consul.apiGateway`` and at least one app route."""
    return settings.consul.api_gateway and any(app.route is not None for app in settings.apps)


def routed_apps(settings: Settings) -> tuple[AppSettings, ...]:
    """The apps that declare a public route, in settings order."""
    return tuple(app for app in settings.apps if app.route is not None)


def gateway_certificate_account(layout: Layout) -> str:
    """Who logs in for the listener certificate: VSO's own account for it (``vso``), or the Gateway's (``csi``)."""
    if layout.settings.consul.api_gateway_certificate_delivery is GatewayCertificateDelivery.VSO:
        return layout.gateway_certificate_service_account
    return layout.gateway_service_account


def rotation_poll_interval(settings: Settings) -> str:
    """The CSI driver's ``rotationPollInterval``: a third of the leaf TTL, between 5 minutes and 24 hours."""
    leaf = duration_seconds(settings.pki.chains.gateway.leaf_ttl)
    seconds = max(MIN_ROTATION_POLL_SECONDS, min(MAX_ROTATION_POLL_SECONDS, leaf // 3))
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def needs_csi_driver(settings: Settings) -> bool:
    """Whether this program installs the Secrets Store CSI driver: for an external Vault.

    With Vault in the cluster (the laptop stack), ``scripts/dev-up.sh`` installs the driver next to Vault.
    """
    return settings.vault.placement is VaultPlacement.EXTERNAL


def csi_driver_values(settings: Settings) -> dict[str, Any]:
    """Values of the Secrets Store CSI driver chart: sync to Kubernetes secrets, rotation at the computed poll."""
    values: dict[str, Any] = {
        "syncSecret": {"enabled": True},
        "enableSecretRotation": True,
        "rotationPollInterval": rotation_poll_interval(settings),
    }
    # The chart renders each image as repository:tag (the CRD hook has no digest key): a digest rides in the tag.
    linux: dict[str, Any] = {}
    for key, image in (
        ("image", Image.CSI_DRIVER),
        ("registrarImage", Image.CSI_NODE_DRIVER_REGISTRAR),
        ("livenessProbeImage", Image.CSI_LIVENESS_PROBE),
    ):
        reference = configured_image(settings, image)
        if reference is not None:
            linux[key] = chart_image_values(reference)
    crds_image = configured_image(settings, Image.CSI_DRIVER_CRDS)
    if crds_image is not None:
        linux["crds"] = {"image": chart_image_values(crds_image)}
    if linux:
        values["linux"] = linux
    return values


def vso_values(settings: Settings) -> dict[str, Any]:
    """The chart's values: no default connection or auth method (each consumer declares its own, narrowly).

    Images the stack names (``images.vaultSecretsOperator``, ``images.kubeRbacProxy``) replace the chart's
    defaults; VSO 1.4.1 renders ``repository:tag`` (``chart/templates/deployment.yaml``), so a digest rides in
    the tag.
    """
    values: dict[str, Any] = {"defaultVaultConnection": {"enabled": False}, "defaultAuthMethod": {"enabled": False}}
    controller: dict[str, Any] = {}
    for key, image in (("manager", Image.VAULT_SECRETS_OPERATOR), ("kubeRbacProxy", Image.KUBE_RBAC_PROXY)):
        reference = configured_image(settings, image)
        if reference is not None:
            controller[key] = {"image": chart_image_values(reference)}
    if controller:
        values["controller"] = controller
    return values
