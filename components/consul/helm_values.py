"""Layer 3: the Consul chart's Helm values, built from settings and layout as plain Python data.

The values carry Vault *paths* only, never a secret: the chart's Vault agents read every certificate
and secret from Vault with the Kubernetes-auth roles named here. :func:`build_consul_values` returns a
plain ``dict`` (no Outputs), so previews and the policy pack see exactly what Helm will get, and it
refuses any combination the pinned chart (2.0.3) would reject at render time or silently ignore
(contract §2), raising :class:`ChartValuesError` naming the key. :func:`vault_paths_by_reader` lists
which identity reads which Vault path, for joining with the Vault policies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ..layout import Identity, KvSecret, Layout
from ..settings import Settings
from ..settings.images import Image, configured_image
from ..settings.topology import TopologyMode
from .chart_keys import CHART_KEYS, PINNED_CHART_VERSION, is_removed

ACL_BINDING_RULE_SELECTOR = "serviceaccount.name!=default"
"""Keeps the ``default`` service account from logging in to Consul (CSL-BINDING)."""

VAULT_ROLE_KEYS: dict[Identity, str] = {
    Identity.SERVER: "consulServerRole",
    Identity.CLIENT: "consulClientRole",
    Identity.SERVER_ACL_INIT: "manageSystemACLsRole",
    Identity.PARTITION_INIT: "adminPartitionsRole",
    Identity.CONNECT_INJECTOR: "connectInjectRole",
    Identity.CA_READER: "consulCARole",
}
"""The ``global.secretsBackend.vault`` key that names each identity's Kubernetes-auth role."""

_VAULT = "global.secretsBackend.vault"
SECRET_PAIRS: tuple[str, ...] = (
    "global.gossipEncryption",
    "global.acls.bootstrapToken",
    "global.acls.replicationToken",
    "global.acls.partitionToken",
    "global.enterpriseLicense",
    "server.snapshotAgent.configSecret",
    f"{_VAULT}.ca",
)
"""Blocks whose ``secretName`` and ``secretKey`` the chart only uses together (both or neither)."""

KV_SECRET_KEYS: tuple[str, ...] = (
    "global.gossipEncryption.secretName",
    "global.acls.bootstrapToken.secretName",
    "global.acls.replicationToken.secretName",
    "global.acls.partitionToken.secretName",
    "global.enterpriseLicense.secretName",
    "server.snapshotAgent.configSecret.secretName",
)
"""Keys whose value is a KV-v2 path when the Vault backend is on (they need ``/data/``)."""


class ChartValuesError(ValueError):
    """A values combination the pinned Consul chart would reject, or silently ignore."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"Consul chart {PINNED_CHART_VERSION} values: {key}: {message}")


# ------------------------------------------------------------------------------------------ access


def get_value(values: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted key path, or ``None`` when any part of the path is absent."""
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every leaf of the values as ``{dotted.key.path: value}`` (lists and scalars are leaves)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


# ----------------------------------------------------------------------------------------- builder


def _agent_annotations(settings: Settings, layout: Layout) -> str | None:
    """The Vault agent annotations the chart does not set itself, as the YAML string the chart expects."""
    annotations: dict[str, str] = {}
    if layout.kubernetes_auth_path != "kubernetes":
        annotations["vault.hashicorp.com/auth-path"] = layout.kubernetes_auth_login_path
    if settings.vault.namespace is not None:
        annotations["vault.hashicorp.com/namespace"] = settings.vault.namespace
    if settings.vault.tls.server_name is not None:
        annotations["vault.hashicorp.com/tls-server-name"] = settings.vault.tls.server_name
    if not annotations:
        return None
    return "\n".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in annotations.items())


def _connect_ca_additional_config(settings: Settings, layout: Layout) -> str:
    """Extra settings for Consul's Vault CA provider, as the JSON agent-config string the chart merges in.

    The CA's TTLs and key come from the stack that holds the connect chain: a federation secondary's from its
    primary's settings (one connect root, one leaf TTL across the federation).
    """
    pki = (layout.federation_primary.settings if layout.is_federation_secondary else settings).pki
    ca_config: dict[str, Any] = {
        "leaf_cert_ttl": pki.chains.connect.leaf_ttl,
        "intermediate_cert_ttl": pki.consul_intermediate_ttl,
        "private_key_type": pki.key_type.value,
        "private_key_bits": pki.key_bits,
    }
    if settings.vault.namespace is not None:
        ca_config["namespace"] = settings.vault.namespace
    if settings.vault.tls.server_name is not None:
        ca_config["tls_server_name"] = settings.vault.tls.server_name
    return json.dumps({"connect": [{"ca_config": [ca_config]}]}, indent=2)


