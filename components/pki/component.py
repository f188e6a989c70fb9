"""The certificate authority: root custody and per-purpose chains of Vault-held intermediates.

:class:`CertificateAuthority` takes plain values (:class:`CertificateAuthorityArgs`): the stack's composition
builds them from settings and the layout (:mod:`secure_mesh.composition.pki`), another program writes them by
hand (``examples/pki-only``). The component only turns them into Vault resources in the right order:

* each CA gets its own ``pki`` mount with URLs, CRL config and auto-tidy configured before issuing;
* level 1 is signed by the root (in Vault, offline through the operator, or through AWS KMS), deeper
  levels by the level above inside Vault (CSR → sign-intermediate on the parent → set-signed);
* each signed CA becomes a named issuer with ``leaf_not_after_behavior`` ``err`` and the mount's
  explicit default issuer;
* roles sit only on the deepest mount of a chain, never on a root or the mesh (``connect``) chain, whose
  deepest CA Consul signs with.

Its outputs carry the dependencies: a path in ``issue_paths`` resolves once the role exists, a path in
``ca_paths`` (and ``connect_root_pki_path``) once the CA's issuer, default issuer, URLs, CRL and tidy config
exist, so a resource that takes them as inputs waits for exactly what it uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_vault as vault

from ..args import ArgsError, coerce_args
from ..rotation.documents import check_recorded_step
from ..vocabulary import ChainName, KeyType, RootCustody
from .certificates import (
    CertificateCheckError,
    Level1Requirements,
    NameConstraints,
    check_root,
    check_signed_level1,
    load_certificate,
    not_after_iso,
    verify_signed_level1,
)
from .defaults import (
    CRL_AUTO_REBUILD_GRACE_PERIOD,
    CRL_DELTA_REBUILD_INTERVAL,
    CRL_EXPIRY,
    LEAF_NOT_AFTER_BEHAVIOR,
    ROLE_KEY_USAGES,
    TIDY_INTERVAL,
    TIDY_SAFETY_BUFFER,
)
from .kms_resource import KmsSignedLevel1, KmsSignedLevel1Args

TYPE = "secure-mesh:index:CertificateAuthority"
"""The component's type token (what the component provider host registers)."""
PREVIOUS_TYPE = "secure-mesh:pki:CertificateAuthority"
"""The token deployed stacks' URNs carry (kept as an alias so nothing is replaced)."""

BACKDATE_SLACK_SECONDS = 24 * 3600
"""How much longer than planned an offline-signed level 1 may be valid (operators often backdate notBefore)."""


# ------------------------------------------------------------------------------------------------ Args
@dataclass(frozen=True)
class NameConstraintsArgs:
    """RFC 5280 name constraints every CA of a chain carries: what any certificate below it may name."""

    permitted_dns_domains: Sequence[str]
    """DNS names certificates below may carry (each entry covers the name and every name under it)."""
    permitted_uri_domains: Sequence[str] = ()
    """URI hosts certificates below may carry (``.consul`` covers every host under ``consul``; Vault 1.19+)."""
    permitted_ip_ranges: Sequence[str] = ()
    """CIDR ranges IP SANs below must fall in (Vault 1.19+)."""
    excluded_ip_ranges: Sequence[str] = ()
    """CIDR ranges no IP SAN below may fall in (``0.0.0.0/0`` and ``::/0`` refuse every IP; Vault 1.19+)."""


@dataclass(frozen=True)
class CaMountArgs:
    """One ``pki`` secrets-engine mount holding one CA, with its URLs, CRL and tidy configuration."""

    path: str
    """The mount path (``consul/server/pki_int1``)."""
    description: str
    """The mount's description."""
    max_lease_ttl_seconds: int
    """The mount's longest lease: the CA's own TTL (nothing below it may outlive it)."""
    default_lease_ttl_seconds: int
    """The mount's default lease TTL (roles and signing calls always pass explicit TTLs)."""
    issuing_certificates: Sequence[str]
    """AIA caIssuers URLs written into what this CA issues (where clients fetch the CA certificate)."""
    crl_distribution_points: Sequence[str]
    """CRL distribution point URLs written into what this CA issues."""
    crl_expiry: str = CRL_EXPIRY
    """How long a CRL stays valid."""
    crl_auto_rebuild: bool = True
    """Whether Vault rebuilds the CRL before it expires."""
    crl_auto_rebuild_grace_period: str = CRL_AUTO_REBUILD_GRACE_PERIOD
    """How long before expiry the CRL is rebuilt."""
    crl_enable_delta: bool = True
    """Whether Vault publishes delta CRLs."""
    crl_delta_rebuild_interval: str = CRL_DELTA_REBUILD_INTERVAL
    """How often the delta CRL is rebuilt."""
    tidy_interval: str = TIDY_INTERVAL
    """How often auto-tidy runs."""
    tidy_safety_buffer: str = TIDY_SAFETY_BUFFER
    """How long past expiry certificates are kept before tidy removes them."""


@dataclass(frozen=True)
class CaLevelArgs:
    """One Vault-held intermediate CA of a chain (level 1 is signed by the root, deeper ones by the level above)."""

    mount: CaMountArgs
    """The mount that holds this CA alone."""
    common_name: str
    """The CA's common name (not a hostname: no name constraint applies to it)."""
    ttl_seconds: int
    """The CA certificate's validity."""
    max_path_length: int
    """How many CA levels may sit below this one (the deepest level of the mesh chain: 1, for Consul's CA)."""
    issuer_name: str
    """The name of the CA's issuer (and key) in its mount."""


