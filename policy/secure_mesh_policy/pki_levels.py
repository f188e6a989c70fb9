"""Every CA level of a stack, however it was signed: by a Vault mount, by the root key in AWS KMS, or offline.

A level is what one CA certificate below the root may do: its lifetime, its path length and its name
constraints. Three resource shapes carry a level, and the rules read all three alike:

* ``SecretBackendRootSignIntermediate`` (Vault signs the CSR of the mount below it): the inputs
  ``ttl``, ``maxPathLength``, ``permittedDnsDomains``, ``permittedUriDomains``, ``permittedIpRanges``,
  ``excludedIpRanges``;
* the program's ``KmsSignedLevel1`` dynamic resource (the KMS root key signs level 1): the same values as
  plain snake_case inputs (``ttl_seconds``, ``max_path_length``, ``permitted_dns_domains``, …, ``mount``);
* ``SecretBackendIntermediateSetSigned`` whose certificate no resource of the stack signed (the
  ``external`` custody: an operator signed it offline): the certificate itself, parsed with asn1crypto.
  Its PEM is known whenever its CSR is (phase two runs after phase one made the CSRs).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509

from . import types as t
from .documents import duration_seconds
from .framework import Res, StackView, as_int, as_list, norm_path

OFFLINE_ROOT = "<offline root>"
"""The signer of a level signed outside Vault (KMS or offline): the root the stack does not hold."""

EXCLUDE_ALL = ("0.0.0.0/0", "::/0")
"""Excluded IP subtrees that refuse every IPv4 and IPv6 SAN below a CA."""

VAULT_FIELDS = {
    "ttl": "ttl",
    "path_length": "maxPathLength",
    "dns": "permittedDnsDomains",
    "uri": "permittedUriDomains",
    "ip": "permittedIpRanges",
    "excluded_ip": "excludedIpRanges",
}
KMS_FIELDS = {
    "ttl": "ttl_seconds",
    "path_length": "max_path_length",
    "dns": "permitted_dns_domains",
    "uri": "permitted_uri_domains",
    "ip": "permitted_ip_ranges",
    "excluded_ip": "excluded_ip_ranges",
}
EXTERNAL_FIELDS = {
    "ttl": "certificate (validity)",
    "path_length": "certificate (basic constraints pathLen)",
    "dns": "certificate (name constraints: permitted DNS)",
    "uri": "certificate (name constraints: permitted URI)",
    "ip": "certificate (name constraints: permitted IP)",
    "excluded_ip": "certificate (name constraints: excluded IP)",
}


@dataclass
class Level:
    """One CA level below the root and what it may sign."""

    res: Res
    how: str
    """``vault``, ``kms`` or ``external``."""
    signer: str
    """The signing mount, or :data:`OFFLINE_ROOT`."""
    mount: str | None
    """The mount that holds this CA (None when the stack does not say)."""
    ttl: int | None
    path_length: int | None
    """The most CA levels allowed below this one; None or negative: no limit."""
    dns: list[str]
    uri: list[str]
    ip: list[str]
    excluded_ip: list[str]
    fields: dict[str, str]
    """Which property of ``res`` each value came from (for messages)."""
    root_ttl: int | None = None
    """For an offline-signed level: the lifetime of the root certificate it names, when known."""
    extras: dict[str, list[str]] = field(default_factory=dict)
    """CRL distribution points and AIA caIssuers URLs (``crl``, ``aia``) of a KMS-signed level (the only kind whose
    pointers a rule checks: PKI-LEVEL-SCOPE)."""

    @property
    def excludes_every_ip(self) -> bool:
        """Whether no IP SAN may appear below this CA."""
        return set(EXCLUDE_ALL) <= set(self.excluded_ip) and not self.ip

    def finding(self, key: str, value: Any, problem: str, fix: str) -> str:
        """A finding about one of this level's values."""
        return self.res.finding(self.fields[key], value, problem, fix)


def _strings(value: Any) -> list[str]:
    return [str(v) for v in as_list(value)]


def vault_level(res: Res, mount: str | None) -> Level:
    """A level Vault signs (``SecretBackendRootSignIntermediate``)."""
    path_length = as_int(res.get("maxPathLength"))
    return Level(
        res=res,
        how="vault",
        signer=norm_path(res.get("backend")),
        mount=mount,
        ttl=duration_seconds(res.get("ttl")),
        path_length=path_length,
        dns=_strings(res.get("permittedDnsDomains")),
        uri=_strings(res.get("permittedUriDomains")),
        ip=_strings(res.get("permittedIpRanges")),
        excluded_ip=_strings(res.get("excludedIpRanges")),
        fields=VAULT_FIELDS,
    )


def kms_level(res: Res, mount: str | None = None) -> Level:
    """A level the KMS root key signs (the program's ``KmsSignedLevel1`` dynamic resource)."""
    path_length = as_int(res.get("max_path_length"))
    root = certificate_info(res.get("root_certificate_pem"))
    return Level(
        res=res,
        how="kms",
        signer=OFFLINE_ROOT,
        mount=norm_path(res.get("mount")) if res.get("mount") else mount,
        ttl=as_int(res.get("ttl_seconds")),
        path_length=path_length,
        dns=_strings(res.get("permitted_dns_domains")),
        uri=_strings(res.get("permitted_uri_domains")),
        ip=_strings(res.get("permitted_ip_ranges")),
        excluded_ip=_strings(res.get("excluded_ip_ranges")),
        fields=KMS_FIELDS,
        root_ttl=root.lifetime if root is not None else None,
        extras={"crl": _strings(res.get("crl_distribution_points")), "aia": _strings(res.get("issuing_certificates"))},
    )


