"""Rules that need several settings at once: TTL cascades, custody fields, references, production rules.

Each rule reports the exact key path it is about, so a stack author sees
``secure-mesh:pki.chains.server.leafMaxTtl: …`` rather than a generic model error.
"""

from __future__ import annotations

import types
import typing
from collections import Counter
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from ..vocabulary import TopologyMode
from .database_rules import database_problems
from .durations import duration_seconds, format_duration
from .errors import Problem
from .images import CHART_DEFAULTS, configured_image, images_in_use, is_digest_pinned
from .jwt_rules import jwt_problems
from .models import (
    ALLOWED_KEY_BITS,
    CONSUL_CHART_NAME,
    CONSUL_FULLNAME_MAX,
    DEFAULT_INTERMEDIATE_TTLS,
    HTTP_URL_CHECK,
    MAX_PRODUCTION_LEVEL1_TTL,
    PLAIN_HTTP_ENVIRONMENTS,
    AuditDeviceType,
    ChainName,
    ChainSettings,
    IntentionAction,
    IntentionsRendering,
    Protocol,
    RootCustody,
    Settings,
    TokenReviewer,
    VaultPlacement,
)
from .topology_rules import topology_problems

API_GATEWAY_SERVICE = "api-gateway"
"""The Consul service of the API gateway (the Gateway's name, ``Layout.gateway_name``)."""

SECRET_CONFIG_KEYS = {
    "consulLicense": "the Consul Enterprise license text (required when consul.enterprise is true)",
    "consulReplicationToken": (
        "retired: a WAN-federation secondary (topology.mode 'federation-secondary') reads the primary's replication "
        "token from Vault KV, so the secret is refused if set"
    ),
    "databaseRootCredentials": (
        "an object {<app name>: {username, password}} with the root credentials Vault uses to set up each app "
        "database (required for every app with a database; Vault rotates the password after setup)"
    ),
}
"""Top-level keys read only with ``Config.require_secret``; never part of the settings models."""

RETIRED_SECRET_KEYS = {
    "consulReplicationToken": (
        "is no longer read: a WAN-federation secondary (topology.mode 'federation-secondary') reads the primary's "
        "replication token from Vault KV, and a copy in config is one more place for it to leak; remove it "
        "(pulumi config rm secure-mesh:consulReplicationToken)"
    ),
}
"""Secret keys the program once read, each with what to do instead: refused whether set as a secret or not."""

DATABASE_ROOT_CREDENTIALS = "databaseRootCredentials"
"""The secret object key holding each app database's root credentials, by app name."""
SECRET_OBJECT_KEYS = frozenset({DATABASE_ROOT_CREDENTIALS})
"""Secret keys whose value is an object: the settings see only ``<key>.<top-level name>`` entries, never values."""
UNKNOWN_NAMES = "*"
"""``<key>.*`` stands for a secret object whose names cannot be read (still encrypted in a stack file)."""


def secret_object_entry(key: str, name: str) -> str:
    """How a top-level name of a secret object appears among the secret key names (``key.name``)."""
    return f"{key}.{name}"


CONSUL_MIN_LEAF_TTL = 3600
"""Consul's ``MinLeafCertTTL`` (1h): ``leaf_cert_ttl`` below it is refused (consul agent/structs/connect_ca.go)."""
CONSUL_MAX_LEAF_TTL = 365 * 24 * 3600
"""Consul's ``MaxLeafCertTTL`` (8760h): ``leaf_cert_ttl`` above it is refused (same file)."""
CONSUL_MIN_INTERMEDIATE_TTL = 3 * 3600
"""Consul refuses ``intermediate_cert_ttl`` below 3 × its 1h renew interval (same file)."""
CONSUL_INTERMEDIATE_TO_LEAF = 3
"""Consul refuses ``intermediate_cert_ttl`` below 3 × ``leaf_cert_ttl`` (same file)."""


def intermediate_ttls(chain: ChainSettings) -> list[str]:
    """The TTL of each Vault-held level of a chain, level 1 first (explicit or the defaults)."""
    if chain.intermediate_ttls is not None:
        return list(chain.intermediate_ttls)
    return list(DEFAULT_INTERMEDIATE_TTLS[: chain.levels])


def check_consistency(settings: Settings, secret_keys: frozenset[str] = frozenset()) -> list[Problem]:
    """Every cross-field problem in the settings, in a stable order."""
    checks = (
        _pki_keys(settings),
        _pki_custody(settings),
        _pki_chains(settings),
        _root_certificates(settings),
        _vault(settings),
        _vault_paths(settings),
        _vault_identity(settings),
        _consul(settings, secret_keys),
        _kubernetes(settings),
        _mesh(settings),
        jwt_problems(settings),
        _apps(settings),
        _database_credentials(settings, secret_keys),
        database_problems(settings),
        topology_problems(settings),
        _production(settings),
        _image_digests(settings),
        _plain_http(settings),
        _rotation(settings),
    )
    return [problem for check in checks for problem in check]