@dataclass(frozen=True)
class PkiRoleArgs:
    """The one role on a chain's deepest mount: which leaf certificates it issues. Every flag defaults to safe."""

    name: str
    """The role's name (part of the issue path ``<mount>/issue/<name>``)."""
    allowed_domains: Sequence[str]
    """The DNS names leaves may carry (with ``allow_subdomains``/``allow_bare_domains``)."""
    allow_subdomains: bool
    """Whether names under ``allowed_domains`` are allowed."""
    allow_bare_domains: bool
    """Whether the ``allowed_domains`` themselves are allowed."""
    ttl_seconds: int
    """A leaf's default validity."""
    max_ttl_seconds: int
    """A leaf's longest validity."""
    client_flag: bool = False
    """Whether leaves may authenticate TLS clients (``clientAuth``)."""
    server_flag: bool = True
    """Whether leaves may serve TLS (``serverAuth``)."""
    allow_localhost: bool = False
    """Whether ``localhost`` is allowed (the Consul server role only)."""
    allow_wildcard_certificates: bool = False
    """Whether wildcard names are allowed."""
    allow_ip_sans: bool = False
    """Whether IP SANs are allowed (the chain's name constraints still bound them)."""
    allow_glob_domains: bool = False
    """Whether ``allowed_domains`` entries are globs."""
    allow_any_name: bool = False
    """Whether any name at all is allowed."""
    enforce_hostnames: bool = True
    """Whether names must be valid hostnames."""
    code_signing_flag: bool = False
    """Whether leaves may sign code."""
    email_protection_flag: bool = False
    """Whether leaves may protect e-mail."""
    generate_lease: bool = False
    """Whether Vault tracks a lease per leaf."""
    no_store: bool = False
    """Whether Vault forgets issued leaves (then they cannot be revoked by serial)."""
    require_cn: bool = True
    """Whether a request must name a common name."""
    basic_constraints_valid_for_non_ca: bool = False
    """Whether leaves carry basic constraints CA:FALSE."""
    use_csr_common_name: bool = False
    """Whether ``sign`` takes the common name from the CSR (names come from the request's parameters instead)."""
    use_csr_sans: bool = False
    """Whether ``sign`` takes the SANs from the CSR."""
    key_usages: Sequence[str] = ROLE_KEY_USAGES
    """The leaves' key usages (never CertSign or CRLSign)."""
    ext_key_usages: Sequence[str] = ()
    """Extended key usages beyond ``server_flag``/``client_flag``."""


@dataclass(frozen=True)
class CaChainArgs:
    """One purpose's chain of Vault-held intermediates under the root, and the role on its deepest CA."""

    name: ChainName
    """The chain's purpose; names its resources (``<component>-<name>-l<level>-…``) and keys its outputs."""
    levels: Sequence[CaLevelArgs]
    """The Vault-held CAs, level 1 (signed by the root) first."""
    name_constraints: NameConstraintsArgs
    """The name constraints every CA of the chain carries."""
    role: PkiRoleArgs | None = None
    """The role on the deepest CA (none on the ``connect`` chain: Consul signs with that CA itself)."""
    secondary_roles: Sequence[PkiRoleArgs] = ()
    """More roles on the deepest CA, for other clusters' servers: a WAN-federation primary's server chain holds one
    per secondary datacenter (``consul-server-<dc>``), since the federation's servers share one server CA."""
    issuing_generation: int = 1
    """The generation of the deepest CA (the one that signs leaves). Raising it by one rotates that CA without
    downtime: generation N gets a new key, CSR, signature and issuer (resources ``…-l<k>-g<N>-…``, issuer
    ``<issuer_name>-g<N>``) and becomes the mount's default issuer; generation N−1 stays registered, unprotected,
    so its leaves keep verifying; older generations leave the program but stay in Vault (every generation's
    resources are ``retain_on_delete``) until auto-tidy removes their expired issuers. Needs the deepest CA signed
    inside Vault (two levels or more, or a Vault-held root).

    On the connect chain a generation is a whole mount, since Consul rotates its root only when ``rootPKIPath``
    names another one: generation N is the deepest level (``levels[-1]``, its path the new mount's) with its own
    mount, hygiene, key, signature, issuer and default issuer; generation N−1 is ``superseded_issuing_level``,
    registered unprotected beside it (Consul cross-signs the new root with it) and deleted, mount and all, by the
    raise after."""
    superseded_issuing_level: CaLevelArgs | None = None
    """Connect chain, ``issuing_generation`` ≥ 2 only (and required there): generation N−1 of the deepest level,
    as it was built (its own mount path)."""


@dataclass(frozen=True)
class VaultRootArgs:
    """The root CA Vault generates and keeps (custody ``vault``), alone in its mount, signing level 1 only."""

    mount: CaMountArgs
    """The root's mount (it holds no role)."""
    common_name: str
    """The root's common name."""
    ttl_seconds: int
    """The root certificate's validity."""
    max_path_length: int
    """How many CA levels may sit below the root: at least one more than any chain's level 1 allows."""
    issuer_name: str = "root"
    """The name of the root's issuer in its mount."""


@dataclass(frozen=True)
class AwsKmsRootArgs:
    """Where the root key sits in AWS KMS (custody ``aws-kms``); credentials come from the deploying environment."""

    key_id: str
    """The KMS key id or ARN of the root key."""
    region: str
    """The key's AWS region."""


@dataclass(frozen=True)
class RootArgs:
    """Who holds the root key, and what the chains' level 1 needs from it."""

    custody: RootCustody
    """``vault``: Vault generates the root; ``external``: an operator signs level 1 offline (two phases);
    ``aws-kms``: the program signs level 1 with a KMS key."""
    in_vault: VaultRootArgs | None = None
    """The Vault-held root (custody ``vault`` only, and required there)."""
    certificate_pem: str | None = None
    """The offline root's certificate (custody ``external``, required once level 1 is signed; ``aws-kms``, required)."""
    signed_intermediates: Mapping[str, str] = field(default_factory=dict)
    """Custody ``external``: each chain's level-1 certificate the operator signed, keyed by chain name."""
    aws_kms: AwsKmsRootArgs | None = None
    """The KMS root key (custody ``aws-kms`` only, and required there)."""
    crl_urls: Sequence[str] = ()
    """Where the offline root publishes its CRL: every level 1 must name it (CRL distribution point)."""
    issuer_urls: Sequence[str] = ()
    """Where the offline root's certificate is published: every level 1 must name it (AIA caIssuers)."""
    level1_max_ttl_seconds: int | None = None
    """The longest validity an offline- or KMS-signed level 1 may have (besides its own TTL); None: no cap."""
    certificate_pem_source: str = "root.certificate_pem"
    """How error messages name ``certificate_pem`` (the composition passes the stack config key)."""
    signed_intermediates_source: str = "root.signed_intermediates"
    """How error messages name ``signed_intermediates`` (the composition passes the stack config key)."""


