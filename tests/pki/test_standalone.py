"""The CertificateAuthority alone: hand-written Args (no settings, layout or stack file) under mocks.

Checks the whole inputs of every resource of a small CA (a Vault-held root, a two-level server chain with its
role, a one-level connect chain), that the wire form (nested dicts, as Pulumi's component provider host passes
them) registers exactly the same resources, what the outputs resolve to and which resources they carry, and
that contradictory Args fail before anything is registered, naming the field.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import typing
from typing import Any

import pulumi
import pulumi_vault as vault
import pytest

from secure_mesh.args import ArgsError
from secure_mesh.pki.component import (
    CaChainArgs,
    CaLevelArgs,
    CaMountArgs,
    CertificateAuthority,
    CertificateAuthorityArgs,
    NameConstraintsArgs,
    PkiRoleArgs,
    RootArgs,
    VaultRootArgs,
)
from secure_mesh.vocabulary import ChainName, KeyType, RootCustody
from tests.harness import PROJECT_DIR, ProgramRun
from tests.mocks.pki import fake_certificate, mock_not_after

from .helpers import (
    CRL,
    CSR,
    DEFAULT_ISSUER,
    ISSUER,
    MOUNT,
    ROLE,
    ROOT_CERT,
    SET_SIGNED,
    SIGN,
    TIDY,
    URLS,
    dependency_names,
    run_alone,
)

VAULT = "https://vault.example.com:8200/v1"
YEAR = 365 * 24 * 3600
EXCLUDE_ALL = ("0.0.0.0/0", "::/0")


def _mount(path: str, description: str, ttl_seconds: int) -> CaMountArgs:
    return CaMountArgs(
        path=path,
        description=description,
        max_lease_ttl_seconds=ttl_seconds,
        default_lease_ttl_seconds=3600,
        issuing_certificates=(f"{VAULT}/{path}/ca",),
        crl_distribution_points=(f"{VAULT}/{path}/crl",),
    )


ARGS = CertificateAuthorityArgs(
    organization="Example Corp",
    key_type=KeyType.EC,
    key_bits=256,
    root=RootArgs(
        custody=RootCustody.VAULT,
        in_vault=VaultRootArgs(
            mount=_mount("pki/root", "Example root", 10 * YEAR),
            common_name="Example root CA",
            ttl_seconds=10 * YEAR,
            max_path_length=2,
        ),
    ),
    chains=(
        CaChainArgs(
            name=ChainName.SERVER,
            levels=(
                CaLevelArgs(
                    mount=_mount("pki/server/int1", "server level 1", 2 * YEAR),
                    common_name="Example server CA level 1",
                    ttl_seconds=2 * YEAR,
                    max_path_length=1,
                    issuer_name="server-level1",
                ),
                CaLevelArgs(
                    mount=_mount("pki/server/int2", "server level 2", YEAR),
                    common_name="Example server CA level 2",
                    ttl_seconds=YEAR,
                    max_path_length=0,
                    issuer_name="server-level2",
                ),
            ),
            name_constraints=NameConstraintsArgs(
                permitted_dns_domains=("dc1.consul", "localhost"), permitted_ip_ranges=("127.0.0.1/32",)
            ),
            role=PkiRoleArgs(
                name="consul-server",
                allowed_domains=("server.dc1.consul",),
                allow_subdomains=False,
                allow_bare_domains=True,
                ttl_seconds=86400,
                max_ttl_seconds=3 * 86400,
                client_flag=True,
                allow_localhost=True,
                allow_ip_sans=True,
            ),
        ),
        CaChainArgs(
            name=ChainName.CONNECT,
            levels=(
                CaLevelArgs(
                    mount=_mount("pki/connect/int1", "connect level 1", 2 * YEAR),
                    common_name="Example connect CA level 1",
                    ttl_seconds=2 * YEAR,
                    max_path_length=1,
                    issuer_name="connect-level1",
                ),
            ),
            name_constraints=NameConstraintsArgs(
                permitted_dns_domains=("consul",), permitted_uri_domains=(".consul",), excluded_ip_ranges=EXCLUDE_ALL
            ),
        ),
    ),
    connect_intermediate_pki_path="pki/connect/consul",
    connect_intermediate_ttl_seconds=YEAR,
    protect=False,
)


def _wire_mount(path: str, description: str, ttl_seconds: int) -> dict[str, Any]:
    return {
        "path": path,
        "description": description,
        "max_lease_ttl_seconds": ttl_seconds,
        "default_lease_ttl_seconds": 3600,
        "issuing_certificates": [f"{VAULT}/{path}/ca"],
        "crl_distribution_points": [f"{VAULT}/{path}/crl"],
    }


WIRE: dict[str, Any] = {
    "organization": "Example Corp",
    "key_type": "ec",
    "key_bits": 256,
    "root": {
        "custody": "vault",
        "in_vault": {
            "mount": _wire_mount("pki/root", "Example root", 10 * YEAR),
            "common_name": "Example root CA",
            "ttl_seconds": 10 * YEAR,
            "max_path_length": 2,
        },
    },
    "chains": [
        {
            "name": "server",
            "levels": [
                {
                    "mount": _wire_mount("pki/server/int1", "server level 1", 2 * YEAR),
                    "common_name": "Example server CA level 1",
                    "ttl_seconds": 2 * YEAR,
                    "max_path_length": 1,
                    "issuer_name": "server-level1",
                },
                {
                    "mount": _wire_mount("pki/server/int2", "server level 2", YEAR),
                    "common_name": "Example server CA level 2",
                    "ttl_seconds": YEAR,
                    "max_path_length": 0,
                    "issuer_name": "server-level2",
                },
            ],
            "name_constraints": {
                "permitted_dns_domains": ["dc1.consul", "localhost"],
                "permitted_ip_ranges": ["127.0.0.1/32"],
            },
            "role": {
                "name": "consul-server",
                "allowed_domains": ["server.dc1.consul"],
                "allow_subdomains": False,
                "allow_bare_domains": True,
                "ttl_seconds": 86400,
                "max_ttl_seconds": 3 * 86400,
                "client_flag": True,
                "allow_localhost": True,
                "allow_ip_sans": True,
            },
        },
        {
            "name": "connect",
            "levels": [
                {
                    "mount": _wire_mount("pki/connect/int1", "connect level 1", 2 * YEAR),
                    "common_name": "Example connect CA level 1",
                    "ttl_seconds": 2 * YEAR,
                    "max_path_length": 1,
                    "issuer_name": "connect-level1",
                }
            ],
            "name_constraints": {
                "permitted_dns_domains": ["consul"],
                "permitted_uri_domains": [".consul"],
                "excluded_ip_ranges": list(EXCLUDE_ALL),
            },
        },
    ],
    "connect_intermediate_pki_path": "pki/connect/consul",
    "connect_intermediate_ttl_seconds": YEAR,
    "protect": False,
}


def build(args: Any) -> CertificateAuthority:
    """The component alone, with an explicit Vault provider, plus consumers of its path outputs."""
    provider = vault.Provider("vault", address="https://vault.example.com:8200", skip_tls_verify=False)
    ca = CertificateAuthority("ca", args, pulumi.ResourceOptions(providers=[provider]))
    # Consumers: what they take from the outputs is what they wait for.
    vault.Policy(
        "issuer-user", name="issuer-user", policy=ca.issue_paths.apply(lambda p: p["server"]), opts=_with(provider)
    )
    vault.Policy("ca-reader", name="ca-reader", policy=ca.ca_paths.apply(lambda p: p["server"]), opts=_with(provider))
    vault.Policy(
        "server-issuing", name="server-issuing", policy=ca.issuing_paths[ChainName.SERVER], opts=_with(provider)
    )
    vault.Policy(
        "server-issue", name="server-issue", policy=ca.role_issue_paths[ChainName.SERVER], opts=_with(provider)
    )
    vault.Policy("mesh-ca", name="mesh-ca", policy=ca.connect_root_pki_path, opts=_with(provider))
    vault.Policy(
        "mesh-intermediate", name="mesh-intermediate", policy=ca.connect_intermediate_pki_path, opts=_with(provider)
    )
    vault.Policy("root-reader", name="root-reader", policy=ca.root_mount_path, opts=_with(provider))
    vault.Policy("mounts", name="mounts", policy=ca.mount_paths.apply(json.dumps), opts=_with(provider))
    vault.Policy("chains", name="chains", policy=ca.ca_chains.apply(lambda c: c["connect"]), opts=_with(provider))
    pulumi.export(
        "outputs",
        {
            "rootMountPath": ca.root_mount_path,
            "mountPaths": ca.mount_paths,
            "issuePaths": ca.issue_paths,
            "caPaths": ca.ca_paths,
            "caChains": ca.ca_chains,
            "connectRootPkiPath": ca.connect_root_pki_path,
            "connectIntermediatePkiPath": ca.connect_intermediate_pki_path,
            "level1CsrPems": ca.level1_csr_pems,
            "pendingChainNames": ca.pending_chain_names,
            "notAfter": ca.not_after,
        },
    )
    return ca


CONSUMERS = {
    "issuer-user",
    "ca-reader",
    "server-issuing",
    "server-issue",
    "mesh-ca",
    "mesh-intermediate",
    "root-reader",
    "mounts",
    "chains",
}
"""The test's own resources that take the CA's outputs as inputs."""


def _with(provider: vault.Provider) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(provider=provider)


@pytest.fixture(scope="module")
def alone() -> ProgramRun:
    run, _ = run_alone(lambda: build(ARGS))
    return run


def _inputs(run: ProgramRun, type_token: str, name: str) -> dict[str, Any]:
    return run.one(type_token, name).inputs


def _hygiene(path: str) -> dict[str, dict[str, Any]]:
    """The URLs, CRL and tidy configuration every CA mount gets before anything is issued (whole inputs)."""
    return {
        URLS: {
            "backend": path,
            "issuingCertificates": [f"{VAULT}/{path}/ca"],
            "crlDistributionPoints": [f"{VAULT}/{path}/crl"],
        },
        CRL: {
            "backend": path,
            "disable": False,
            "autoRebuild": True,
            "autoRebuildGracePeriod": "12h",
            "enableDelta": True,
            "deltaRebuildInterval": "15m",
            "expiry": "72h",
        },
        TIDY: {
            "backend": path,
            "enabled": True,
            "tidyCertStore": True,
            "tidyRevokedCerts": True,
            "tidyRevokedCertIssuerAssociations": True,
            "tidyExpiredIssuers": True,
            "intervalDuration": "24h",
            "safetyBuffer": "72h",
        },
    }


def _csr_pem(name: str, common_name: str) -> str:
    from tests.mocks.pki import make_csr

    return make_csr(name, common_name, "Example Corp", "ec", 256)  # the mock's CSR, cached per resource name


def test_every_resource_is_registered_once_under_the_component(alone: ProgramRun) -> None:
    ca = alone.one("secure-mesh:index:CertificateAuthority", "ca")
    children = sorted((r.type, r.name) for r in alone.children_of(ca))
    expected = []
    for prefix in ("ca-root", "ca-server-l1", "ca-server-l2", "ca-connect-l1"):
        expected += [
            (MOUNT, f"{prefix}-mount"),
            (URLS, f"{prefix}-urls"),
            (CRL, f"{prefix}-crl"),
            (TIDY, f"{prefix}-tidy"),
            (ISSUER, f"{prefix}-issuer"),
            (DEFAULT_ISSUER, f"{prefix}-default-issuer"),
        ]
        if prefix == "ca-root":
            expected.append((ROOT_CERT, "ca-root-ca"))
        else:
            expected += [(CSR, f"{prefix}-csr"), (SIGN, f"{prefix}-signed"), (SET_SIGNED, f"{prefix}-set-signed")]
    expected.append((ROLE, "ca-server-role"))
    expected.append((MOUNT, "ca-connect-intermediate-mount"))  # Consul's, empty: Consul writes inside it
    assert children == sorted(expected)
    # Nothing else: the provider and the test's own consumers are the only other resources.
    others = {r.name for r in alone.resources if r.parent != ca.urn} - {"ca"}
    assert others == {"vault", *CONSUMERS}
    provider = alone.one("pulumi:providers:vault", "vault")
    for child in alone.children_of(ca):
        assert child.provider.startswith(provider.urn), f"{child.name} must use the explicit provider"
        assert child.protect is False, "protect=False protects nothing"


def test_mounts_and_hygiene_whole_inputs(alone: ProgramRun) -> None:
    mounts = {
        "ca-root": ("pki/root", "Example root", 10 * YEAR),
        "ca-server-l1": ("pki/server/int1", "server level 1", 2 * YEAR),
        "ca-server-l2": ("pki/server/int2", "server level 2", YEAR),
        "ca-connect-l1": ("pki/connect/int1", "connect level 1", 2 * YEAR),
    }
    for prefix, (path, description, ttl) in mounts.items():
        assert _inputs(alone, MOUNT, f"{prefix}-mount") == {
            "path": path,
            "type": "pki",
            "description": description,
            "defaultLeaseTtlSeconds": 3600,
            "maxLeaseTtlSeconds": ttl,
        }
        for token, inputs in _hygiene(path).items():
            suffix = {URLS: "urls", CRL: "crl", TIDY: "tidy"}[token]
            assert _inputs(alone, token, f"{prefix}-{suffix}") == inputs
            assert dependency_names(alone, alone.one(token, f"{prefix}-{suffix}")) == {f"{prefix}-mount"}


def test_consuls_intermediate_mount_whole_inputs(alone: ProgramRun) -> None:
    # Vault-managed paths: the servers may only read sys/mounts/<path>, so the mount is declared (consul
    # agent/connect/ca/provider_vault.go setupIntermediatePKIPath mounts it only when it can).
    assert _inputs(alone, MOUNT, "ca-connect-intermediate-mount") == {
        "path": "pki/connect/consul",
        "type": "pki",
        "description": "Consul's connect intermediate CA (Consul generates and renews its CA inside)",
        "defaultLeaseTtlSeconds": YEAR,
        "maxLeaseTtlSeconds": YEAR,
    }
    assert dependency_names(alone, alone.one(MOUNT, "ca-connect-intermediate-mount")) == set()


def test_root_and_its_issuer_whole_inputs(alone: ProgramRun) -> None:
    assert _inputs(alone, ROOT_CERT, "ca-root-ca") == {
        "backend": "pki/root",
        "type": "internal",
        "commonName": "Example root CA",
        "organization": "Example Corp",
        "ttl": str(10 * YEAR),
        "keyType": "ec",
        "keyBits": 256,
        "maxPathLength": 2,
        "excludeCnFromSans": True,
        "issuerName": "root",
    }
    assert dependency_names(alone, alone.one(ROOT_CERT, "ca-root-ca")) == {
        "ca-root-mount",
        "ca-root-urls",
        "ca-root-crl",
        "ca-root-tidy",
    }
    assert _inputs(alone, ISSUER, "ca-root-issuer") == {
        "backend": "pki/root",
        "issuerRef": "ca-root-ca-issuer-id",
        "issuerName": "root",
        "leafNotAfterBehavior": "err",
    }
    assert _inputs(alone, DEFAULT_ISSUER, "ca-root-default-issuer") == {
        "backend": "pki/root",
        "default": "ca-root-ca-issuer-id",
        "defaultFollowsLatestIssuer": False,
    }


def test_server_chain_whole_inputs(alone: ProgramRun) -> None:
    constraints = {
        "permittedDnsDomains": ["dc1.consul", "localhost"],
        "permittedUriDomains": [],
        "permittedIpRanges": ["127.0.0.1/32"],
        "excludedIpRanges": [],
    }
    for level, signer, ttl, path_length in ((1, "pki/root", 2 * YEAR, 1), (2, "pki/server/int1", YEAR, 0)):
        prefix = f"ca-server-l{level}"
        path = f"pki/server/int{level}"
        common_name = f"Example server CA level {level}"
        assert _inputs(alone, CSR, f"{prefix}-csr") == {
            "backend": path,
            "type": "internal",
            "commonName": common_name,
            "organization": "Example Corp",
            "keyType": "ec",
            "keyBits": 256,
            "keyName": f"server-level{level}",
            "addBasicConstraints": True,
            "excludeCnFromSans": True,
        }
        assert _inputs(alone, SIGN, f"{prefix}-signed") == {
            "backend": signer,
            "csr": _csr_pem(f"{prefix}-csr", common_name),
            "commonName": common_name,
            "organization": "Example Corp",
            "ttl": str(ttl),
            "maxPathLength": path_length,
            **constraints,
            "excludeCnFromSans": True,
            "useCsrValues": False,
            "revoke": False,
        }
        assert _inputs(alone, ISSUER, f"{prefix}-issuer") == {
            "backend": path,
            "issuerRef": f"{prefix}-set-signed-issuer-id",  # the first issuer the bundle imports: this level
            "issuerName": f"server-level{level}",
            "leafNotAfterBehavior": "err",
        }
        assert _inputs(alone, DEFAULT_ISSUER, f"{prefix}-default-issuer") == {
            "backend": path,
            "default": f"{prefix}-set-signed-issuer-id",
            "defaultFollowsLatestIssuer": False,
        }
    # Each level is imported with the chain above it, up to the root.
    assert _inputs(alone, SET_SIGNED, "ca-server-l2-set-signed") == {
        "backend": "pki/server/int2",
        "certificate": fake_certificate("ca-server-l2-signed", YEAR)
        + fake_certificate("ca-server-l1-signed", 2 * YEAR)
        + fake_certificate("ca-root-ca", 10 * YEAR),
    }
    # Level 2 is signed only once level 1 can sign: its issuer, default issuer and hygiene exist.
    assert dependency_names(alone, alone.one(SIGN, "ca-server-l2-signed")) == {
        "ca-server-l2-csr",
        "ca-server-l1-urls",
        "ca-server-l1-crl",
        "ca-server-l1-tidy",
        "ca-server-l1-issuer",
        "ca-server-l1-default-issuer",
    }
    assert _inputs(alone, ROLE, "ca-server-role") == {
        "backend": "pki/server/int2",
        "name": "consul-server",
        "allowedDomains": ["server.dc1.consul"],
        "allowSubdomains": False,
        "allowBareDomains": True,
        "allowLocalhost": True,
        "allowWildcardCertificates": False,
        "allowIpSans": True,
        "allowGlobDomains": False,
        "allowAnyName": False,
        "enforceHostnames": True,
        "serverFlag": True,
        "clientFlag": True,
        "codeSigningFlag": False,
        "emailProtectionFlag": False,
        "ttl": "86400",
        "maxTtl": "259200",
        "keyType": "ec",
        "keyBits": 256,
        "generateLease": False,
        "noStore": False,
        "requireCn": True,
        "basicConstraintsValidForNonCa": False,
        "useCsrCommonName": False,
        "useCsrSans": False,
        "keyUsages": ["DigitalSignature", "KeyAgreement", "KeyEncipherment"],
        "extKeyUsages": [],
        "organizations": ["Example Corp"],
    }
    assert dependency_names(alone, alone.one(ROLE, "ca-server-role")) == {
        "ca-server-l2-urls",
        "ca-server-l2-crl",
        "ca-server-l2-tidy",
        "ca-server-l2-issuer",
        "ca-server-l2-default-issuer",
    }


def test_the_connect_chain_carries_its_constraints_and_no_role(alone: ProgramRun) -> None:
    signed = _inputs(alone, SIGN, "ca-connect-l1-signed")
    assert {k: signed[k] for k in ("permittedDnsDomains", "permittedUriDomains", "permittedIpRanges")} == {
        "permittedDnsDomains": ["consul"],
        "permittedUriDomains": [".consul"],
        "permittedIpRanges": [],
    }
    assert signed["excludedIpRanges"] == list(EXCLUDE_ALL)
    assert [r.inputs["backend"] for r in alone.of_type(ROLE)] == ["pki/server/int2"]


def test_outputs(alone: ProgramRun) -> None:
    assert alone.outputs["outputs"] == {
        "rootMountPath": "pki/root",
        "mountPaths": {"server": ["pki/server/int1", "pki/server/int2"], "connect": ["pki/connect/int1"]},
        "issuePaths": {"server": "pki/server/int2/issue/consul-server"},
        "caPaths": {"server": "pki/server/int2/cert/ca", "connect": "pki/connect/int1/cert/ca"},
        "caChains": {
            "server": fake_certificate("ca-server-l2-signed", YEAR)
            + fake_certificate("ca-server-l1-signed", 2 * YEAR)
            + fake_certificate("ca-root-ca", 10 * YEAR),
            "connect": fake_certificate("ca-connect-l1-signed", 2 * YEAR) + fake_certificate("ca-root-ca", 10 * YEAR),
        },
        "connectRootPkiPath": "pki/connect/int1",
        "connectIntermediatePkiPath": "pki/connect/consul",
        "level1CsrPems": {},
        "pendingChainNames": [],
        # Parsed from the mocked certificates (notAfter = issue time + the ttl asked for); a chain's is its
        # earliest-expiring level (server: level 2, one year, not level 1's two).
        "notAfter": {
            "root": mock_not_after(10 * YEAR),
            "server": mock_not_after(YEAR),
            "connect": mock_not_after(2 * YEAR),
        },
    }


def test_outputs_carry_what_their_consumers_must_wait_for(alone: ProgramRun) -> None:
    """Taking an output as an input is the dependency: no depends_on needed downstream."""
    issuing = {"urls", "crl", "tidy", "issuer", "default-issuer"}
    server = {f"ca-server-l2-{kind}" for kind in issuing}
    connect = {f"ca-connect-l1-{kind}" for kind in issuing}

    def waits_for(consumer: str) -> set[str]:
        return dependency_names(alone, alone.one("vault:index/policy:Policy", consumer))

    # A map output waits for everything in it: issue paths for the roles, CA paths for every complete chain ...
    assert waits_for("issuer-user") == {"ca-server-role"}
    assert waits_for("ca-reader") == server | connect
    # ... the per-chain attributes wait for exactly that chain's deepest CA (or its role).
    assert waits_for("server-issuing") == server
    assert waits_for("server-issue") == {"ca-server-role"}
    assert waits_for("mesh-ca") == connect
    assert waits_for("mesh-intermediate") == {"ca-connect-intermediate-mount"}
    assert waits_for("root-reader") == {f"ca-root-{kind}" for kind in issuing}
    assert waits_for("mounts") == {
        f"{prefix}-mount" for prefix in ("ca-root", "ca-server-l1", "ca-server-l2", "ca-connect-l1")
    }
    assert waits_for("chains") == {"ca-root-ca", "ca-server-l1-signed", "ca-server-l2-signed", "ca-connect-l1-signed"}
    assert {r.name for r in alone.of_type("vault:index/policy:Policy")} == CONSUMERS


def _shape(run: ProgramRun) -> list[tuple[Any, ...]]:
    """Every resource as (type, name, inputs, protect, dependency names, parent name), in a stable order."""
    shape = [
        (r.type, r.name, r.inputs, r.protect, sorted(dependency_names(run, r)), r.parent.rsplit("::", 1)[-1])
        for r in run.resources
    ]
    return sorted(shape, key=lambda entry: (entry[0], entry[1]))


def test_the_wire_form_registers_exactly_the_same_resources(alone: ProgramRun) -> None:
    wired, _ = run_alone(lambda: build(WIRE))
    assert _shape(wired) == _shape(alone)
    assert wired.outputs == alone.outputs


def test_the_type_token_and_the_alias_that_keeps_deployed_urns() -> None:
    _, monitor = run_alone(lambda: build(ARGS))
    assert monitor.alias_types["ca"] == ["secure-mesh:pki:CertificateAuthority"]


def test_protect_covers_what_a_lost_key_cannot_bring_back() -> None:
    unset = {f.name: f.default for f in dataclasses.fields(CertificateAuthorityArgs)}
    assert unset["protect"] is True, "a CA is protected unless its caller says otherwise"
    run, _ = run_alone(lambda: build(dataclasses.replace(ARGS, protect=True)))
    protected = {r.type for r in run.resources if r.protect}
    assert protected == {MOUNT, ROOT_CERT, CSR, SIGN, SET_SIGNED, ISSUER, DEFAULT_ISSUER}
    assert not [r.name for r in run.resources if r.type in {URLS, CRL, TIDY, ROLE} and r.protect]


def _replace_root(**changes: Any) -> CertificateAuthorityArgs:
    return dataclasses.replace(ARGS, root=dataclasses.replace(ARGS.root, **changes))


def _with_chains(*chains: CaChainArgs) -> CertificateAuthorityArgs:
    return dataclasses.replace(ARGS, chains=chains)


SERVER, CONNECT = ARGS.chains


def _connect_level(path: str) -> CaLevelArgs:
    """The connect chain's only level in another mount (a later generation of Consul's root)."""
    level = CONNECT.levels[-1]
    return dataclasses.replace(level, mount=dataclasses.replace(level.mount, path=path))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (_with_chains(), "args.chains: a certificate authority needs at least one chain"),
        (_with_chains(SERVER, CONNECT, SERVER), "args.chains[2].name: chain 'server' is listed more than once"),
        (
            _with_chains(dataclasses.replace(SERVER, levels=())),
            "args.chains[0].levels: a chain needs at least one Vault-held level",
        ),
        (
            _with_chains(SERVER, dataclasses.replace(CONNECT, role=SERVER.role)),
            "args.chains[1].role: the connect chain holds no role",
        ),
        (_replace_root(in_vault=None), "args.root.in_vault: is required with custody 'vault'"),
        (_replace_root(certificate_pem="pem"), "args.root.certificate_pem: is not used with custody 'vault'"),
        (_replace_root(crl_urls=("http://crl",)), "args.root.crl_urls: is not used with custody 'vault'"),
        (
            _replace_root(custody=RootCustody.EXTERNAL),
            "args.root.in_vault: is not used with custody 'external'",
        ),
        (
            _replace_root(custody=RootCustody.EXTERNAL, in_vault=None, signed_intermediates={"server": "pem"}),
            "args.root.certificate_pem: is required once signed_intermediates are given",
        ),
        (
            _replace_root(
                custody=RootCustody.EXTERNAL,
                in_vault=None,
                certificate_pem="pem",
                signed_intermediates={"gateway": "x"},
            ),
            "args.root.signed_intermediates: no chain named gateway",
        ),
        (
            _replace_root(custody=RootCustody.AWS_KMS, in_vault=None, certificate_pem="pem"),
            "args.root: custody 'aws-kms' needs aws_kms (key_id, region) and certificate_pem",
        ),
        (
            _with_chains(dataclasses.replace(SERVER, issuing_generation=0)),
            "args.chains[0].issuing_generation: 0 is not a generation (allowed: 1 or more)",
        ),
        (
            _with_chains(SERVER, dataclasses.replace(CONNECT, issuing_generation=2)),
            "args.chains[1].superseded_issuing_level: connect generation 2 is a new mount beside generation 1, "
            "which Consul cross-signs it with: give that level as it was built",
        ),
        (
            _with_chains(dataclasses.replace(SERVER, superseded_issuing_level=SERVER.levels[-1]), CONNECT),
            "args.chains[0].superseded_issuing_level: only the connect chain keeps a previous generation in its "
            "own mount, and only from issuing_generation 2 (allowed: None here)",
        ),
        (
            _with_chains(SERVER, dataclasses.replace(CONNECT, superseded_issuing_level=CONNECT.levels[-1])),
            "args.chains[1].superseded_issuing_level: only the connect chain keeps a previous generation in its "
            "own mount, and only from issuing_generation 2 (allowed: None here)",
        ),
        (
            _with_chains(
                SERVER,
                dataclasses.replace(CONNECT, issuing_generation=2, superseded_issuing_level=CONNECT.levels[-1]),
            ),
            "args.chains[1].superseded_issuing_level.mount.path: 'pki/connect/int1' is the new generation's mount; "
            "Consul switches roots only to another path",
        ),
        (
            dataclasses.replace(
                _with_chains(
                    SERVER,
                    dataclasses.replace(
                        CONNECT,
                        issuing_generation=2,
                        levels=(_connect_level("pki/connect/int1_g2"),),
                        superseded_issuing_level=CONNECT.levels[-1],
                    ),
                ),
                connect_intermediate_pki_path="pki/connect/int1",
            ),
            "args.connect_intermediate_pki_path: 'pki/connect/int1' is a chain's mount; Consul's intermediate needs "
            "a mount of its own",
        ),
        (
            dataclasses.replace(
                _replace_root(custody=RootCustody.EXTERNAL, in_vault=None, certificate_pem="pem"),
                chains=(dataclasses.replace(SERVER, levels=SERVER.levels[:1], issuing_generation=2),),
            ),
            "args.chains[0].issuing_generation: generations rotate a CA signed inside Vault; this chain's only level "
            "is signed by the offline root (custody 'external')",
        ),
        (
            _replace_root(in_vault=dataclasses.replace(ARGS.root.in_vault, max_path_length=1)),  # type: ignore[arg-type]
            "args.root.in_vault.max_path_length: 1 is too short; the chains' level 1 needs a root allowing 2",
        ),
        (
            dataclasses.replace(ARGS, connect_intermediate_ttl_seconds=0),
            "args.connect_intermediate_ttl_seconds: the intermediate mount's lease ceiling (Consul's "
            "IntermediateCertTTL) is 0; allowed: 1 second or more",
        ),
        (
            dataclasses.replace(ARGS, connect_intermediate_pki_path="pki/connect/int1"),
            "args.connect_intermediate_pki_path: 'pki/connect/int1' is a chain's mount; Consul's intermediate "
            "needs a mount of its own",
        ),
    ],
)
def test_contradictory_args_fail_before_anything_is_registered(args: CertificateAuthorityArgs, message: str) -> None:
    with pytest.raises(ArgsError) as error:
        run_alone(lambda: build(args))
    assert message in str(error.value)


def test_a_root_path_length_of_exactly_what_the_chains_need_is_accepted() -> None:
    assert ARGS.root.in_vault is not None and ARGS.root.in_vault.max_path_length == 2  # 1 + level 1's path length 1
    run, _ = run_alone(lambda: build(ARGS))
    assert run.one(ROOT_CERT).inputs["maxPathLength"] == 2


def test_the_wire_form_refuses_an_unknown_field() -> None:
    with pytest.raises(ArgsError, match=r"args\.root: unknown field\(s\) vault"):
        run_alone(lambda: build({**WIRE, "root": {**WIRE["root"], "vault": {}}}))


# The component and the modules it imports at build time may not read the stack's settings or layout (issue 15).
COMPONENT_MODULES = ("component.py", "certificates.py", "defaults.py", "kms_resource.py")


@pytest.mark.parametrize("module", COMPONENT_MODULES)
def test_the_component_imports_no_settings_or_layout(module: str) -> None:
    tree = ast.parse((PROJECT_DIR / "components" / "pki" / module).read_text())
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    forbidden = [m for m in imported if m.lstrip(".").split(".")[0] in {"settings", "layout"} or ".settings" in m]
    assert forbidden == [], f"{module} imports {forbidden}"


def test_the_component_module_lists_exactly_its_outputs_at_class_level() -> None:
    annotations = CertificateAuthority.__annotations__
    assert set(annotations) == {
        "root_mount_path",
        "mount_paths",
        "issue_paths",
        "ca_paths",
        "ca_chains",
        "connect_root_pki_path",
        "connect_intermediate_pki_path",
        "level1_csr_pems",
        "pending_chain_names",
        "not_after",
    }
    hints = inspect.get_annotations(CertificateAuthority, eval_str=True)
    assert all(typing.get_origin(hint) is pulumi.Output for hint in hints.values())


def test_a_single_level_chain_under_a_vault_root_rotates_its_level_one() -> None:
    """With the root in Vault even level 1 is signed inside Vault, so it can rotate: generation 2 is signed on the
    root's mount, generation 1 is kept unprotected, both retained; the record is read from ``deployed``."""
    single = dataclasses.replace(SERVER, levels=SERVER.levels[1:], issuing_generation=2)
    run, _ = run_alone(lambda: build(dataclasses.replace(ARGS, chains=(single, CONNECT), deployed={}, protect=True)))
    by_name = {r.name: r for r in run.resources}
    signed = by_name["ca-server-l1-g2-signed"]
    assert signed.inputs["backend"] == ARGS.root.in_vault.mount.path  # type: ignore[union-attr]
    assert by_name["ca-server-l1-g2-csr"].inputs["keyName"] == "server-level2-g2"
    assert (signed.protect, signed.retain_on_delete) == (True, True)
    old = by_name["ca-server-l1-signed"]
    assert (old.protect, old.retain_on_delete) == (False, True)
    assert not [name for name in by_name if "-connect-" in name and (by_name[name].retain_on_delete or "-g" in name)]