def _pki_keys(settings: Settings) -> Iterator[Problem]:
    allowed = ALLOWED_KEY_BITS[settings.pki.key_type]
    if settings.pki.key_bits not in allowed:
        yield Problem(
            "pki.keyBits",
            f"{settings.pki.key_bits} is not allowed for keyType '{settings.pki.key_type.value}'; "
            f"allowed: {', '.join(map(str, allowed))}",
        )


def _pki_custody(settings: Settings) -> Iterator[Problem]:
    pki = settings.pki
    if pki.external is not None and pki.root_custody is not RootCustody.EXTERNAL:
        yield Problem("pki.external", f"is only used with rootCustody 'external'; rootCustody is '{pki.root_custody}'")
    if pki.aws_kms is not None and pki.root_custody is not RootCustody.AWS_KMS:
        yield Problem("pki.awsKms", f"is only used with rootCustody 'aws-kms'; rootCustody is '{pki.root_custody}'")
    if pki.root_custody is RootCustody.AWS_KMS:
        if pki.aws_kms is None:
            yield Problem("pki.awsKms", "is required with rootCustody 'aws-kms' (keyId, region, rootCertificatePem)")
        elif pki.aws_kms.root_certificate_pem is None:
            yield Problem(
                "pki.awsKms.rootCertificatePem",
                "is required: run the root ceremony once (python -m secure_mesh root-ca init "
                "--kms-key <keyId> --region <region>) and paste its certificate here",
            )
    for key, urls in (("pki.rootCrlUrls", pki.root_crl_urls), ("pki.rootIssuerUrls", pki.root_issuer_urls)):
        if urls and pki.root_custody is RootCustody.VAULT:
            yield Problem(
                key,
                f"{urls} is only used with an offline root (rootCustody 'external' or 'aws-kms'); "
                "a root in Vault publishes its CRL and certificate at the root mount's own URLs",
            )
        elif not urls and settings.is_production and pki.root_custody is not RootCustody.VAULT:
            yield Problem(
                key,
                "is required in prod with an offline root, so a level-1 CA can be revoked: list the http(s) URL(s) "
                "where the root's "
                + ("CRL (signed by `root-ca crl`)" if key == "pki.rootCrlUrls" else "certificate")
                + " is published",
            )
    if pki.root_custody is RootCustody.EXTERNAL and pki.external is not None:
        signed = pki.external.signed_intermediates
        if signed and pki.external.root_certificate_pem is None:
            yield Problem(
                "pki.external.rootCertificatePem",
                "is required once signedIntermediates are given: the chain must end at the offline root",
            )


def _pki_chains(settings: Settings) -> Iterator[Problem]:
    pki = settings.pki
    root_seconds = duration_seconds(pki.root_ttl)
    for name in ChainName:
        chain = pki.chains.by_name(name)
        base = f"pki.chains.{name.value}"
        if chain.intermediate_ttls is not None and len(chain.intermediate_ttls) != chain.levels:
            yield Problem(
                f"{base}.intermediateTtls",
                f"has {len(chain.intermediate_ttls)} entries but levels is {chain.levels}; give one TTL per level",
            )
            continue
        # The cascade: root > level 1 > … > deepest level (> Consul's intermediate) > leaf max TTL ≥ leaf TTL.
        above_name, above_seconds = "pki.rootTtl", root_seconds
        for index, ttl in enumerate(intermediate_ttls(chain)):
            path = f"{base}.intermediateTtls[{index}]"
            seconds = duration_seconds(ttl)
            if index == 0 and settings.is_production and seconds > duration_seconds(MAX_PRODUCTION_LEVEL1_TTL):
                yield Problem(
                    path,
                    f"'{ttl}' is longer than a production level-1 intermediate may live "
                    f"(at most {MAX_PRODUCTION_LEVEL1_TTL}, two years): the offline root signs level 1 rarely, "
                    "so a compromised one must expire soon",
                )
            if seconds >= above_seconds:
                yield Problem(path, f"'{ttl}' must be shorter than {above_name} (the CA that signs it)")
            above_name, above_seconds = path, seconds
        if name is ChainName.CONNECT:
            seconds = duration_seconds(pki.consul_intermediate_ttl)
            if seconds >= above_seconds:
                yield Problem(
                    "pki.consulIntermediateTtl",
                    f"'{pki.consul_intermediate_ttl}' must be shorter than {above_name} (Consul's root path CA)",
                )
            above_name, above_seconds = "pki.consulIntermediateTtl", seconds
        if name is ChainName.CONNECT:
            yield from _consul_ca_ttls(settings)
            yield from _expiry_threshold(settings)
        if duration_seconds(chain.leaf_max_ttl) >= above_seconds:
            yield Problem(f"{base}.leafMaxTtl", f"'{chain.leaf_max_ttl}' must be shorter than {above_name}")
        if duration_seconds(chain.leaf_ttl) > duration_seconds(chain.leaf_max_ttl):
            yield Problem(f"{base}.leafTtl", f"'{chain.leaf_ttl}' must not exceed leafMaxTtl '{chain.leaf_max_ttl}'")
        if name is not ChainName.GATEWAY and chain.domains:
            yield Problem(
                f"{base}.domains",
                "is only for the gateway chain; the other chains' names are computed from the Consul settings",
            )
        duplicates = sorted(d for d, n in Counter(chain.domains).items() if n > 1)
        if duplicates:
            yield Problem(f"{base}.domains", f"lists {', '.join(duplicates)} more than once")
    if settings.consul.api_gateway and not pki.chains.gateway.domains:
        yield Problem(
            "pki.chains.gateway.domains",
            "must list at least one DNS domain when consul.apiGateway is true (the listener certificate's names)",
        )