@dataclass(frozen=True)
class CertificateAuthorityArgs:
    """Inputs of :class:`CertificateAuthority`: the root's custody and every chain, as plain values."""

    organization: str
    """The organization (O) of every CA and leaf."""
    key_type: KeyType
    """Key algorithm of every CA and leaf (one type throughout, for Consul's cross-signing)."""
    key_bits: int
    """Key size: 256 or 384 for ``ec``, 2048+ for ``rsa``."""
    root: RootArgs
    """Root custody and its inputs."""
    chains: Sequence[CaChainArgs]
    """The chains under the root, one per purpose."""
    connect_intermediate_pki_path: str = ""
    """Consul's ``connectCA.intermediatePKIPath``: the component declares the empty PKI mount there, and Consul
    generates, renews and signs with its intermediate inside it. The servers' "Vault-managed paths" policy may only
    read ``sys/mounts/<path>``, so Consul cannot mount it itself (consul ``agent/connect/ca/provider_vault.go``
    ``setupIntermediatePKIPath`` POSTs ``sys/mounts/<path>`` when ``<path>/ca/pem`` answers 404). Nothing else is
    declared inside it: Consul writes its role and issuers. Empty when the CA serves no Consul mesh."""
    connect_intermediate_ttl_seconds: int = 0
    """Consul's ``IntermediateCertTTL``: the intermediate mount's lease ceiling (Consul tunes it to the same);
    required with ``connect_intermediate_pki_path``."""
    protect: bool = True
    """Protect the mounts, CAs and issuers from deletion (what a lost CA key cannot bring back)."""
    deployed: pulumi.Input[Mapping[str, int]] | None = None
    """The stack's previous ``rotationVersions`` output (see ``secure_mesh.rotation.component.deployed_versions``):
    a chain's ``issuing_generation`` may only stay or rise by one from what it records under
    :func:`generation_key` (``serverTlsGeneration``, ``connectRootGeneration``). None: never deployed (any
    generation starts the record)."""


def generation_key(chain: ChainName | str) -> str:
    """The key a chain's issuing generation is recorded under in ``rotationVersions``: ``serverTlsGeneration``
    (and likewise per chain), ``connectRootGeneration`` for the connect chain, whose deepest CA is Consul's root.
    """
    name = ChainName(chain)
    return "connectRootGeneration" if name == ChainName.CONNECT else f"{name.value}TlsGeneration"


def generation_names(prefix: str, issuer_name: str, generation: int) -> tuple[str, str]:
    """A generation's resource-name prefix and issuer (and key) name: generation 1 keeps the level's own
    (``…-server-l2``, ``server-level2``) so a stack that never rotated replaces nothing; generation N ≥ 2 is
    ``…-server-l2-g<N>`` and ``server-level2-g<N>``.
    """
    if generation == 1:
        return prefix, issuer_name
    return f"{prefix}-g{generation}", f"{issuer_name}-g{generation}"


def validate_args(args: CertificateAuthorityArgs) -> None:
    """Fail before any resource is registered when the Args contradict themselves, naming the field."""
    names = [ChainName(chain.name) for chain in args.chains]
    if not names:
        raise ArgsError("args.chains: a certificate authority needs at least one chain")
    for index, chain in enumerate(args.chains):
        if names.index(names[index]) != index:
            raise ArgsError(f"args.chains[{index}].name: chain '{names[index].value}' is listed more than once")
        if not chain.levels:
            raise ArgsError(f"args.chains[{index}].levels: a chain needs at least one Vault-held level")
        if (chain.role is not None or chain.secondary_roles) and chain.name == ChainName.CONNECT:
            raise ArgsError(
                f"args.chains[{index}].role: the connect chain holds no role; Consul signs with its deepest CA"
            )
        if chain.issuing_generation < 1:
            raise ArgsError(
                f"args.chains[{index}].issuing_generation: {chain.issuing_generation} is not a generation "
                "(allowed: 1 or more)"
            )
        mount_generations = chain.name == ChainName.CONNECT and chain.issuing_generation > 1
        superseded = chain.superseded_issuing_level
        if mount_generations and superseded is None:
            raise ArgsError(
                f"args.chains[{index}].superseded_issuing_level: connect generation {chain.issuing_generation} "
                "is a new mount beside generation "
                f"{chain.issuing_generation - 1}, which Consul cross-signs it with: give that level as it was built"
            )
        if superseded is not None and not mount_generations:
            raise ArgsError(
                f"args.chains[{index}].superseded_issuing_level: only the connect chain keeps a previous "
                "generation in its own mount, and only from issuing_generation 2 (allowed: None here)"
            )
        if superseded is not None and superseded.mount.path == chain.levels[-1].mount.path:
            raise ArgsError(
                f"args.chains[{index}].superseded_issuing_level.mount.path: '{superseded.mount.path}' is the new "
                "generation's mount; Consul switches roots only to another path"
            )
        custody = RootCustody(args.root.custody)
        if chain.issuing_generation > 1 and len(chain.levels) < 2 and custody is not RootCustody.VAULT:
            raise ArgsError(
                f"args.chains[{index}].issuing_generation: generations rotate a CA signed inside Vault; this "
                f"chain's only level is signed by the offline root (custody '{custody.value}'): give the chain a "
                "second level or keep generation 1"
            )
        role_names = [role.name for role in (chain.role, *chain.secondary_roles) if role is not None]
        for name in sorted({n for n in role_names if role_names.count(n) > 1}):
            raise ArgsError(f"args.chains[{index}].secondary_roles: role '{name}' is defined more than once")
    if args.connect_intermediate_pki_path and args.connect_intermediate_ttl_seconds <= 0:
        raise ArgsError(
            "args.connect_intermediate_ttl_seconds: the intermediate mount's lease ceiling (Consul's "
            f"IntermediateCertTTL) is {args.connect_intermediate_ttl_seconds}; allowed: 1 second or more"
        )
    chain_paths = {level.mount.path for chain in args.chains for level in chain.levels}
    chain_paths |= {c.superseded_issuing_level.mount.path for c in args.chains if c.superseded_issuing_level}
    if args.connect_intermediate_pki_path in chain_paths:
        raise ArgsError(
            f"args.connect_intermediate_pki_path: '{args.connect_intermediate_pki_path}' is a chain's mount; "
            "Consul's intermediate needs a mount of its own"
        )
    root = args.root
    custody = RootCustody(root.custody)
    allowed = {
        "in_vault": custody is RootCustody.VAULT,
        "aws_kms": custody is RootCustody.AWS_KMS,
        "certificate_pem": custody is not RootCustody.VAULT,
        "signed_intermediates": custody is RootCustody.EXTERNAL,
        "crl_urls": custody is not RootCustody.VAULT,
        "issuer_urls": custody is not RootCustody.VAULT,
    }
    for key, ok in allowed.items():
        if getattr(root, key) and not ok:
            raise ArgsError(f"args.root.{key}: is not used with custody '{custody.value}'")
    if custody is RootCustody.VAULT and root.in_vault is None:
        raise ArgsError("args.root.in_vault: is required with custody 'vault'")
    if custody is RootCustody.AWS_KMS and (root.aws_kms is None or root.certificate_pem is None):
        raise ArgsError("args.root: custody 'aws-kms' needs aws_kms (key_id, region) and certificate_pem")
    if root.signed_intermediates and root.certificate_pem is None:
        raise ArgsError("args.root.certificate_pem: is required once signed_intermediates are given")
    unknown = sorted(set(root.signed_intermediates) - {name.value for name in names})
    if unknown:
        raise ArgsError(f"args.root.signed_intermediates: no chain named {', '.join(unknown)}")
    needed = required_root_path_length(args)
    if root.in_vault is not None and root.in_vault.max_path_length < needed:
        raise ArgsError(
            f"args.root.in_vault.max_path_length: {root.in_vault.max_path_length} is too short; the chains' "
            f"level 1 needs a root allowing {needed} CA levels below it"
        )


