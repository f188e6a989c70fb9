"""PKI scope: what every CA level may sign and what every role may issue, whatever shape the change takes.

CA levels (class "CA constraints on every level, however signed") are read from the three shapes that
carry them (:mod:`.pki_levels`): Vault's ``root/sign-intermediate``, the KMS-signed level-1 dynamic
resource, and an offline-signed certificate imported with ``intermediate/set-signed``. Each level must
bound the CAs below it (path length) and the names below it (DNS, URI and IP name constraints) to its
chain's purpose, which the stack rule reads from the Consul chart's values: the server chain issues the
chart's server names and ``127.0.0.1``; the mesh chain Consul's names and SPIFFE ids under ``.consul``; the
webhook chain the injector's names; every other chain (the API gateway) public names only.

Roles (class "PKI role scope") may issue only TLS server/client certificates for their declared names:
no other key usage or extended key usage, no CSR-supplied names, no URI or other SANs, no whole
top-level domain, no cluster-internal names on a public chain, nothing outside the chain's constraints.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from . import types as t
from .chart import ConsulValues, consul_values, split_issue
from .documents import value_at
from .framework import UNSET, Res, StackView, as_bool, as_list, resource_rule, stack_rule
from .pki import consul_server_exception, federation_server_roles
from .pki_levels import EXCLUDE_ALL, Level, chain_up, kms_level, levels, vault_level

Finding = tuple[str, str | None]

LEAF_KEY_USAGES = frozenset({"digitalsignature", "keyagreement", "keyencipherment"})
"""Key usages a TLS leaf needs (Vault's role default); CertSign, CRLSign, ContentCommitment, … are beyond it."""

INTERNAL_SUFFIXES = ("svc", "cluster.local", "local", "internal", "localhost", "consul")
"""DNS suffixes that only mean something inside a cluster (Kubernetes services, mDNS, Consul's own domain)."""

MESH_TRUST_DOMAIN_SUFFIX = "consul"
"""Consul's SPIFFE trust domains are ``<cluster-id>.consul`` (consul agent/connect/uri_signing.go)."""


# ------------------------------------------------------------------------------------------ names


def within(name: str, domain: str) -> bool:
    """Whether a DNS name (or URI host, or constraint) lies at or under a domain (RFC 5280 style, dots ignored)."""
    name, domain = name.lower().strip(".").removeprefix("*."), domain.lower().strip(".")
    return bool(domain) and (name == domain or name.endswith("." + domain))


def within_any(name: str, domains: Sequence[str]) -> bool:
    """Whether a name lies under one of the domains."""
    return any(within(name, d) for d in domains)


def is_internal(name: str, consul_domains: Sequence[str] = ("consul",)) -> bool:
    """Whether a DNS name only exists inside a cluster: a single label, a Kubernetes service, Consul's domain."""
    bare = name.lower().strip(".").removeprefix("*.")
    return "." not in bare or within_any(bare, (*INTERNAL_SUFFIXES, *consul_domains))


def _networks(ranges: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    try:
        return [ipaddress.ip_network(r, strict=False) for r in ranges]
    except ValueError:
        return None


def _inside(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
    allowed: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    return any(network.version == a.version and network.subnet_of(a) for a in allowed)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ one level


def _level_problems(level: Level) -> Iterator[str]:
    """What one level gets wrong on its own, without knowing its chain."""
    if level.path_length is None or level.path_length < 0:
        yield level.finding(
            "path_length",
            level.res.get(level.fields["path_length"], UNSET) if level.how != "external" else None,
            "no path length: any number of CA levels may follow below this one",
            "set max_path_length to the number of CA levels below this one (0 on the issuing CA)",
        )
    networks = _networks(level.ip)
    if networks is None:
        yield level.finding("ip", level.ip, "not CIDR ranges", "write IP ranges as CIDR (127.0.0.1/32)")
    elif any(n.prefixlen == 0 for n in networks):
        yield level.finding(
            "ip", level.ip, "permits every IP address", "permit only the addresses the chain issues, or exclude all"
        )
    for key, values in (("dns", level.dns), ("uri", level.uri)):
        wild = [v for v in values if not v.strip(".") or "*" in v]
        if wild:
            yield level.finding(key, values, f"{wild} permit any name", "list exact domains (no '*', no empty entry)")


@resource_rule(
    "PKI-NAME-CONSTRAINTS",
    part="level",
    checks="Every CA level signed in Vault or through the KMS root key has a path length, permits no IP range "
    "covering every address, has no wildcard or empty name constraint, takes nothing from its CSR "
    "(use_csr_values), and a KMS-signed level points at the root's CRL and certificate.",
    why="RFC 5280 §4.2.1.9/§4.2.1.10: path length and name constraints bound what a compromised CA can mint; "
    "use_csr_values copies the CSR's names and extensions; a level without the root's CRL cannot be revoked.",
    fix="Set max_path_length (0 on the issuing CA), CIDR ranges narrower than /0, use_csr_values = false, and "
    "crl_distribution_points/issuing_certificates from pki.rootCrlUrls/rootIssuerUrls.",
    types=(t.PKI_SIGN_INTERMEDIATE, t.PKI_KMS_LEVEL1),
)
def pki_name_constraints_level(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """One level's own bounds."""
    level = kms_level(res) if res.type == t.PKI_KMS_LEVEL1 else vault_level(res, None)
    yield from _level_problems(level)
    if res.type == t.PKI_SIGN_INTERMEDIATE and as_bool(res.get("useCsrValues"), False):
        yield res.finding(
            "useCsrValues",
            True,
            "the CSR's subject, SANs and extensions go into the CA certificate",
            "set use_csr_values = false",
        )
    if res.type == t.PKI_KMS_LEVEL1:
        for key, what in (("crl", "crl_distribution_points"), ("aia", "issuing_certificates")):
            if not level.extras.get(key):
                yield res.finding(
                    what,
                    res.get(what, UNSET),
                    "the level-1 certificate does not point at the offline root's "
                    + ("CRL, so it cannot be revoked" if key == "crl" else "certificate (AIA)"),
                    "set pki.rootCrlUrls and pki.rootIssuerUrls",
                )


# ------------------------------------------------------------------------------------- purposes


def _issue_mount(values: ConsulValues, key: str) -> str | None:
    issue = values.issue_paths().get(key)
    split = split_issue(issue) if issue else None
    return split[0] if split else None


def _roles_at(view: StackView, mount: str | None) -> list[Res]:
    return [r for r in view.of(t.PKI_ROLE) if mount is not None and str(r.get("backend", "")).strip("/") == mount]


class Purposes:
    """Which chain purpose every mount serves, read from the Consul chart's values and the roles."""

    def __init__(self, view: StackView) -> None:
        self.view = view
        self.levels = list(levels(view))
        """Every level, including any whose mount the stack does not show."""
        self.by_mount: dict[str, Level] = {}
        for level in self.levels:
            if level.mount is not None:
                self.by_mount.setdefault(level.mount, level)
        self.purpose: dict[str, str] = {}
        self.clients = False
        self.consul_domains: list[str] = []
        self.server_ips: list[str] = ["127.0.0.1/32"]
        self.allowed_names: dict[str, list[str]] = {}
        """Purpose → the allowed_domains of the role the chart uses for it (server, webhook)."""
        deepest: list[tuple[str, str]] = []
        for values in consul_values(view):
            self.clients = self.clients or values.clients_enabled
            domain = value_at(values.values, "global.domain")
            self.consul_domains.append(domain if isinstance(domain, str) and domain else "consul")
            for extra in as_list(value_at(values.values, "global.tls.serverAdditionalIPSANs")):
                self.server_ips.append(str(extra))
            for purpose, key in (
                ("server", "server.serverCert.secretName"),
                ("webhook", "global.secretsBackend.vault.connectInject.tlsCert.secretName"),
            ):
                mount = _issue_mount(values, key)
                if mount is not None:
                    deepest.append((mount, purpose))
                    issue = values.issue_paths().get(key) or ""
                    role_name = (split_issue(issue) or ("", ""))[1]
                    for res in _roles_at(view, mount):
                        if str(res.get("name")) == role_name:
                            self.allowed_names[purpose] = [str(d) for d in as_list(res.get("allowedDomains"))]
            # A federation primary's server chain also issues its secondaries' server names.
            for domains in federation_server_roles(view, values).values():
                current = self.allowed_names.get("server", [])
                self.allowed_names["server"] = [*current, *(d for d in domains if d not in current)]
            if values.root_pki_path:
                deepest.append((values.root_pki_path, "mesh"))
        self.chart_mounts = {mount for mount, _ in deepest}
        """Mounts a Consul chart path issues from (or signs with); roles elsewhere are public."""
        for role in view.of(t.PKI_ROLE):
            backend = str(role.get("backend", "")).strip("/")
            if backend not in self.chart_mounts:
                deepest.append((backend, "public"))
        for mount, purpose in deepest:
            for level in chain_up(self.by_mount, mount):
                if level.mount is not None:
                    self.purpose.setdefault(level.mount, purpose)

    def of(self, level: Level) -> str | None:
        """The purpose of a level's chain (None when no chart path or role sits below it)."""
        return self.purpose.get(level.mount or "")


def _ip_problems(level: Level, purpose: str, purposes: Purposes) -> Iterator[str]:
    if purpose == "server":
        allowed = _networks(purposes.server_ips) or []
        mine = _networks(level.ip) or []
        if not mine or any(not _inside(n, allowed) for n in mine):
            yield level.finding(
                "ip",
                level.ip,
                "the Consul server chain must permit only the IP SANs the chart requests "
                f"({', '.join(purposes.server_ips)})",
                "set permitted_ip_ranges to ['127.0.0.1/32'] (plus global.tls.serverAdditionalIPSANs)",
            )
        return
    if purpose == "mesh" and purposes.clients:
        return  # client agents' auto-encrypt certificates carry host and pod IPs the stack does not know
    if not level.excludes_every_ip:
        yield level.finding(
            "excluded_ip",
            level.excluded_ip,
            f"the {purpose} chain issues no IP SANs but this CA does not exclude every IP address "
            f"(permitted: {level.ip or 'none'})",
            "set excluded_ip_ranges to ['0.0.0.0/0', '::/0'] and permit no IP range",
        )


def _dns_problems(level: Level, purpose: str, purposes: Purposes) -> Iterator[str]:
    if purpose == "mesh":
        allowed = [MESH_TRUST_DOMAIN_SUFFIX, *(["localhost"] if purposes.clients else [])]
        outside = [d for d in level.dns if not within_any(d, allowed)]
        if outside:
            yield level.finding(
                "dns", level.dns, f"the mesh chain permits {outside}, outside Consul's names", f"permit only {allowed}"
            )
        uris = [u for u in level.uri if not within(u, MESH_TRUST_DOMAIN_SUFFIX)]
        if not level.uri or uris:
            yield level.finding(
                "uri",
                level.uri,
                "the mesh chain must permit only SPIFFE ids of Consul's trust domain "
                + (f"(it permits {uris})" if uris else "(no URI constraint: any SPIFFE id)"),
                "set permitted_uri_domains to ['.consul']",
            )
    elif purpose in ("server", "webhook"):
        names = purposes.allowed_names.get(purpose)
        if names is not None:
            allowed = [*names, *(["localhost"] if purpose == "server" else [])]
            outside = [d for d in level.dns if not within_any(d, allowed)]
            if outside:
                yield level.finding(
                    "dns",
                    level.dns,
                    f"the {purpose} chain permits {outside}, beyond the names the chart requests",
                    f"permit only {allowed}",
                )
    else:
        internal = [d for d in level.dns if is_internal(d, purposes.consul_domains)]
        if internal:
            yield level.finding(
                "dns",
                level.dns,
                f"the public chain permits cluster-internal names {internal}",
                "permit only the public domains the gateway serves",
            )


def _narrowing_problems(level: Level, parent: Level) -> Iterator[str]:
    if parent.dns:
        wider = [d for d in level.dns if not within_any(d, parent.dns)]
        if wider or not level.dns:
            yield level.finding(
                "dns",
                level.dns,
                f"wider than the CA above it ({parent.mount or 'level 1'} permits {parent.dns})",
                "a deeper CA repeats or narrows its signer's constraints",
            )
    if parent.excludes_every_ip and not level.excludes_every_ip:
        yield level.finding(
            "excluded_ip",
            level.excluded_ip,
            f"the CA above it ({parent.mount}) excludes every IP address but this one does not",
            "exclude 0.0.0.0/0 and ::/0 here too",
        )


@stack_rule(
    "PKI-NAME-CONSTRAINTS",
    part="chain",
    checks="Every CA level, whether Vault, the KMS root key or an offline operator signed it, carries the name "
    "constraints of its chain's purpose: the server chain only the chart's server names, localhost and "
    "127.0.0.1; the mesh chain only Consul's names and SPIFFE ids under .consul and no IP address (unless "
    "client agents run); the webhook chain only the injector's names and no IP; a public chain no "
    "cluster-internal name and no IP; a level no chart path or role reaches still some IP constraint; no level "
    "wider than the one above it; offline-signed levels have a path length.",
    why="RFC 5280 §4.2.1.10; Vault 1.19+ root/sign-intermediate permitted_uri_domains/permitted_ip_ranges/"
    "excluded_ip_ranges; consul-k8s chart: the server certificate asks for ip_sans=127.0.0.1 only.",
    fix="Sign each level with the chain's permitted_dns_domains, permitted_uri_domains ['.consul'] on the mesh "
    "chain, permitted_ip_ranges ['127.0.0.1/32'] on the server chain and excluded_ip_ranges "
    "['0.0.0.0/0', '::/0'] elsewhere.",
)
def pki_name_constraints_chain(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each level's constraints fit its chain's purpose and never widen down the chain."""
    purposes = Purposes(view)
    for level in purposes.levels:
        problems: list[str] = []
        if level.how == "external":
            problems.extend(_level_problems(level))
            if not level.dns:
                problems.append(
                    level.finding(
                        "dns",
                        level.dns,
                        "the offline-signed CA may issue for any name",
                        "sign it again with the chain's name constraints (see the external custody runbook)",
                    )
                )
        purpose = purposes.of(level)
        if purpose is not None:
            problems.extend(_ip_problems(level, purpose, purposes))
            problems.extend(_dns_problems(level, purpose, purposes))
        elif not purposes.clients and not level.ip and not level.excludes_every_ip:
            # A level no chart path or role sits below (yet): it still may not leave IP SANs open.
            problems.append(
                level.finding(
                    "excluded_ip",
                    level.excluded_ip,
                    f"the CA for {level.mount or 'an unknown mount'} has no IP constraint: it may sign any IP address",
                    "permit only the addresses its purpose issues, or exclude 0.0.0.0/0 and ::/0",
                )
            )
        parent = purposes.by_mount.get(level.signer)
        if parent is not None:
            problems.extend(_narrowing_problems(level, parent))
        for message in problems:
            yield message, level.res.urn


# ----------------------------------------------------------------------------------------- roles


def _flag(res: Res, key: str, default: bool) -> bool:
    return as_bool(res.get(key), default)


@resource_rule(
    "PKI-ROLE-HYGIENE",
    part="scope",
    checks="A role issues TLS certificates only: no key usage beyond DigitalSignature/KeyAgreement/KeyEncipherment, "
    "no extended key usage beyond server/client auth (no code signing, e-mail protection or EKU OIDs), no "
    "CA-style basic constraints, a common name required, names never taken from a CSR, no URI or other SANs, no "
    "glob or empty allowed domain, no subdomains of a whole top-level domain, and not both cluster-internal and "
    "public names.",
    why="Vault PKI role API: key_usage, ext_key_usage(_oids), code_signing_flag, email_protection_flag, "
    "use_csr_common_name/use_csr_sans (true by default), require_cn, allowed_uri_sans widen what a leaf is for.",
    fix="key_usage = [DigitalSignature, KeyAgreement, KeyEncipherment], ext_key_usage = [], code_signing_flag = "
    "email_protection_flag = basic_constraints_valid_for_non_ca = false, require_cn = true, use_csr_common_name = "
    "use_csr_sans = false, no allowed_uri_sans/allowed_other_sans, allowed_domains exact names of one purpose.",
    types=(t.PKI_ROLE,),
)
def pki_role_scope(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """A role's certificates can only be TLS leaves for its own names."""
    for key in ("codeSigningFlag", "emailProtectionFlag", "basicConstraintsValidForNonCa"):
        if _flag(res, key, False):
            yield res.finding(key, True, "certificates beyond a TLS leaf's purpose", f"set {key} = false")
    for key in ("extKeyUsages", "extKeyUsageOids"):
        extra = [str(v) for v in as_list(res.get(key)) if str(v).strip()]
        if extra:
            yield res.finding(key, extra, "extended key usages beyond server/client auth", f"set {key} = []")
    usages = [str(u) for u in as_list(res.get("keyUsages"))]
    beyond = [u for u in usages if u.lower().removeprefix("keyusage") not in LEAF_KEY_USAGES]
    if beyond:
        yield res.finding(
            "keyUsages", usages, f"{beyond} go beyond a TLS leaf", "use DigitalSignature, KeyAgreement, KeyEncipherment"
        )
    if not _flag(res, "requireCn", True):
        yield res.finding("requireCn", False, "certificates without a common name", "set require_cn = true")
    for key in ("useCsrCommonName", "useCsrSans"):
        if _flag(res, key, True):
            yield res.finding(
                key,
                res.get(key, UNSET),
                "names are taken from a CSR (Vault's default when unset)",
                f"set {key} = false explicitly",
            )
    for key in ("allowedUriSans", "allowedOtherSans"):
        extra = [str(v) for v in as_list(res.get(key)) if str(v).strip()]
        if extra:
            yield res.finding(key, extra, "SANs no TLS purpose here needs", f"set {key} = []")
    if _flag(res, "allowedUriSansTemplate", False) or _flag(res, "allowedDomainsTemplate", False):
        key = "allowedUriSansTemplate" if _flag(res, "allowedUriSansTemplate", False) else "allowedDomainsTemplate"
        yield res.finding(key, True, "names come from the caller's identity templates", f"set {key} = false")
    domains = [str(d) for d in as_list(res.get("allowedDomains"))]
    wild = [d for d in domains if not d.strip(".") or "*" in d or "?" in d]
    if wild:
        yield res.finding("allowedDomains", domains, f"{wild} match any name", "list exact domains")
    server = consul_server_exception(domains)
    if _flag(res, "allowSubdomains", False) and not server:
        whole = [d for d in domains if d.strip(".") and "." not in d.strip(".")]
        if whole:
            yield res.finding(
                "allowedDomains",
                domains,
                f"with allow_subdomains, {whole} allow every name under a whole top-level domain",
                "allow subdomains only of the purpose's own domain",
            )
    if not server:
        internal = [d for d in domains if is_internal(d)]
        public = [d for d in domains if not is_internal(d)]
        if internal and public:
            yield res.finding(
                "allowedDomains",
                domains,
                f"one role issues both cluster-internal {internal} and public {public} names",
                "give in-cluster and public names separate roles on separate chains",
            )


@stack_rule(
    "PKI-ROLE-HYGIENE",
    part="chain",
    checks="Every role's allowed domains lie inside the name constraints of every CA above its mount (Vault-, "
    "KMS- or offline-signed), a role on a chain that excludes every IP address does not allow IP SANs, and a "
    "role no Consul chart path uses (the public gateway role) allows no cluster-internal name.",
    why="Vault issues what a role allows even where a verifier will refuse it; a public listener certificate that "
    "names in-cluster services lets the gateway impersonate them.",
    fix="Keep allowed_domains to the chain's declared domains (pki.chains.gateway.domains for the gateway).",
)
def pki_role_chain(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Roles stay inside their chain's constraints and purpose."""
    purposes = Purposes(view)
    for role in view.of(t.PKI_ROLE):
        backend = str(role.get("backend", "")).strip("/")
        domains = [str(d) for d in as_list(role.get("allowedDomains"))]
        chain = chain_up(purposes.by_mount, backend)
        for level in chain:
            if level.dns:
                outside = [d for d in domains if not within_any(d, level.dns)]
                if outside:
                    yield (
                        role.finding(
                            "allowedDomains",
                            domains,
                            f"{outside} lie outside the name constraints of the CA in {level.mount} ({level.dns}); "
                            "Vault would issue certificates every verifier refuses, or the constraints were widened",
                            "allow only names inside the chain's permitted domains",
                        ),
                        role.urn,
                    )
                    break
        if _flag(role, "allowIpSans", True) and any(level.excludes_every_ip for level in chain):
            yield (
                role.finding(
                    "allowIpSans",
                    role.get("allowIpSans", UNSET),
                    "IP SANs on a chain that excludes every IP address",
                    "set allow_ip_sans = false",
                ),
                role.urn,
            )
        if backend not in purposes.chart_mounts:
            internal = [d for d in domains if is_internal(d, purposes.consul_domains or ("consul",))]
            if _flag(role, "allowLocalhost", True):
                internal.append("localhost (allow_localhost)")
            if internal:
                yield (
                    role.finding(
                        "allowedDomains",
                        domains,
                        f"a public role (no Consul chart path uses it) allows cluster-internal names {internal}",
                        "allow only the gateway's public domains (pki.chains.gateway.domains), allow_localhost = false",
                    ),
                    role.urn,
                )


__all__ = ["EXCLUDE_ALL", "is_internal", "within", "within_any"]