def _root_certificates(settings: Settings) -> Iterator[Problem]:
    """A configured root (KMS or offline) fits the chains: self-signed CA, the chains' key type, path length, unexpired.

    Vault refuses to chain a level 1 of another key type to it and clients refuse an expired or too-short
    root; the same check (components/pki/certificates.py ``check_root``) used to run only when the PKI
    component was built, after providers and components were registered. The import is local: those pure
    certificate helpers live with the PKI code that also uses them.
    """
    from ..pki.certificates import CertificateCheckError, check_root
    from ..pki.plan import required_root_path_length

    pki = settings.pki
    roots: list[tuple[str, str | None]] = []
    if pki.root_custody is RootCustody.AWS_KMS and pki.aws_kms is not None:
        roots.append(("pki.awsKms.rootCertificatePem", pki.aws_kms.root_certificate_pem))
    if pki.root_custody is RootCustody.EXTERNAL and pki.external is not None:
        roots.append(("pki.external.rootCertificatePem", pki.external.root_certificate_pem))
    for path, pem in roots:
        if pem is None:
            continue
        try:
            check_root(pem, pki.key_type.value, pki.key_bits, required_root_path_length(settings), path)
        except CertificateCheckError as error:
            message = str(error)
            yield Problem(path, message[len(path) + 1 :] if message.startswith(path + " ") else message)


def _expiry_threshold(settings: Settings) -> Iterator[Problem]:
    """The CA expiry check's threshold leaves Consul's intermediate, renewed at half its life, out of alarm.

    Consul's leader renews its Connect intermediate once more than half its lifetime has passed (consul
    agent/consul/leader_connect_ca.go ``RenewIntermediate``), so a healthy intermediate always has more than half of
    ``intermediate_cert_ttl`` left; a threshold at or above that would fail every run.
    """
    check = settings.pki.expiry_check
    half = duration_seconds(settings.pki.consul_intermediate_ttl) // 2
    if check.enabled and check.threshold_days * 86400 >= half:
        allowed = (
            f"allowed: 1 to {(half - 1) // 86400}"
            if half > 86400
            else "allowed: none; raise pki.consulIntermediateTtl or set pki.expiryCheck.enabled false"
        )
        yield Problem(
            "pki.expiryCheck.thresholdDays",
            f"{check.threshold_days} is not below half of pki.consulIntermediateTtl "
            f"('{settings.pki.consul_intermediate_ttl}'), which Consul renews at half life, so every run would "
            f"fail; {allowed}",
        )


def _consul_ca_ttls(settings: Settings) -> Iterator[Problem]:
    """Consul's own CA config rules for the TTLs the program passes as ``leaf_cert_ttl``/``intermediate_cert_ttl``.

    Consul refuses the whole CA configuration (the servers never get a CA) when
    ``CommonCAProviderConfig.Validate`` fails (consul agent/structs/connect_ca.go, called from
    agent/connect/ca/provider_vault.go ``ParseVaultCAConfig``).
    """
    leaf = settings.pki.chains.connect.leaf_ttl
    leaf_seconds = duration_seconds(leaf)
    if not CONSUL_MIN_LEAF_TTL <= leaf_seconds <= CONSUL_MAX_LEAF_TTL:
        yield Problem(
            "pki.chains.connect.leafTtl",
            f"'{leaf}' is outside the range Consul's CA accepts for leaf_cert_ttl; allowed: "
            f"{format_duration(CONSUL_MIN_LEAF_TTL)} to {format_duration(CONSUL_MAX_LEAF_TTL)}",
        )
    intermediate = settings.pki.consul_intermediate_ttl
    minimum = max(CONSUL_MIN_INTERMEDIATE_TTL, CONSUL_INTERMEDIATE_TO_LEAF * leaf_seconds)
    if duration_seconds(intermediate) < minimum:
        yield Problem(
            "pki.consulIntermediateTtl",
            f"'{intermediate}' is shorter than Consul's CA accepts for intermediate_cert_ttl: at least "
            f"3 × pki.chains.connect.leafTtl ('{leaf}') and at least 3h; allowed: {format_duration(minimum)} or more",
        )