def _secret(layout: Layout, secret: KvSecret) -> dict[str, str]:
    path = layout.kv(secret)
    return {"secretName": path.data_path, "secretKey": path.field}


def _vault_backend(settings: Settings, layout: Layout) -> dict[str, Any]:
    vault: dict[str, Any] = {"enabled": True}
    for identity in layout.identities:
        vault[VAULT_ROLE_KEYS[identity]] = layout.auth_role(identity)
    if settings.vault.namespace is not None:
        vault["vaultNamespace"] = settings.vault.namespace
    annotations = _agent_annotations(settings, layout)
    if annotations is not None:
        vault["agentAnnotations"] = annotations
    if settings.vault.tls.ca_cert_pem is not None:
        vault["ca"] = {"secretName": layout.vault_ca_secret_name, "secretKey": layout.vault_ca_secret_key}
    vault["connectCA"] = {
        "address": settings.vault.address,
        "authMethodPath": layout.kubernetes_auth_path,
        "rootPKIPath": layout.connect_root_pki_path,
        "intermediatePKIPath": layout.connect_intermediate_pki_path,
        "additionalConfig": _connect_ca_additional_config(settings, layout),
    }
    vault["connectInject"] = {
        "caCert": {"secretName": layout.webhook_ca_path},
        "tlsCert": {"secretName": layout.webhook_pki_issue_path},
    }
    return vault


def _global(settings: Settings, layout: Layout) -> dict[str, Any]:
    consul = settings.consul
    acls: dict[str, Any] = {"manageSystemACLs": True}
    if layout.is_secondary_datacenter:
        # The chart ignores replicationToken when bootstrapToken is set; a secondary never bootstraps.
        acls["replicationToken"] = _secret(layout, KvSecret.REPLICATION_TOKEN)
    else:
        acls["bootstrapToken"] = _secret(layout, KvSecret.BOOTSTRAP_TOKEN)
    if layout.is_federation_primary:
        # The primary creates the replication token with the SecretID stored in KV (chart values.yaml
        # global.acls.createReplicationToken; consul-k8s acceptance/tests/vault/vault_wan_fed_test.go sets both).
        acls["createReplicationToken"] = True
        acls["replicationToken"] = _secret(layout, KvSecret.REPLICATION_TOKEN)
    if consul.enterprise:
        acls["partitionToken"] = _secret(layout, KvSecret.PARTITION_TOKEN)
    block: dict[str, Any] = {
        "name": layout.consul_fullname,
        "datacenter": layout.datacenter,
        "domain": consul.domain,
        "secretsBackend": {"vault": _vault_backend(settings, layout)},
        "tls": {
            "enabled": True,
            "verify": True,
            "httpsOnly": True,
            "enableAutoEncrypt": True,
            "caCert": {"secretName": layout.server_ca_path},
        },
        "gossipEncryption": {"autoGenerate": False, **_secret(layout, KvSecret.GOSSIP)},
        "acls": acls,
    }
    for key, image in (
        ("image", Image.CONSUL),
        ("imageK8S", Image.CONSUL_CONTROL_PLANE),
        ("imageConsulDataplane", Image.CONSUL_DATAPLANE),
    ):
        reference = configured_image(settings, image)
        if reference is not None:
            block[key] = reference
    if consul.enterprise:
        block["adminPartitions"] = {"enabled": True, "name": "default"}
        block["enterpriseLicense"] = {**_secret(layout, KvSecret.LICENSE), "enableLicenseAutoload": True}
    if settings.topology.mode is TopologyMode.PEERING:
        block["peering"] = {"enabled": True}
    if layout.is_federation_primary:
        # createFederationSecret mounts the CA key from a Kubernetes secret: unusable with Vault's PKI
        # (templates/create-federation-secret-job.yaml L56-75); secondaries take paths through stack references.
        block["federation"] = {"enabled": True, "createFederationSecret": False}
    if layout.is_federation_secondary:
        # The primary's gateways come from its stack outputs at deploy time (the platform sets
        # global.federation.primaryGateways; components/topology/federation.py); the chart's default is [].
        # k8sAuthMethodHost: server-acl-init creates the auth method the secondary's components log in with, in the
        # primary, only with it (consul-k8s server-acl-init/command.go L464-471).
        block["federation"] = {
            "enabled": True,
            "primaryDatacenter": layout.federation_primary.datacenter,
            "primaryGateways": [],
            "k8sAuthMethodHost": settings.topology.k8s_auth_method_host or settings.vault.kubernetes_host,
        }
    return block


