"""The ``aws-kms`` custody: certificates signed by a root key that never leaves AWS KMS.

``cryptography`` cannot sign with a key it does not hold, so certificates are assembled here as ASN.1
structures with ``asn1crypto`` (a TBSCertificate built from the CSR, the root and the chain's plan),
the TBS bytes are signed by KMS (``MessageType=RAW``: KMS hashes them, exactly as X.509 wants), and the
signature is wrapped into the final certificate. The result is parsed and verified with ``cryptography``
before it is returned. AWS credentials come from the environment (the standard boto3 chain); no key
material or credential is ever returned, logged or kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from asn1crypto import core as asn1_core
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .certificates import (
    CertificateCheckError,
    Level1Requirements,
    NameConstraints,
    check_csr,
    load_certificate,
    public_key_der,
    verify_signed_level1,
)

RAW_MESSAGE_LIMIT = 4096
"""KMS signs RAW messages up to 4096 bytes; a TBSCertificate is far smaller."""


@dataclass(frozen=True)
class KmsAlgorithm:
    """How one KMS key spec signs, in KMS's and in X.509's words."""

    key_spec: str
    signing_algorithm: str
    x509_algorithm: str
    key_type: str
    key_bits: int


KMS_ALGORITHMS: dict[str, KmsAlgorithm] = {
    a.key_spec: a
    for a in (
        KmsAlgorithm("ECC_NIST_P256", "ECDSA_SHA_256", "sha256_ecdsa", "ec", 256),
        KmsAlgorithm("ECC_NIST_P384", "ECDSA_SHA_384", "sha384_ecdsa", "ec", 384),
        KmsAlgorithm("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "sha256_rsa", "rsa", 2048),
        KmsAlgorithm("RSA_3072", "RSASSA_PKCS1_V1_5_SHA_384", "sha384_rsa", "rsa", 3072),
        KmsAlgorithm("RSA_4096", "RSASSA_PKCS1_V1_5_SHA_512", "sha512_rsa", "rsa", 4096),
    )
}


def kms_key_spec(key_type: str, key_bits: int) -> str:
    """The KMS key spec (``ECC_NIST_P384``, ``RSA_3072``) for a chain's key type and size."""
    for algorithm in KMS_ALGORITHMS.values():
        if algorithm.key_type == key_type and algorithm.key_bits == key_bits:
            return algorithm.key_spec
    raise ValueError(f"no KMS key spec for {key_type} {key_bits}")


class KmsSigner:
    """Signs bytes with an asymmetric ``SIGN_VERIFY`` KMS key; the private key stays in KMS."""

    def __init__(self, key_id: str, region: str, client: Any = None) -> None:
        self.key_id = key_id
        self.region = region
        if client is None:
            import boto3

            client = boto3.client("kms", region_name=region)
        self._client = client

    @cached_property
    def _public_key(self) -> dict[str, Any]:
        response: dict[str, Any] = self._client.get_public_key(KeyId=self.key_id)
        if response.get("KeyUsage") != "SIGN_VERIFY":
            raise CertificateCheckError(
                f"KMS key {self.key_id} has usage {response.get('KeyUsage')}; the root key must be SIGN_VERIFY"
            )
        # AWS returns KeySpec and its deprecated twin CustomerMasterKeySpec; some emulators only the latter.
        key_spec = response.get("KeySpec") or response.get("CustomerMasterKeySpec")
        if key_spec not in KMS_ALGORITHMS:
            raise CertificateCheckError(f"KMS key {self.key_id} is {key_spec}; use one of {', '.join(KMS_ALGORITHMS)}")
        return {**response, "KeySpec": key_spec}

    @property
    def algorithm(self) -> KmsAlgorithm:
        """The key's signing algorithm."""
        return KMS_ALGORITHMS[str(self._public_key["KeySpec"])]

    @property
    def public_key_info_der(self) -> bytes:
        """The key's SubjectPublicKeyInfo (DER), as KMS returns it."""
        return bytes(self._public_key["PublicKey"])

    def sign(self, message: bytes) -> bytes:
        """Sign a message with the KMS key (KMS hashes it: ``MessageType=RAW``)."""
        if len(message) > RAW_MESSAGE_LIMIT:
            raise CertificateCheckError(f"{len(message)} bytes is too long for a KMS RAW signature")
        response = self._client.sign(
            KeyId=self.key_id,
            Message=message,
            MessageType="RAW",
            SigningAlgorithm=self.algorithm.signing_algorithm,
        )
        return bytes(response["Signature"])