def _vault(settings: Settings) -> Iterator[Problem]:
    vault = settings.vault
    if vault.placement is VaultPlacement.EXTERNAL:
        if vault.kubernetes_ca_cert_pem is None:
            yield Problem(
                "vault.kubernetesCaCertPem",
                "is required when vault.placement is 'external': Vault must verify the Kubernetes API",
            )
        if vault.kubernetes_host == "https://kubernetes.default.svc":
            yield Problem(
                "vault.kubernetesHost",
                "must be the cluster's external API address when vault.placement is 'external'",
            )
    if vault.tls.ca_cert_pem is not None and not vault.address.startswith("https://"):
        yield Problem("vault.tls.caCertPem", "is set but vault.address is not https; use an https address")
    if vault.tls.ca_cert_file is not None:
        if vault.tls.ca_cert_pem is not None:
            yield Problem("vault.tls.caCertFile", "and vault.tls.caCertPem are both set; give the CA one way only")
        if not vault.address.startswith("https://"):
            yield Problem("vault.tls.caCertFile", "is set but vault.address is not https; use an https address")


VAULT_PROTECTED_MOUNTS = ("audit", "auth", "sys", "cubbyhole", "identity")
"""First path segments Vault refuses to mount a secrets engine under ("cannot mount"; vault/mount.go,
``protectedMounts``)."""


def _vault_paths(settings: Settings) -> Iterator[Problem]:
    """Mount paths Vault itself refuses: a secrets engine under a protected path, an auth method at ``token``."""
    prefix = settings.vault.mount_prefix
    first = prefix.split("/", 1)[0]
    if first in VAULT_PROTECTED_MOUNTS:
        yield Problem(
            "vault.mountPrefix",
            f"'{prefix}' starts with '{first}/', where Vault refuses to mount secrets engines; allowed: any first "
            f"segment but {', '.join(VAULT_PROTECTED_MOUNTS)}",
        )
    auth_mount = settings.vault.kubernetes_auth_mount
    if auth_mount is not None and auth_mount.split("/", 1)[0] == "token":
        # auth/token/ is the token store every Vault has; enabling another method there is a path conflict
        # (vault/auth.go enableCredentialInternal: "path is already in use").
        yield Problem(
            "vault.kubernetesAuthMount",
            f"'{auth_mount}' is under auth/token/, Vault's own token store; allowed: any other path",
        )


def _vault_identity(settings: Settings) -> Iterator[Problem]:
    """The token reviewer fits the placement; each audit device key belongs to the chosen device type."""
    vault = settings.vault
    if vault.placement is VaultPlacement.IN_CLUSTER and vault.token_reviewer is TokenReviewer.LONG_LIVED_SECRET:
        yield Problem(
            "vault.tokenReviewer",
            "'long-lived-secret' applies only when vault.placement is 'external'; in the cluster Vault reviews "
            "logins with its own rotating token: remove vault.tokenReviewer (allowed there: 'client-jwt')",
        )
    audit = vault.audit
    kind = audit.type
    audited = audit.enabled if audit.enabled is not None else settings.is_production
    if audited and vault.namespace is not None:
        # Vault Enterprise serves sys/audit only in the root namespace (docs: enterprise/namespaces, "root-only API
        # paths"), and a resource's namespace is relative to the provider's, which is vault.namespace here.
        yield Problem(
            "vault.audit.enabled",
            f"{'true' if audit.enabled else 'unset (on in prod)'} with vault.namespace '{vault.namespace}': Vault "
            "enables audit devices only in the root namespace; enable the device there and set "
            "vault.audit.enabled: false (the policy pack's requireAudit: never then applies to this stack)",
        )
    if kind is AuditDeviceType.SOCKET and audit.address is None:
        yield Problem(
            "vault.audit.address", "is required when vault.audit.type is 'socket' (e.g. 'logs.internal:9090')"
        )
    for key, value, owner in (
        ("address", audit.address, AuditDeviceType.SOCKET),
        ("filePath", audit.file_path, AuditDeviceType.FILE),
        ("facility", audit.facility, AuditDeviceType.SYSLOG),
        ("tag", audit.tag, AuditDeviceType.SYSLOG),
    ):
        if value is not None and kind is not owner:
            yield Problem(
                f"vault.audit.{key}",
                f"'{value}' applies only to vault.audit.type '{owner.value}', but the type is '{kind.value}'; "
                "remove it or change the type",
            )


