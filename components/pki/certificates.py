"""Pure checks on the certificates that cross the offline boundary: roots, level-1 CSRs and signed level 1s.

Used at deploy time by the ``external`` custody (a certificate an operator signed offline must match the
CSR Vault made and chain to the configured root) and by the KMS signer (a CSR must ask for exactly the
chain's own name before the root key signs it). Every failure is a :class:`CertificateCheckError` whose
message names the chain and says what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

_EC_CURVES = {256: "secp256r1", 384: "secp384r1"}


class CertificateCheckError(ValueError):
    """A certificate, CSR or root does not fit the chain it is meant for."""


@dataclass(frozen=True)
class Level1Requirements:
    """What the level-1 intermediate of one chain must be (from the PKI plan)."""

    chain: str
    common_name: str
    max_path_length: int
    permitted_dns_domains: tuple[str, ...]
    key_type: str
    key_bits: int


def load_certificate(pem: str, what: str) -> x509.Certificate:
    """Parse one PEM certificate, failing with a message that says which one."""
    try:
        return x509.load_pem_x509_certificate(pem.strip().encode())
    except ValueError as error:
        raise CertificateCheckError(f"{what} is not a valid PEM certificate: {error}") from None


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


def verify_signed_level1(
    certificate_pem: str,
    csr_pem: str,
    root_pem: str,
    requirements: Level1Requirements,
    source: str = "pki.external.signedIntermediates",
) -> None:
    """Verify a signed level-1 certificate against its CSR and the root; raise naming what does not match.

    Checks: the certificate carries the CSR's public key; its issuer is the root's subject and the root's
    key signed it; it is a CA (basic constraints, critical) whose path length leaves room for the levels
    below; it may sign certificates (key usage keyCertSign); its validity lies inside the root's.
    """
    what = f"the signed level-1 certificate of chain '{requirements.chain}' ({source})"
    cert = load_certificate(certificate_pem, what)
    csr = load_csr(csr_pem, f"the level-1 CSR of chain '{requirements.chain}'")
    root = load_certificate(root_pem, "the root certificate")
    if public_key_der(cert) != public_key_der(csr):
        raise CertificateCheckError(
            f"{what} does not match its CSR: its public key differs from the key Vault holds for this chain. "
            "Sign the CSR this stack exports (pulumi stack output), not another one"
        )
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
    if constraints.path_length is not None and constraints.path_length < requirements.max_path_length:
        raise CertificateCheckError(
            f"{what} has path length {constraints.path_length}; this chain needs at least "
            f"{requirements.max_path_length} CA levels below level 1"
        )
    root_constraints = _basic_constraints(root)
    if root_constraints is not None and root_constraints.path_length is not None:
        below = constraints.path_length
        if below is None or below >= root_constraints.path_length:
            raise CertificateCheckError(
                f"{what} has path length {below}, which the root's path length {root_constraints.path_length} "
                "does not allow"
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
