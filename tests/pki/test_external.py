"""The external custody: phase one exports CSRs and stops; phase two imports what the offline root signed."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509

from secure_mesh.layout import Layout
from secure_mesh.pki.certificates import (
    EXCLUDE_ALL_IP_RANGES,
    CertificateCheckError,
    Level1Requirements,
    NameConstraints,
    verify_signed_level1,
)
from secure_mesh.pki.plan import build_plan
from secure_mesh.settings import ChainName, load_settings
from tests.harness import ProgramRun, deep_merge, load_stack_config, run_program
from tests.mocks import pki as pki_mocks

from .helpers import (
    CSR,
    KMS_SIGNED,
    MOUNT,
    PKI_PREFIX,
    ROLE,
    ROOT_CERT,
    SET_SIGNED,
    SIGN,
    OfflineRoot,
    expect_failure,
    make_csr,
)

CHAINS = ("server", "connect", "gateway", "webhook")
PATH_LENGTHS = {"server": 1, "connect": 2, "gateway": 0, "webhook": 0}


def _external_config(external: dict[str, Any] | None = None) -> dict[str, Any]:
    pki: dict[str, Any] = {"rootCustody": "external"}
    if external is not None:
        pki["external"] = external
    return deep_merge(load_stack_config("dev"), {"pki": pki})


def _constraints(chain: str) -> NameConstraints:
    """The name constraints the plan gives a chain's level 1 (what the operator must sign in)."""
    settings = load_settings(_external_config())
    return build_plan(settings, Layout(settings)).level(ChainName(chain), 1).constraints


def _signed(root: OfflineRoot, chain: str, **overrides: Any) -> str:
    """Level 1 of a chain signed the way the runbook says: path length, name constraints."""
    options: dict[str, Any] = {"constraints": _constraints(chain), **overrides}
    return root.sign(_vault_csr(chain), PATH_LENGTHS[chain], **options)


def _vault_csr(chain: str) -> str:
    """The CSR the mocked Vault made for a chain's level 1 (same key for the whole session)."""
    return pki_mocks.make_csr(f"{PKI_PREFIX}-{chain}-l1-csr", f"secure-mesh dev {chain} CA level 1", "secure-mesh dev")


_RUNS: dict[str, Any] = {}


@pytest.fixture(scope="module")
def offline_root() -> OfflineRoot:
    return OfflineRoot()


@pytest.fixture
def phase_one() -> ProgramRun:
    if "one" not in _RUNS:
        _RUNS["one"] = run_program(_external_config())
    run: ProgramRun = _RUNS["one"]
    return run


@pytest.fixture
def phase_two(offline_root: OfflineRoot) -> ProgramRun:
    if "two" not in _RUNS:
        signed = {chain: _signed(offline_root, chain) for chain in CHAINS}
        config = _external_config({"rootCertificatePem": offline_root.pem, "signedIntermediates": signed})
        _RUNS["two"] = run_program(config)
    run: ProgramRun = _RUNS["two"]
    return run


def test_phase_one_creates_level_1_mounts_and_csrs_and_nothing_dependent(phase_one: ProgramRun) -> None:
    mounts = sorted(r.inputs["path"] for r in phase_one.of_type(MOUNT) if r.inputs["type"] == "pki")
    assert mounts == [f"consul/{chain}/pki_int1" for chain in sorted(CHAINS)]
    assert sorted(r.name for r in phase_one.of_type(CSR)) == sorted(f"{PKI_PREFIX}-{c}-l1-csr" for c in CHAINS)
    for token in (ROOT_CERT, SIGN, SET_SIGNED, ROLE, KMS_SIGNED):
        assert [r.name for r in phase_one.of_type(token) if r.name.startswith(PKI_PREFIX)] == [], token
    assert not [r for r in phase_one.resources if r.name.startswith("secure-mesh-consul")], (
        "Consul must wait for a complete chain of trust"
    )


def test_phase_one_exposes_csrs_and_says_what_to_do_next() -> None:
    from secure_mesh.composition.pki import external_next_steps
    from secure_mesh.settings import ChainName

    message = external_next_steps([ChainName.SERVER, ChainName.CONNECT])
    assert "server, connect" in message
    for step in ("signedIntermediates", "rootCertificatePem", "pulumi up"):
        assert step in message


