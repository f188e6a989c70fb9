"""The stack's settings as frozen, typed models.

Every model here maps one object of stack configuration under the ``secure-mesh:`` namespace.
Keys are written in camelCase in the stack files (``leafMaxTtl``) and read as snake_case in Python
(``leaf_max_ttl``); the loader accepts only the camelCase spelling from a stack (Python code may build
models by field name). Field-level rules live on the fields; rules that need several fields at once
live in :mod:`secure_mesh.settings.consistency`, so each can report the exact key path it is about.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from cryptography import x509
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from ..vocabulary import (
    HTTP_METHODS as HTTP_METHODS,
)
from ..vocabulary import (
    HTTP_PATH_PATTERN as HTTP_PATH_PATTERN,
)
from ..vocabulary import (
    L7_PROTOCOLS as L7_PROTOCOLS,
)
from ..vocabulary import (  # re-exported: settings and layout users keep their imports
    AclBootstrap as AclBootstrap,
)
from ..vocabulary import (
    AuditDeviceType as AuditDeviceType,
)
from ..vocabulary import (
    AuditSocketType as AuditSocketType,
)
from ..vocabulary import (
    ChainName as ChainName,
)
from ..vocabulary import (
    DatabaseEngine as DatabaseEngine,
)
from ..vocabulary import (
    DatabaseTlsMode as DatabaseTlsMode,
)
from ..vocabulary import (
    Environment as Environment,
)
from ..vocabulary import (
    GatewayCertificateDelivery as GatewayCertificateDelivery,
)
from ..vocabulary import (
    IntentionAction as IntentionAction,
)
from ..vocabulary import (
    IntentionsRendering as IntentionsRendering,
)
from ..vocabulary import (
    JwtProviderKind as JwtProviderKind,
)
from ..vocabulary import (
    KeyType as KeyType,
)
from ..vocabulary import (
    Protocol as Protocol,
)
from ..vocabulary import (
    RootCustody as RootCustody,
)
from ..vocabulary import (
    TokenReviewer as TokenReviewer,
)
from ..vocabulary import (
    VaultPlacement as VaultPlacement,
)
from .durations import Duration
from .names import DnsLabel, DnsName, VaultPrefix

PINNED_CONSUL_CHART_VERSION = "2.0.3"
"""The only Consul Helm chart version whose values keys this program knows (see consul/chart_keys.py)."""


class SettingsModel(BaseModel):
    """Base for every settings object: frozen, camelCase keys, unknown keys rejected.

    Python code may construct models by field name (``leaf_ttl=``); the loader validates stack input with
    ``by_name=False``, so a stack file's ``leaf_ttl`` is an unknown key (with a "did you mean 'leafTtl'?").
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
        strict=True,
        validate_default=True,
        use_attribute_docstrings=True,
    )


PLAIN_HTTP_ENVIRONMENTS = frozenset({"dev"})
"""Environments where a plain-http URL setting is accepted (issue 13 item 5: every other stack talks TLS to Vault);
enforced for every ``HttpUrl`` field by :func:`secure_mesh.settings.consistency.plain_http_urls`."""


class ConcealedInputError(ValueError):
    """A refusal whose input may hold a secret (a URL with credentials): the problem must not repeat the input."""


def _check_http_url(value: str) -> str:
    """An absolute http(s) base URL without credentials, query, fragment or trailing slash.

    Vault's client and Consul's provider take the address as a base and append ``/v1/...`` (so no trailing
    slash, no query); Vault's ``config/urls`` refuses values that are not URLs
    (vault builtin/logical/pki/path_config_urls.go, ``validateURLs``). Credentials in a URL would sit in
    plain text in the stack file. Whether plain http is allowed depends on the environment, a cross-field
    rule (consistency.plain_http_urls), so it is reported together with every other problem.
    """
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or "://" not in value:
        raise ValueError(f"'{value}' is not an http(s) URL; expected e.g. 'https://vault.example.com:8200'")
    if value.endswith("/"):
        raise ValueError(f"'{value}' ends with '/'; write the URL without a trailing slash")
    if parts.username is not None or parts.password is not None:
        raise ConcealedInputError(
            f"'{parts.scheme}://…@{parts.hostname}' has credentials in it; never put credentials in a URL "
            "(allowed: a base URL such as 'https://vault.example.com:8200')"
        )
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError(
            f"'{value}' has a query or fragment; expected a base URL such as 'https://vault.example.com:8200'"
        )
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise ValueError(f"'{value}' has an invalid port; expected 1-65535") from None
    return value


def _check_pem_certificate(value: str) -> str:
    """One or more PEM certificates that parse as X.509 CA certificates (basic constraints CA:TRUE).

    Every certificate this program takes from config is a trust anchor or a CA it chains to: Vault's
    listener CA (the chart's ``global.secretsBackend.vault.ca``), the Kubernetes API CA (Vault's Kubernetes
    auth ``kubernetes_ca_cert``, vault-plugin-auth-kubernetes path_config.go: unparseable PEM leaves
    Vault with an empty trust pool and every login fails), the offline/KMS root and the level-1 CAs
    (Vault's ``intermediate/set-signed`` imports the certificate as an issuer and answers "Refusing to import
    non-CA certificate" otherwise: vault builtin/logical/pki, ``importIssuer``).
    """
    text = value.strip()
    if "PRIVATE KEY" in text:
        raise ValueError("a private key must never be in stack configuration; give only the certificate")
    if not text.startswith("-----BEGIN CERTIFICATE-----") or not text.endswith("-----END CERTIFICATE-----"):
        raise ValueError("expected a PEM certificate ('-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----')")
    try:
        certificates = x509.load_pem_x509_certificates(text.encode())
    except ValueError as error:
        raise ValueError(f"does not parse as an X.509 PEM certificate ({error})") from None
    for index, certificate in enumerate(certificates):
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
            is_ca = constraints.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            where = f"certificate {index + 1} of {len(certificates)}" if len(certificates) > 1 else "the certificate"
            raise ValueError(
                f"{where} ({certificate.subject.rfc4514_string() or 'no subject'}) is not a CA certificate "
                "(basic constraints CA:TRUE missing); give the CA that signed it, not a leaf"
            )
    return value