def _consul(settings: Settings, secret_keys: frozenset[str]) -> Iterator[Problem]:
    consul = settings.consul
    if len(consul.fullname) > CONSUL_FULLNAME_MAX:
        # consul.name is at most 40 (its model), so only a long release name gets here
        yield Problem(
            "consul.releaseName",
            f"'{consul.release_name}' makes the chart name its resources '{consul.fullname}-…' "
            f"({len(consul.fullname)} characters before the suffix); allowed: at most "
            f"{CONSUL_FULLNAME_MAX - len(CONSUL_CHART_NAME) - 1} characters (the chart adds '-{CONSUL_CHART_NAME}'), "
            "or set consul.name (at most 40): the server StatefulSet '<name>-server' must stay within 52 characters "
            "for its pods' controller-revision-hash label, and the chart does not shorten derived names",
        )
    if consul.intentions_rendering is IntentionsRendering.CONFIG_ENTRIES and consul.address is None:
        yield Problem("consul.address", "is required when consul.intentionsRendering is 'config-entries'")
    if (
        consul.address is not None
        and consul.address.startswith("http://")
        and settings.environment.value in PLAIN_HTTP_ENVIRONMENTS  # elsewhere _plain_http already refuses it
    ):
        # The chart sets global.tls.httpsOnly: Consul's servers listen on HTTPS only, in every environment
        # (components/consul/helm_values.py), so a plain-http address cannot reach them even on a laptop.
        yield Problem(
            "consul.address",
            f"'{consul.address}' is plain http, but Consul serves its API over HTTPS only (global.tls.httpsOnly); "
            f"allowed: an https URL such as 'https://{consul.address[len('http://') :]}' (port 8501)",
        )
    consul_image = settings.images.consul
    if consul.enterprise and (consul_image is None or "-ent" not in consul_image):
        yield Problem(
            "images.consul",
            f"{'unset (the chart default)' if consul_image is None else repr(consul_image)} is not a Consul Enterprise "
            "image; with consul.enterprise set an -ent image, "
            "e.g. 'hashicorp/consul-enterprise:1.22-ent' (the chart's default image is Consul OSS)",
        )
    if consul.snapshot_agent.enabled and not consul.enterprise:
        yield Problem(
            "consul.snapshotAgent.enabled",
            "the snapshot agent is a Consul Enterprise feature; set consul.enterprise (with a license) or disable it "
            "and back up with `consul snapshot save` on a schedule",
        )
    if consul.enterprise and "consulLicense" not in secret_keys:
        yield Problem(
            "consulLicense",
            "is required as a secret when consul.enterprise is true "
            '(pulumi config set --secret secure-mesh:consulLicense "$(cat consul.hclic)")',
        )
    if not consul.enterprise and "consulLicense" in secret_keys:
        yield Problem("consulLicense", "is set but consul.enterprise is false; remove it or enable enterprise")
    secondary = consul.primary_datacenter is not None and consul.primary_datacenter != consul.datacenter
    if secondary and settings.topology.mode.value == "standalone":
        yield Problem(
            "consul.primaryDatacenter",
            f"'{consul.primary_datacenter}' names another datacenter: a WAN-federation secondary is "
            "topology.mode 'federation-secondary' with topology.primaryStack (it shares the primary's gossip key, "
            "server CA, connect root and replication token from Vault); remove consul.primaryDatacenter",
        )
    for key in sorted(secret_keys & set(RETIRED_SECRET_KEYS)):
        yield Problem(key, RETIRED_SECRET_KEYS[key])


def _mesh(settings: Settings) -> Iterator[Problem]:
    """The intention rules on ``mesh.*``: the same functions as every intention graph (secure_mesh.mesh.rules)."""
    # Imported late: secure_mesh.mesh.rules is settings-free, but importing it first must not wait on this module.
    from ..mesh import rules

    services = settings.mesh.services
    protocols = {s.name: s.protocol for s in services}
    seen: set[str] = set()
    for index, service in enumerate(services):
        if service.name in seen:
            yield Problem(f"mesh.services[{index}].name", f"'{service.name}' is declared more than once")
        seen.add(service.name)
        if settings.consul.api_gateway and service.name == API_GATEWAY_SERVICE:
            yield Problem(
                f"mesh.services[{index}].name",
                f"'{API_GATEWAY_SERVICE}' is the API gateway's own service name; choose another name",
            )
    pairs: set[tuple[str, str]] = set()
    for index, intention in enumerate(settings.mesh.intentions):
        base = f"mesh.intentions[{index}]"
        for end in ("source", "destination"):
            name = getattr(intention, end)
            if name not in protocols:
                yield Problem(f"{base}.{end}", rules.not_declared(name, protocols, "mesh.services"))
        pair = (intention.source, intention.destination)
        if pair in pairs:
            yield Problem(base, rules.second_rule(*pair))
        pairs.add(pair)
        if intention.source == intention.destination:
            yield Problem(f"{base}.destination", rules.SELF_INTENTION)
        mismatch = rules.action_or_permissions(intention.action is not None, intention.permissions is not None)
        if mismatch is not None:
            yield Problem(base, mismatch)
        if intention.permissions is not None:
            protocol = protocols.get(intention.destination)
            l7 = None if protocol is None else rules.l7_protocol(intention.destination, protocol)
            if l7 is not None:
                yield Problem(f"{base}.permissions", l7)
            if not intention.permissions:
                yield Problem(f"{base}.permissions", rules.EMPTY_PERMISSIONS)
            for p_index, permission in enumerate(intention.permissions):
                for sub, message in rules.permission_problems(
                    permission.path_exact, permission.path_prefix, permission.methods
                ):
                    yield Problem(f"{base}.permissions[{p_index}]{sub}", message)


KUBERNETES_BUILT_IN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Namespaces every cluster already has; creating a Namespace object with one of these names is refused
("namespaces ... already exists", Kubernetes API AlreadyExists)."""


def _kubernetes(settings: Settings) -> Iterator[Problem]:
    """Consul's namespace is one the program can create and own: not built in, not one the program creates for Vault."""
    from ..layout import Layout  # the layout names Vault's namespaces; it imports the settings, so import late

    namespace = settings.kubernetes.consul_namespace
    taken = KUBERNETES_BUILT_IN_NAMESPACES | {Layout.vault_namespace, Layout.token_reviewer_namespace}
    if namespace in taken:
        yield Problem(
            "kubernetes.consulNamespace",
            f"'{namespace}' already exists or is created by the program for Vault, and the program creates Consul's "
            "namespace itself (Kubernetes refuses a second one: AlreadyExists); not allowed: "
            f"{', '.join(sorted(taken))}",
        )


