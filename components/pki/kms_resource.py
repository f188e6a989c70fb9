"""A Pulumi dynamic resource that signs a chain's level-1 CSR with the root key in AWS KMS.

Its state holds only public data (the CSR, the root certificate, the signed certificate, the plan's
constraints); the root key stays in KMS and AWS credentials come from the deploying environment. Every
property that decides what the certificate may do (the level's mount, path length, TTL, name constraints,
the root's CRL and AIA URLs) is a plain input, so the policy pack checks the KMS-signed level exactly like a
Vault-signed one, also during preview.
Any change of an input means a new certificate, so every change replaces; deleting does nothing (an
offline root publishes no CRL the program could update; the old certificate simply expires).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from .certificates import Level1Requirements, NameConstraints

SIGNED_INPUTS = (
    "key_id",
    "region",
    "root_certificate_pem",
    "csr",
    "mount",
    "chain",
    "common_name",
    "ttl_seconds",
    "max_path_length",
    "permitted_dns_domains",
    "permitted_uri_domains",
    "permitted_ip_ranges",
    "excluded_ip_ranges",
    "crl_distribution_points",
    "issuing_certificates",
    "key_type",
    "key_bits",
)
"""Inputs that decide the certificate; changing any of them signs a new one."""


def _strings(props: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(v) for v in props.get(key) or ())


def _requirements(props: dict[str, Any]) -> Level1Requirements:
    return Level1Requirements(
        chain=str(props["chain"]),
        common_name=str(props["common_name"]),
        max_path_length=int(props["max_path_length"]),
        permitted_dns_domains=_strings(props, "permitted_dns_domains"),
        key_type=str(props["key_type"]),
        key_bits=int(props["key_bits"]),
        constraints=NameConstraints(
            permitted_dns_domains=_strings(props, "permitted_dns_domains"),
            permitted_uri_domains=_strings(props, "permitted_uri_domains"),
            permitted_ip_ranges=_strings(props, "permitted_ip_ranges"),
            excluded_ip_ranges=_strings(props, "excluded_ip_ranges"),
        ),
        crl_distribution_points=_strings(props, "crl_distribution_points"),
        issuing_certificates=_strings(props, "issuing_certificates"),
    )


class KmsLevel1SignerProvider(pulumi.dynamic.ResourceProvider):
    """Create = check the CSR, sign it through KMS, verify the result; nothing else talks to AWS."""

    client: Any = None
    """A KMS client to use instead of one built from the environment (tests)."""

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        """Sign the CSR and return the certificate (public) as the resource's state."""
        from .kms import KmsSigner, sign_level1_csr

        signer = KmsSigner(str(props["key_id"]), str(props["region"]), client=self.client)
        certificate = sign_level1_csr(
            signer,
            str(props["root_certificate_pem"]),
            str(props["csr"]),
            _requirements(props),
            int(props["ttl_seconds"]),
        )
        from cryptography import x509

        serial = format(x509.load_pem_x509_certificate(certificate.encode()).serial_number, "x")
        return pulumi.dynamic.CreateResult(
            id_=serial, outs={**props, "certificate": certificate, "serial_number": serial}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        """Any change to what the certificate says replaces it (a certificate cannot be edited)."""
        changed = [key for key in SIGNED_INPUTS if olds.get(key) != news.get(key)]
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: the certificate is not stored anywhere the program controls."""


@dataclass(frozen=True)
class KmsSignedLevel1Args:
    """What to sign: the chain's level-1 CSR (from Vault) and the plan's constraints (plain values)."""

    key_id: str
    region: str
    root_certificate_pem: str
    csr: pulumi.Input[str]
    requirements: Level1Requirements
    ttl_seconds: int
    mount: str
    """The Vault mount whose CSR is signed (plain, so rules can place the level in its chain during preview)."""


class KmsSignedLevel1(pulumi.dynamic.Resource, module="pki", name="KmsSignedLevel1"):
    """A level-1 intermediate certificate signed by the KMS root key."""

    certificate: pulumi.Output[str]
    serial_number: pulumi.Output[str]

    def __init__(self, name: str, args: KmsSignedLevel1Args, opts: pulumi.ResourceOptions | None = None) -> None:
        requirements = args.requirements
        constraints = requirements.name_constraints
        props: dict[str, Any] = {
            "key_id": args.key_id,
            "region": args.region,
            "root_certificate_pem": args.root_certificate_pem,
            "csr": args.csr,
            "mount": args.mount,
            "chain": requirements.chain,
            "common_name": requirements.common_name,
            "ttl_seconds": args.ttl_seconds,
            "max_path_length": requirements.max_path_length,
            "permitted_dns_domains": list(constraints.permitted_dns_domains),
            "permitted_uri_domains": list(constraints.permitted_uri_domains),
            "permitted_ip_ranges": list(constraints.permitted_ip_ranges),
            "excluded_ip_ranges": list(constraints.excluded_ip_ranges),
            "crl_distribution_points": list(requirements.crl_distribution_points),
            "issuing_certificates": list(requirements.issuing_certificates),
            "key_type": requirements.key_type,
            "key_bits": requirements.key_bits,
            "certificate": None,
            "serial_number": None,
        }
        super().__init__(KmsLevel1SignerProvider(), name, props, opts)
