"""Pure checks on the certificates that cross the offline boundary: roots, level-1 CSRs and signed level 1s.

Used at deploy time by the ``external`` custody (a certificate an operator signed offline must match the
CSR Vault made and chain to the configured root) and by the KMS signer (a CSR must ask for exactly the
chain's own name before the root key signs it). Every failure is a :class:`CertificateCheckError` whose
message names the chain and says what is wrong.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

_EC_CURVES = {256: "secp256r1", 384: "secp384r1"}


class CertificateCheckError(ValueError):
    """A certificate, CSR or root does not fit the chain it is meant for."""


EXCLUDE_ALL_IP_RANGES: tuple[str, ...] = ("0.0.0.0/0", "::/0")
"""Excluded IP subtrees that refuse every IPv4 and IPv6 SAN below a CA (RFC 5280 §4.2.1.10)."""


@dataclass(frozen=True)
class NameConstraints:
    """The RFC 5280 name constraints one CA carries: what every certificate below it may name.

    DNS and URI entries follow RFC 5280 §4.2.1.10: a DNS constraint ``example.com`` covers the name and every
    name under it; a URI constraint applies to the URI's host, and ``.consul`` (leading dot) covers every host
    under ``consul``. IP entries are CIDR ranges. Vault takes the same four lists on ``root/sign-intermediate``
    (``permitted_dns_domains``, ``permitted_uri_domains``, ``permitted_ip_ranges``, ``excluded_ip_ranges``;
    the last three since Vault 1.19, see vault builtin/logical/pki/fields.go).
    """

    permitted_dns_domains: tuple[str, ...]
    permitted_uri_domains: tuple[str, ...] = ()
    permitted_ip_ranges: tuple[str, ...] = ()
    excluded_ip_ranges: tuple[str, ...] = ()

    @property
    def excludes_every_ip(self) -> bool:
        """Whether no IP SAN at all may appear below this CA."""
        return set(EXCLUDE_ALL_IP_RANGES) <= set(self.excluded_ip_ranges)


@dataclass(frozen=True)
class Level1Requirements:
    """What the level-1 intermediate of one chain must be (from the PKI plan)."""

    chain: str
    common_name: str
    max_path_length: int
    permitted_dns_domains: tuple[str, ...]
    key_type: str
    key_bits: int
    constraints: NameConstraints | None = None
    """The full name constraints; None means DNS only (``permitted_dns_domains``)."""
    crl_distribution_points: tuple[str, ...] = ()
    """Where the root publishes its CRL: the level-1 certificate must point there (empty: no requirement)."""
    issuing_certificates: tuple[str, ...] = ()
    """Where the root's certificate is published (AIA caIssuers); empty: no requirement."""
    max_ttl_seconds: int | None = field(default=None)
    """The longest validity the level may have (None: only bounded by the root)."""

    @property
    def name_constraints(self) -> NameConstraints:
        """The name constraints level 1 must carry."""
        return self.constraints or NameConstraints(self.permitted_dns_domains)


def load_certificate(pem: str, what: str) -> x509.Certificate:
    """Parse one PEM certificate, failing with a message that says which one."""
    try:
        return x509.load_pem_x509_certificate(pem.strip().encode())
    except ValueError as error:
        raise CertificateCheckError(f"{what} is not a valid PEM certificate: {error}") from None


def not_after_iso(pem: str, what: str) -> str:
    """A PEM certificate's notAfter as an ISO-8601 UTC timestamp, ``YYYY-MM-DDTHH:MM:SSZ`` (sorts as text)."""
    return load_certificate(pem, what).not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def load_csr(pem: str, what: str) -> x509.CertificateSigningRequest:
    """Parse one PEM certificate signing request."""
    try:
        return x509.load_pem_x509_csr(pem.strip().encode())
    except ValueError as error:
        raise CertificateCheckError(f"{what} is not a valid PEM CSR: {error}") from None