# ---------------------------------------------------------------------------------- certificates


@dataclass
class CertificateInfo:
    """What a CA certificate says about the level (parsed from its PEM)."""

    lifetime: int
    path_length: int | None
    dns: list[str]
    uri: list[str]
    ip: list[str]
    excluded_ip: list[str]
    crl: list[str]
    aia: list[str]


def _certificates(text: Any) -> list[asn1_x509.Certificate]:
    if not isinstance(text, str) or "-----BEGIN CERTIFICATE-----" not in text:
        return []
    found = []
    try:
        for kind, _headers, der in asn1_pem.unarmor(text.strip().encode(), multiple=True):
            if kind == "CERTIFICATE":
                found.append(asn1_x509.Certificate.load(der))
    except (ValueError, TypeError):
        return found
    return found


def _subtrees(value: Any) -> tuple[list[str], list[str], list[str]]:
    dns: list[str] = []
    uri: list[str] = []
    ip: list[str] = []
    for subtree in value or []:
        name = subtree["base"]
        if name.name == "dns_name":
            dns.append(str(name.native))
        elif name.name == "uniform_resource_identifier":
            uri.append(str(name.native))
        elif name.name == "ip_address":
            ip.append(str(ipaddress.ip_network(str(name.native), strict=False)))
    return dns, uri, ip


def certificate_info(text: Any, index: int = 0) -> CertificateInfo | None:
    """The level facts of one certificate of a PEM bundle (``index`` -1: the last, e.g. the root)."""
    certificates = _certificates(text)
    if not certificates:
        return None
    cert = certificates[index]
    validity = cert["tbs_certificate"]["validity"]
    lifetime = int((validity["not_after"].native - validity["not_before"].native).total_seconds())
    basic = cert.basic_constraints_value
    path_length = basic["path_len_constraint"].native if basic is not None else None
    constraints = cert.name_constraints_value
    dns, uri, ip = _subtrees(constraints["permitted_subtrees"] if constraints is not None else None)
    _, _, excluded_ip = _subtrees(constraints["excluded_subtrees"] if constraints is not None else None)
    crl: list[str] = []
    for point in cert.crl_distribution_points_value or []:
        names = point["distribution_point"]
        if names.name == "full_name":
            crl.extend(str(n.native) for n in names.chosen if n.name == "uniform_resource_identifier")
    aia = [
        str(access["access_location"].native)
        for access in cert.authority_information_access_value or []
        if access["access_method"].native == "ca_issuers"
    ]
    return CertificateInfo(lifetime, path_length, dns, uri, ip, excluded_ip, crl, aia)


def external_level(res: Res) -> Level | None:
    """A level an operator signed offline, from the certificate a ``SecretBackendIntermediateSetSigned`` imports."""
    info = certificate_info(res.get("certificate"))
    if info is None:
        return None
    root = certificate_info(res.get("certificate"), -1) if len(_certificates(res.get("certificate"))) > 1 else None
    return Level(
        res=res,
        how="external",
        signer=OFFLINE_ROOT,
        mount=norm_path(res.get("backend")),
        ttl=info.lifetime,
        path_length=info.path_length,
        dns=info.dns,
        uri=info.uri,
        ip=info.ip,
        excluded_ip=info.excluded_ip,
        fields=EXTERNAL_FIELDS,
        root_ttl=root.lifetime if root is not None else None,
    )


# ------------------------------------------------------------------------------------------ stacks


def signed_mount(view: StackView, sign: Res) -> str | None:
    """The mount whose CSR a signing resource signs: via its ``csr``'s source, else the set-signed it feeds."""
    for source in view.sources_of(sign, "csr"):
        if source.type == t.PKI_INT_REQUEST:
            return norm_path(source.get("backend"))
    for setter in view.of(t.PKI_SET_SIGNED):
        if sign.urn in setter.property_dependencies.get("certificate", ()):
            return norm_path(setter.get("backend"))
    return None


def is_offline_import(view: StackView, setter: Res) -> bool:
    """Whether a set-signed imports a certificate no resource of the stack signed (decided from dependencies)."""
    signers = (t.PKI_SIGN_INTERMEDIATE, t.PKI_KMS_LEVEL1, t.PKI_SIGN)
    return not any(source.type in signers for source in view.sources_of(setter, "certificate"))


def levels(view: StackView) -> Iterator[Level]:
    """Every CA level of the stack below its root: Vault-signed, KMS-signed and offline-signed."""
    for sign in view.of(t.PKI_SIGN_INTERMEDIATE):
        yield vault_level(sign, signed_mount(view, sign))
    for kms in view.of(t.PKI_KMS_LEVEL1):
        yield kms_level(kms, signed_mount(view, kms) if not kms.get("mount") else None)
    for setter in view.of(t.PKI_SET_SIGNED):
        if is_offline_import(view, setter):
            level = external_level(setter)
            if level is not None:
                yield level


def chain_up(by_mount: dict[str, Level], mount: str) -> list[Level]:
    """The levels from a mount's CA up to the root, deepest first (stops at a loop or an unknown signer)."""
    found: list[Level] = []
    seen: set[str] = set()
    current: str | None = mount
    while current is not None and current in by_mount and current not in seen:
        seen.add(current)
        level = by_mount[current]
        found.append(level)
        current = level.signer if level.signer != OFFLINE_ROOT else None
    return found