def _check_single_certificate(value: str) -> str:
    """Exactly one PEM certificate (a root or a signed level-1 CA, never a bundle)."""
    count = value.count("-----BEGIN CERTIFICATE-----")
    if count > 1:
        raise ValueError(f"holds {count} certificates; expected exactly one (no chain or bundle)")
    return value


HTTP_URL_CHECK = AfterValidator(_check_http_url)
"""The validator that marks a field as a URL setting (found by consistency.plain_http_urls)."""
HttpUrl = Annotated[str, HTTP_URL_CHECK]
"""A base URL (``https://host:port``); plain http only in the ``dev`` environment. Use it for every URL setting."""
PemCertificate = Annotated[str, AfterValidator(_check_pem_certificate)]
"""One or more PEM X.509 CA certificates (a trust bundle). Use it for every certificate setting."""
PemSingleCertificate = Annotated[str, AfterValidator(_check_single_certificate), AfterValidator(_check_pem_certificate)]
"""Exactly one PEM X.509 CA certificate."""


def _check_project_file(value: str) -> str:
    parts = value.split("/")
    if value.startswith("/") or "\\" in value or not value or any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"'{value}' is not a relative path inside the project; expected e.g. '.pulumi-state/vault-ca.pem'"
        )
    return value


ProjectFile = Annotated[str, Field(max_length=255), AfterValidator(_check_project_file)]
"""A file path relative to the project directory (no ``..``, no absolute path): read when the program runs."""




# --------------------------------------------------------------------------------------------- vault










def _check_audit_file_path(value: str) -> str:
    if value == "stdout" or (value.startswith("/") and not any(c.isspace() for c in value) and len(value) > 1):
        return value
    if value == "discard":
        raise ValueError("'discard' throws every audit entry away; use 'stdout' or an absolute file path")
    raise ValueError(f"'{value}' is not 'stdout' or an absolute file path on the Vault server")


class VaultAuditSettings(SettingsModel):
    """A Vault audit device this stack enables (``sys/audit``): who did what, HMAC'd, never raw values."""

    enabled: bool | None = None
    """Enable the audit device; unset means on in prod and off elsewhere."""
    type: AuditDeviceType = AuditDeviceType.FILE
    """`file` (to `filePath`), `socket` (to `address`) or `syslog`."""
    path: VaultPrefix | None = None
    """Where the device is enabled (`sys/audit/<path>`); defaults to `secure-mesh-<datacenter>`."""
    file_path: Annotated[str, AfterValidator(_check_audit_file_path)] | None = None
    """Type `file`: `stdout` (the default: Vault's log stream) or an absolute path on the Vault server."""
    address: Annotated[str, Field(pattern=r"^\S+$", max_length=256)] | None = None
    """Type `socket` (required): `host:port`, or a socket path with socketType `unix`."""
    socket_type: AuditSocketType = AuditSocketType.TCP
    """Type `socket`: `tcp`, `udp` or `unix`."""
    facility: Annotated[str, Field(pattern=r"^[A-Z0-9]+$", max_length=16)] | None = None
    """Type `syslog`: the syslog facility (Vault's default `AUTH`)."""
    tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=64)] | None = None
    """Type `syslog`: the syslog tag (Vault's default `vault`)."""


class VaultTlsSettings(SettingsModel):
    """How Consul's pods trust Vault's own TLS certificate."""

    ca_cert_pem: PemCertificate | None = None
    """PEM of the CA that signed Vault's listener certificate (public); set it when that CA is not publicly trusted."""
    ca_cert_file: ProjectFile | None = None
    """Instead of ``caCertPem``: a PEM file, relative to the project, holding that CA, for a CA that exists only
    where the stack is deployed (the laptop Vault's, which ``scripts/dev-up.sh`` writes to
    ``.pulumi-state/vault-ca.pem``). ``pulumi preview``/``up`` read it (a missing file is an error naming this key)
    and hand it to the Vault provider as ``ca_cert_file``; the offline render and the mocked tests never read it."""
    server_name: DnsName | None = None
    """TLS server name to verify when Vault's certificate does not match the address."""


