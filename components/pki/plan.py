"""Layer 3 for the PKI: what every mount, CA and role must be, as plain Python data.

The component in :mod:`secure_mesh.pki.component` only turns this plan into resources, so every
security-relevant value (TTLs, path lengths, name constraints, role flags and domains) is a plain value
computed from settings and the layout, checkable by the policy pack during preview and by tests
without Pulumi.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..layout import Layout, PkiMount
from ..settings import ChainName, RootCustody, Settings, duration_seconds, intermediate_ttls
from .certificates import EXCLUDE_ALL_IP_RANGES, NameConstraints
from .defaults import (
    CRL_AUTO_REBUILD_GRACE_PERIOD,
    CRL_DELTA_REBUILD_INTERVAL,
    CRL_EXPIRY,
    DEFAULT_LEASE_TTL_SECONDS,
    ROLE_KEY_USAGES,
    TIDY_INTERVAL,
    TIDY_SAFETY_BUFFER,
)

CONNECT_PERMITTED_DNS_DOMAINS: tuple[str, ...] = ("consul",)
"""Name constraint of the mesh (Connect) chain.

Consul's mesh identities are SPIFFE URIs in the trust domain ``<cluster-id>.consul``; the cluster id is
made by Consul at runtime, but the ``consul`` suffix is fixed in Consul's code (it does not follow
``consul.domain``). Every DNS name Consul's Vault CA provider puts in the certificates it signs — its own
intermediate's name (``pri-….vault.ca.<id>.consul``), service leaves (``<svc>.svc.<ns>.<id>.consul``) and
agent certificates — sits under that suffix. Constraining the chain to ``consul`` stops a compromised
mesh intermediate from minting certificates for any real hostname, while leaving Consul's own names alone.
It would break ingress gateways serving custom hostnames from the mesh CA; this platform publishes apps
through the API gateway, whose listener certificates come from the separate gateway chain.
"""

CONNECT_PERMITTED_URI_DOMAINS: tuple[str, ...] = (".consul",)
"""URI name constraint of the mesh chain: the host of every SPIFFE id Consul issues.