def _time(moment: datetime) -> asn1_x509.Time:
    moment = moment.replace(microsecond=0)
    return asn1_x509.Time(name="utc_time" if moment.year < 2050 else "general_time", value=moment)


def _signature_algorithm(signer: KmsSigner) -> asn1_x509.SignedDigestAlgorithm:
    name = signer.algorithm.x509_algorithm
    if name.endswith("_rsa"):
        return asn1_x509.SignedDigestAlgorithm({"algorithm": name, "parameters": asn1_core.Null()})
    return asn1_x509.SignedDigestAlgorithm({"algorithm": name})


def _key_identifier(spki_der: bytes) -> bytes:
    public_key = serialization.load_der_public_key(spki_der)
    return x509.SubjectKeyIdentifier.from_public_key(public_key).digest  # type: ignore[arg-type]


def _name_constraints(constraints: NameConstraints) -> dict[str, Any] | None:
    """The NameConstraints extension (critical) for a CA's DNS, URI and IP constraints."""
    permitted = [asn1_x509.GeneralName(name="dns_name", value=d) for d in constraints.permitted_dns_domains]
    permitted += [
        asn1_x509.GeneralName(name="uniform_resource_identifier", value=u) for u in constraints.permitted_uri_domains
    ]
    # asn1crypto encodes "a.b.c.d/len" as the address followed by its netmask, as RFC 5280 wants.
    permitted += [asn1_x509.GeneralName(name="ip_address", value=r) for r in constraints.permitted_ip_ranges]
    excluded = [asn1_x509.GeneralName(name="ip_address", value=r) for r in constraints.excluded_ip_ranges]
    value: dict[str, Any] = {}
    if permitted:
        value["permitted_subtrees"] = [{"base": name} for name in permitted]
    if excluded:
        value["excluded_subtrees"] = [{"base": name} for name in excluded]
    if not value:
        return None
    return {"extn_id": "name_constraints", "critical": True, "extn_value": value}


def _ca_extensions(
    subject_spki: bytes,
    issuer_spki: bytes,
    path_length: int,
    constraints: NameConstraints | None,
    crl_distribution_points: tuple[str, ...] = (),
    issuing_certificates: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    extensions: list[dict[str, Any]] = [
        {
            "extn_id": "basic_constraints",
            "critical": True,
            "extn_value": {"ca": True, "path_len_constraint": path_length},
        },
        {
            "extn_id": "key_usage",
            "critical": True,
            "extn_value": {"digital_signature", "key_cert_sign", "crl_sign"},
        },
        {"extn_id": "key_identifier", "critical": False, "extn_value": _key_identifier(subject_spki)},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": _key_identifier(issuer_spki)},
        },
    ]
    if constraints is not None:
        extension = _name_constraints(constraints)
        if extension is not None:
            extensions.append(extension)
    if crl_distribution_points:
        extensions.append(
            {
                "extn_id": "crl_distribution_points",
                "critical": False,
                "extn_value": [
                    {
                        "distribution_point": {
                            "full_name": [
                                asn1_x509.GeneralName(name="uniform_resource_identifier", value=url)
                                for url in crl_distribution_points
                            ]
                        }
                    }
                ],
            }
        )
    if issuing_certificates:
        extensions.append(
            {
                "extn_id": "authority_information_access",
                "critical": False,
                "extn_value": [
                    {
                        "access_method": "ca_issuers",
                        "access_location": asn1_x509.GeneralName(name="uniform_resource_identifier", value=url),
                    }
                    for url in issuing_certificates
                ],
            }
        )
    return extensions


def _sign_tbs(signer: KmsSigner, tbs: asn1_x509.TbsCertificate) -> str:
    signature = signer.sign(tbs.dump())
    certificate = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": _signature_algorithm(signer), "signature_value": signature}
    )
    parsed = x509.load_der_x509_certificate(certificate.dump())
    return parsed.public_bytes(serialization.Encoding.PEM).decode()


def build_root_certificate(
    signer: KmsSigner,
    common_name: str,
    organization: str,
    ttl_seconds: int,
    max_path_length: int,
    now: datetime | None = None,
) -> str:
    """The self-signed root certificate of a KMS key (the root ceremony), as PEM."""
    start = (now or datetime.now(UTC)).replace(microsecond=0)
    spki = signer.public_key_info_der
    name = asn1_x509.Name.build({"organization_name": organization, "common_name": common_name})
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": x509.random_serial_number(),
            "signature": _signature_algorithm(signer),
            "issuer": name,
            "validity": {"not_before": _time(start), "not_after": _time(start + timedelta(seconds=ttl_seconds))},
            "subject": name,
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(spki),
            "extensions": _ca_extensions(spki, spki, max_path_length, None),
        }
    )
    pem = _sign_tbs(signer, tbs)
    root = load_certificate(pem, "the new root certificate")
    root.verify_directly_issued_by(root)
    return pem