class VaultSettings(SettingsModel):
    """The Vault server this stack configures, and how Kubernetes workloads reach it."""

    address: HttpUrl
    """Vault's address as Consul's pods reach it (Helm values, CA and CRL URLs)."""
    provider_address: HttpUrl | None = None
    """Vault's address as this program reaches it (a laptop port-forward); defaults to ``address``."""
    namespace: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$", max_length=64)] | None = None
    """Vault Enterprise namespace for every path (unset on Vault OSS)."""
    mount_prefix: VaultPrefix = "consul"
    """Every Vault mount this stack creates lives under this path (`consul/server/pki_int1`, `consul/kv`, …)."""
    kubernetes_auth_mount: VaultPrefix | None = None
    """The Kubernetes auth mount; defaults to `kubernetes-<datacenter>`."""
    placement: VaultPlacement = VaultPlacement.IN_CLUSTER
    """`in-cluster`: Vault reviews logins with its own token; `external`: reviews as `tokenReviewer` says, and the
    program installs the Vault agent injector and CSI provider."""
    kubernetes_host: HttpUrl = "https://kubernetes.default.svc"
    """The Kubernetes API address as Vault sees it (for the Kubernetes auth method)."""
    kubernetes_ca_cert_pem: PemCertificate | None = None
    """The Kubernetes API CA as Vault needs it; required when Vault runs outside the cluster."""
    kubernetes_audience: Annotated[str, Field(pattern=r"^\S+$", max_length=512)] = (
        "https://kubernetes.default.svc.cluster.local"
    )
    """The ``aud`` of the service-account tokens Consul's pods present to Vault (every Kubernetes-auth role
    checks it). The chart's Vault agents and Consul's CA provider send the pod's default token, whose
    audience is the API server's default (``--api-audiences``): kind/kubeadm use this value, EKS
    ``https://kubernetes.default.svc``."""
    tls: VaultTlsSettings = VaultTlsSettings()
    """How Consul's pods trust Vault's TLS certificate."""
    token_reviewer: TokenReviewer = TokenReviewer.CLIENT_JWT
    """Placement `external` only: `client-jwt` (each client's own JWT reviews itself; the program binds
    `system:auth-delegator` to exactly the service accounts that log in) or `long-lived-secret` (a reviewer's
    legacy token Secret: a JWT that never expires, kept in Vault and in state; opt in only if clients may not
    hold `system:auth-delegator`)."""
    workload_audience: Annotated[str, Field(pattern=r"^\S+$", max_length=512)] = "vault"
    """The dedicated ``aud`` of the tokens onboarded apps (a projected token volume) and the API gateway's CSI
    volume (a TokenRequest) present to Vault. Used only when the reviewer is not the client's JWT (in-cluster Vault
    or `long-lived-secret`): a client-JWT review sends the token to the API server, which accepts only its own
    audiences, so those roles then check `kubernetesAudience`."""
    audit: VaultAuditSettings = VaultAuditSettings()
    """The Vault audit device this stack enables (on by default in prod)."""
    enterprise: bool = False
    """Vault Enterprise (1.19+): allows the Enterprise-only features (automated database root rotation)."""


# ----------------------------------------------------------------------------------------------- pki






ALLOWED_KEY_BITS: dict[KeyType, tuple[int, ...]] = {KeyType.EC: (256, 384), KeyType.RSA: (2048, 4096)}
"""Key sizes every party accepts. Consul's CA config (``private_key_bits``, which the program passes) allows EC
224/256/384/521 and RSA 2048/4096 only (consul agent/structs/connect_ca.go, ``CommonCAProviderConfig.Validate``:
"RSA key length must be 2048 or 4096 bits"); AWS KMS signs with P-256/P-384 only, so EC 224/521 are out too."""




class ExternalRootSettings(SettingsModel):
    """Phase-two input of the ``external`` custody: what the operator signed offline."""

    root_certificate_pem: PemSingleCertificate | None = None
    """The offline root's certificate (public), which the signed intermediates chain to."""
    signed_intermediates: dict[ChainName, PemSingleCertificate] = {}
    """Level-1 certificates signed by the offline root, keyed by chain (server, connect, …)."""


class AwsKmsRootSettings(SettingsModel):
    """The ``aws-kms`` custody: the root key lives in AWS KMS and never leaves it."""

    key_id: Annotated[str, Field(min_length=1, max_length=2048)]
    """The KMS key id or ARN (an asymmetric `SIGN_VERIFY` key matching keyType/keyBits)."""
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]
    """The key's AWS region."""
    root_certificate_pem: PemSingleCertificate | None = None
    """The self-signed root made once by ``python -m secure_mesh root-ca init``."""


class ChainSettings(SettingsModel):
    """One purpose's chain: how many Vault-held intermediate levels, their TTLs and the leaf TTLs."""

    levels: Annotated[int, Field(ge=1, le=3)] = 2
    """How many Vault-held intermediate levels the chain has under the root (1–3)."""
    intermediate_ttls: list[Duration] | None = None
    """TTL of each intermediate level, level 1 first; defaults to 17520h, 13140h, 10950h (level 1 at most
    17520h in prod)."""
    leaf_ttl: Duration = "720h"
    """TTL of the certificates the chain's role issues (Consul's `leaf_cert_ttl` for connect)."""
    leaf_max_ttl: Duration = "720h"
    """The role's `max_ttl`; shorter than the deepest intermediate."""
    domains: list[DnsName] = []
    """Extra DNS domains this chain may issue for (the gateway's listener domains)."""


DEFAULT_INTERMEDIATE_TTLS = ("17520h", "13140h", "10950h")
"""Two years for level 1 (the most a production stack allows), then 18 and 15 months: each level outlives
Consul's default 8760h intermediate and the leaves below it."""

MAX_PRODUCTION_LEVEL1_TTL = "17520h"
"""The longest a production level-1 intermediate (signed by the offline root) may live: two years."""


