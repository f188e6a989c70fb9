"""examples/pki-only: another team's program using only the CertificateAuthority, run under mocks.

It must register the CA's Vault resources with exactly the inputs its hand-written Args say, through its own
Vault provider, and nothing outside Vault (no Kubernetes, Consul or random resources, no secure-mesh stack).
"""

from __future__ import annotations

import re
import runpy
from typing import Any

import pytest
import yaml

from tests.harness import PROJECT_DIR, ProgramRun
from tests.mocks.pki import fake_certificate

from .helpers import DEFAULT_ISSUER, ISSUER, MOUNT, ROLE, SIGN, dependency_names, run_alone

EXAMPLE = PROJECT_DIR / "examples" / "pki-only"
VAULT = "https://vault.example.internal:8200"
DOMAIN = "apps.example.internal"
YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def example() -> ProgramRun:
    run, _ = run_alone(
        lambda: runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__"),
        project="pki-only",
        config={"pki-only:vaultAddress": VAULT, "pki-only:domain": DOMAIN},
    )
    return run


def test_the_project_declares_what_the_program_reads() -> None:
    project = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    assert project["name"] == "pki-only"
    source = (EXAMPLE / "__main__.py").read_text()
    required = set(re.findall(r'config\.require\("([A-Za-z]+)"\)', source))
    assert required == {"vaultAddress", "domain"}
    assert required <= set(project["config"])
    assert project["config"]["pulumi:disable-default-providers"]["value"] == ["vault"]
    assert "from secure_mesh import CertificateAuthority, CertificateAuthorityArgs" in source


def test_it_registers_nothing_outside_vault(example: ProgramRun) -> None:
    provider = example.one("pulumi:providers:vault", "vault")
    assert provider.inputs == {
        "address": VAULT,
        "skipTlsVerify": "false",
        "maxLeaseTtlSeconds": "1200",
        "maxRetries": "2",
    }
    ca = example.one("secure-mesh:index:CertificateAuthority", "team-ca")
    others = [r for r in example.resources if r not in (provider, ca)]
    assert others, "the example registered no resource"
    outside = [f"{r.type} {r.name}" for r in others if not r.type.startswith("vault:")]
    assert outside == [], "the example may only create Vault resources"
    for resource in others:
        assert resource.parent == ca.urn, f"{resource.name} is not the CA's child"
        assert resource.provider.startswith(provider.urn), f"{resource.name} bypasses the program's own provider"
        assert resource.name.startswith("team-ca-")


def _mount(path: str, description: str, ttl: int) -> dict[str, Any]:
    return {
        "path": path,
        "type": "pki",
        "description": description,
        "defaultLeaseTtlSeconds": 3600,
        "maxLeaseTtlSeconds": ttl,
    }


def test_the_server_chain_whole_inputs(example: ProgramRun) -> None:
    mounts = {r.name: r.inputs for r in example.of_type(MOUNT)}
    assert mounts == {
        "team-ca-root-mount": _mount("team-pki/root", "Example Team root CA", 10 * YEAR),
        "team-ca-server-l1-mount": _mount("team-pki/server/int1", "server chain, level 1", 2 * YEAR),
        "team-ca-server-l2-mount": _mount("team-pki/server/int2", "server chain, level 2", YEAR),
    }
    assert all(r.protect for r in example.of_type(MOUNT)), "protect=True keeps the CA mounts from deletion"
    issuers = {r.name: r.inputs for r in example.of_type(ISSUER)}
    assert issuers == {
        "team-ca-root-issuer": {
            "backend": "team-pki/root",
            "issuerRef": "team-ca-root-ca-issuer-id",
            "issuerName": "root",
            "leafNotAfterBehavior": "err",
        },
        **{
            f"team-ca-server-l{n}-issuer": {
                "backend": f"team-pki/server/int{n}",
                "issuerRef": f"team-ca-server-l{n}-set-signed-issuer-id",
                "issuerName": f"server-level{n}",
                "leafNotAfterBehavior": "err",
            }
            for n in (1, 2)
        },
    }
    defaults = {r.inputs["backend"]: r.inputs["default"] for r in example.of_type(DEFAULT_ISSUER)}
    assert defaults == {
        "team-pki/root": "team-ca-root-ca-issuer-id",
        "team-pki/server/int1": "team-ca-server-l1-set-signed-issuer-id",
        "team-pki/server/int2": "team-ca-server-l2-set-signed-issuer-id",
    }
    signed = {
        r.name: (r.inputs["backend"], r.inputs["permittedDnsDomains"], r.inputs["excludedIpRanges"])
        for r in example.of_type(SIGN)
    }
    assert signed == {
        "team-ca-server-l1-signed": ("team-pki/root", [DOMAIN], ["0.0.0.0/0", "::/0"]),
        "team-ca-server-l2-signed": ("team-pki/server/int1", [DOMAIN], ["0.0.0.0/0", "::/0"]),
    }
    role = example.one(ROLE)
    assert role.inputs == {
        "backend": "team-pki/server/int2",
        "name": "web",
        "allowedDomains": [DOMAIN],
        "allowSubdomains": True,
        "allowBareDomains": False,
        "allowLocalhost": False,
        "allowWildcardCertificates": False,
        "allowIpSans": False,
        "allowGlobDomains": False,
        "allowAnyName": False,
        "enforceHostnames": True,
        "serverFlag": True,
        "clientFlag": False,
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
        "organizations": ["Example Team"],
    }
    assert dependency_names(example, role) == {
        f"team-ca-server-l2-{kind}" for kind in ("urls", "crl", "tidy", "issuer", "default-issuer")
    }


def test_it_exports_the_server_chain_for_clients_to_trust(example: ProgramRun) -> None:
    assert example.outputs == {
        "serverCaChainPem": fake_certificate("team-ca-server-l2-signed", YEAR)
        + fake_certificate("team-ca-server-l1-signed", 2 * YEAR)
        + fake_certificate("team-ca-root-ca", 10 * YEAR),
        "issuePaths": {"server": "team-pki/server/int2/issue/web"},
    }