def required_root_path_length(args: CertificateAuthorityArgs) -> int:
    """The smallest path length a root needs to sign every chain's level 1."""
    return 1 + max(chain.levels[0].max_path_length for chain in args.chains)


def _after(resources: Sequence[pulumi.Resource], value: Any) -> pulumi.Output[Any]:
    """``value``, resolving once ``resources`` exist: whoever takes it as an input depends on them."""
    return pulumi.Output.all(*[resource.urn for resource in resources]).apply(lambda _: value)


def _not_after(certificate: pulumi.Input[str], what: str) -> pulumi.Output[str]:
    """A CA certificate's notAfter, ISO-8601 UTC, parsed from the certificate itself once it is known.

    pulumi-vault 7.x exports no expiry for a CA: ``SecretBackendRootCert`` and ``SecretBackendRootSignIntermediate``
    have ``not_after`` only as an optional input (echoed back, empty unless set), so the certificate is the source.
    """

    def parse(pem: str) -> str:
        try:
            return not_after_iso(pem, what)
        except CertificateCheckError as error:
            raise pulumi.RunError(str(error)) from None

    return pulumi.Output.from_input(certificate).apply(parse)


def _earliest(dates: Sequence[pulumi.Output[str]]) -> pulumi.Output[str]:
    """The earliest of ISO-8601 UTC timestamps (they sort as text)."""
    return pulumi.Output.all(*dates).apply(lambda values: min(values))


def _by_name(values: Mapping[ChainName, pulumi.Output[str]]) -> pulumi.Output[Mapping[str, str]]:
    """Per-chain Outputs as one Output of a map keyed by chain name (it depends on everything they depend on)."""
    return cast("pulumi.Output[Mapping[str, str]]", pulumi.Output.from_input({c.value: v for c, v in values.items()}))


