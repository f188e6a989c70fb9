"""Helpers for the PKI tests: an offline root held by the test, and look-ups into a mocked run."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from secure_mesh.pki.certificates import NameConstraints
from tests.harness import (
    ProgramMocks,
    ProgramRun,
    RecordingMonitor,
    RegisteredResource,
    _collect_mock_outputs,
    _reset_runtime,
    _resolve,
    run_program_expecting_failure,
)

T = "vault:pkiSecret/"
MOUNT = "vault:index/mount:Mount"
ROOT_CERT = f"{T}secretBackendRootCert:SecretBackendRootCert"
CSR = f"{T}secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest"
SIGN = f"{T}secretBackendRootSignIntermediate:SecretBackendRootSignIntermediate"
SET_SIGNED = f"{T}secretBackendIntermediateSetSigned:SecretBackendIntermediateSetSigned"
ISSUER = f"{T}secretBackendIssuer:SecretBackendIssuer"
DEFAULT_ISSUER = f"{T}secretBackendConfigIssuers:SecretBackendConfigIssuers"
URLS = f"{T}secretBackendConfigUrls:SecretBackendConfigUrls"
CRL = f"{T}secretBackendCrlConfig:SecretBackendCrlConfig"
TIDY = f"{T}backendConfigAutoTidy:BackendConfigAutoTidy"
ROLE = f"{T}secretBackendRole:SecretBackendRole"
KMS_SIGNED = "pulumi-python:dynamic/pki:KmsSignedLevel1"
PKI_PREFIX = "secure-mesh-pki"


def pki_resources(run: ProgramRun) -> list[RegisteredResource]:
    """The resources the CertificateAuthority registered (by name)."""
    return [r for r in run.resources if r.name.startswith(f"{PKI_PREFIX}-")]


def dependency_names(run: ProgramRun, resource: RegisteredResource) -> set[str]:
    """Names of the resources a resource depends on (explicitly or through its inputs)."""
    urns = set(resource.dependencies)
    for values in resource.property_dependencies.values():
        urns.update(values)
    return {run.by_urn(urn).name for urn in urns}


def by_backend(run: ProgramRun, type_token: str) -> dict[str, RegisteredResource]:
    """Resources of one type keyed by their ``backend`` input (one per mount)."""
    found: dict[str, RegisteredResource] = {}
    for resource in run.of_type(type_token):
        backend = resource.inputs["backend"]
        assert backend not in found, f"two {type_token} on {backend}: {found[backend].name}, {resource.name}"
        found[backend] = resource
    return found


def self_signed_certificate(common_name: str, *, days: int = 3650, ca: bool = True) -> str:
    """A throwaway self-signed certificate (public PEM) valid from 2026-01-01 for ``days``: a CA (basicConstraints
    CA, no path length) or, with ``ca=False``, one without the basicConstraints extension at all."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


class OfflineRoot:
    """A root CA whose key the test holds: stands in for the operator's offline root."""

    def __init__(
        self, common_name: str = "offline root CA", path_length: int | None = 4, curve: ec.EllipticCurve | None = None
    ) -> None:
        self.key = ec.generate_private_key(curve or ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.now(UTC)
        self.not_before = now - timedelta(days=1)
        self.not_after = now + timedelta(days=3650)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def sign(
        self,
        csr_pem: str,
        path_length: int | None = 2,
        ca: bool = True,
        days: int = 730,
        constraints: NameConstraints | None = None,
        crl_urls: tuple[str, ...] = (),
        issuer_urls: tuple[str, ...] = (),
        critical_constraints: bool = True,
    ) -> str:
        """Sign a CSR as an intermediate CA, the way an operator would offline (with the chain's constraints)."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.name)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, ca, ca, False, False), critical=True)
        )
        if constraints is not None:
            builder = builder.add_extension(name_constraints_extension(constraints), critical=critical_constraints)
        if crl_urls:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [x509.DistributionPoint([x509.UniformResourceIdentifier(u) for u in crl_urls], None, None, None)]
                ),
                critical=False,
            )
        if issuer_urls:
            builder = builder.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u)
                        )
                        for u in issuer_urls
                    ]
                ),
                critical=False,
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        return certificate.public_bytes(serialization.Encoding.PEM).decode()


def name_constraints_extension(constraints: NameConstraints) -> x509.NameConstraints:
    """The X.509 extension an operator's tooling writes for a chain's name constraints."""
    permitted: list[x509.GeneralName] = [x509.DNSName(d) for d in constraints.permitted_dns_domains]
    permitted += [x509.UniformResourceIdentifier(u) for u in constraints.permitted_uri_domains]
    permitted += [x509.IPAddress(ipaddress.ip_network(r)) for r in constraints.permitted_ip_ranges]
    excluded: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_network(r)) for r in constraints.excluded_ip_ranges]
    return x509.NameConstraints(permitted_subtrees=permitted or None, excluded_subtrees=excluded or None)


def make_csr(common_name: str, curve: ec.EllipticCurve | None = None, dns_names: tuple[str, ...] = ()) -> str:
    """A CSR like Vault's for an intermediate: CA basic constraints requested, key generated here."""
    key = ec.generate_private_key(curve or ec.SECP256R1())
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def expect_failure(config: dict[str, Any]) -> tuple[BaseException, list[RegisteredResource]]:
    """``run_program_expecting_failure``, then cancel what the failed run left on the event loop.

    A run that fails inside an ``apply`` leaves its other outputs pending on the shared loop; unless they
    are drained (and the runtime's RPC manager cleared) the old error fails the next mocked run of the session.
    """
    error, registered = run_program_expecting_failure(config)
    settle_failed_run()
    return error, registered


def settle_failed_run() -> None:
    """Cancel what a failed mocked run left on the shared event loop and clear the runtime's leftovers."""
    loop = asyncio.get_event_loop()
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    # set_mocks replaces neither the runtime's RPC manager (it still holds the failed run's exception) nor its
    # set of outstanding outputs (it still lists the tasks cancelled above).
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()


class AliasRecordingMonitor(RecordingMonitor):
    """A recording monitor that also keeps each resource's alias types (the request's alias specs)."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.alias_types: dict[str, list[str]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Register and record, noting the alias types the SDK sent."""
        self.alias_types[request.name] = [alias.spec.type for alias in request.aliases if alias.HasField("spec")]
        return super().RegisterResource(request)


def run_alone(
    program: Callable[[], object], project: str = "pki-alone", config: Mapping[str, str] | None = None
) -> tuple[ProgramRun, AliasRecordingMonitor]:
    """Run a program that is not secure-mesh's ``__main__.py`` (a component alone, an example) under the PKI mocks.

    Returns what it registered and exported (like :func:`tests.harness.run_program`) and the monitor (aliases).
    """
    mocks = ProgramMocks(_collect_mock_outputs())
    monitor = AliasRecordingMonitor(mocks)
    _reset_runtime()
    pulumi.runtime.set_mocks(mocks, project=project, stack="test", preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}))

    def main() -> None:
        program()

    _sync_await(run_pulumi_func(main))
    outputs = {
        name: _resolve(value)[0]
        for name, value in (getattr(pulumi.runtime.get_root_resource(), "outputs", None) or {}).items()
    }
    return ProgramRun(resources=list(monitor.recorded), outputs=outputs, secret_outputs=frozenset()), monitor