SERVER_MAX_UNAVAILABLE = 1
"""Servers that may be voluntarily evicted at once: one keeps quorum for any odd count ≥ 3.

One server leaving an odd-sized pool does not change the quorum size; a second could cost quorum on
three servers and leaves no margin on five. A single dev server gets 1 too, so node drains are not
blocked forever (it has no quorum to keep). Written explicitly: the chart reads 0 as unset.
"""


def _server(settings: Settings, layout: Layout) -> dict[str, Any]:
    consul = settings.consul
    snapshot: dict[str, Any] = {"enabled": consul.snapshot_agent.enabled}
    if consul.snapshot_agent.enabled:
        snapshot["interval"] = consul.snapshot_agent.interval
        snapshot["configSecret"] = _secret(layout, KvSecret.SNAPSHOT_AGENT)
    return {
        "replicas": consul.server_replicas,
        "serverCert": {"secretName": layout.server_pki_issue_path},
        "disruptionBudget": {"enabled": True, "maxUnavailable": SERVER_MAX_UNAVAILABLE},
        "snapshotAgent": snapshot,
    }


def _mesh_gateway(settings: Settings) -> dict[str, Any]:
    """Mesh gateways: off, or a LoadBalancer Service in front of ``topology.meshGatewayReplicas`` pods.

    ``wanAddress.source: Service`` advertises the Service's load-balancer address (chart 2.0.3 values.yaml,
    ``meshGateway.wanAddress``); with ``peering.peerThroughMeshGateways`` that is the address peers dial.
    """
    if not settings.consul.mesh_gateway:
        return {"enabled": False}
    return {
        "enabled": True,
        "replicas": settings.topology.mesh_gateway_replicas,
        "service": {"type": "LoadBalancer"},
        "wanAddress": {"source": "Service"},
    }


def build_consul_values(settings: Settings, layout: Layout) -> dict[str, Any]:
    """The Helm values of the pinned Consul chart for this stack, checked against the chart's own rules."""
    consul = settings.consul
    values: dict[str, Any] = {
        "global": _global(settings, layout),
        "server": _server(settings, layout),
        "client": {"enabled": consul.clients_enabled},
        "ui": {"enabled": True},
        "dns": {"enabled": True},
        "connectInject": {
            "enabled": True,
            "default": True,
            "aclBindingRuleSelector": ACL_BINDING_RULE_SELECTOR,
            # Vault's own pods must stay outside the mesh: Consul's pods reach Vault without a sidecar.
            "k8sDenyNamespaces": [layout.vault_namespace],
            "apiGateway": {"manageExternalCRDs": consul.api_gateway},
        },
        "meshGateway": _mesh_gateway(settings),
    }
    check_chart_rules(values)
    return values


# ------------------------------------------------------------------------------------------- rules


def _require(values: Mapping[str, Any], key: str, why: str) -> None:
    if not get_value(values, key):
        raise ChartValuesError(key, f"is required: {why}")


def _check_keys(values: Mapping[str, Any]) -> None:
    for path in flatten(values):
        if is_removed(path):
            raise ChartValuesError(path, "was removed from the chart in 1.x; 2.x silently ignores it")
        if path not in CHART_KEYS:
            raise ChartValuesError(path, "is not a key of the pinned chart; Helm would silently ignore it")


def _check_pairs(values: Mapping[str, Any]) -> None:
    for block in SECRET_PAIRS:
        name, key = get_value(values, f"{block}.secretName"), get_value(values, f"{block}.secretKey")
        if bool(name) != bool(key):
            missing = f"{block}.secretKey" if name else f"{block}.secretName"
            raise ChartValuesError(missing, "secretName and secretKey go together: give both or neither")


