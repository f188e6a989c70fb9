"""Layer 3: who reviews Kubernetes-auth logins, and the service accounts that log in to Vault, as plain data.

With Vault outside the cluster and ``vault.tokenReviewer: client-jwt`` (the default), Vault's Kubernetes
auth config sets ``disable_local_ca_jwt`` and no ``token_reviewer_jwt``, so each login's own JWT is the
bearer of its TokenReview request (Vault docs, Kubernetes auth, "Use the Vault client's JWT as the
reviewer JWT"; vault-plugin-auth-kubernetes ``token_review.go``). Every service account that logs in
therefore needs ``system:auth-delegator`` (the ``tokenreviews`` and ``subjectaccessreviews`` create
verbs), and :func:`vault_login_service_accounts` lists exactly those, nothing broader: no group, no
namespace-wide subject.
"""

from __future__ import annotations

from ..layout import Identity, Layout
from ..onboarding.plan import gateway_certificate_account, gateway_enabled
from .documents import AUTH_DELEGATOR_CLUSTER_ROLE as AUTH_DELEGATOR_CLUSTER_ROLE
from .documents import ServiceAccountRef as ServiceAccountRef


def ca_reader_clients(layout: Layout) -> tuple[ServiceAccountRef, ...]:
    """The chart pods that log in with the CA-read role (bound to ``*``), for the components this program enables.

    consul-k8s 2.0.3 annotates ``global.secretsBackend.vault.consulCARole`` on the client, connect-injector,
    server-acl-init, partition-init and mesh-gateway pods (``charts/consul/templates/*``); the first four
    run as service accounts that have their own role too. Sync-catalog, DNS proxy, telemetry collector and
    ingress/terminating gateways are never enabled by this program.
    """
    namespace = layout.consul_namespace
    accounts = [
        ServiceAccountRef(namespace, layout.service_account(identity))
        for identity in layout.identities
        if identity in (Identity.CLIENT, Identity.CONNECT_INJECTOR, Identity.SERVER_ACL_INIT, Identity.PARTITION_INIT)
    ]
    if layout.settings.consul.mesh_gateway:
        accounts.append(ServiceAccountRef(namespace, layout.mesh_gateway_service_account))
    return tuple(sorted(accounts))


def vault_login_service_accounts(layout: Layout) -> tuple[ServiceAccountRef, ...]:
    """Every service account that logs in to this stack's Kubernetes auth mount, sorted, each once.

    Consul's identities (each bound to one named account), the CA-read role's clients, every onboarded
    app's account, each database catalog watcher's account, and the account the API gateway's certificate
    is issued to (VSO's for the gateway, or the Gateway's own with CSI) when the gateway exists.
    """
    settings = layout.settings
    namespace = layout.consul_namespace
    accounts = {
        ServiceAccountRef(namespace, layout.service_account(identity))
        for identity in layout.identities
        if identity is not Identity.CA_READER
    }
    accounts.update(ca_reader_clients(layout))
    accounts.update(ServiceAccountRef(app.namespace, app.service_account) for app in settings.apps)
    if gateway_enabled(settings):
        accounts.add(ServiceAccountRef(namespace, gateway_certificate_account(layout)))
    accounts.update(
        ServiceAccountRef(namespace, layout.catalog_watcher(app).workload)
        for app in settings.apps
        if app.database is not None and app.database.address.follows_catalog
    )
    return tuple(sorted(accounts))