def sign_level1_csr(
    signer: KmsSigner,
    root_pem: str,
    csr_pem: str,
    requirements: Level1Requirements,
    ttl_seconds: int,
    now: datetime | None = None,
) -> str:
    """Sign a chain's level-1 CSR with the KMS root key; return the verified certificate as PEM.

    Refuses a CSR whose signature is broken or that asks for another name than the chain's level 1, a
    root that is not the KMS key's, and a validity that would outlast the root (rotate the root first).
    """
    csr = check_csr(csr_pem, requirements)
    root = load_certificate(root_pem, "pki.awsKms.rootCertificatePem")
    if public_key_der(root) != signer.public_key_info_der:
        raise CertificateCheckError(
            f"pki.awsKms.rootCertificatePem does not belong to KMS key {signer.key_id} (public keys differ); "
            "run the root ceremony with this key"
        )
    start = (now or datetime.now(UTC)).replace(microsecond=0)
    end = start + timedelta(seconds=ttl_seconds)
    if end > root.not_valid_after_utc:
        raise CertificateCheckError(
            f"level 1 of chain '{requirements.chain}' would be valid until {end:%Y-%m-%d}, after the root "
            f"expires ({root.not_valid_after_utc:%Y-%m-%d}); make a new root or shorten the intermediate TTL"
        )
    subject_spki = public_key_der(csr)
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": x509.random_serial_number(),
            "signature": _signature_algorithm(signer),
            "issuer": asn1_x509.Name.load(root.subject.public_bytes()),
            "validity": {"not_before": _time(start), "not_after": _time(end)},
            "subject": asn1_x509.Name.load(csr.subject.public_bytes()),
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(subject_spki),
            "extensions": _ca_extensions(
                subject_spki,
                signer.public_key_info_der,
                requirements.max_path_length,
                requirements.name_constraints,
                requirements.crl_distribution_points,
                requirements.issuing_certificates,
            ),
        }
    )
    pem = _sign_tbs(signer, tbs)
    verify_signed_level1(pem, csr_pem, root_pem, requirements, source="signed through KMS")
    return pem


def build_crl(
    signer: KmsSigner,
    root_pem: str,
    crl_number: int,
    next_update_seconds: int,
    revoked_serials: tuple[int, ...] = (),
    now: datetime | None = None,
) -> str:
    """A CRL of the KMS root (v2, with CRL number and authority key id), signed through KMS, as PEM.

    ``revoked_serials`` lists the level-1 certificates to revoke (empty: the root vouches that none is).
    Refuses a root certificate that is not the KMS key's; the result is verified with ``cryptography``.
    """
    root = load_certificate(root_pem, "the root certificate")
    if public_key_der(root) != signer.public_key_info_der:
        raise CertificateCheckError(
            f"the root certificate does not belong to KMS key {signer.key_id} (public keys differ)"
        )
    start = (now or datetime.now(UTC)).replace(microsecond=0)
    revoked = [{"user_certificate": serial, "revocation_date": _time(start)} for serial in sorted(set(revoked_serials))]
    fields: dict[str, Any] = {
        "version": "v2",
        "signature": _signature_algorithm(signer),
        "issuer": asn1_x509.Name.load(root.subject.public_bytes()),
        "this_update": _time(start),
        "next_update": _time(start + timedelta(seconds=next_update_seconds)),
    }
    if revoked:
        fields["revoked_certificates"] = revoked
    tbs = asn1_crl.TbsCertList(
        {
            **fields,
            "crl_extensions": [
                {"extn_id": "crl_number", "critical": False, "extn_value": crl_number},
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": _key_identifier(signer.public_key_info_der)},
                },
            ],
        }
    )
    signature = signer.sign(tbs.dump())
    certificate_list = asn1_crl.CertificateList(
        {"tbs_cert_list": tbs, "signature_algorithm": _signature_algorithm(signer), "signature": signature}
    )
    parsed = x509.load_der_x509_crl(certificate_list.dump())
    if not parsed.is_signature_valid(root.public_key()):  # type: ignore[arg-type]
        raise CertificateCheckError("the CRL KMS signed does not verify with the root's public key")
    return parsed.public_bytes(serialization.Encoding.PEM).decode()