def test_phase_one_component_is_incomplete_with_level1_csrs() -> None:
    import pulumi

    from secure_mesh.composition.pki import pki_args
    from secure_mesh.layout import Layout
    from secure_mesh.pki.component import CertificateAuthority
    from secure_mesh.settings import ChainName, load_settings
    from tests.harness import ProgramMocks, _collect_mock_outputs

    pulumi.runtime.set_mocks(ProgramMocks(_collect_mock_outputs()), project="secure-mesh", stack="t", preview=False)
    settings = load_settings(_external_config())
    ca = CertificateAuthority("ca", pki_args(settings, Layout(settings)))
    assert ca.complete is False
    assert ca.pending_chains == tuple(ChainName)
    assert sorted(ca.level1_csrs) == sorted(ChainName)
    assert ca.ca_chain_pems == {}

    @pulumi.runtime.test
    def check() -> pulumi.Output[None]:
        def outputs_ok(values: list[Any]) -> None:
            csr, csr_pems, pending, chains, issue_paths, ca_paths, connect_root = values
            assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
            assert sorted(csr_pems) == sorted(CHAINS) and csr_pems["server"] == csr
            assert pending == list(CHAINS)
            # Nothing below an unsigned level 1 exists: no chain to trust, nothing to issue from or read.
            assert (chains, issue_paths, ca_paths, connect_root) == ({}, {}, {}, "")

        return pulumi.Output.all(
            ca.level1_csrs[ChainName.SERVER],
            ca.level1_csr_pems,
            ca.pending_chain_names,
            ca.ca_chains,
            ca.issue_paths,
            ca.ca_paths,
            ca.connect_root_pki_path,
        ).apply(outputs_ok)

    check()


def test_phase_two_imports_the_signed_certificates_and_completes_the_chains(
    phase_two: ProgramRun, offline_root: OfflineRoot
) -> None:
    set_signed = {r.inputs["backend"]: r for r in phase_two.of_type(SET_SIGNED)}
    assert sorted(set_signed) == sorted(
        [
            "consul/server/pki_int1",
            "consul/server/pki_int2",
            "consul/connect/pki_int1",
            "consul/connect/pki_int2",
            "consul/gateway/pki_int1",
            "consul/webhook/pki_int1",
        ]
    )
    server = set_signed["consul/server/pki_int1"].inputs["certificate"]
    first = x509.load_pem_x509_certificate(server.encode())  # the bundle starts with level 1 itself
    vault_key = pki_mocks.CSR_KEYS[f"{PKI_PREFIX}-server-l1-csr"].public_key()
    assert first.public_key() == vault_key, "level 1 must carry the key Vault generated for it"
    assert server.strip().endswith(offline_root.pem.strip()), "level 1 is imported with the root behind it"
    assert not [r for r in phase_two.of_type(SIGN) if r.inputs["backend"] == "consul/pki_root"]
    assert sorted(r.inputs["backend"] for r in phase_two.of_type(SIGN)) == [
        "consul/connect/pki_int1",
        "consul/server/pki_int1",
    ]
    assert sorted(r.inputs["name"] for r in phase_two.of_type(ROLE) if r.name.startswith(PKI_PREFIX)) == [
        "api-gateway",
        "connect-injector",
        "consul-server",
    ]
    assert [r for r in phase_two.resources if r.name.startswith("secure-mesh-consul")], "Consul follows a complete PKI"


def test_phase_two_rejects_a_certificate_that_does_not_match_its_csr(offline_root: OfflineRoot) -> None:
    signed = {chain: _signed(offline_root, chain) for chain in CHAINS}
    signed["gateway"] = offline_root.sign(
        make_csr("secure-mesh dev gateway CA level 1"), 0, constraints=_constraints("gateway")
    )
    config = _external_config({"rootCertificatePem": offline_root.pem, "signedIntermediates": signed})
    error, _ = expect_failure(config)
    assert "chain 'gateway'" in str(error) and "does not match its CSR" in str(error)


@pytest.mark.parametrize(
    ("chain", "overrides", "message"),
    [
        ("server", {"constraints": None}, "has no name constraints"),
        (
            "connect",
            {"constraints": NameConstraints(("consul",), excluded_ip_ranges=EXCLUDE_ALL_IP_RANGES)},
            "permits URI hosts without limit",
        ),
        ("gateway", {"constraints": NameConstraints(("apps.secure-mesh.test",))}, "does not exclude every IP"),
        ("webhook", {"days": 800}, "may live at most"),
    ],
)
def test_phase_two_refuses_a_level_1_without_the_chains_constraints_before_registering_it(
    offline_root: OfflineRoot, chain: str, overrides: dict[str, Any], message: str
) -> None:
    signed = {c: _signed(offline_root, c, **(overrides if c == chain else {})) for c in CHAINS}
    config = _external_config({"rootCertificatePem": offline_root.pem, "signedIntermediates": signed})
    error, registered = expect_failure(config)
    assert f"chain '{chain}' (pki.external.signedIntermediates.{chain})" in str(error)
    assert message in str(error)
    # Decided from config alone: nothing of that level (its import, issuer, roles) was registered.
    assert not [r for r in registered if r.name.startswith(f"{PKI_PREFIX}-{chain}-l1-set-signed")]


def test_phase_two_needs_the_root_certificate(offline_root: OfflineRoot) -> None:
    config = _external_config({"signedIntermediates": {"server": offline_root.sign(_vault_csr("server"), 1)}})
    error, registered = expect_failure(config)
    assert "pki.external.rootCertificatePem" in str(error)
    assert not [r for r in registered if r.name.startswith(PKI_PREFIX)]