Consul's connect CA names services ``spiffe://<cluster-id>.consul/ns/<ns>/dc/<dc>/svc/<svc>`` and its own
signing CA ``spiffe://<cluster-id>.consul`` (consul agent/connect/uri_signing.go, the trust domain is
``<cluster-id>.consul``). RFC 5280 §4.2.1.10 matches URI constraints against the URI's host; the leading dot
makes the constraint cover every host under ``consul`` (OpenSSL/BoringSSL, used by Envoy, treat a constraint
without the dot as one exact host), so a compromised mesh CA cannot mint SPIFFE ids of another trust domain.
"""

SERVER_PERMITTED_IP_RANGES: tuple[str, ...] = ("127.0.0.1/32",)
"""The only IP SAN the chart's server certificate requests (``ip_sans=127.0.0.1`` plus
``global.tls.serverAdditionalIPSANs``, which this program never sets; consul-k8s chart 2.0.3
templates/_helpers.tpl ``consul.serverTLSCertTemplate``)."""

CLIENT_AGENT_DNS_NAMES: tuple[str, ...] = ("localhost",)
"""With client agents, auto-encrypt certificates signed by the mesh CA also name ``localhost`` and carry the
loopback, host and pod IPs (consul agent/auto-config/auto_encrypt.go ``defaultDNSSANs``/``defaultIPSANs``, the
chart's client DaemonSet adds ``auto_encrypt { ip_san = [$HOST_IP, $POD_IP] }``)."""

CONSUL_INTERMEDIATE_PATH_LENGTH = 1
"""Below the mesh chain's deepest Vault-held CA, Consul creates one more CA (its intermediate)."""

@dataclass(frozen=True)
class MountHygiene:
    """What every Vault-held CA mount configures before anything is issued from it."""

    issuing_certificates: tuple[str, ...]
    crl_distribution_points: tuple[str, ...]
    crl_expiry: str = CRL_EXPIRY
    crl_auto_rebuild: bool = True
    crl_auto_rebuild_grace_period: str = CRL_AUTO_REBUILD_GRACE_PERIOD
    crl_enable_delta: bool = True
    crl_delta_rebuild_interval: str = CRL_DELTA_REBUILD_INTERVAL
    tidy_interval: str = TIDY_INTERVAL
    tidy_safety_buffer: str = TIDY_SAFETY_BUFFER


@dataclass(frozen=True)
class MountPlan:
    """One PKI mount holding one CA, with its lease limits and hygiene settings."""

    mount: PkiMount
    description: str
    ca_ttl_seconds: int
    """TTL of the CA generated in (or imported into) this mount."""
    max_lease_ttl_seconds: int
    default_lease_ttl_seconds: int
    hygiene: MountHygiene

    @property
    def path(self) -> str:
        """The mount path (from the layout)."""
        return self.mount.path


@dataclass(frozen=True)
class RootPlan:
    """The root CA when Vault holds it (custody ``vault``): alone in its mount, only signing level 1."""

    mount: MountPlan
    common_name: str
    organization: str
    ttl_seconds: int
    max_path_length: int
    key_type: str
    key_bits: int
    issuer_name: str = "root"


@dataclass(frozen=True)
class LevelPlan:
    """One Vault-held intermediate CA of a chain and how it gets signed."""

    chain: ChainName
    level: int
    """1 is signed by the root; deeper levels by the level above, inside Vault."""
    mount: MountPlan
    common_name: str
    organization: str
    ttl: str
    ttl_seconds: int
    max_path_length: int
    constraints: NameConstraints
    """The name constraints (DNS, URI, IP) every certificate below this CA must satisfy."""
    key_type: str
    key_bits: int
    signer_path: str | None
    """The mount that signs this level's CSR in Vault; None when the root is outside Vault (external, aws-kms)."""
    issuer_name: str

    @property
    def path(self) -> str:
        """This level's mount path."""
        return self.mount.path

    @property
    def permitted_dns_domains(self) -> tuple[str, ...]:
        """The DNS part of the name constraints."""
        return self.constraints.permitted_dns_domains


@dataclass(frozen=True)
class RoleSpec:
    """A PKI role: every field is a ``vault.pkisecret.SecretBackendRole`` argument, set explicitly."""

    chain: ChainName
    """The chain whose deepest mount holds the role (not a Vault argument)."""
    backend: str
    name: str
    allowed_domains: tuple[str, ...]
    allow_subdomains: bool
    allow_bare_domains: bool
    allow_localhost: bool
    allow_wildcard_certificates: bool
    allow_ip_sans: bool
    allow_glob_domains: bool
    allow_any_name: bool
    enforce_hostnames: bool
    server_flag: bool
    client_flag: bool
    code_signing_flag: bool
    email_protection_flag: bool
    ttl: str
    max_ttl: str
    key_type: str
    key_bits: int
    generate_lease: bool
    no_store: bool
    require_cn: bool
    basic_constraints_valid_for_non_ca: bool
    use_csr_common_name: bool
    use_csr_sans: bool
    key_usages: tuple[str, ...]
    ext_key_usages: tuple[str, ...]
    organizations: tuple[str, ...]

    def resource_args(self) -> dict[str, Any]:
        """The role as keyword arguments of ``SecretBackendRole`` (tuples become lists)."""
        fields = asdict(self)
        del fields["chain"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}


@dataclass(frozen=True)
class PkiPlan:
    """The whole PKI of one stack: custody, the root (if in Vault), every chain's levels and the roles."""

    custody: RootCustody
    root: RootPlan | None
    chains: dict[ChainName, tuple[LevelPlan, ...]]
    roles: tuple[RoleSpec, ...]
    root_common_name: str
    superseded: dict[ChainName, LevelPlan] = field(default_factory=dict)
    """Per chain rotating its deepest CA into a new mount (connect), that CA's previous generation: kept, in its own
    mount, beside the new one (``rotation.connectRootGeneration``)."""

    def level(self, chain: ChainName, level: int) -> LevelPlan:
        """One level of one chain (1-based)."""
        return self.chains[chain][level - 1]

    @property
    def mounts(self) -> tuple[MountPlan, ...]:
        """Every mount the program creates, root first (if in Vault), then chain by chain."""
        found = [self.root.mount] if self.root is not None else []
        for levels in self.chains.values():
            found.extend(level.mount for level in levels)
        return tuple(found)


def mount_hygiene(settings: Settings, layout: Layout, mount: PkiMount) -> MountHygiene:
    """Issuing-certificate and CRL URLs of a mount, as clients reach Vault (settings.vault.address)."""
    return MountHygiene(
        issuing_certificates=(layout.pki_issuing_certificate_url(mount),),
        crl_distribution_points=(layout.pki_crl_distribution_point(mount),),
    )


def chain_permitted_dns_domains(settings: Settings, layout: Layout, chain: ChainName) -> tuple[str, ...]:
    """The DNS name constraint every intermediate of a chain carries, fitting the chain's purpose."""
    if chain is ChainName.SERVER:
        # A federation primary's chain also issues its secondaries' server certificates (server.<dc>.<domain>).
        return (*layout.server_dns_domains, *layout.federation_server_domains, "localhost")
    if chain is ChainName.GATEWAY:
        return tuple(settings.pki.chains.gateway.domains)
    if chain is ChainName.WEBHOOK:
        return layout.webhook_dns_names
    if settings.consul.clients_enabled:
        return (*CONNECT_PERMITTED_DNS_DOMAINS, *CLIENT_AGENT_DNS_NAMES)
    return CONNECT_PERMITTED_DNS_DOMAINS


def chain_name_constraints(settings: Settings, layout: Layout, chain: ChainName) -> NameConstraints:
    """Every name constraint a chain's CAs carry: the DNS names, URI hosts and IP ranges its purpose issues.

    * server: the chart's server names and ``localhost``; IP SANs only ``127.0.0.1`` (what the chart requests);
    * connect: ``consul`` DNS names and SPIFFE URIs under ``.consul``; no IP SAN, unless client agents run
      (their auto-encrypt certificates carry host and pod IPs the program cannot know: no IP constraint then);
    * gateway and webhook: their own DNS names; no IP SAN at all.
    """
    dns = chain_permitted_dns_domains(settings, layout, chain)
    if chain is ChainName.SERVER:
        return NameConstraints(dns, permitted_ip_ranges=SERVER_PERMITTED_IP_RANGES)
    if chain is ChainName.CONNECT:
        excluded = () if settings.consul.clients_enabled else EXCLUDE_ALL_IP_RANGES
        return NameConstraints(dns, permitted_uri_domains=CONNECT_PERMITTED_URI_DOMAINS, excluded_ip_ranges=excluded)
    return NameConstraints(dns, excluded_ip_ranges=EXCLUDE_ALL_IP_RANGES)


def deepest_path_length(chain: ChainName) -> int:
    """Path length of a chain's deepest Vault-held CA: 1 for the mesh chain (Consul's CA is below it), else 0."""
    return CONSUL_INTERMEDIATE_PATH_LENGTH if chain is ChainName.CONNECT else 0


def level_path_length(chain: ChainName, level: int, levels: int) -> int:
    """Path length of one level: the deepest level's, plus one for each Vault-held level below it."""
    return deepest_path_length(chain) + (levels - level)


def root_common_name(settings: Settings) -> str:
    """The root CA's common name (also the default of the root ceremony)."""
    return f"{settings.pki.organization} root CA"


def level_common_name(settings: Settings, chain: ChainName, level: int) -> str:
    """An intermediate's common name; not a hostname, so no name constraint ever applies to it."""
    return f"{settings.pki.organization} {chain.value} CA level {level}"


def required_root_path_length(settings: Settings) -> int:
    """The smallest path length a root needs to sign every chain's level 1."""
    chains = Layout(settings).local_chains
    return 1 + max(level_path_length(chain, 1, settings.pki.chains.by_name(chain).levels) for chain in chains)


def _mount_plan(
    settings: Settings, layout: Layout, mount: PkiMount, ca_ttl_seconds: int, description: str
) -> MountPlan:
    return MountPlan(
        mount=mount,
        description=description,
        ca_ttl_seconds=ca_ttl_seconds,
        max_lease_ttl_seconds=ca_ttl_seconds,
        default_lease_ttl_seconds=min(DEFAULT_LEASE_TTL_SECONDS, ca_ttl_seconds),
        hygiene=mount_hygiene(settings, layout, mount),
    )


def build_root(settings: Settings, layout: Layout) -> RootPlan | None:
    """The Vault-held root (custody ``vault`` only)."""
    mount = layout.root_mount
    if mount is None:
        return None
    pki = settings.pki
    seconds = duration_seconds(pki.root_ttl)
    return RootPlan(
        mount=_mount_plan(
            settings, layout, mount, seconds, "Root CA (holds no roles; signs level-1 intermediates only)"
        ),
        common_name=root_common_name(settings),
        organization=pki.organization,
        ttl_seconds=seconds,
        max_path_length=required_root_path_length(settings),
        key_type=pki.key_type.value,
        key_bits=pki.key_bits,
    )


def build_chain(settings: Settings, layout: Layout, chain: ChainName) -> tuple[LevelPlan, ...]:
    """Every Vault-held level of one chain, level 1 first."""
    pki = settings.pki
    chain_settings = pki.chains.by_name(chain)
    mounts = layout.chain_mounts(chain)
    ttls = intermediate_ttls(chain_settings)
    root_mount = layout.root_mount
    constraints = chain_name_constraints(settings, layout, chain)
    levels: list[LevelPlan] = []
    for index, mount in enumerate(mounts):
        level = index + 1
        # the connect chain's deepest mount is its root generation's (layout.chain_mounts), every other the first
        generation = layout.connect_root_generation if chain is ChainName.CONNECT and level == len(mounts) else 1
        seconds = duration_seconds(ttls[index])
        # Level 1 is signed by the Vault-held root (if any); deeper levels by the level above.
        above = mounts[index - 1] if index > 0 else root_mount
        signer = above.path if above is not None else None
        levels.append(
            LevelPlan(
                chain=chain,
                level=level,
                mount=_mount_plan(settings, layout, mount, seconds, _level_description(chain, level, generation)),
                common_name=level_common_name(settings, chain, level),
                organization=pki.organization,
                ttl=ttls[index],
                ttl_seconds=seconds,
                max_path_length=level_path_length(chain, level, len(mounts)),
                constraints=constraints,
                key_type=pki.key_type.value,
                key_bits=pki.key_bits,
                signer_path=signer,
                issuer_name=f"{chain.value}-level{level}",
            )
        )
    return tuple(levels)


def _role(
    settings: Settings,
    layout: Layout,
    chain: ChainName,
    name: str,
    allowed_domains: tuple[str, ...],
    *,
    consul_server: bool = False,
    allow_subdomains: bool,
    allow_bare_domains: bool,
    client_flag: bool,
) -> RoleSpec:
    chain_settings = settings.pki.chains.by_name(chain)
    return RoleSpec(
        chain=chain,
        backend=layout.issuing_mount(chain).path,
        name=name,
        allowed_domains=allowed_domains,
        allow_subdomains=allow_subdomains,
        allow_bare_domains=allow_bare_domains,
        # The Consul server role is the one exception the chart contract (§4) justifies.
        allow_localhost=consul_server,
        allow_wildcard_certificates=consul_server,
        allow_ip_sans=consul_server,
        allow_glob_domains=False,
        allow_any_name=False,
        enforce_hostnames=True,
        server_flag=True,
        client_flag=client_flag,
        code_signing_flag=False,
        email_protection_flag=False,
        ttl=str(duration_seconds(chain_settings.leaf_ttl)),
        max_ttl=str(duration_seconds(chain_settings.leaf_max_ttl)),
        key_type=settings.pki.key_type.value,
        key_bits=settings.pki.key_bits,
        generate_lease=False,
        # Few certificates (servers, one gateway, one injector): keep them stored so they can be revoked.
        no_store=False,
        require_cn=True,
        basic_constraints_valid_for_non_ca=False,
        # Names come from the request's parameters, checked against allowed_domains, never from a CSR.
        use_csr_common_name=False,
        use_csr_sans=False,
        key_usages=ROLE_KEY_USAGES,
        # No extended key usage beyond server_flag/client_flag (no code signing, e-mail, OIDs).
        ext_key_usages=(),
        organizations=(settings.pki.organization,),
    )


def build_roles(settings: Settings, layout: Layout) -> tuple[RoleSpec, ...]:
    """The PKI roles: Consul servers, the API gateway and the injector webhook; none on a root or the mesh chain.

    A federation primary also holds one server role per secondary (``consul-server-<dc>``, the secondary's server
    names only); a secondary holds no server role (its servers use the one its primary keeps for it).
    """
    server = [
        _role(
            settings,
            layout,
            ChainName.SERVER,
            role_name,
            domains,
            consul_server=True,
            allow_subdomains=True,
            allow_bare_domains=True,
            client_flag=True,
        )
        for role_name, domains in server_roles(layout)
    ]
    return (
        *server,
        _role(
            settings,
            layout,
            ChainName.GATEWAY,
            layout.gateway_role,
            tuple(settings.pki.chains.gateway.domains),
            allow_subdomains=True,
            # An app's route hostname may equal a gateway domain (settings consistency allows it).
            allow_bare_domains=True,
            client_flag=False,
        ),
        _role(
            settings,
            layout,
            ChainName.WEBHOOK,
            layout.webhook_role,
            layout.webhook_dns_names,
            allow_subdomains=False,
            allow_bare_domains=True,
            client_flag=False,
        ),
    )


def server_roles(layout: Layout) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The server-TLS roles this stack keeps, with their allowed domains: its own (unless a secondary), then one
    per secondary of a federation primary.
    """
    if ChainName.SERVER not in layout.local_chains:
        return ()
    own = ((layout.server_role, layout.server_dns_domains),)
    secondaries = tuple(
        (layout.secondary_server_role(dc), layout.secondary_server_domains(dc))
        for dc in (layout.settings.topology.secondaries if layout.is_federation_primary else ())
    )
    return own + secondaries


def _level_description(chain: ChainName, level: int, generation: int) -> str:
    """A level's mount description; a later generation of a mount (the connect root's) says which it is."""
    description = f"{chain.value} chain, intermediate CA level {level}"
    return description if generation == 1 else f"{description}, generation {generation}"


def build_superseded(settings: Settings, layout: Layout, deepest: LevelPlan) -> dict[ChainName, LevelPlan]:
    """The connect root's previous generation while a later one is declared: the deepest level as it was, in its
    own mount (same key type, constraints and TTL, so Consul's old root can cross-sign the new one).
    """
    mount = layout.superseded_connect_root_mount
    if mount is None:
        return {}
    generation = layout.connect_root_generation - 1
    plan = _mount_plan(
        settings, layout, mount, deepest.ttl_seconds, _level_description(deepest.chain, deepest.level, generation)
    )
    return {ChainName.CONNECT: replace(deepest, mount=plan)}


def build_plan(settings: Settings, layout: Layout) -> PkiPlan:
    """The PKI plan of a stack (pure; cheap)."""
    chains = {chain: build_chain(settings, layout, chain) for chain in layout.local_chains}
    return PkiPlan(
        custody=settings.pki.root_custody,
        root=build_root(settings, layout),
        chains=chains,
        roles=build_roles(settings, layout),
        root_common_name=root_common_name(settings),
        superseded=(
            build_superseded(settings, layout, chains[ChainName.CONNECT][-1]) if ChainName.CONNECT in chains else {}
        ),
    )