def test_the_connect_chain_rotates_its_deepest_ca_into_a_mount_of_its_own() -> None:
    """Consul switches roots only to another rootPKIPath: generation 2 of the connect chain's level is the same
    level in a new mount (its own hygiene, key, signature on the root's mount, issuer and default), generation 1 is
    kept beside it, unprotected, its CA resources retained and its mount not (the raise after deletes it); the
    component's connect root output is the new mount's path once it can sign."""
    rotating = dataclasses.replace(
        CONNECT,
        levels=(_connect_level("pki/connect/int1_g2"),),
        issuing_generation=2,
        superseded_issuing_level=CONNECT.levels[-1],
    )
    run, _ = run_alone(lambda: build(dataclasses.replace(ARGS, chains=(SERVER, rotating), deployed={}, protect=True)))
    before, _ = run_alone(lambda: build(dataclasses.replace(ARGS, protect=True)))
    added = {r.name for r in run.resources} - {r.name for r in before.resources}
    parts = ("mount", "urls", "crl", "tidy", "csr", "signed", "set-signed", "issuer", "default-issuer")
    assert added == {f"ca-connect-l1-g2-{part}" for part in parts}
    assert {r.name for r in before.resources} <= {r.name for r in run.resources}
    by_name = {r.name: r for r in run.resources}
    assert by_name["ca-connect-l1-g2-mount"].inputs["path"] == "pki/connect/int1_g2"
    assert by_name["ca-connect-l1-mount"].inputs["path"] == "pki/connect/int1"
    assert by_name["ca-connect-l1-g2-signed"].inputs["backend"] == "pki/root"
    assert by_name["ca-connect-l1-g2-default-issuer"].inputs["backend"] == "pki/connect/int1_g2"
    for part in parts:
        new, old = by_name[f"ca-connect-l1-g2-{part}"], by_name[f"ca-connect-l1-{part}"]
        hygiene = part in ("urls", "crl", "tidy")
        assert new.protect is not hygiene and old.protect is False, part
        ca = part not in ("mount", "urls", "crl", "tidy")
        assert new.retain_on_delete is ca and old.retain_on_delete is ca, part
    outputs = run.outputs["outputs"]
    assert outputs["connectRootPkiPath"] == "pki/connect/int1_g2"
    assert outputs["mountPaths"]["connect"] == ["pki/connect/int1_g2"]
    assert outputs["caPaths"]["connect"] == "pki/connect/int1_g2/cert/ca"