class ChainsSettings(SettingsModel):
    """The four chains: Consul server TLS, the mesh CA, the API gateway and the injector webhook."""

    server: ChainSettings = ChainSettings()
    """Consul server TLS (role `consul-server`)."""
    connect: ChainSettings = ChainSettings(leaf_ttl="72h", leaf_max_ttl="72h")
    """The service-mesh CA: its deepest level is Consul's `rootPKIPath`; its leaf TTLs are Consul's leaf TTL."""
    gateway: ChainSettings = ChainSettings()
    """The API gateway's listener certificates (role `api-gateway`)."""
    webhook: ChainSettings = ChainSettings(levels=1)
    """The connect injector's webhook certificate (role `connect-injector`)."""

    def by_name(self, name: ChainName) -> ChainSettings:
        """Return the settings of one chain."""
        result: ChainSettings = getattr(self, name.value)
        return result


class CaExpiryCheckSettings(SettingsModel):
    """The scheduled check that reads every CA's live expiry and fails before a threshold (docs/operations.md)."""

    enabled: bool = True
    """Run the CronJob `<fullname>-ca-expiry-check` in Consul's namespace (on in every environment: it holds no
    credential and runs once a day)."""
    threshold_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """A run fails when any CA (Vault-held or Consul's active Connect root and intermediates) expires within this
    many days; must stay below half of `pki.consulIntermediateTtl` (Consul renews its intermediate at half life)."""
    schedule: Annotated[str, Field(pattern=r"^(\S+ ){4}\S+$")] = "17 6 * * *"
    """When it runs: a five-field cron schedule, UTC."""


class PkiSettings(SettingsModel):
    """Root custody, key algorithm and the chains under the root."""

    root_custody: RootCustody = RootCustody.VAULT
    """Who holds the root key: `vault` (dev/staging), `external` (signed offline), `aws-kms` (a KMS key)."""
    root_ttl: Duration = "87600h"
    """The root CA's lifetime; every level below must be shorter."""
    external: ExternalRootSettings | None = None
    """Custody `external`, phase two: the offline-signed level-1 certificates and the root."""
    aws_kms: AwsKmsRootSettings | None = None
    """Custody `aws-kms`: the KMS key and the root certificate the ceremony made."""
    root_crl_urls: list[HttpUrl] = []
    """Where the offline root (`external`, `aws-kms`) publishes its CRL: every level-1 certificate it signs
    names these as CRL distribution points (required in prod; `root-ca crl` signs the CRL to publish)."""
    root_issuer_urls: list[HttpUrl] = []
    """Where the offline root's certificate is published: the AIA caIssuers URLs of every level-1 certificate
    (required in prod)."""
    key_type: KeyType = KeyType.EC
    """Key algorithm of every CA and leaf: `ec` (faster) or `rsa`."""
    key_bits: int = 256
    """Key size: 256 or 384 for `ec`; 2048 or 4096 for `rsa` (Consul's CA refuses RSA 3072)."""
    organization: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 .,'&-]+$")] = "secure-mesh"
    """The O= of every CA certificate."""
    consul_intermediate_ttl: Duration = "8760h"
    """TTL of the intermediate Consul creates in its own mount under the mesh chain."""
    chains: ChainsSettings = ChainsSettings()
    """The four chains under the root."""
    expiry_check: CaExpiryCheckSettings = CaExpiryCheckSettings()
    """The scheduled check of every CA's live expiry."""


# ---------------------------------------------------------------------------------------- kubernetes


class KubernetesSettings(SettingsModel):
    """The cluster Consul runs in."""

    context: Annotated[str, Field(min_length=1, max_length=253)] | None = None
    """kubeconfig context; the kubeconfig file itself comes from KUBECONFIG, as kubectl reads it."""
    consul_namespace: DnsLabel = "consul"
    """The namespace of the Consul release and every Consul service account."""


# -------------------------------------------------------------------------------------------- consul








class SnapshotAgentSettings(SettingsModel):
    """Consul's snapshot agent, a sidecar of the servers; its config is kept in Vault KV."""

    enabled: bool = False
    """Run the snapshot agent (Enterprise only)."""
    interval: Duration = "1h"
    """How often a snapshot is taken."""
    retain: Annotated[int, Field(ge=1, le=720)] = 24
    """How many snapshots are kept."""


IMAGE_PATTERN = r"^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9._-]+)?(@sha256:[a-f0-9]{64})?$"
"""A container image reference: repository, optional tag, optional digest."""


ImageReference = Annotated[str, Field(pattern=IMAGE_PATTERN, max_length=512)]
"""``repository[:tag][@sha256:<64 hex>]``, as Kubernetes pulls it."""