CHART_NEVER_INJECTED = frozenset(
    {"kube-system", "kube-public", "local-path-storage", "openebs", "gmp-system", "gke-managed-cim"}
)
"""Namespaces the consul-k8s chart 2.0.3 never injects: `kube-system` and `kube-public` always, the rest through the
default ``connectInject.namespaceSelector`` (charts/consul/values.yaml)."""


def never_injected_namespaces() -> frozenset[str]:
    """Namespaces where an app's pods never get a sidecar: the chart's exclusions and Vault's own namespace, which the
    program puts in ``connectInject.k8sDenyNamespaces`` (components/consul/helm_values.py).
    """
    from ..layout import Layout  # the layout names Vault's namespace; it imports the settings, so import late

    return CHART_NEVER_INJECTED | {Layout.vault_namespace}


def _apps(settings: Settings) -> Iterator[Problem]:
    protocols = {s.name: s.protocol for s in settings.mesh.services}
    denied = {(i.source, i.destination) for i in settings.mesh.intentions if i.action is IntentionAction.DENY}
    names: set[str] = set()
    accounts: set[tuple[str, str]] = set()
    gateway_domains = settings.pki.chains.gateway.domains
    routes: dict[tuple[str, str], int] = {}
    never_injected = never_injected_namespaces()
    for index, app in enumerate(settings.apps):
        base = f"apps[{index}]"
        if app.name in names:
            yield Problem(f"{base}.name", f"'{app.name}' is declared more than once")
        names.add(app.name)
        account = (app.namespace, app.service_account)
        if account in accounts:
            yield Problem(
                f"{base}.serviceAccount",
                f"'{app.namespace}/{app.service_account}' is already another app's identity; each app needs its own",
            )
        accounts.add(account)
        if app.namespace == settings.kubernetes.consul_namespace:
            yield Problem(f"{base}.namespace", "apps must not run in Consul's own namespace")
        elif app.namespace in never_injected:
            yield Problem(
                f"{base}.namespace",
                f"'{app.namespace}' is a namespace Consul's connect injector never injects, so the app would never "
                f"join the mesh; not allowed: {', '.join(sorted(never_injected))}",
            )
        if app.service not in protocols:
            yield Problem(
                f"{base}.service", f"'{app.service}' is not a service in mesh.services; declared: {_names(protocols)}"
            )
        for u_index, upstream in enumerate(app.upstreams):
            path = f"{base}.upstreams[{u_index}]"
            if upstream not in protocols:
                yield Problem(path, f"'{upstream}' is not a service in mesh.services; declared: {_names(protocols)}")
            elif upstream == app.service:
                yield Problem(path, "an app does not list its own service as an upstream")
            elif (app.service, upstream) in denied:
                yield Problem(path, f"contradicts the deny intention {app.service} → {upstream} in mesh.intentions")
        for s_index, secret in enumerate(app.secrets):
            if app.secrets.index(secret) != s_index:
                yield Problem(f"{base}.secrets[{s_index}]", f"'{secret}' is listed more than once")
        if app.database is not None:
            address = app.database.address
            if (address.host is None) == (address.consul_service is None):
                yield Problem(f"{base}.database.address", "give exactly one of 'host' or 'consulService'")
            if address.consul_service is not None and settings.consul.address is None:
                yield Problem(
                    f"{base}.database.address.consulService",
                    "needs consul.address: the catalog is looked up through the Consul provider",
                )
            if address.follow_catalog is True and address.consul_service is None:
                yield Problem(
                    f"{base}.database.address.followCatalog",
                    "true needs consulService: only a Consul catalog service can be followed; allowed with a static "
                    "host: false or unset",
                )
            if duration_seconds(app.database.credential_ttl) > duration_seconds(app.database.credential_max_ttl):
                yield Problem(f"{base}.database.credentialTtl", "must not exceed credentialMaxTtl")
        if app.route is not None and not settings.consul.api_gateway:
            yield Problem(f"{base}.route", "needs consul.apiGateway: true (Consul's API gateway serves the route)")
        if app.route is not None:
            hostname = app.route.hostname
            if not any(hostname == d or hostname.endswith("." + d) for d in gateway_domains):
                yield Problem(
                    f"{base}.route.hostname",
                    f"'{hostname}' is not within the gateway's domains "
                    f"(pki.chains.gateway.domains: {', '.join(gateway_domains) or 'none'})",
                )
            # Gateway API: a PathPrefix matches whole path elements and ignores a trailing '/', so '/shop' and
            # '/shop/' are one match; two HTTPRoutes with the same hostname and match conflict, and the gateway
            # serves only the oldest (consul-k8s chart 2.0.3 crd-httproutes-external.yaml, HTTPRoute.spec.hostnames).
            match = (hostname, app.route.path_prefix.rstrip("/") or "/")
            if match in routes:
                yield Problem(
                    f"{base}.route",
                    f"hostname '{hostname}' with pathPrefix '{app.route.path_prefix}' is already routed to "
                    f"apps[{routes[match]}] ('{settings.apps[routes[match]].name}'); give each app its own "
                    "hostname or path",
                )
            else:
                routes[match] = index
            if protocols.get(app.service) not in (Protocol.HTTP, Protocol.HTTP2, Protocol.GRPC, None):
                yield Problem(f"{base}.route", f"an HTTPS route needs an http service; '{app.service}' is tcp")