def _check_vault_paths(values: Mapping[str, Any]) -> None:
    for key in KV_SECRET_KEYS:
        path = get_value(values, key)
        if path and "/data/" not in str(path):
            raise ChartValuesError(key, f"'{path}' is not a KV-v2 API path; it must contain '/data/'")
    for key, marker in (
        ("global.tls.caCert.secretName", "/cert/ca"),
        (f"{_VAULT}.connectInject.caCert.secretName", "/cert/ca"),
    ):
        path = get_value(values, key)
        if path and not str(path).endswith(marker):
            raise ChartValuesError(key, f"'{path}' must be a PKI CA endpoint ending in '{marker}'")
    for key in ("server.serverCert.secretName", f"{_VAULT}.connectInject.tlsCert.secretName"):
        path = get_value(values, key)
        if path and "/issue/" not in str(path):
            raise ChartValuesError(key, f"'{path}' must be a PKI issue endpoint ('<mount>/issue/<role>')")


def _check_strings(values: Mapping[str, Any]) -> None:
    annotations = get_value(values, f"{_VAULT}.agentAnnotations")
    if annotations is not None and not isinstance(annotations, str):
        raise ChartValuesError(f"{_VAULT}.agentAnnotations", "must be a YAML string, not a map")
    extra = get_value(values, f"{_VAULT}.connectCA.additionalConfig")
    if extra is not None:
        if not isinstance(extra, str):
            raise ChartValuesError(f"{_VAULT}.connectCA.additionalConfig", "must be a JSON string, not a map")
        try:
            parsed = json.loads(extra)
        except json.JSONDecodeError as error:
            raise ChartValuesError(f"{_VAULT}.connectCA.additionalConfig", f"is not valid JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise ChartValuesError(f"{_VAULT}.connectCA.additionalConfig", "must be a JSON object")
    for key, text in ((f"{_VAULT}.agentAnnotations", annotations), (f"{_VAULT}.connectCA.additionalConfig", extra)):
        if isinstance(text, str) and "{{" in text:
            raise ChartValuesError(key, "must not contain '{{': the chart renders it through tpl")


def _check_vault_backend(values: Mapping[str, Any]) -> None:
    tls = bool(get_value(values, "global.tls.enabled"))
    clients = bool(get_value(values, "client.enabled"))
    _require(values, f"{_VAULT}.consulServerRole", "the servers log in to Vault with it")
    if get_value(values, "global.gossipEncryption.autoGenerate"):
        raise ChartValuesError("global.gossipEncryption.autoGenerate", "does not work with the Vault backend")
    if clients:
        _require(values, f"{_VAULT}.consulClientRole", "clients read the gossip key from Vault with it")
    if tls:
        _require(values, "global.tls.caCert.secretName", "Vault with TLS needs the server CA's '<mount>/cert/ca'")
        if clients:
            if get_value(values, "global.tls.enableAutoEncrypt") is not True:
                raise ChartValuesError("global.tls.enableAutoEncrypt", "must be true with Vault, TLS and clients")
            _require(values, f"{_VAULT}.consulCARole", "clients with TLS read the server CA with it")
    if get_value(values, "server.serverCert.secretName"):
        _require(values, "global.tls.caCert.secretName", "server.serverCert needs the CA it chains to")
    webhook = (
        f"{_VAULT}.connectInjectRole",
        f"{_VAULT}.connectInject.caCert.secretName",
        f"{_VAULT}.connectInject.tlsCert.secretName",
    )
    present = [key for key in webhook if get_value(values, key)]
    if present:
        for key in webhook:
            _require(values, key, "the three webhook certificate values go together")
        if not tls:
            raise ChartValuesError(present[0], "webhook certificates from Vault only work with global.tls.enabled")
    connect_ca = tuple(f"{_VAULT}.connectCA.{key}" for key in ("address", "rootPKIPath", "intermediatePKIPath"))
    if any(get_value(values, key) for key in connect_ca):
        for key in connect_ca:
            _require(values, key, "the Vault mesh CA renders only with address, rootPKIPath and intermediatePKIPath")
    if get_value(values, "global.acls.manageSystemACLs"):
        if not (
            get_value(values, "global.acls.bootstrapToken.secretName")
            or get_value(values, "global.acls.replicationToken.secretName")
        ):
            raise ChartValuesError(
                "global.acls.bootstrapToken.secretName",
                "manageSystemACLs with Vault needs the bootstrap (or replication) token's KV path",
            )
        _require(values, f"{_VAULT}.manageSystemACLsRole", "server-acl-init reads the ACL tokens with it")
    if get_value(values, "server.snapshotAgent.enabled"):
        _require(values, "server.snapshotAgent.configSecret.secretName", "the snapshot agent's config is in Vault")
    if get_value(values, "global.enterpriseLicense.secretName") and not get_value(
        values, "global.enterpriseLicense.enableLicenseAutoload"
    ):
        raise ChartValuesError("global.enterpriseLicense.enableLicenseAutoload", "must stay true")


def _check_federation(values: Mapping[str, Any]) -> None:
    if not get_value(values, "global.federation.enabled"):
        return
    for key in ("global.tls.enabled", "connectInject.enabled", "meshGateway.enabled"):
        if not get_value(values, key):
            raise ChartValuesError(key, "must be true when global.federation.enabled is true")
    if get_value(values, "global.federation.createFederationSecret") and get_value(values, f"{_VAULT}.enabled"):
        raise ChartValuesError(
            "global.federation.createFederationSecret",
            "does not work with the Vault backend: its job reads the CA key from a Kubernetes secret",
        )
    if not get_value(values, "global.acls.createReplicationToken"):
        _require(values, "global.federation.primaryDatacenter", "a federated secondary names its primary")


def _check_peering(values: Mapping[str, Any]) -> None:
    """Peering renders only with TLS and connect injection (chart 2.0.3 templates/connect-inject-deployment.yaml
    L1-3 fails otherwise); the program also routes peering through mesh gateways, so it needs them.
    """
    if not get_value(values, "global.peering.enabled"):
        return
    for key in ("global.tls.enabled", "connectInject.enabled", "meshGateway.enabled"):
        if not get_value(values, key):
            raise ChartValuesError(key, "must be true when global.peering.enabled is true")


def check_chart_rules(values: Mapping[str, Any]) -> None:
    """Raise :class:`ChartValuesError` for the first value the pinned chart would reject or ignore."""
    _check_keys(values)
    _check_peering(values)
    _check_pairs(values)
    _check_strings(values)
    if get_value(values, f"{_VAULT}.enabled"):
        _check_vault_paths(values)
        _check_vault_backend(values)
    _check_federation(values)


# ----------------------------------------------------------------------------------------- readers


def _readers(values: Mapping[str, Any]) -> Iterator[tuple[str, tuple[Identity, ...]]]:
    clients = (Identity.CLIENT,) if get_value(values, "client.enabled") else ()
    partitions = (Identity.PARTITION_INIT,) if get_value(values, f"{_VAULT}.adminPartitionsRole") else ()
    yield "global.gossipEncryption.secretName", (Identity.SERVER, *clients)
    yield "server.serverCert.secretName", (Identity.SERVER,)
    # With TLS on, every Vault-annotated pod renders serverca.crt with its own role (contract §3).
    yield "global.tls.caCert.secretName", (
        Identity.SERVER,
        *clients,
        Identity.SERVER_ACL_INIT,
        *partitions,
        Identity.CONNECT_INJECTOR,
        Identity.CA_READER,
    )
    yield "global.acls.bootstrapToken.secretName", (Identity.SERVER, Identity.SERVER_ACL_INIT)
    yield "global.acls.replicationToken.secretName", (Identity.SERVER, Identity.SERVER_ACL_INIT)
    yield "global.acls.partitionToken.secretName", (Identity.SERVER_ACL_INIT, *partitions)
    yield "global.enterpriseLicense.secretName", (Identity.SERVER, *clients)
    yield "server.snapshotAgent.configSecret.secretName", (Identity.SERVER,)
    yield f"{_VAULT}.connectInject.tlsCert.secretName", (Identity.CONNECT_INJECTOR,)
    yield f"{_VAULT}.connectInject.caCert.secretName", (Identity.CONNECT_INJECTOR,)
    # Consul's Vault CA provider logs in with the server role (contract §3, "Mesh CA").
    yield f"{_VAULT}.connectCA.rootPKIPath", (Identity.SERVER,)
    yield f"{_VAULT}.connectCA.intermediatePKIPath", (Identity.SERVER,)


def vault_paths_by_reader(values: Mapping[str, Any]) -> list[tuple[str, str, Identity]]:
    """Every Vault path in the values as ``(helm key, vault path, identity that reads it)``.

    One triple per reader; keys absent from the values are skipped. The capabilities each reader needs
    are in the chart contract §3 (issue endpoints: create+update; server-acl-init on the bootstrap
    token: read+update; the mesh CA paths: the "Vault-managed paths" table; everything else: read).
    """
    triples: list[tuple[str, str, Identity]] = []
    for key, identities in _readers(values):
        path = get_value(values, key)
        if path:
            triples.extend((key, str(path), identity) for identity in identities)
    return triples