def public_key_der(key: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    """The SubjectPublicKeyInfo of a certificate or CSR, for exact comparison."""
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def describe_key(key: object) -> str:
    """A short description of a public key (``ec P-384``, ``rsa 3072``)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ec {key.curve.name}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"rsa {key.key_size}"
    return type(key).__name__


def check_key_type(key: object, key_type: str, key_bits: int, what: str) -> None:
    """Fail unless the key is the chain's algorithm and size (one key type through the whole chain)."""
    if key_type == "ec":
        ok = isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _EC_CURVES.get(key_bits)
    else:
        ok = isinstance(key, rsa.RSAPublicKey) and key.key_size == key_bits
    if not ok:
        raise CertificateCheckError(
            f"{what} has a {describe_key(key)} key but pki.keyType/keyBits are {key_type} {key_bits}; "
            "every CA of a chain must use the same key type"
        )


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def _common_names(name: x509.Name) -> list[str]:
    return [str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]


def check_root(root_pem: str, key_type: str, key_bits: int, required_path_length: int, what: str) -> x509.Certificate:
    """Check a root certificate: a self-signed CA of the chain's key type whose path length allows the chains."""
    root = load_certificate(root_pem, what)
    constraints = _basic_constraints(root)
    if constraints is None or not constraints.ca:
        raise CertificateCheckError(f"{what} is not a CA certificate (basic constraints CA:TRUE missing)")
    try:
        root.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateCheckError(
            f"{what} is not self-signed (its signature does not verify with its own key)"
        ) from None
    check_key_type(root.public_key(), key_type, key_bits, what)
    if constraints.path_length is not None and constraints.path_length < required_path_length:
        raise CertificateCheckError(
            f"{what} allows {constraints.path_length} CA levels below it but the chains need "
            f"{required_path_length}; make a new root with --max-path-length {required_path_length} or more"
        )
    if root.not_valid_after_utc <= datetime.now(UTC):
        raise CertificateCheckError(f"{what} expired on {root.not_valid_after_utc:%Y-%m-%d}")
    return root


def _in_domains(name: str, domains: Sequence[str]) -> bool:
    name = name.lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
    return any(name == d.lower() or name.endswith("." + d.lower()) for d in domains)


def check_csr(csr_pem: str, requirements: Level1Requirements) -> x509.CertificateSigningRequest:
    """Check a level-1 CSR before the root signs it: valid signature, the chain's own name, the chain's key type."""
    what = f"the level-1 CSR of chain '{requirements.chain}'"
    csr = load_csr(csr_pem, what)
    if not csr.is_signature_valid:
        raise CertificateCheckError(f"{what} has an invalid signature (it was altered after Vault made it)")
    names = _common_names(csr.subject)
    if names != [requirements.common_name]:
        raise CertificateCheckError(
            f"{what} asks for common name {names or 'none'}; this chain's level 1 must be "
            f"'{requirements.common_name}' — refusing to sign a CSR for another purpose"
        )
    try:
        sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = None
    if sans is not None:
        outside = [
            n for n in sans.get_values_for_type(x509.DNSName) if not _in_domains(n, requirements.permitted_dns_domains)
        ]
        others = [g for g in sans if not isinstance(g, x509.DNSName)]
        if outside or others:
            raise CertificateCheckError(
                f"{what} asks for names outside the chain's purpose "
                f"({', '.join(outside + [str(g.value) for g in others])}); allowed DNS domains: "
                f"{', '.join(requirements.permitted_dns_domains)}"
            )
    check_key_type(csr.public_key(), requirements.key_type, requirements.key_bits, what)
    return csr


def _within_dns(name: str, domains: Sequence[str]) -> bool:
    """Whether a DNS (or URI host) constraint lies inside one of the allowed domains."""
    return _in_domains(name.lstrip("."), [d.lstrip(".") for d in domains])


def _networks(ranges: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(r, strict=False) for r in ranges]


def _subnet_of(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
    allowed: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    return any(
        network.version == other.version and network.subnet_of(other)  # type: ignore[arg-type]
        for other in allowed
    )


def check_name_constraints(cert: x509.Certificate, required: NameConstraints, what: str) -> None:
    """Fail unless a CA certificate's name constraints are at least as narrow as the chain's purpose allows.

    Narrower is accepted (an operator may constrain more); anything wider, or a missing kind, is refused:
    the critical NameConstraints extension must permit only DNS names (and, where required, URI hosts and IP
    ranges) inside the chain's own, and exclude every IP address where the chain issues none.
    """
    try:
        extension = cert.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        raise CertificateCheckError(
            f"{what} has no name constraints; it must permit only DNS names under "
            f"{', '.join(required.permitted_dns_domains)}"
        ) from None
    if not extension.critical:
        raise CertificateCheckError(f"{what} has name constraints that are not critical (RFC 5280 requires critical)")
    value = extension.value
    permitted = list(value.permitted_subtrees or [])
    excluded = list(value.excluded_subtrees or [])
    dns = [str(g.value) for g in permitted if isinstance(g, x509.DNSName)]
    if not dns or any(not _within_dns(d, required.permitted_dns_domains) for d in dns):
        raise CertificateCheckError(
            f"{what} permits DNS names {dns or 'without limit'}; this chain allows only "
            f"{', '.join(required.permitted_dns_domains)}"
        )
    if required.permitted_uri_domains:
        uris = [str(g.value) for g in permitted if isinstance(g, x509.UniformResourceIdentifier)]
        if not uris or any(not _within_dns(u, required.permitted_uri_domains) for u in uris):
            raise CertificateCheckError(
                f"{what} permits URI hosts {uris or 'without limit'}; this chain allows only "
                f"{', '.join(required.permitted_uri_domains)} (the mesh's SPIFFE trust domain)"
            )
    ips = [g.value for g in permitted if isinstance(g, x509.IPAddress)]
    excluded_ips = [g.value for g in excluded if isinstance(g, x509.IPAddress)]
    if required.excludes_every_ip:
        covered = {str(n) for n in excluded_ips}
        if ips or not set(EXCLUDE_ALL_IP_RANGES) <= covered:
            raise CertificateCheckError(
                f"{what} does not exclude every IP address (excluded {sorted(covered) or 'none'}, permitted "
                f"{[str(n) for n in ips] or 'none'}); this chain issues no IP SANs: exclude 0.0.0.0/0 and ::/0"
            )
    elif required.permitted_ip_ranges:
        allowed = _networks(required.permitted_ip_ranges)
        if not ips or any(not _subnet_of(n, allowed) for n in ips):  # type: ignore[arg-type]
            raise CertificateCheckError(
                f"{what} permits IP ranges {[str(n) for n in ips] or 'without limit'}; this chain allows only "
                f"{', '.join(required.permitted_ip_ranges)}"
            )


def _uris_of(cert: x509.Certificate, extension_class: type[x509.ExtensionType], access: bool) -> list[str]:
    value: Any
    try:
        value = cert.extensions.get_extension_for_class(extension_class).value
    except x509.ExtensionNotFound:
        return []
    found: list[str] = []
    for entry in value:
        if access:
            if entry.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS:
                found.append(str(entry.access_location.value))
        else:
            found.extend(str(name.value) for name in entry.full_name or [])
    return found


def check_revocation_urls(cert: x509.Certificate, requirements: Level1Requirements, what: str) -> None:
    """Fail unless the certificate points at the root's CRL and certificate (so level 1 can be revoked)."""
    crls = _uris_of(cert, x509.CRLDistributionPoints, access=False)
    missing = [u for u in requirements.crl_distribution_points if u not in crls]
    if missing:
        raise CertificateCheckError(
            f"{what} lacks the root's CRL distribution point(s) {', '.join(missing)} (it has {crls or 'none'}); "
            "sign it again with the CRL URL of pki.rootCrlUrls"
        )
    issuers = _uris_of(cert, x509.AuthorityInformationAccess, access=True)
    missing = [u for u in requirements.issuing_certificates if u not in issuers]
    if missing:
        raise CertificateCheckError(
            f"{what} lacks the root's AIA caIssuers URL(s) {', '.join(missing)} (it has {issuers or 'none'}); "
            "sign it again with the URL of pki.rootIssuerUrls"
        )


def check_signed_level1(
    certificate_pem: str,
    root_pem: str,
    requirements: Level1Requirements,
    source: str = "pki.external.signedIntermediates",
) -> x509.Certificate:
    """Check a signed level-1 certificate against the root and the chain's plan (everything but its CSR).

    Checks: its issuer is the root's subject and the root's key signed it; it is a CA (basic constraints,
    critical) whose path length leaves room for the levels below and fits under the root's; it may sign
    certificates (key usage keyCertSign); its validity lies inside the root's and is no longer than the plan
    allows; it carries the chain's name constraints and the root's CRL and AIA URLs.
    """
    what = f"the signed level-1 certificate of chain '{requirements.chain}' ({source})"
    cert = load_certificate(certificate_pem, what)
    root = load_certificate(root_pem, "the root certificate")
    if cert.issuer != root.subject:
        raise CertificateCheckError(
            f"{what} was issued by '{cert.issuer.rfc4514_string()}', not by the root '{root.subject.rfc4514_string()}'"
        )
    try:
        cert.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateCheckError(f"{what} is not signed by the root's key (signature check failed)") from None
    try:
        constraints_ext = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        raise CertificateCheckError(f"{what} is not a CA certificate (no basic constraints)") from None
    constraints = constraints_ext.value
    if not constraints.ca or not constraints_ext.critical:
        raise CertificateCheckError(f"{what} is not a CA certificate (basic constraints must be critical, CA:TRUE)")
    if constraints.path_length is None:
        raise CertificateCheckError(
            f"{what} has no path length; set exactly {requirements.max_path_length} (the CA levels below level 1)"
        )
    if constraints.path_length < requirements.max_path_length:
        raise CertificateCheckError(
            f"{what} has path length {constraints.path_length}; this chain needs at least "
            f"{requirements.max_path_length} CA levels below level 1"
        )
    root_constraints = _basic_constraints(root)
    root_path_length = root_constraints.path_length if root_constraints is not None else None
    if root_path_length is not None and constraints.path_length >= root_path_length:
        raise CertificateCheckError(
            f"{what} has path length {constraints.path_length}, which the root's path length "
            f"{root_path_length} does not allow"
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.key_cert_sign:
        raise CertificateCheckError(f"{what} may not sign certificates (key usage keyCertSign missing)")
    if cert.not_valid_before_utc < root.not_valid_before_utc or cert.not_valid_after_utc > root.not_valid_after_utc:
        raise CertificateCheckError(
            f"{what} is valid {cert.not_valid_before_utc:%Y-%m-%d}–{cert.not_valid_after_utc:%Y-%m-%d}, "
            f"outside the root's {root.not_valid_before_utc:%Y-%m-%d}–{root.not_valid_after_utc:%Y-%m-%d}"
        )
    lifetime = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
    if requirements.max_ttl_seconds is not None and lifetime > requirements.max_ttl_seconds:
        raise CertificateCheckError(
            f"{what} is valid for {lifetime / 3600:.0f}h; this chain's level 1 may live at most "
            f"{requirements.max_ttl_seconds // 3600}h"
        )
    check_name_constraints(cert, requirements.name_constraints, what)
    check_revocation_urls(cert, requirements, what)
    return cert


def verify_signed_level1(
    certificate_pem: str,
    csr_pem: str,
    root_pem: str,
    requirements: Level1Requirements,
    source: str = "pki.external.signedIntermediates",
) -> None:
    """Verify a signed level-1 certificate against its CSR, the root and the plan; raise naming what does not match.

    The certificate must carry the CSR's public key and pass :func:`check_signed_level1`.
    """
    what = f"the signed level-1 certificate of chain '{requirements.chain}' ({source})"
    cert = load_certificate(certificate_pem, what)
    csr = load_csr(csr_pem, f"the level-1 CSR of chain '{requirements.chain}'")
    if public_key_der(cert) != public_key_der(csr):
        raise CertificateCheckError(
            f"{what} does not match its CSR: its public key differs from the key Vault holds for this chain. "
            "Sign the CSR this stack exports (pulumi stack output), not another one"
        )
    check_signed_level1(certificate_pem, root_pem, requirements, source)