def _database_credentials(settings: Settings, secret_keys: frozenset[str]) -> Iterator[Problem]:
    """Every app database has root credentials in the secret object, and the object names only such apps."""
    key = DATABASE_ROOT_CREDENTIALS
    if secret_object_entry(key, UNKNOWN_NAMES) in secret_keys:
        return  # an encrypted stack-file value: the names are checked when the program reads it
    given = {entry[len(key) + 1 :] for entry in secret_keys if entry.startswith(key + ".")}
    with_database = {app.name for app in settings.apps if app.database is not None}
    for index, app in enumerate(settings.apps):
        if app.database is not None and app.name not in given:
            yield Problem(
                f"apps[{index}].database",
                f"has no root credentials: set them as a secret, {key}.{app.name} = {{username, password}} "
                f"(pulumi config set --secret --path 'secure-mesh:{key}.{app.name}.password' <password>, and the "
                "same for .username)",
            )
    for name in sorted(given - with_database):
        yield Problem(
            secret_object_entry(key, name),
            f"names no app with a database; apps with a database: {', '.join(sorted(with_database)) or 'none'}",
        )


def _production(settings: Settings) -> Iterator[Problem]:
    if not settings.is_production:
        return
    replicas = settings.consul.server_replicas
    if replicas < 3 or replicas % 2 == 0:
        yield Problem(
            "consul.serverReplicas",
            f"{replicas} is not allowed in prod; use an odd number of at least 3 (3, 5, 7 or 9) for quorum",
        )
    if settings.pki.root_custody is RootCustody.VAULT:
        yield Problem(
            "pki.rootCustody",
            "'vault' keeps the root key in Vault and is for dev and staging only; use 'external' or 'aws-kms' in prod",
        )


def _names(protocols: dict[str, Protocol]) -> str:
    return ", ".join(sorted(protocols)) or "none"


def _is_url(annotation: Any, metadata: list[Any]) -> bool:
    """True when a field (or list item / map value) is declared with the shared ``HttpUrl`` type."""
    if any(m is HTTP_URL_CHECK for m in metadata):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return any(m is HTTP_URL_CHECK for m in typing.get_args(annotation)[1:])
    if origin in (typing.Union, types.UnionType):
        return any(_is_url(arg, []) for arg in typing.get_args(annotation))
    return False


def _item_annotation(annotation: Any, position: int) -> Any:
    """The item type of ``list[X]`` (position 0) or value type of ``dict[K, V]`` (position 1), through Optional."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if typing.get_origin(arg) in (list, dict):
                return _item_annotation(arg, position)
        return None
    if origin is typing.Annotated:
        return _item_annotation(typing.get_args(annotation)[0], position)
    args = typing.get_args(annotation)
    return args[min(position, len(args) - 1)] if args else None


def _urls(value: Any, annotation: Any, metadata: list[Any], path: str) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if isinstance(value, str):
        if _is_url(annotation, metadata):
            yield path, value
    elif isinstance(value, BaseModel):
        yield from url_settings(value, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _urls(item, _item_annotation(annotation, 0), [], f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _urls(item, _item_annotation(annotation, 1), [], f"{path}.{getattr(key, 'value', key)}")


def url_settings(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every URL setting (a field of the shared ``HttpUrl`` type, at any depth) with its camelCase key path."""
    for name, field in type(model).model_fields.items():
        path = f"{prefix}.{field.alias or name}" if prefix else (field.alias or name)
        yield from _urls(getattr(model, name), field.annotation, list(field.metadata), path)


def _plain_http(settings: Settings) -> Iterator[Problem]:
    """Every URL setting is https outside ``dev``: Vault's, the provider's, Kubernetes', Consul's, CRL/issuer bases.

    Vault and Consul serve their APIs over TLS in every stack but the laptop one (issue 13 item 5); a plain-http
    address would send tokens and secrets in clear text, so the value is refused rather than tried.
    """
    environment = settings.environment.value
    if environment in PLAIN_HTTP_ENVIRONMENTS:
        return
    for path, url in url_settings(settings):
        if url.startswith("http://"):
            yield Problem(
                path,
                f"'{url}' is plain http, allowed only with environment 'dev' (environment is '{environment}'); "
                f"allowed: an https URL such as 'https://{url[len('http://') :]}'",
            )