class ImagesSettings(SettingsModel):
    """Container images the stack deploys, each overriding its pinned chart's default (set one to pin it).

    Production stacks must name every image they deploy with a digest (``repo:tag@sha256:…``): a tag can be
    moved to other content, a digest cannot. Resolve digests where the registry is reachable, e.g.
    ``crane digest hashicorp/consul:2.0.3`` or ``docker buildx imagetools inspect hashicorp/consul:2.0.3``.
    """

    consul: ImageReference | None = None
    """Consul (`global.image`; chart default `hashicorp/consul:2.0.3`); Enterprise needs an `-ent` image."""
    consul_control_plane: ImageReference | None = None
    """consul-k8s control plane (`global.imageK8S`; default `hashicorp/consul-k8s-control-plane:2.0.3`)."""
    consul_dataplane: ImageReference | None = None
    """Consul dataplane sidecars and gateways (`global.imageConsulDataplane`; default
    `hashicorp/consul-dataplane:2.0.3`)."""
    vault_injector: ImageReference | None = None
    """Vault agent injector (Vault chart `injector.image`; default `hashicorp/vault-k8s:1.7.0`); external Vault only."""
    vault_agent: ImageReference | None = None
    """The Vault binary: the agent injected into pods and run by the CSI provider (`injector.agentImage`,
    `csi.agent.image`), and the catalog watcher's vault CLI (default `hashicorp/vault:1.20.1`)."""
    vault_csi_provider: ImageReference | None = None
    """Vault CSI provider (`csi.image`; default `hashicorp/vault-csi-provider:1.5.1`); external Vault only."""
    csi_driver: ImageReference | None = None
    """Secrets Store CSI driver (`linux.image`; default `registry.k8s.io/csi-secrets-store/driver:v1.5.5`)."""
    csi_driver_crds: ImageReference | None = None
    """The CSI driver chart's CRD hook (`linux.crds.image`; default
    `registry.k8s.io/csi-secrets-store/driver-crds:v1.5.5`)."""
    csi_node_driver_registrar: ImageReference | None = None
    """CSI node registrar (`linux.registrarImage`; default
    `registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.13.0`)."""
    csi_liveness_probe: ImageReference | None = None
    """CSI liveness probe (`linux.livenessProbeImage`; default `registry.k8s.io/sig-storage/livenessprobe:v2.15.0`)."""
    pause: ImageReference | None = None
    """The gateway certificate-sync workload's container (CSI delivery; default `registry.k8s.io/pause:3.10`)."""
    consul_template: ImageReference | None = None
    """The database catalog watcher (default `hashicorp/consul-template:0.42.1`)."""
    vault_secrets_operator: ImageReference | None = None
    """Vault Secrets Operator (VSO chart `controller.manager.image`; default
    `hashicorp/vault-secrets-operator:1.4.1`)."""
    kube_rbac_proxy: ImageReference | None = None
    """The VSO chart's metrics proxy (`controller.kubeRbacProxy.image`; default
    `quay.io/brancz/kube-rbac-proxy:v0.18.1`)."""


CONSUL_CHART_NAME = "consul"
"""The chart's name: ``consul.fullname`` is ``<releaseName>-consul`` unless ``global.name`` is set."""
CONSUL_FULLNAME_MAX = 45
"""The longest ``consul.fullname`` whose derived names Kubernetes accepts. The chart names resources
``<fullname>-<suffix>`` without truncating them (chart 2.0.3 templates, e.g. server-statefulset.yaml
``{{ template "consul.fullname" . }}-server``, connect-inject-service.yaml ``...-connect-injector``). The server
StatefulSet's pods carry the label ``controller-revision-hash: <StatefulSet name>-<hash>`` (up to 10 characters
of hash; a label value is at most 63), so ``<fullname>-server`` may have at most 52 characters
(kubernetes/kubernetes#64023): 45 for the fullname. Every Service name (``-connect-injector``, the longest
suffix, 17) then stays within a DNS label's 63."""


class ConsulSettings(SettingsModel):
    """The Consul cluster the Helm chart installs."""

    datacenter: DnsLabel = "dc1"
    """Consul's datacenter; also names the auth mount, policies and Consul's intermediate mount."""
    primary_datacenter: DnsLabel | None = None
    """Retired: only this datacenter's own name is accepted. A WAN-federation secondary is `topology.mode:
    federation-secondary` with `topology.primaryStack` (it shares the primary's gossip key, server CA and token)."""
    domain: DnsName = "consul"
    """Consul's DNS domain."""
    release_name: Annotated[str, AfterValidator(lambda v: _label(v, 53))] = "consul"
    """The Helm release name of the Consul chart: at most 38 characters unless ``name`` is set (the chart's names
    ``<release>-consul-<component>`` must stay valid Kubernetes names), at most 53 (Helm's limit) with it."""
    name: Annotated[str, AfterValidator(lambda v: _label(v, 40))] | None = None
    """The chart's ``global.name``; defaults to ``<releaseName>-consul``."""

    @property
    def fullname(self) -> str:
        """The chart's ``consul.fullname`` (templates/_helpers.tpl): ``global.name``, else ``<releaseName>-consul``.

        Helm cuts it at 63 (``trunc 63 | trimSuffix "-"``); the consistency check keeps it to
        :data:`CONSUL_FULLNAME_MAX`, far below, so the cut never applies to settings that validate.
        """
        return self.name or f"{self.release_name}-{CONSUL_CHART_NAME}"
    chart_version: Literal["2.0.3"] = "2.0.3"
    """The Consul chart version; pinned, the values builder knows only this one."""
    server_replicas: Annotated[int, Field(ge=1, le=9)] = 1
    """Consul servers; prod needs an odd number of at least 3."""
    enterprise: bool = False
    """Consul Enterprise (needs the `consulLicense` secret); enables partitions and the snapshot agent."""
    clients_enabled: bool = False
    """Run the client DaemonSet (not needed with dataplane; adds the client identity)."""
    acl_bootstrap: AclBootstrap = AclBootstrap.AUTO
    """`auto`: server-acl-init bootstraps ACLs and stores the token; `generated`: the program generates it."""
    snapshot_agent: SnapshotAgentSettings = SnapshotAgentSettings()
    """Consul Enterprise's snapshot agent, configured from Vault KV."""
    api_gateway: bool = True
    """Consul's API gateway (the Gateway API CRDs, and the gateway that serves app routes)."""
    api_gateway_certificate_delivery: GatewayCertificateDelivery = GatewayCertificateDelivery.VSO
    """`vso`: Vault Secrets Operator writes the listener Secret with the leaf and its chain and restarts the gateway
    before expiry; `csi`: the Vault CSI provider writes the leaf alone (clients must already hold the chain)."""
    mesh_gateway: bool = False
    """Mesh gateways (needed for WAN federation)."""
    intentions_rendering: IntentionsRendering = IntentionsRendering.CRDS
    """`crds`: ServiceIntentions/ServiceDefaults through Kubernetes; `config-entries`: through the Consul provider
    (needs consul.address)."""
    address: HttpUrl | None = None
    """Consul's HTTP API for the Consul provider (config-entry intentions, catalog look-ups)."""