# ------------------------------------------------------------------------------------------- component
class CertificateAuthority(pulumi.ComponentResource):
    """Root custody and the per-purpose chains of Vault-held intermediates."""

    root_mount_path: pulumi.Output[str]
    """The Vault-held root's mount once its issuer and hygiene exist ("" when the root is outside Vault)."""
    mount_paths: pulumi.Output[Mapping[str, Sequence[str]]]
    """Every chain's mount paths, level 1 first, keyed by chain name; resolves once the mounts exist."""
    issue_paths: pulumi.Output[Mapping[str, str]]
    """Per complete chain with a role, its issue endpoint ``<mount>/issue/<role>``; resolves once the role exists."""
    ca_paths: pulumi.Output[Mapping[str, str]]
    """Per complete chain, the deepest CA's read endpoint ``<mount>/cert/ca``; resolves once that CA can issue."""
    ca_chains: pulumi.Output[Mapping[str, str]]
    """Per complete chain, the deepest CA's chain up to and including the root, PEM (for clients to trust)."""
    connect_root_pki_path: pulumi.Output[str]
    """Consul's ``connectCA.rootPKIPath``: the connect chain's deepest mount once it can sign ("" without one)."""
    connect_intermediate_pki_path: pulumi.Output[str]
    """Consul's ``connectCA.intermediatePKIPath`` once its (empty) mount exists ("" without one)."""
    level1_csr_pems: pulumi.Output[Mapping[str, str]]
    """Custody ``external``: per chain still waiting, its level-1 CSR for the operator to sign offline."""
    pending_chain_names: pulumi.Output[Sequence[str]]
    """Chains whose level 1 still waits for the offline root's signature (nothing below them exists yet)."""
    not_after: pulumi.Output[Mapping[str, str]]
    """ISO-8601 UTC expiry (``2036-01-01T00:00:00Z``), parsed from the certificates: ``root`` (once its certificate
    is known) and each signed chain's earliest-expiring Vault-held level (when the chain stops issuing)."""

    def __init__(self, name: str, args: CertificateAuthorityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(CertificateAuthorityArgs, args)
        validate_args(args)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]))
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        self.ready: list[pulumi.Resource] = []
        """Resources anything that issues or reads certificates must wait for (until consumers take the outputs)."""
        self._issuing_ready: dict[ChainName, list[pulumi.Resource]] = {}
        self._mounts: list[pulumi.Resource] = []
        self.level1_csrs: dict[ChainName, pulumi.Output[str]] = {}
        """Level-1 CSRs (custody ``external``), for the operator to sign offline."""
        self.ca_chain_pems: dict[ChainName, pulumi.Output[str]] = {}
        """Per complete chain, the deepest CA's chain up to and including the root."""
        self.issuing_paths: dict[ChainName, pulumi.Output[str]] = {}
        """Per complete chain, its deepest mount's path, resolving once that CA can issue."""
        self.role_issue_paths: dict[ChainName, pulumi.Output[str]] = {}
        """Per complete chain with a role, its issue path, resolving once the role exists."""
        self.secondary_issue_paths: dict[str, pulumi.Output[str]] = {}
        """Per role of ``secondary_roles`` (by role name), its issue path, resolving once the role exists."""
        self.root_not_after: pulumi.Output[str] | None = None
        """The root certificate's notAfter (None while an external root's certificate is not given)."""
        self.issuing_generations: dict[ChainName, pulumi.Output[int]] = {}
        """Per signed chain, its issuing CA's generation once checked against the deployed record and made the
        mount's default issuer (what ``rotationVersions`` records)."""
        self.chain_not_afters: dict[ChainName, pulumi.Output[str]] = {}
        """Per signed chain, the earliest notAfter of its Vault-held levels: the date the chain stops issuing."""

        root_pem, root_ready, root_mount_path = self._root()
        pending: list[ChainName] = []
        for chain in args.chains:
            chain_pem = self._chain(chain, root_pem, root_ready)
            if chain_pem is None:
                pending.append(ChainName(chain.name))
            else:
                self.ca_chain_pems[ChainName(chain.name)] = chain_pem
        for chain in args.chains:
            name_ = ChainName(chain.name)
            if chain.role is None or name_ in pending:
                continue  # nothing that depends on an unsigned chain is created
            role = self._role(chain, chain.role, f"{self._name}-{name_.value}-role")
            self.ready.append(role)
            self.role_issue_paths[name_] = pulumi.Output.concat(role.backend, "/issue/", role.name)
            for other in chain.secondary_roles:
                extra = self._role(chain, other, f"{self._name}-{name_.value}-role-{other.name}")
                self.ready.append(extra)
                self.secondary_issue_paths[other.name] = pulumi.Output.concat(extra.backend, "/issue/", extra.name)
        self.pending_chains: tuple[ChainName, ...] = tuple(pending)
        """Chains whose level 1 still waits for the offline root's signature."""
        self.complete: bool = not pending
        """False while an external root has not yet signed level 1 (nothing dependent is created)."""

        deepest = {ChainName(chain.name): chain.levels[-1].mount.path for chain in args.chains}
        for chain_name, ready in self._issuing_ready.items():
            self.issuing_paths[chain_name] = _after(ready, deepest[chain_name])
        all_paths = {ChainName(chain.name).value: [level.mount.path for level in chain.levels] for chain in args.chains}
        self.root_mount_path = root_mount_path
        self.mount_paths = _after(self._mounts, all_paths)
        self.issue_paths = _by_name(self.role_issue_paths)
        self.ca_paths = _by_name({c: p.apply(lambda path: f"{path}/cert/ca") for c, p in self.issuing_paths.items()})
        self.ca_chains = _by_name(self.ca_chain_pems)
        self.connect_root_pki_path = self.issuing_paths.get(ChainName.CONNECT, pulumi.Output.from_input(""))
        self.connect_intermediate_mount: vault.Mount | None = None
        """The empty PKI mount Consul keeps its own intermediate in (``connect_intermediate_pki_path``)."""
        self.connect_intermediate_pki_path = pulumi.Output.from_input(args.connect_intermediate_pki_path)
        if args.connect_intermediate_pki_path and self.complete:  # Consul waits for the chain of trust too
            self.connect_intermediate_mount = self._connect_intermediate_mount(args)
            self.ready.append(self.connect_intermediate_mount)
            self.connect_intermediate_pki_path = _after(
                [self.connect_intermediate_mount], args.connect_intermediate_pki_path
            )
        self.level1_csr_pems = _by_name(self.level1_csrs)
        self.pending_chain_names = pulumi.Output.from_input([c.value for c in pending])
        not_after = {c.value: d for c, d in self.chain_not_afters.items() if c not in pending}
        if self.root_not_after is not None:
            not_after = {"root": self.root_not_after, **not_after}
        self.not_after = cast("pulumi.Output[Mapping[str, str]]", pulumi.Output.from_input(not_after))
        self.register_outputs(
            {
                "rootMountPath": self.root_mount_path,
                "mountPaths": self.mount_paths,
                "issuePaths": self.issue_paths,
                "caPaths": self.ca_paths,
                "caChains": self.ca_chains,
                "connectRootPkiPath": self.connect_root_pki_path,
                "connectIntermediatePkiPath": self.connect_intermediate_pki_path,
                "level1CsrPems": self.level1_csr_pems,
                "pendingChainNames": self.pending_chain_names,
                "notAfter": self.not_after,
            }
        )

    def issuing_ready(self, chain: ChainName) -> list[pulumi.Resource]:
        """What must exist before a chain's deepest CA can sign (its hygiene, issuer and default issuer); empty
        for a chain this component does not hold or that waits for the offline root.
        """
        return list(self._issuing_ready.get(chain, []))

    # ------------------------------------------------------------------------------ options
    def _opts(self, depends_on: Sequence[pulumi.Resource] = (), keep: bool = False) -> pulumi.ResourceOptions:
        """Child options: parent (so providers flow down), ordering, and protect for what must not be lost."""
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on), protect=keep and self._args.protect)

    # ------------------------------------------------------------------------------- mounts
    def _connect_intermediate_mount(self, args: CertificateAuthorityArgs) -> vault.Mount:
        """The mount Consul's Vault CA provider keeps its intermediate in: declared here, empty, as Consul would
        mount it (type ``pki``, lease ceiling ``IntermediateCertTTL``); Consul tunes it, writes its ``leaf-cert``
        role and generates, renews and tidies its issuers inside it.
        """
        ttl = args.connect_intermediate_ttl_seconds
        return vault.Mount(
            f"{self._name}-connect-intermediate-mount",
            path=args.connect_intermediate_pki_path,
            type="pki",
            description="Consul's connect intermediate CA (Consul generates and renews its CA inside)",
            default_lease_ttl_seconds=ttl,
            max_lease_ttl_seconds=ttl,
            opts=self._opts(keep=True),
        )

    def _mount(
        self,
        prefix: str,
        plan: CaMountArgs,
        *,
        keep: bool = True,
        checked: pulumi.Output[int] | None = None,
    ) -> tuple[vault.Mount, list[pulumi.Resource]]:
        """A CA's mount with URLs, CRL config and auto-tidy, all configured before anything is issued (``keep``:
        protected in production; ``checked``: the mount waits for its generation's check, so a refused generation
        registers nothing).
        """
        mount = vault.Mount(
            f"{prefix}-mount",
            path=plan.path if checked is None else _after_check(checked, plan.path),
            type="pki",
            description=plan.description,
            default_lease_ttl_seconds=plan.default_lease_ttl_seconds,
            max_lease_ttl_seconds=plan.max_lease_ttl_seconds,
            opts=self._opts(keep=keep),
        )
        self._mounts.append(mount)
        urls = vault.pkisecret.SecretBackendConfigUrls(
            f"{prefix}-urls",
            backend=plan.path,
            issuing_certificates=list(plan.issuing_certificates),
            crl_distribution_points=list(plan.crl_distribution_points),
            opts=self._opts([mount]),
        )
        crl = vault.pkisecret.SecretBackendCrlConfig(
            f"{prefix}-crl",
            backend=plan.path,
            disable=False,
            auto_rebuild=plan.crl_auto_rebuild,
            auto_rebuild_grace_period=plan.crl_auto_rebuild_grace_period,
            enable_delta=plan.crl_enable_delta,
            delta_rebuild_interval=plan.crl_delta_rebuild_interval,
            expiry=plan.crl_expiry,
            opts=self._opts([mount]),
        )
        tidy = vault.pkisecret.BackendConfigAutoTidy(
            f"{prefix}-tidy",
            backend=plan.path,
            enabled=True,
            tidy_cert_store=True,
            tidy_revoked_certs=True,
            tidy_revoked_cert_issuer_associations=True,
            tidy_expired_issuers=True,
            interval_duration=plan.tidy_interval,
            safety_buffer=plan.tidy_safety_buffer,
            opts=self._opts([mount]),
        )
        return mount, [urls, crl, tidy]

    def _generation_opts(
        self, depends_on: Sequence[pulumi.Resource], newest: bool, retain: bool
    ) -> pulumi.ResourceOptions:
        """Options of a CA generation's resources: protected while it is the newest (in production), and kept in
        Vault when the program drops them (``retain_on_delete``) while a chain rotates its issuing CA.
        """
        return pulumi.ResourceOptions(
            parent=self, depends_on=list(depends_on), protect=newest and self._args.protect, retain_on_delete=retain
        )

    def _issuer(
        self, prefix: str, path: str, issuer_ref: pulumi.Input[str], issuer_name: str, after: Sequence[pulumi.Resource]
    ) -> list[pulumi.Resource]:
        """Name the mount's CA issuer, make it refuse leaves past its expiry, and make it the explicit default."""
        issuer = self._named_issuer(prefix, path, issuer_ref, issuer_name, self._opts(after, keep=True))
        return [issuer, self._default_issuer(prefix, path, issuer)]

    def _named_issuer(
        self, prefix: str, path: str, issuer_ref: pulumi.Input[str], issuer_name: str, opts: pulumi.ResourceOptions
    ) -> vault.pkisecret.SecretBackendIssuer:
        """Name a CA issuer in its mount and make it refuse leaves past its own expiry."""
        return vault.pkisecret.SecretBackendIssuer(
            f"{prefix}-issuer",
            backend=path,
            issuer_ref=issuer_ref,
            issuer_name=issuer_name,
            leaf_not_after_behavior=LEAF_NOT_AFTER_BEHAVIOR,
            opts=opts,
        )

    def _default_issuer(
        self,
        prefix: str,
        path: str,
        issuer: vault.pkisecret.SecretBackendIssuer,
        checked: pulumi.Output[int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> vault.pkisecret.SecretBackendConfigIssuers:
        """Make ``issuer`` the mount's explicit default (what roles without an issuer_ref issue from); on a chain's
        issuing mount only once its generation is ``checked``, so a lowered generation fails the run before the
        default moves (and a failed program deletes nothing).
        """
        return vault.pkisecret.SecretBackendConfigIssuers(
            f"{prefix}-default-issuer",
            backend=path,
            default=issuer.issuer_id if checked is None else _after_check(checked, issuer.issuer_id),
            default_follows_latest_issuer=False,
            opts=opts if opts is not None else self._opts([issuer], keep=True),
        )

    def _checked_generation(self, chain: CaChainArgs) -> pulumi.Output[int]:
        """The chain's issuing generation once checked against the deployed record (raises
        ``RotationVersionError`` when it lowers or skips one); the newest generation's CSR waits for it.
        """
        key = generation_key(chain.name)
        requested = chain.issuing_generation
        return pulumi.Output.from_input(self._args.deployed).apply(
            lambda record: check_recorded_step(key, record, requested)
        )

    # --------------------------------------------------------------------------------- root
    def _root(self) -> tuple[pulumi.Output[str] | None, list[pulumi.Resource], pulumi.Output[str]]:
        """The root certificate (PEM), what must exist before the root signs in Vault, and its mount's path."""
        root = self._args.root
        if root.in_vault is not None:
            return self._vault_root(root.in_vault)
        nothing = pulumi.Output.from_input("")
        if root.certificate_pem is not None:
            try:
                check_root(
                    root.certificate_pem,
                    str(self._args.key_type),
                    self._args.key_bits,
                    required_root_path_length(self._args),
                    root.certificate_pem_source,
                )
            except CertificateCheckError as error:
                raise pulumi.RunError(str(error)) from None
            self.root_not_after = _not_after(root.certificate_pem, root.certificate_pem_source)
            return pulumi.Output.from_input(root.certificate_pem), [], nothing
        return None, [], nothing

    def _vault_root(self, plan: VaultRootArgs) -> tuple[pulumi.Output[str], list[pulumi.Resource], pulumi.Output[str]]:
        prefix = f"{self._name}-root"
        mount, hygiene = self._mount(prefix, plan.mount)
        root = vault.pkisecret.SecretBackendRootCert(
            f"{prefix}-ca",
            backend=plan.mount.path,
            type="internal",
            common_name=plan.common_name,
            organization=self._args.organization,
            ttl=str(plan.ttl_seconds),
            key_type=str(self._args.key_type),
            key_bits=self._args.key_bits,
            max_path_length=plan.max_path_length,
            exclude_cn_from_sans=True,
            issuer_name=plan.issuer_name,
            opts=self._opts([mount, *hygiene], keep=True),
        )
        issuer = self._issuer(prefix, plan.mount.path, root.issuer_id, plan.issuer_name, [root])
        self.ready.extend(hygiene + issuer)
        self.root_not_after = _not_after(root.certificate, f"the root certificate in {plan.mount.path}")
        return root.certificate, [root, *hygiene, *issuer], _after([*hygiene, *issuer], plan.mount.path)

    # ------------------------------------------------------------------------------- chains
    def _chain(
        self, chain: CaChainArgs, root_pem: pulumi.Output[str] | None, root_ready: list[pulumi.Resource]
    ) -> pulumi.Output[str] | None:
        """Build one chain; return its CA chain PEM, or None while level 1 waits for the offline root."""
        chain_name = ChainName(chain.name)
        root = self._args.root
        parent_chain = root_pem
        parent_ready = root_ready
        # Level 1 is signed by the Vault-held root (if any); deeper levels by the level above, inside Vault.
        signer_path = root.in_vault.mount.path if root.in_vault is not None else None
        not_afters: list[pulumi.Output[str]] = []
        for number, level in enumerate(chain.levels, start=1):
            prefix = f"{self._name}-{chain_name.value}-l{number}"
            deepest = number == len(chain.levels)
            rotating = deepest and chain.issuing_generation > 1
            # Consul's root rotates only to another mount: there a generation is a mount of its own.
            own_mounts = rotating and chain_name == ChainName.CONNECT
            generations = (chain.issuing_generation - 1, chain.issuing_generation) if rotating else (1,)
            checked = self._checked_generation(chain) if deepest else None
            shared = None if own_mounts else self._mount(prefix, level.mount)
            newest_issuer: vault.pkisecret.SecretBackendIssuer | None = None
            newest_bundle: pulumi.Output[str] | None = None
            newest_ready: list[pulumi.Resource] = []
            gen_default: vault.pkisecret.SecretBackendConfigIssuers | None = None
            for generation in generations:
                newest = generation == generations[-1]
                gen_prefix, gen_issuer_name = generation_names(prefix, level.issuer_name, generation)
                superseded = chain.superseded_issuing_level
                gen_level = level if newest or superseded is None else superseded
                path = gen_level.mount.path
                if shared is None:
                    mount, hygiene = self._mount(
                        gen_prefix, gen_level.mount, keep=newest, checked=checked if newest else None
                    )
                else:
                    mount, hygiene = shared
                if newest or shared is None:
                    self.ready.extend(hygiene)
                common_name: pulumi.Input[str] = level.common_name
                if rotating and newest and checked is not None:  # nothing of it exists before its number is checked
                    common_name = _after_check(checked, level.common_name)
                csr = vault.pkisecret.SecretBackendIntermediateCertRequest(
                    f"{gen_prefix}-csr",
                    backend=path,
                    type="internal",
                    common_name=common_name,
                    organization=self._args.organization,
                    key_type=str(self._args.key_type),
                    key_bits=self._args.key_bits,
                    key_name=gen_issuer_name,
                    add_basic_constraints=True,
                    exclude_cn_from_sans=True,
                    opts=self._generation_opts([mount], newest, rotating),
                )
                if signer_path is not None:
                    signed: tuple[pulumi.Output[str], list[pulumi.Resource]] | None = self._sign_in_vault(
                        gen_prefix, chain, level, signer_path, csr, parent_ready, newest=newest, retain=rotating
                    )
                else:
                    signed = self._sign_level1_outside(prefix, chain, level, csr, parent_chain)
                if signed is None:
                    self.level1_csrs[chain_name] = csr.csr
                    return None
                certificate, sign_resources = signed
                assert parent_chain is not None  # a signed level always has its issuers' chain
                bundle = pulumi.Output.all(certificate, parent_chain).apply(lambda pems: _bundle(pems[0], pems[1]))
                set_signed = vault.pkisecret.SecretBackendIntermediateSetSigned(
                    f"{gen_prefix}-set-signed",
                    backend=path,
                    certificate=bundle,
                    opts=self._generation_opts([csr, *sign_resources], newest, rotating),
                )
                # The bundle lists this level's certificate first, so it is the first issuer Vault imports (the
                # chain above it is already there from the generation before).
                issuer_ref = set_signed.imported_issuers.apply(lambda ids: ids[0])
                issuer = self._named_issuer(
                    gen_prefix, path, issuer_ref, gen_issuer_name, self._generation_opts([set_signed], newest, rotating)
                )
                self.ready.append(issuer)
                if shared is None:  # each generation's mount has its own default issuer
                    gen_default = self._default_issuer(
                        gen_prefix,
                        path,
                        issuer,
                        checked if newest else None,
                        self._generation_opts([issuer], newest, rotating),
                    )
                    self.ready.append(gen_default)
                if newest:
                    not_afters.append(_not_after(certificate, f"the CA certificate signed for {path}"))
                    newest_issuer, newest_bundle, newest_ready = issuer, bundle, hygiene
            assert newest_issuer is not None and newest_bundle is not None
            if gen_default is not None:
                default = gen_default
            else:
                default = self._default_issuer(prefix, level.mount.path, newest_issuer, checked)
                self.ready.append(default)
            if checked is not None:
                self.issuing_generations[chain_name] = _after([default], checked)
            parent_chain = newest_bundle
            parent_ready = [*newest_ready, newest_issuer, default]
            signer_path = level.mount.path
        self._issuing_ready[chain_name] = parent_ready
        self.chain_not_afters[chain_name] = _earliest(not_afters)
        return parent_chain

    def _sign_in_vault(
        self,
        prefix: str,
        chain: CaChainArgs,
        level: CaLevelArgs,
        signer_path: str,
        csr: vault.pkisecret.SecretBackendIntermediateCertRequest,
        parent_ready: list[pulumi.Resource],
        *,
        newest: bool = True,
        retain: bool = False,
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        """Have the level's CSR signed by the CA above it, inside Vault (``newest``/``retain``: see
        :meth:`_generation_opts`).
        """
        constraints = chain.name_constraints
        signed = vault.pkisecret.SecretBackendRootSignIntermediate(
            f"{prefix}-signed",
            backend=signer_path,
            csr=csr.csr,
            common_name=level.common_name,
            organization=self._args.organization,
            ttl=str(level.ttl_seconds),
            max_path_length=level.max_path_length,
            # Name constraints. URI and IP need Vault 1.19+: the provider silently omits them for an older
            # server (terraform-provider-vault pki_secret_backend_root_sign_intermediate, VAULT-32141).
            # All are ForceNew: changing them re-signs the level.
            permitted_dns_domains=list(constraints.permitted_dns_domains),
            permitted_uri_domains=list(constraints.permitted_uri_domains),
            permitted_ip_ranges=list(constraints.permitted_ip_ranges),
            excluded_ip_ranges=list(constraints.excluded_ip_ranges),
            exclude_cn_from_sans=True,
            use_csr_values=False,
            revoke=False,
            opts=self._generation_opts([csr, *parent_ready], newest, retain),
        )
        return signed.certificate, [signed]

    def level1_requirements(self, chain: CaChainArgs) -> Level1Requirements:
        """What a chain's level-1 certificate must be, for the offline and KMS checks.

        Besides the level's name, path length, name constraints and key type: the offline root's CRL and AIA
        URLs and a validity of at most the level's TTL (and ``root.level1_max_ttl_seconds``), both with a day of
        slack for a backdated notBefore.
        """
        level = chain.levels[0]
        root = self._args.root
        longest = level.ttl_seconds
        if root.level1_max_ttl_seconds is not None:
            longest = min(longest, root.level1_max_ttl_seconds)
        constraints = chain.name_constraints
        return Level1Requirements(
            chain=ChainName(chain.name).value,
            common_name=level.common_name,
            max_path_length=level.max_path_length,
            permitted_dns_domains=tuple(constraints.permitted_dns_domains),
            key_type=str(self._args.key_type),
            key_bits=self._args.key_bits,
            constraints=NameConstraints(
                permitted_dns_domains=tuple(constraints.permitted_dns_domains),
                permitted_uri_domains=tuple(constraints.permitted_uri_domains),
                permitted_ip_ranges=tuple(constraints.permitted_ip_ranges),
                excluded_ip_ranges=tuple(constraints.excluded_ip_ranges),
            ),
            crl_distribution_points=tuple(root.crl_urls),
            issuing_certificates=tuple(root.issuer_urls),
            max_ttl_seconds=longest + BACKDATE_SLACK_SECONDS,
        )

    def _sign_level1_outside(
        self,
        prefix: str,
        chain: CaChainArgs,
        level: CaLevelArgs,
        csr: vault.pkisecret.SecretBackendIntermediateCertRequest,
        parent_chain: pulumi.Output[str] | None,
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]] | None:
        """Level 1 under a root outside Vault: signed through KMS, or by the operator (external, two phases)."""
        root = self._args.root
        requirements = self.level1_requirements(chain)
        if root.custody == RootCustody.AWS_KMS:
            assert root.aws_kms is not None and root.certificate_pem is not None  # validate_args guarantees it
            kms_signed = KmsSignedLevel1(
                f"{prefix}-kms-signed",
                KmsSignedLevel1Args(
                    key_id=root.aws_kms.key_id,
                    region=root.aws_kms.region,
                    root_certificate_pem=root.certificate_pem,
                    csr=csr.csr,
                    requirements=requirements,
                    ttl_seconds=level.ttl_seconds,
                    mount=level.mount.path,
                ),
                self._opts([csr], keep=True),
            )
            return kms_signed.certificate, [kms_signed]
        # External custody: phase one stops here; phase two imports what the operator signed.
        chain_name = ChainName(chain.name).value
        certificate = root.signed_intermediates.get(chain_name)
        if certificate is None or parent_chain is None:
            return None
        root_pem = root.certificate_pem or ""
        source = f"{root.signed_intermediates_source}.{chain_name}"
        try:
            load_certificate(certificate, source)
            # Everything but the CSR match is decidable from the Args now: fail before the level is imported.
            check_signed_level1(certificate, root_pem, requirements, source)
        except CertificateCheckError as error:
            raise pulumi.RunError(str(error)) from None
        signed_source = root.signed_intermediates_source

        def verified(csr_pem: str) -> str:
            # Runs at deploy time, once Vault's CSR is known; fails the update if the operator signed another CSR.
            try:
                verify_signed_level1(certificate, csr_pem, root_pem, requirements, signed_source)
            except CertificateCheckError as error:
                raise pulumi.RunError(str(error)) from None
            return certificate

        return csr.csr.apply(verified), []

    # -------------------------------------------------------------------------------- roles
    def _role(
        self, chain: CaChainArgs, role: PkiRoleArgs, resource_name: str
    ) -> vault.pkisecret.SecretBackendRole:
        """A role on the chain's deepest mount, once that CA can issue (issuer, default issuer, hygiene)."""
        chain_name = ChainName(chain.name)
        return vault.pkisecret.SecretBackendRole(
            resource_name,
            backend=chain.levels[-1].mount.path,
            name=role.name,
            allowed_domains=list(role.allowed_domains),
            allow_subdomains=role.allow_subdomains,
            allow_bare_domains=role.allow_bare_domains,
            allow_localhost=role.allow_localhost,
            allow_wildcard_certificates=role.allow_wildcard_certificates,
            allow_ip_sans=role.allow_ip_sans,
            allow_glob_domains=role.allow_glob_domains,
            allow_any_name=role.allow_any_name,
            enforce_hostnames=role.enforce_hostnames,
            server_flag=role.server_flag,
            client_flag=role.client_flag,
            code_signing_flag=role.code_signing_flag,
            email_protection_flag=role.email_protection_flag,
            ttl=str(role.ttl_seconds),
            max_ttl=str(role.max_ttl_seconds),
            key_type=str(self._args.key_type),
            key_bits=self._args.key_bits,
            generate_lease=role.generate_lease,
            no_store=role.no_store,
            require_cn=role.require_cn,
            basic_constraints_valid_for_non_ca=role.basic_constraints_valid_for_non_ca,
            use_csr_common_name=role.use_csr_common_name,
            use_csr_sans=role.use_csr_sans,
            key_usages=list(role.key_usages),
            ext_key_usages=list(role.ext_key_usages),
            organizations=[self._args.organization],
            opts=self._opts(self._issuing_ready[chain_name]),
        )


def _after_check(checked: pulumi.Output[int], value: pulumi.Input[str]) -> pulumi.Output[str]:
    """``value``, once ``checked`` resolved (its failure fails every resource that takes the value)."""
    return pulumi.Output.all(checked, value).apply(lambda both: cast(str, both[1]))


def _bundle(certificate: str, parent_chain: str) -> str:
    """A CA certificate followed by its issuers' chain, one PEM block per line group."""
    return f"{certificate.strip()}\n{parent_chain.strip()}\n"