def _image_digests(settings: Settings) -> Iterator[Problem]:
    """Production runs only images named by digest: a tag can be re-pointed at other content, a digest cannot."""
    if not settings.is_production:
        return
    for image in images_in_use(settings):
        reference = configured_image(settings, image)
        if reference is None:
            yield Problem(
                image.setting_key,
                f"is not set, so the chart's tag {CHART_DEFAULTS[image]!r} would run; production names every image "
                f"it deploys by digest: set it to '{CHART_DEFAULTS[image]}@sha256:<digest>' (resolve the digest "
                f"with `crane digest {CHART_DEFAULTS[image]}`)",
            )
        elif not is_digest_pinned(reference):
            yield Problem(
                image.setting_key,
                f"{reference!r} is not pinned by digest; production names every image it deploys as "
                f"'repository:tag@sha256:<64 hex>' (resolve it with `crane digest {reference}`)",
            )


def _server_tls_generation(settings: Settings) -> Iterator[Problem]:
    """A server-TLS generation above 1 rotates a CA Vault signs, in the stack that keeps the servers' role."""
    generation = settings.rotation.server_tls_generation
    if generation == 1:
        return
    custody = settings.pki.root_custody
    if settings.pki.chains.server.levels < 2 and custody is not RootCustody.VAULT:
        yield Problem(
            "rotation.serverTlsGeneration",
            f"{generation} needs the server chain's issuing CA signed inside Vault, but its only level is signed "
            f"by the offline root (pki.rootCustody {custody.value!r}); set pki.chains.server.levels to 2 or more, "
            "or keep 1 (allowed here: 1)",
        )
    if settings.topology.mode is TopologyMode.FEDERATION_SECONDARY:
        yield Problem(
            "rotation.serverTlsGeneration",
            f"{generation} is not allowed in a federation secondary: its servers' certificates come from the "
            "primary's server chain; raise rotation.serverTlsGeneration in the primary (allowed here: 1)",
        )


def _connect_root_generation(settings: Settings) -> Iterator[Problem]:
    """A connect-root generation above 1 is a new Vault-signed mount Consul switches to through its API."""
    generation = settings.rotation.connect_root_generation
    if generation == 1:
        return
    key = "rotation.connectRootGeneration"
    custody = settings.pki.root_custody
    if settings.pki.chains.connect.levels < 2 and custody is not RootCustody.VAULT:
        yield Problem(
            key,
            f"{generation} needs the connect chain's deepest CA (Consul's rootPKIPath) signed inside Vault, but its "
            f"only level is signed by the offline root (pki.rootCustody {custody.value!r}); set "
            "pki.chains.connect.levels to 2 or more, or keep 1 (allowed here: 1)",
        )
    if settings.consul.address is None:
        yield Problem(
            key,
            f"{generation} needs consul.address: a running Consul only takes a new rootPKIPath through "
            "PUT /v1/connect/ca/configuration (the Helm values bootstrap the CA once), or keep 1 (allowed here: 1)",
        )
    if settings.topology.mode is TopologyMode.FEDERATION_SECONDARY:
        yield Problem(
            key,
            f"{generation} is not allowed in a federation secondary: the federation's connect root is the "
            "primary's; raise rotation.connectRootGeneration in the primary's stack (topology.primaryStack), and "
            "this stack follows on its next up (allowed here: 1)",
        )


def _rotation(settings: Settings) -> Iterator[Problem]:
    """Rotations need the secrets engine, and the engine needs the Consul provider and ordered TTLs."""
    rotation = settings.rotation
    yield from _server_tls_generation(settings)
    yield from _connect_root_generation(settings)
    engine = rotation.consul_secrets_engine
    key = "rotation.consulSecretsEngine"
    engine_versions = [
        ("gossipKeyVersion", rotation.gossip_key_version),
        ("bootstrapTokenVersion", rotation.bootstrap_token_version),
    ]
    if settings.topology.mode is TopologyMode.FEDERATION_PRIMARY:  # a secondary's Job needs no Consul token
        engine_versions.append(("replicationTokenVersion", rotation.replication_token_version))
    for version_key, version in engine_versions:
        if version > 1 and not engine.enabled:
            yield Problem(
                f"rotation.{version_key}",
                f"{version} needs {key}.enabled: the rotation Job authenticates to Consul with a short-lived "
                "token from Vault's Consul secrets engine, never the bootstrap token",
            )
    if not engine.enabled:
        return
    if settings.consul.address is None:
        yield Problem(
            f"{key}.enabled",
            "needs consul.address: the engine's own management token is created through the Consul provider",
        )
    if engine.consul_address is None and settings.vault.placement is not VaultPlacement.IN_CLUSTER:
        yield Problem(
            f"{key}.consulAddress",
            "is required with an external Vault: Consul's HTTPS API as Vault reaches it (host:port), e.g. an "
            "exposed server Service whose name is in the server certificate",
        )
    for prefix in ("operator", "provider", "job"):
        ttl, max_ttl = getattr(engine, f"{prefix}_ttl"), getattr(engine, f"{prefix}_max_ttl")
        if duration_seconds(ttl) > duration_seconds(max_ttl):
            yield Problem(
                f"{key}.{prefix}Ttl",
                f"{ttl!r} is longer than {key}.{prefix}MaxTtl ({max_ttl!r}); allowed: at most the max TTL",
            )