# ------------------------------------------------------------------------------- the pure check

SERVER_CONSTRAINTS = NameConstraints(("dc1.consul", "localhost"), permitted_ip_ranges=("127.0.0.1/32",))
CRL_URL = "http://pki.example.com/root.crl"
ISSUER_URL = "http://pki.example.com/root.crt"
REQUIREMENTS = Level1Requirements(
    "server",
    "server CA level 1",
    1,
    ("dc1.consul", "localhost"),
    "ec",
    256,
    constraints=SERVER_CONSTRAINTS,
    crl_distribution_points=(CRL_URL,),
    issuing_certificates=(ISSUER_URL,),
    max_ttl_seconds=731 * 86400,
)
GOOD: dict[str, Any] = {"constraints": SERVER_CONSTRAINTS, "crl_urls": (CRL_URL,), "issuer_urls": (ISSUER_URL,)}


def test_verify_accepts_a_correctly_signed_level_1(offline_root: OfflineRoot) -> None:
    csr = make_csr("server CA level 1")
    verify_signed_level1(offline_root.sign(csr, 1, **GOOD), csr, offline_root.pem, REQUIREMENTS)


def test_verify_accepts_narrower_constraints(offline_root: OfflineRoot) -> None:
    csr = make_csr("server CA level 1")
    narrower = NameConstraints(("dc1.consul",), permitted_ip_ranges=("127.0.0.1/32",))
    verify_signed_level1(
        offline_root.sign(csr, 1, **{**GOOD, "constraints": narrower}), csr, offline_root.pem, REQUIREMENTS
    )


@pytest.mark.parametrize(
    ("case", "overrides", "message"),
    [
        ("other-csr", {}, "does not match its CSR"),
        ("other-root", {}, "not signed by the root's key"),
        ("not-ca", {"ca": False}, "not a CA certificate"),
        ("short-path", {"path_length": 0}, "has path length 0"),
        ("no-path-length", {"path_length": None}, "has no path length"),
        ("outlives-root", {"days": 4000}, "outside the root's"),
        ("too-long", {"days": 740}, "may live at most 17544h"),
        ("no-constraints", {"constraints": None}, "has no name constraints"),
        ("not-critical", {"critical_constraints": False}, "not critical"),
        (
            "wider-dns",
            {"constraints": NameConstraints(("consul", "localhost"), permitted_ip_ranges=("127.0.0.1/32",))},
            "permits DNS names ['consul', 'localhost']",
        ),
        (
            "wider-ip",
            {"constraints": NameConstraints(("dc1.consul",), permitted_ip_ranges=("127.0.0.0/8",))},
            "permits IP ranges ['127.0.0.0/8']",
        ),
        ("no-ip-constraint", {"constraints": NameConstraints(("dc1.consul",))}, "permits IP ranges without limit"),
        ("no-crl", {"crl_urls": ()}, "lacks the root's CRL distribution point(s) http://pki.example.com/root.crl"),
        ("other-crl", {"crl_urls": ("http://elsewhere/x.crl",)}, "it has ['http://elsewhere/x.crl']"),
        ("no-aia", {"issuer_urls": ()}, "lacks the root's AIA caIssuers URL(s) http://pki.example.com/root.crt"),
    ],
)
def test_verify_rejects_with_a_clear_error(
    offline_root: OfflineRoot, case: str, overrides: dict[str, Any], message: str
) -> None:
    csr = make_csr("server CA level 1")
    options: dict[str, Any] = {"path_length": 1, **GOOD, **overrides}
    if case == "other-csr":
        certificate = offline_root.sign(make_csr("server CA level 1"), **options)
    elif case == "other-root":
        impostor = OfflineRoot(common_name="offline root CA")  # same name, different key
        certificate = impostor.sign(csr, **options)
    else:
        certificate = offline_root.sign(csr, **options)
    with pytest.raises(CertificateCheckError) as raised:
        verify_signed_level1(certificate, csr, offline_root.pem, REQUIREMENTS)
    assert message in str(raised.value)
    assert "chain 'server'" in str(raised.value)


def test_verify_requires_every_ip_excluded_where_the_chain_issues_none(offline_root: OfflineRoot) -> None:
    gateway = NameConstraints(("apps.example.com",), excluded_ip_ranges=EXCLUDE_ALL_IP_RANGES)
    requirements = Level1Requirements("gateway", "gw CA level 1", 0, ("apps.example.com",), "ec", 256, gateway)
    csr = make_csr("gw CA level 1")
    verify_signed_level1(offline_root.sign(csr, 0, constraints=gateway), csr, offline_root.pem, requirements)
    ipv4_only = NameConstraints(("apps.example.com",), excluded_ip_ranges=("0.0.0.0/0",))
    with pytest.raises(CertificateCheckError, match="does not exclude every IP address"):
        verify_signed_level1(offline_root.sign(csr, 0, constraints=ipv4_only), csr, offline_root.pem, requirements)