def _label(value: str, max_length: int) -> str:
    from .names import check_dns_label

    return check_dns_label(value, max_length)


# ------------------------------------------------------------------------------------------ rotation


class ConsulSecretsEngineSettings(SettingsModel):
    """Vault's Consul secrets engine: short-lived Consul ACL tokens for operators, the Consul provider and Jobs."""

    enabled: bool = False
    """Mount the engine with its own `acl = "write"` token (never the bootstrap token); needs `consul.address`."""
    consul_address: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")] | None = None
    """Consul's HTTPS API as Vault reaches it (`host:port`); default the server Service (in-cluster Vault only)."""
    operator_ttl: Duration = "1h"
    """Lease of an operator's token (`<mount>/creds/operator`)."""
    operator_max_ttl: Duration = "8h"
    """Longest an operator's token can be renewed to."""
    provider_ttl: Duration = "30m"
    """Lease of the Pulumi Consul provider's token (`<mount>/creds/pulumi`)."""
    provider_max_ttl: Duration = "2h"
    """Longest the Pulumi Consul provider's token can be renewed to (one `pulumi up`)."""
    job_ttl: Duration = "15m"
    """Lease of a rotation Job's token (`<mount>/creds/gossip-rotator`, `<mount>/creds/acl-rotator`)."""
    job_max_ttl: Duration = "30m"
    """Longest a rotation Job's token lives; also its Vault login's lifetime, and a cap on the Job's deadline."""


class RotationSettings(SettingsModel):
    """Day-2 rotations as declared versions: raise a version and `pulumi up` rotates (docs/operations.md)."""

    gossip_key_version: Annotated[int, Field(ge=1, le=9999)] = 1
    """The gossip encryption key's version: raise it by exactly one to rotate the key with the Job
    `gossip-rotate-v<N>` (needs `rotation.consulSecretsEngine.enabled`); lowering or skipping is refused."""
    bootstrap_token_version: Annotated[int, Field(ge=1, le=9999)] = 1
    """The ACL bootstrap (initial management) token's version: raise it by exactly one to replace the token with
    the Job `bootstrap-token-rotate-v<N>` (new token, KV, servers restarted, old token deleted; needs
    `rotation.consulSecretsEngine.enabled`); lowering or skipping is refused."""
    replication_token_version: Annotated[int, Field(ge=1, le=9999)] = 1
    """WAN federation only: the ACL replication token's version. Raise it by exactly one in the primary (its Job
    `replication-token-rotate-v<N>` creates the new token, writes KV, waits for every secondary, deletes the old
    one; needs `rotation.consulSecretsEngine.enabled`) and in each secondary (its Job restarts its servers and
    acknowledges); lowering or skipping is refused."""
    server_tls_generation: Annotated[int, Field(ge=1, le=9999)] = 1
    """The generation of the server chain's issuing CA (the one that signs the Consul servers' certificates):
    raise it by exactly one to rotate that CA without downtime (a new key and issuer, made the mount's default;
    the previous generation kept until its leaves expire, then tidied by Vault). Needs that CA signed inside Vault:
    `pki.chains.server.levels` of 2 or more, or `pki.rootCustody: vault`; lowering or skipping is refused."""
    connect_root_generation: Annotated[int, Field(ge=1, le=9999)] = 1
    """The generation of the connect chain's deepest CA, Consul's `rootPKIPath`: raise it by exactly one to
    rotate the mesh's root without downtime (a new mount `<path>_g<N>` with its own key, signed by the level above;
    Consul switches to it through its API and cross-signs the new root with the old one under a temporary grant,
    which the next `up` removes; the previous mount is kept until the raise after). Needs `consul.address` and that
    CA signed inside Vault (`pki.chains.connect.levels` of 2 or more, or `pki.rootCustody: vault`); in a WAN
    federation raise it in the primary (each secondary follows from the primary's stack file); lowering or skipping
    is refused."""
    consul_secrets_engine: ConsulSecretsEngineSettings = ConsulSecretsEngineSettings()
    """Vault's Consul secrets engine, the source of every rotation Job's short-lived Consul token."""


# ---------------------------------------------------------------------------------------------- mesh






JWT_CLAIM_SEGMENT = r"^[A-Za-z0-9_.:-]{1,128}$"
"""One key of a claim's path (``["realm_access", "roles"]``): a JSON object key as tokens spell them."""


class JwtClaimSettings(SettingsModel):
    """One claim a token must carry: Consul's ``VerifyClaims`` entry (a path into the token's JSON and a value)."""

    path: Annotated[list[Annotated[str, Field(pattern=JWT_CLAIM_SEGMENT)]], Field(min_length=1, max_length=8)]
    """The claim's path, one key per nesting level (`[role]`, `[realm_access, roles]`)."""
    value: Annotated[str, Field(min_length=1, max_length=256)]
    """The value the claim must hold (or contain, when the claim is a list)."""


class JwtRequirementSettings(SettingsModel):
    """A permission's JWT requirement: the provider that must have signed the request's token, and its claims."""

    provider: DnsLabel
    """A provider declared in `mesh.jwtProviders`."""
    claims: list[JwtClaimSettings] = []
    """Claims the token must carry beyond the provider's issuer and audience. A `vault-identity` provider adds
    the calling app's service account and namespace itself; a `remote` provider needs at least one."""


