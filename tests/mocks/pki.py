"""Canned computed outputs of the PKI resources under mocks.

CSRs are real (a key per resource name, cached for the test session) so the external custody's
phase-two verification can be exercised: a test signs ``CSR_KEYS[<csr resource name>]``'s CSR with its
own root and feeds the certificate back through config. Certificates Vault would sign are real X.509
certificates whose common name is the resource's name (so tests can follow how chains are bundled) and whose
notAfter is :data:`MOCK_NOW` plus the request's ``ttl``, as Vault computes it (builtin/logical/pki
issuing/issue_common.go: ``notAfter = now + ttl``), so the program's not-after outputs are parsed for real.
They are deterministic (an Ed25519 key seeded from the label), so a test rebuilds the exact PEM with
:func:`fake_certificate`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from secure_mesh.settings import duration_seconds

MOCK_NOW = datetime(2026, 1, 1, tzinfo=UTC)
"""The 'now' every mocked certificate is issued at (notBefore), so notAfter = MOCK_NOW + ttl is stable."""

CSR_KEYS: dict[str, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey] = {}
"""The private key behind each mocked CSR, by resource name (the 'Vault-held' key)."""

_CSRS: dict[tuple[str, str, str, int], str] = {}


def vault_ttl_seconds(ttl: Any) -> int:
    """A ``ttl`` request parameter as Vault reads it: bare seconds or a Go-style duration (parseutil)."""
    text = str(ttl)
    return int(text) if text.isdigit() else duration_seconds(text)


@cache
def fake_certificate(label: str, ttl_seconds: int) -> str:
    """A real CA certificate named ``label`` (its CN), valid from :data:`MOCK_NOW` for ``ttl_seconds``.

    Deterministic: the Ed25519 key is seeded from the label, Ed25519 signatures are deterministic, and the
    serial comes from the label, so the same arguments give byte-identical PEM.
    """
    digest = hashlib.sha256(label.encode()).digest()
    key = ed25519.Ed25519PrivateKey.from_private_bytes(digest)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(digest[:8], "big") | 1)
        .not_valid_before(MOCK_NOW)
        .not_valid_after(MOCK_NOW + timedelta(seconds=ttl_seconds))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, None)
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def mock_not_after(ttl_seconds: int) -> str:
    """The ISO-8601 notAfter of a mocked certificate with this TTL (what the program's outputs must show)."""
    return (MOCK_NOW + timedelta(seconds=ttl_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(name: str, key_type: str, key_bits: int) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if name not in CSR_KEYS:
        if key_type == "rsa":
            CSR_KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
        else:
            CSR_KEYS[name] = ec.generate_private_key(ec.SECP384R1() if key_bits == 384 else ec.SECP256R1())
    return CSR_KEYS[name]


def make_csr(name: str, common_name: str, organization: str, key_type: str = "ec", key_bits: int = 256) -> str:
    """A CSR like Vault's for an intermediate (CA basic constraints requested), cached per resource name."""
    cache_key = (name, common_name, key_type, key_bits)
    if cache_key not in _CSRS:
        key = _key(name, key_type, key_bits)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(subject)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        _CSRS[cache_key] = csr.public_bytes(serialization.Encoding.PEM).decode()
    return _CSRS[cache_key]


def _root_cert(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    certificate = fake_certificate(name, vault_ttl_seconds(inputs["ttl"]))
    return {
        "certificate": certificate,
        "issuingCa": certificate,
        "issuerId": f"{name}-issuer-id",
        "keyId": f"{name}-key-id",
        "serialNumber": "01",
    }


def _csr(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "csr": make_csr(
            name,
            inputs["commonName"],
            inputs.get("organization", "secure-mesh"),
            inputs.get("keyType", "ec"),
            int(inputs.get("keyBits", 256)),
        ),
        "keyId": f"{name}-key-id",
        "privateKeyType": "",
    }


def _sign(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    certificate = fake_certificate(name, vault_ttl_seconds(inputs["ttl"]))
    issuer = fake_certificate(f"issuer of {name}", vault_ttl_seconds(inputs["ttl"]))
    return {
        "certificate": certificate,
        "issuingCa": issuer,
        "caChains": [issuer],
        "certificateBundle": certificate,
        "serialNumber": "02",
    }


def _set_signed(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"importedIssuers": [f"{name}-issuer-id", f"{name}-parent-issuer-id"], "importedKeys": []}


def _issuer(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"issuerId": inputs.get("issuerRef") or f"{name}-issuer-id"}


def _kms_signed(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"certificate": fake_certificate(name, int(inputs["ttl_seconds"])), "serial_number": "03"}


OUTPUTS = {
    "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert": _root_cert,
    "vault:pkiSecret/secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest": _csr,
    "vault:pkiSecret/secretBackendRootSignIntermediate:SecretBackendRootSignIntermediate": _sign,
    "vault:pkiSecret/secretBackendIntermediateSetSigned:SecretBackendIntermediateSetSigned": _set_signed,
    "vault:pkiSecret/secretBackendIssuer:SecretBackendIssuer": _issuer,
    "pulumi-python:dynamic/pki:KmsSignedLevel1": _kms_signed,
}
