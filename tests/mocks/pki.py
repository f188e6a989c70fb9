"""Canned computed outputs of the PKI resources under mocks.

CSRs are real (a key per resource name, cached for the test session) so the external custody's
phase-two verification can be exercised: a test signs ``CSR_KEYS[<csr resource name>]``'s CSR with its
own root and feeds the certificate back through config. Certificates Vault would sign are placeholders
that name the resource, so tests can follow how chains are bundled.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

CSR_KEYS: dict[str, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey] = {}
"""The private key behind each mocked CSR, by resource name (the 'Vault-held' key)."""

_CSRS: dict[tuple[str, str, str, int], str] = {}


def fake_certificate(label: str) -> str:
    """A placeholder PEM block that names what it stands for."""
    return f"-----BEGIN CERTIFICATE-----\nMOCK {label}\n-----END CERTIFICATE-----\n"


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
    return {
        "certificate": fake_certificate(name),
        "issuingCa": fake_certificate(name),
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
    return {
        "certificate": fake_certificate(name),
        "issuingCa": fake_certificate(f"issuer of {name}"),
        "caChains": [fake_certificate(f"issuer of {name}")],
        "certificateBundle": fake_certificate(name),
        "serialNumber": "02",
    }


def _set_signed(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"importedIssuers": [f"{name}-issuer-id", f"{name}-parent-issuer-id"], "importedKeys": []}


def _issuer(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"issuerId": inputs.get("issuerRef") or f"{name}-issuer-id"}


def _kms_signed(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"certificate": fake_certificate(name), "serial_number": "03"}


OUTPUTS = {
    "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert": _root_cert,
    "vault:pkiSecret/secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest": _csr,
    "vault:pkiSecret/secretBackendRootSignIntermediate:SecretBackendRootSignIntermediate": _sign,
    "vault:pkiSecret/secretBackendIntermediateSetSigned:SecretBackendIntermediateSetSigned": _set_signed,
    "vault:pkiSecret/secretBackendIssuer:SecretBackendIssuer": _issuer,
    "pulumi-python:dynamic/pki:KmsSignedLevel1": _kms_signed,
}