class JwtProviderSettings(SettingsModel):
    """A JWT provider: Consul's `jwt-provider` entry, whose tokens intention permissions may require."""

    name: DnsLabel
    """The provider's name (the Consul entry and the `JWTProvider` resource); permissions name it."""
    kind: JwtProviderKind = JwtProviderKind.VAULT_IDENTITY
    """`vault-identity` (default): this stack's Vault issues the tokens (an OIDC key, a role per calling app);
    `remote`: another issuer, given by `issuer`, `jwksUri`, `jwksCaCertPem` and `audiences`."""
    issuer: Annotated[str, Field(pattern=r"^\S+$", max_length=1024)] | None = None
    """The tokens' `iss`, exactly as they spell it (a trailing `/` included). `remote`: required.
    `vault-identity`: defaults to `<vault.address>/v1/<namespace/>identity/oidc` (Vault's own issuer when its
    `api_addr` is `vault.address`); set it when Vault's `api_addr` or `identity/oidc/config` issuer differs."""
    jwks_uri: HttpUrl | None = None
    """`remote` only (required): the https address of the issuer's JSON Web Key Set, fetched by every proxy."""
    jwks_ca_cert_pem: PemCertificate | None = None
    """`remote` only (required): the CA of the JWKS server's certificate (proxies verify the key set's origin with
    it; a `vault-identity` provider uses Vault's CA, `vault.tls`)."""
    audiences: list[Annotated[str, Field(pattern=r"^\S+$", max_length=256)]] = []
    """`remote` only (required): the `aud` values accepted. A `vault-identity` provider's audience is derived."""
    token_ttl: Duration = "15m"
    """`vault-identity` only: how long a token lives (10m to 1h; the apps' Vault agents re-read it every 5 minutes by
    default)."""
    key_rotation_period: Duration = "24h"
    """`vault-identity` only: how often Vault rotates the OIDC signing key (at least 1m)."""
    key_verification_ttl: Duration = "24h"
    """`vault-identity` only: how long a rotated key stays in the key set (at least `tokenTtl`, at most ten
    rotation periods)."""
    jwks_cache_duration: Duration = "5m"
    """How long proxies cache the key set (at most 1h, and below `keyRotationPeriod`)."""


class HttpPermission(SettingsModel):
    """An L7 allow rule: one path match and optional methods."""

    path_exact: Annotated[str, Field(pattern=HTTP_PATH_PATTERN)] | None = None
    """Match this exact path."""
    path_prefix: Annotated[str, Field(pattern=HTTP_PATH_PATTERN)] | None = None
    """Match paths with this prefix."""
    methods: list[Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"]] = []
    """Match only these HTTP methods (all when empty)."""
    jwt: JwtRequirementSettings | None = None
    """Allow only requests carrying a valid token of this provider with these claims (JWT-authorized
    intentions; `consul.intentionsRendering: crds`)."""


class ServiceSettings(SettingsModel):
    """A service in the mesh."""

    name: DnsLabel
    """The Consul service name."""
    protocol: Protocol = Protocol.TCP
    """`tcp`, `http`, `http2` or `grpc`; L7 permissions need one of the last three."""


class IntentionSettings(SettingsModel):
    """One source → destination rule: an L4 action, or L7 permissions (never both)."""

    source: DnsLabel
    """The calling service (a declared service, never `*`)."""
    destination: DnsLabel
    """The called service (a declared service, never `*`)."""
    action: IntentionAction | None = None
    """`allow` or `deny` at L4; give this or permissions, not both."""
    permissions: list[HttpPermission] | None = None
    """L7 allow rules (http/http2/grpc destinations only); everything else from the source is denied."""

    @field_validator("source", "destination", mode="before")
    @classmethod
    def _no_wildcard(cls, value: object) -> object:
        if value == "*":
            raise ValueError(
                "'*' is not allowed: the single '*' → '*' deny is built in; name both services of every rule"
            )
        return value


class MeshSettings(SettingsModel):
    """The services in the mesh and the intentions between them (default deny is always on)."""

    services: list[ServiceSettings] = []
    """The services of the mesh, with their protocols."""
    intentions: list[IntentionSettings] = []
    """Explicit rules between declared services (app upstreams add allows on their own); a `*` → `*` deny is always
    there."""
    jwt_providers: list[JwtProviderSettings] = []
    """JWT providers whose tokens intention permissions may require (`permissions[].jwt`)."""


# ---------------------------------------------------------------------------------------------- apps




class DatabaseAddress(SettingsModel):
    """A database's address: static, or the Consul catalog service that registers it."""

    host: DnsName | None = None
    """A static host name."""
    port: Annotated[int, Field(ge=1, le=65535)] = 5432
    """The port of a static host."""
    consul_service: DnsLabel | None = None
    """The Consul catalog service that registers the database (looked up at deploy time)."""
    follow_catalog: bool | None = None
    """With `consulService` (default true): an in-cluster consul-template watcher rewrites the connection's address
    in Vault when the service's healthy instances change; false: the address changes only on `pulumi up`."""

    @property
    def follows_catalog(self) -> bool:
        """Whether a watcher owns the connection's address (a catalog service, unless `followCatalog` is false)."""
        return self.consul_service is not None and self.follow_catalog is not False




class DatabaseTlsSettings(SettingsModel):
    """How Vault verifies the database's TLS certificate."""

    mode: DatabaseTlsMode = DatabaseTlsMode.VERIFY_FULL
    """The connection's `sslmode`; anything but `verify-full` is refused outside `dev`."""
    ca_cert_pem: PemCertificate | None = None
    """PEM of the CA that signed the database's certificate (Vault's `tls_ca`, Vault 1.18+); required outside
    `dev`. Unset in dev: Vault verifies against its own system trust store."""


class DatabaseRootRotationSettings(SettingsModel):
    """Vault Enterprise's automated root rotation of a database connection (Vault Enterprise 1.19+)."""

    period: Duration | None = None
    """Rotate the root password this long after the last rotation (at least 10s); exclusive with `schedule`."""
    schedule: Annotated[str, Field(pattern=r"^\S+( \S+){4}$")] | None = None
    """A 5-field cron schedule in UTC (`0 3 * * SAT`); exclusive with `period`."""
    window: Duration | None = None
    """With `schedule` only: how long a scheduled rotation may take (at least 1h)."""


class AppDatabaseSettings(SettingsModel):
    """An app's database: Vault issues it short-lived credentials."""

    engine: DatabaseEngine = DatabaseEngine.POSTGRESQL
    """The database engine (PostgreSQL)."""
    database_name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
    """The database the app's credentials may connect to."""
    address: DatabaseAddress
    """Where the database is: a static host, or a Consul catalog service."""
    credential_ttl: Duration = "1h"
    """Default lifetime of a credential."""
    credential_max_ttl: Duration = "24h"
    """Maximum lifetime of a credential, renewals included."""
    root_password_version: Annotated[int, Field(ge=1)] = 1
    """Raise it to hand Vault the root password from ``databaseRootCredentials`` again (e.g. after restoring the
    database): the program sends it and runs Vault's `rotate-root` at creation and on every new version; lowering
    it is refused."""
    tls: DatabaseTlsSettings = DatabaseTlsSettings()
    """How Vault verifies the database's TLS certificate."""
    automated_root_rotation: DatabaseRootRotationSettings | None = None
    """Vault Enterprise 1.19+ only (needs `vault.enterprise`): Vault also rotates the root password on its own."""


class AppRouteSettings(SettingsModel):
    """A public HTTPS route through the API gateway to the app's service."""

    hostname: DnsName
    """The public host name (within pki.chains.gateway.domains)."""
    path_prefix: Annotated[str, Field(pattern=HTTP_PATH_PATTERN, max_length=1024)] = "/"
    """The path prefix routed to the app."""
    service_port: Annotated[int, Field(ge=1, le=65535)] = 80
    """The port of the app's Kubernetes Service (named after ``service``) the gateway routes to."""


class AppSettings(SettingsModel):
    """An application onboarded into the mesh with its own Vault identity."""

    name: DnsLabel
    """The app's name: its Vault role `app-<name>`, policy and KV prefix `apps/<name>/`."""
    namespace: DnsLabel
    """The app's Kubernetes namespace (must exist; never Consul's)."""
    service_account: DnsLabel
    """The service account the app's Vault role binds to (unique per app)."""
    service: DnsLabel
    """The app's mesh service (declared in mesh.services)."""
    upstreams: list[DnsLabel] = []
    """Services the app may call: each becomes an allow intention."""
    secrets: list[DnsLabel] = []
    """Names of the app's own KV secrets (`<kv>/data/apps/<name>/<secret>`), readable only by the app."""
    database: AppDatabaseSettings | None = None
    """A database the app gets short-lived credentials for (root credentials: the `databaseRootCredentials` secret)."""
    route: AppRouteSettings | None = None
    """A public HTTPS route through the API gateway."""


# ------------------------------------------------------------------------------------------ settings


class Settings(SettingsModel):
    """Everything one stack says, validated: the single input of the layout and the documents."""

    environment: Environment
    """What the stack is for: `prod` turns on the production rules (quorum, root outside Vault, protect); every
    environment but `dev` requires https for every URL setting."""
    vault: VaultSettings
    """The Vault server this stack configures."""
    pki: PkiSettings = PkiSettings()
    """Root custody and the certificate chains."""
    kubernetes: KubernetesSettings = KubernetesSettings()
    """The cluster Consul runs in."""
    consul: ConsulSettings = ConsulSettings()
    """The Consul cluster the Helm chart installs."""
    mesh: MeshSettings = MeshSettings()
    """Services in the mesh and the intentions between them."""
    apps: list[AppSettings] = []
    """Applications to onboard, each with its own Vault identity."""
    topology: TopologySettings = Field(default_factory=lambda: TopologySettings())
    """Standalone, or a cluster-peering member with named peers (see components/settings/topology.py)."""
    images: ImagesSettings = ImagesSettings()
    """Container images the stack deploys; production names each by digest."""
    rotation: RotationSettings = RotationSettings()
    """Day-2 rotations (declared versions) and Vault's Consul secrets engine."""

    @property
    def is_production(self) -> bool:
        """True for the stacks whose durability rules (protect, quorum) are enforced."""
        return self.environment is Environment.PROD

    @property
    def kubernetes_auth_mount(self) -> str:
        """This cluster's Kubernetes auth mount: ``vault.kubernetesAuthMount``, else ``kubernetes-<datacenter>``
        (the layout's ``kubernetes_auth_path``; the federation pair check compares two stacks' with it).
        """
        return self.vault.kubernetes_auth_mount or f"kubernetes-{self.consul.datacenter}"


from .topology import TopologySettings  # noqa: E402 - topology.py builds on SettingsModel above

Settings.model_rebuild()
