"""PKI scope and CA-constraint rules (issue 14, classes 4 and 5) over every shape the weakness can enter.

CA levels come in three shapes (Vault's sign-intermediate, the KMS-signed dynamic resource, an offline
certificate imported with set-signed); roles in one. Each rule is run on the checked-in stacks (silent),
on the external custody's phase two (silent), on those stacks with one careless change (the program's
own resource shapes), and on hand-written resources, with the offending entry first, last and after a
harmless one.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import pytest
from secure_mesh_policy import types as t
from secure_mesh_policy.framework import Res
from secure_mesh_policy.pki_levels import Level, certificate_info, chain_up, external_level, kms_level

from secure_mesh.layout import Layout
from secure_mesh.pki.certificates import NameConstraints
from secure_mesh.pki.plan import build_plan
from secure_mesh.settings import ChainName, load_settings
from tests.conftest import stack_run
from tests.harness import ProgramRun, deep_merge, load_stack_config, run_program
from tests.mocks import pki as pki_mocks
from tests.pki.helpers import OfflineRoot, self_signed_certificate
from tests.policy.support import RULES, Subject, check, check_stack, from_run, mandatory, private_subjects, run_rules
from tests.policy.test_resource_rules import good_role

PKI_RULES = (
    "pki-name-constraints",
    "pki-name-constraints-level",
    "pki-name-constraints-chain",
    "pki-role-hygiene",
    "pki-role-hygiene-scope",
    "pki-role-hygiene-chain",
    "pki-ttl-cascade",
)
P = "secure-mesh-pki"


def subjects_of(stack: str) -> list[Subject]:
    return private_subjects(stack_run(stack).resources)


def edit(subjects: list[Subject], name: str, **changes: Any) -> list[Subject]:
    """Set (or, with None, remove) inputs of one resource, as a hand edit of the program would."""
    target = next(s for s in subjects if s.name == name)
    props = dict(target.props)
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    target.props = props
    return subjects


def findings(policy: str, subjects: list[Subject]) -> list[tuple[str, str]]:
    """(message, blamed resource name) of one stack rule."""
    names = {s.urn: s.name for s in subjects}
    return [(message, names.get(urn or "", "")) for message, urn in check_stack(policy, subjects)]


# -------------------------------------------------------------------------------- unchanged stacks


_EXTERNAL: dict[str, ProgramRun] = {}


def _external_phase_two(root: OfflineRoot | None = None) -> ProgramRun:
    """The dev stack with custody ``external``, phase two: level 1 signed offline with the plan's constraints."""
    if root is None and "run" in _EXTERNAL:
        return _EXTERNAL["run"]
    root = root or OfflineRoot()
    config = deep_merge(load_stack_config("dev"), {"pki": {"rootCustody": "external"}})
    settings = load_settings(config)
    plan = build_plan(settings, Layout(settings))
    signed = {}
    for chain in ChainName:
        level = plan.level(chain, 1)
        csr = pki_mocks.make_csr(f"{P}-{chain.value}-l1-csr", level.common_name, level.organization)
        signed[chain.value] = root.sign(csr, level.max_path_length, constraints=level.constraints)
    config = deep_merge(config, {"pki": {"external": {"rootCertificatePem": root.pem, "signedIntermediates": signed}}})
    run = run_program(config)
    _EXTERNAL["run"] = run
    return run


def external_subjects() -> list[Subject]:
    return private_subjects(_external_phase_two().resources)


@pytest.mark.parametrize("policy", PKI_RULES)
@pytest.mark.parametrize("stack", ["dev", "prod", "external", "clients"])
def test_pki_rules_are_silent_on_what_the_program_registers(policy: str, stack: str) -> None:
    if stack == "external":
        subjects = external_subjects()
    elif stack == "clients":
        if "clients" not in _EXTERNAL:
            config = deep_merge(load_stack_config("dev"), {"consul": {"clientsEnabled": True}})
            _EXTERNAL["clients"] = run_program(config)
        subjects = from_run(_EXTERNAL["clients"].resources)
    else:
        subjects = subjects_of(stack)
    violations, unknowns = run_rules(subjects, [RULES[policy]])
    assert violations == [] and unknowns == []


def test_the_chain_rule_sees_every_level_of_every_custody() -> None:
    from secure_mesh_policy.framework import Res, StackView
    from secure_mesh_policy.pki_levels import levels

    def seen(subjects: list[Subject]) -> dict[str, tuple[str, str]]:
        view = StackView(
            Res(s.type, s.name, s.urn, s.props, property_dependencies=s.property_dependencies) for s in subjects
        )
        return {level.mount or "": (level.how, level.signer) for level in levels(view)}

    dev = seen(subjects_of("dev"))
    assert dev["consul/server/pki_int1"] == ("vault", "consul/pki_root")
    assert dev["consul/server/pki_int2"] == ("vault", "consul/server/pki_int1")
    prod = seen(subjects_of("prod"))
    assert {m: h for m, (h, _) in prod.items() if h == "kms"} == {
        f"consul/{c}/pki_int1": "kms" for c in ("server", "connect", "gateway", "webhook")
    }
    external = seen(external_subjects())
    assert {m for m, (h, _) in external.items() if h == "external"} == {
        f"consul/{c}/pki_int1" for c in ("server", "connect", "gateway", "webhook")
    }
    assert len(dev) == 6 and len(prod) == 7 and len(external) == 6


def test_a_kms_level_without_a_mount_holds_the_mount_its_certificate_feeds() -> None:
    """A KMS-signed level names its mount; one that does not (an older or hand-written resource) holds the mount of
    the CSR it signs, and failing that the mount of the set-signed that imports its certificate."""
    from secure_mesh_policy.framework import Res, StackView
    from secure_mesh_policy.pki_levels import levels

    kms = f"{P}-server-l1-kms-signed"

    def server_mount(subjects: list[Subject]) -> str | None:
        view = StackView(
            Res(s.type, s.name, s.urn, s.props, property_dependencies=s.property_dependencies) for s in subjects
        )
        found = [lv.mount for lv in levels(view) if lv.how == "kms" and lv.res.name == kms]
        assert len(found) == 1
        return found[0]

    subjects = private_subjects(stack_run("prod").resources)
    target = next(s for s in subjects if s.name == kms)
    setter = next(s for s in subjects if target.urn in s.property_dependencies.get("certificate", ()))
    assert target.props.get("mount") == setter.props["backend"] == "consul/server/pki_int1"
    target.props = {k: v for k, v in target.props.items() if k != "mount"}
    setter.props = {**setter.props, "backend": "consul/elsewhere"}
    assert server_mount(subjects) == "consul/server/pki_int1"  # the CSR's request comes first
    target.property_dependencies = {k: v for k, v in target.property_dependencies.items() if k != "csr"}
    assert server_mount(subjects) == "consul/elsewhere"  # then the set-signed importing its certificate
    for each in subjects:  # the level-2 import's chain names the level-1 certificate too
        if target.urn in each.property_dependencies.get("certificate", ()):
            each.property_dependencies = {k: v for k, v in each.property_dependencies.items() if k != "certificate"}
    assert server_mount(subjects) is None  # nothing names it


# ------------------------------------------------------------------------- CA levels: Vault-signed

Weaken = Callable[[list[Subject]], list[Subject]]

VAULT_LEVEL_CASES: list[tuple[str, str, Weaken, str, str]] = [
    (
        "gateway-ip-not-excluded",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-gateway-l1-signed", excludedIpRanges=["0.0.0.0/0"]),
        "does not exclude every IP address",
        f"{P}-gateway-l1-signed",
    ),
    (
        "webhook-ip-permitted",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-webhook-l1-signed", permittedIpRanges=["10.0.0.0/8"]),
        "does not exclude every IP address",
        f"{P}-webhook-l1-signed",
    ),
    (
        "server-ip-widened",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-server-l2-signed", permittedIpRanges=["127.0.0.1/32", "10.0.0.0/8"]),
        "only the IP SANs the chart requests",
        f"{P}-server-l2-signed",
    ),
    (
        "server-ip-unconstrained",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-server-l1-signed", permittedIpRanges=None),
        "only the IP SANs the chart requests",
        f"{P}-server-l1-signed",
    ),
    (
        "mesh-uri-dropped",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-connect-l2-signed", permittedUriDomains=None),
        "no URI constraint",
        f"{P}-connect-l2-signed",
    ),
    (
        "mesh-uri-foreign-trust-domain-last",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-connect-l1-signed", permittedUriDomains=[".consul", ".example.org"]),
        "(it permits ['.example.org'])",
        f"{P}-connect-l1-signed",
    ),
    (
        "mesh-ip-not-excluded",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-connect-l2-signed", excludedIpRanges=["::/0"]),
        "the mesh chain issues no IP SANs",
        f"{P}-connect-l2-signed",
    ),
    (
        "mesh-dns-widened-first",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-connect-l1-signed", permittedDnsDomains=["example.com", "consul"]),
        "outside Consul's names",
        f"{P}-connect-l1-signed",
    ),
    (
        "server-dns-widened-last",
        "pki-name-constraints-chain",
        lambda s: edit(
            s,
            f"{P}-server-l1-signed",
            permittedDnsDomains=[
                "dc1.consul",
                "consul-consul-server",
                "consul-consul-server.consul",
                "consul-consul-server.consul.svc",
                "localhost",
                "bank.example",
            ],
        ),
        "beyond the names the chart requests",
        f"{P}-server-l1-signed",
    ),
    (
        "level-2-wider-than-level-1",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-connect-l2-signed", permittedDnsDomains=["consul", "localhost"]),
        "wider than the CA above it",
        f"{P}-connect-l2-signed",
    ),
    (
        "gateway-cluster-internal-after-public",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-gateway-l1-signed", permittedDnsDomains=["apps.secure-mesh.test", "svc.cluster.local"]),
        "cluster-internal names ['svc.cluster.local']",
        f"{P}-gateway-l1-signed",
    ),
    (
        "webhook-widened",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-webhook-l1-signed", permittedDnsDomains=["consul.svc", "svc"]),
        "beyond the names the chart requests",
        f"{P}-webhook-l1-signed",
    ),
    (
        "path-length-dropped",
        "pki-name-constraints-level",
        lambda s: edit(s, f"{P}-server-l2-signed", maxPathLength=None),
        "no path length",
        f"{P}-server-l2-signed",
    ),
    (
        "path-length-unlimited",
        "pki-name-constraints-level",
        lambda s: edit(s, f"{P}-gateway-l1-signed", maxPathLength=-1.0),
        "no path length",
        f"{P}-gateway-l1-signed",
    ),
    (
        "csr-values",
        "pki-name-constraints-level",
        lambda s: edit(s, f"{P}-webhook-l1-signed", useCsrValues=True),
        "the CSR's subject, SANs and extensions",
        f"{P}-webhook-l1-signed",
    ),
    (
        "dns-dropped",
        "pki-name-constraints",
        lambda s: edit(s, f"{P}-gateway-l1-signed", permittedDnsDomains=None),
        "any name",
        f"{P}-gateway-l1-signed",
    ),
]


@pytest.mark.parametrize(
    ("case", "policy", "weaken", "expect", "blame"), VAULT_LEVEL_CASES, ids=[c[0] for c in VAULT_LEVEL_CASES]
)
def test_a_weakened_vault_signed_level_is_caught(
    case: str, policy: str, weaken: Weaken, expect: str, blame: str
) -> None:
    subjects = weaken(subjects_of("dev"))
    violations, unknowns = run_rules(subjects, [RULES[policy]])
    assert unknowns == []
    hits = [v for v in mandatory(violations) if expect in v.message]
    assert hits, [str(v) for v in violations]
    assert all(f"'{blame}'" in v.message and "Fix: " in v.message for v in hits), [str(v) for v in hits]


@pytest.mark.parametrize(
    ("ranges", "caught"),
    [
        (["0.0.0.0/0"], True),
        (["10.0.0.0/8", "::/0"], True),
        (["127.0.0.1/32", "10.0.0.0/8", "0.0.0.0/0"], True),
        (["not-a-cidr"], True),
        (["127.0.0.1/32"], False),
    ],
)
def test_a_level_permitting_every_address_is_caught_wherever_the_entry_sits(ranges: list[str], caught: bool) -> None:
    props = {"backend": "consul/pki_root", "maxPathLength": 0.0, "permittedIpRanges": ranges}
    messages = check("pki-name-constraints-level", t.PKI_SIGN_INTERMEDIATE, props)
    assert bool(messages) is caught, messages


@pytest.mark.parametrize("dns", [["*"], ["consul", "*.example.com"], ["consul", "", "example.com"]])
def test_wildcard_or_empty_name_constraints_are_caught(dns: list[str]) -> None:
    props = {"maxPathLength": 0.0, "permittedDnsDomains": dns}
    assert any("permit any name" in m for m in check("pki-name-constraints-level", t.PKI_SIGN_INTERMEDIATE, props))


# ------------------------------------------------------------------------------ CA levels: KMS


KMS_CASES: list[tuple[str, str, Weaken, str]] = [
    (
        "kms-gateway-ip",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-gateway-l1-kms-signed", excluded_ip_ranges=[]),
        "does not exclude every IP address",
    ),
    (
        "kms-mesh-uri",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-connect-l1-kms-signed", permitted_uri_domains=[]),
        "no URI constraint",
    ),
    (
        "kms-server-dns-tld",
        "pki-name-constraints-chain",
        lambda s: edit(s, f"{P}-server-l1-kms-signed", permitted_dns_domains=["com", "eu-west-1.consul"]),
        "beyond the names the chart requests",
    ),
    (
        "kms-dns-dropped",
        "pki-name-constraints",
        lambda s: edit(s, f"{P}-webhook-l1-kms-signed", permitted_dns_domains=[]),
        "any name",
    ),
    (
        "kms-path-length",
        "pki-name-constraints-level",
        lambda s: edit(s, f"{P}-server-l1-kms-signed", max_path_length=None),
        "no path length",
    ),
    (
        "kms-no-crl",
        "pki-name-constraints-level",
        lambda s: edit(s, f"{P}-connect-l1-kms-signed", crl_distribution_points=[]),
        "cannot be revoked",
    ),
    (
        "kms-no-aia",
        "pki-name-constraints-level",
        lambda s: edit(s, f"{P}-connect-l1-kms-signed", issuing_certificates=None),
        "certificate (AIA)",
    ),
    (
        "kms-outlives-root",
        "pki-ttl-cascade",
        lambda s: edit(s, f"{P}-gateway-l1-kms-signed", ttl_seconds=float(87600 * 3600)),
        "longer than its signer the offline root",
    ),
    (
        "kms-level1-over-two-years",
        "pki-ttl-cascade",
        lambda s: edit(s, f"{P}-server-l1-kms-signed", ttl_seconds=float(17521 * 3600)),
        "lives longer than 17520h",
    ),
    (
        "kms-level2-outlives-level1",
        "pki-ttl-cascade",
        lambda s: edit(s, f"{P}-server-l2-signed", ttl=str(17520 * 3600)),
        "as long as or longer than its signer consul/server/pki_int1",
    ),
]


@pytest.mark.parametrize(("case", "policy", "weaken", "expect"), KMS_CASES, ids=[c[0] for c in KMS_CASES])
def test_a_weakened_kms_signed_level_is_caught(case: str, policy: str, weaken: Weaken, expect: str) -> None:
    subjects = weaken(subjects_of("prod"))
    violations, unknowns = run_rules(subjects, [RULES[policy]])
    assert unknowns == []
    hits = [v for v in mandatory(violations) if expect in v.message]
    assert hits, [str(v) for v in violations]
    edited = next(s.name for s in subjects if s.props != next(o for o in subjects_of("prod") if o.name == s.name).props)
    assert all(f"'{edited}'" in v.message for v in hits), [str(v) for v in hits]


def test_the_level1_ttl_limit_applies_in_production_only() -> None:
    subjects = edit(subjects_of("dev"), f"{P}-server-l1-signed", ttl=str(26280 * 3600))
    assert not [v for v in run_rules(subjects, [RULES["pki-ttl-cascade"]])[0] if "17520h" in v.message]
    prod = run_rules(subjects, [RULES["pki-ttl-cascade"]], {"pki-ttl-cascade": {"environment": "prod"}})[0]
    assert [v.message for v in prod if "production level-1 CA" in v.message], [str(v) for v in prod]


def test_kms_levels_are_read_during_preview_without_unknowns() -> None:
    run = stack_run("prod", preview=True)
    kms = [r for r in run.resources if r.type == t.PKI_KMS_LEVEL1]
    assert kms and all(not isinstance(r.inputs["mount"], type(None)) for r in kms)
    violations, unknowns = run_rules(from_run(run.resources), [RULES[p] for p in PKI_RULES])
    assert mandatory(violations) == [] and unknowns == []


# -------------------------------------------------------------------------- CA levels: offline


def _replace_external(subjects: list[Subject], chain: str, **sign: Any) -> list[Subject]:
    """Swap the imported level-1 certificate of a chain for one an operator signed differently."""
    root = OfflineRoot()
    target = next(s for s in subjects if s.name == f"{P}-{chain}-l1-set-signed")
    csr = pki_mocks.make_csr(f"{P}-{chain}-l1-csr", f"secure-mesh dev {chain} CA level 1", "secure-mesh dev")
    options: dict[str, Any] = {"path_length": 0, **sign}
    target.props = {**target.props, "certificate": root.sign(csr, **options) + root.pem}
    return subjects


@pytest.mark.parametrize(
    ("chain", "sign", "policy", "expect"),
    [
        ("gateway", {"constraints": None}, "pki-name-constraints-chain", "the offline-signed CA may issue for any"),
        (
            "gateway",
            {"constraints": NameConstraints(("apps.secure-mesh.test",))},
            "pki-name-constraints-chain",
            "does not exclude every IP address",
        ),
        (
            "connect",
            {"path_length": 2, "constraints": NameConstraints(("consul",), excluded_ip_ranges=("0.0.0.0/0", "::/0"))},
            "pki-name-constraints-chain",
            "no URI constraint",
        ),
        (
            "webhook",
            {"path_length": None, "constraints": NameConstraints(("consul-consul-connect-injector",))},
            "pki-name-constraints-chain",
            "no path length",
        ),
        ("webhook", {"days": 4000}, "pki-ttl-cascade", "longer than its signer the offline root"),
    ],
)
def test_an_offline_signed_level_is_checked_from_its_certificate(
    chain: str, sign: dict[str, Any], policy: str, expect: str
) -> None:
    subjects = _replace_external(external_subjects(), chain, **sign)
    found = findings(policy, subjects)
    assert any(expect in m and name == f"{P}-{chain}-l1-set-signed" for m, name in found), found


def test_the_pack_parses_what_an_operator_signed() -> None:
    root = OfflineRoot()
    csr = pki_mocks.make_csr("x", "x CA", "org")
    constraints = NameConstraints(("consul",), (".consul",), (), ("0.0.0.0/0", "::/0"))
    info = certificate_info(
        root.sign(csr, 1, constraints=constraints, crl_urls=("http://c/r.crl",), issuer_urls=("http://c/r.crt",))
    )
    assert info is not None
    assert (info.path_length, info.dns, info.uri, info.ip, info.excluded_ip, info.crl, info.aia) == (
        1,
        ["consul"],
        [".consul"],
        [],
        ["0.0.0.0/0", "::/0"],
        ["http://c/r.crl"],
        ["http://c/r.crt"],
    )
    assert info.lifetime == 730 * 86400
    assert certificate_info("not a certificate") is None


def test_an_ip_constraint_with_host_bits_is_read_as_its_network() -> None:
    """RFC 5280 §4.2.1.10 writes an IP subtree as address + mask; a signer may set host bits below the mask
    (10.1.2.3 with 255.0.0.0). The pack reads the network the mask names (10.0.0.0/8) instead of failing on it.
    ``cryptography`` only builds normalised networks, so the DER of a 10.0.0.0/8 constraint is edited (the
    signature is then wrong; the pack reads certificates, it does not verify them)."""
    root = OfflineRoot()
    csr = pki_mocks.make_csr("x", "x CA", "org")
    signed = root.sign(csr, 1, constraints=NameConstraints((), (), ("10.0.0.0/8",), ("192.168.0.0/16",)))
    der = ssl.PEM_cert_to_DER_cert(signed)
    network, excluded = bytes([10, 0, 0, 0, 255, 0, 0, 0]), bytes([192, 168, 0, 0, 255, 255, 0, 0])
    assert der.count(network) == 1 and der.count(excluded) == 1
    edited = der.replace(network, bytes([10, 1, 2, 3, 255, 0, 0, 0])).replace(
        excluded, bytes([192, 168, 7, 9, 255, 255, 0, 0])
    )
    info = certificate_info(ssl.DER_cert_to_PEM_cert(edited))
    assert info is not None and (info.ip, info.excluded_ip) == (["10.0.0.0/8"], ["192.168.0.0/16"])


def test_an_offline_level_reads_its_roots_lifetime_from_the_last_certificate_of_its_bundle() -> None:
    """A set-signed certificate may carry its chain (level first, root last, as Vault's import takes it): the root's
    lifetime bounds the chain's TTLs (PKI-TTL-CASCADE); a lone certificate names no root."""
    root = OfflineRoot()
    level1 = root.sign(pki_mocks.make_csr("l1", "level 1 CA", "org"), 1)
    middle = root.sign(pki_mocks.make_csr("mid", "other CA", "org"), 0)
    root_lifetime = int((root.not_after - root.not_before).total_seconds())

    def root_ttl(bundle: str) -> int | None:
        level = external_level(Res(t.PKI_SET_SIGNED, "l1", "urn:l1", {"backend": "/pki_int1/", "certificate": bundle}))
        assert level is not None and level.mount == "pki_int1" and level.ttl == 730 * 86400
        return level.root_ttl

    assert root_ttl(level1) is None
    assert root_ttl(level1 + root.pem) == root_lifetime
    assert root_ttl(level1 + middle + root.pem) == root_lifetime
    assert external_level(Res(t.PKI_SET_SIGNED, "l1", "urn:l1", {"certificate": "not a PEM"})) is None


def test_a_certificate_without_basic_constraints_has_no_path_length() -> None:
    """An imported certificate may lack the basicConstraints extension (RFC 5280 §4.2.1.9: then it is no CA at all);
    the pack reads it as naming no path length instead of failing."""
    info = certificate_info(self_signed_certificate("no constraints", days=1, ca=False))
    assert info is not None and (info.path_length, info.lifetime, info.dns) == (None, 86400, [])


@pytest.mark.parametrize(("props", "mount"), [({}, "consul/connect/pki_int1"), ({"mount": "/kms/l1/"}, "kms/l1")])
def test_a_kms_level_holds_the_mount_it_names_else_the_one_it_feeds(props: dict[str, Any], mount: str) -> None:
    level = kms_level(Res(t.PKI_KMS_LEVEL1, "l1", "urn:l1", props), "consul/connect/pki_int1")
    assert (level.mount, level.path_length, level.extras) == (mount, None, {"crl": [], "aia": []})


# ----------------------------------------------------------------------------------------- roles


ROLE_SCOPE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("code-signing", {"codeSigningFlag": True}, "beyond a TLS leaf's purpose"),
    ("email-protection", {"emailProtectionFlag": True}, "beyond a TLS leaf's purpose"),
    ("ca-basic-constraints", {"basicConstraintsValidForNonCa": True}, "beyond a TLS leaf's purpose"),
    ("eku-first", {"extKeyUsages": ["CodeSigning", "ServerAuth"]}, "extended key usages"),
    ("eku-oid", {"extKeyUsageOids": ["1.3.6.1.5.5.7.3.4"]}, "extended key usages"),
    ("key-usage-first", {"keyUsages": ["CertSign", "DigitalSignature"]}, "['CertSign'] go beyond"),
    ("key-usage-last", {"keyUsages": ["DigitalSignature", "KeyAgreement", "CRLSign"]}, "['CRLSign'] go beyond"),
    ("key-usage-after-skip", {"keyUsages": ["DigitalSignature", "ContentCommitment"]}, "ContentCommitment"),
    ("no-cn", {"requireCn": False}, "without a common name"),
    ("csr-cn-unset", {"useCsrCommonName": None}, "useCsrCommonName = <unset>"),
    ("csr-sans-true", {"useCsrSans": True}, "useCsrSans = True"),
    ("uri-sans", {"allowedUriSans": ["spiffe://*"]}, "SANs no TLS purpose here needs"),
    ("other-sans", {"allowedOtherSans": ["1.3.6.1.4.1.311.20.2.3;UTF8:*"]}, "SANs no TLS purpose here needs"),
    ("uri-template", {"allowedUriSansTemplate": True}, "identity templates"),
    ("domains-template", {"allowedDomainsTemplate": True}, "identity templates"),
    ("glob-domain-last", {"allowedDomains": ["apps.example.com", "*.example.com"]}, "match any name"),
    ("tld-first", {"allowedDomains": ["com", "apps.example.com"]}, "a whole top-level domain"),
    ("tld-last", {"allowedDomains": ["apps.example.com", "io"]}, "['io'] allow every name"),
    (
        "internal-and-public",
        {"allowedDomains": ["apps.example.com", "api.payments.svc.cluster.local"]},
        "both cluster-internal",
    ),
    ("consul-domain-and-public", {"allowedDomains": ["www.example.com", "web.service.consul"]}, "both cluster"),
]


@pytest.mark.parametrize(("case", "over", "expect"), ROLE_SCOPE_CASES, ids=[c[0] for c in ROLE_SCOPE_CASES])
def test_a_role_beyond_a_tls_leafs_scope_is_caught(case: str, over: dict[str, Any], expect: str) -> None:
    props = good_role(**{"useCsrCommonName": False, "useCsrSans": False, **over})
    messages = check("pki-role-hygiene-scope", t.PKI_ROLE, props, name=case)
    assert any(expect in m for m in messages), messages
    assert all(f"'{case}'" in m and "Fix: " in m for m in messages)


@pytest.mark.parametrize(
    "over",
    [
        {},
        {"keyUsages": ["DigitalSignature", "KeyAgreement", "KeyEncipherment"], "extKeyUsages": []},
        {"keyUsages": ["KeyUsageDigitalSignature"], "extKeyUsageOids": [""]},
        {
            "allowedDomains": ["consul-consul-connect-injector", "consul-consul-connect-injector.consul.svc"],
            "allowSubdomains": False,
        },
        {"allowedDomains": ["shop.example.com"], "allowSubdomains": True, "allowBareDomains": True},
    ],
)
def test_a_tls_leaf_role_of_one_purpose_passes(over: dict[str, Any]) -> None:
    props = good_role(useCsrCommonName=False, useCsrSans=False, **over)
    assert check("pki-role-hygiene-scope", t.PKI_ROLE, props) == []


def test_the_consul_server_roles_single_label_names_are_its_chart_exception() -> None:
    server = [
        "dc1.consul",
        "consul-consul-server",
        "consul-consul-server.consul",
        "consul-consul-server.consul.svc",
    ]
    props = good_role(useCsrCommonName=False, useCsrSans=False, allowedDomains=server, allowBareDomains=True)
    assert check("pki-role-hygiene-scope", t.PKI_ROLE, props) == []
    props["allowedDomains"] = [*server[:3], "evil"]
    assert any("whole top-level domain" in m for m in check("pki-role-hygiene-scope", t.PKI_ROLE, props))


ROLE_CHAIN_CASES: list[tuple[str, str, Weaken, str]] = [
    (
        "gateway-beyond-chain-last",
        "dev",
        lambda s: edit(s, f"{P}-gateway-role", allowedDomains=["apps.secure-mesh.test", "bank.example"]),
        "['bank.example'] lie outside the name constraints",
    ),
    (
        "gateway-beyond-chain-first",
        "prod",
        lambda s: edit(s, f"{P}-gateway-role", allowedDomains=["example", "shop.example.com"]),
        "['example'] lie outside the name constraints",
    ),
    (
        "gateway-internal-with-chain-widened",
        "dev",
        lambda s: edit(
            edit(s, f"{P}-gateway-l1-signed", permittedDnsDomains=["apps.secure-mesh.test", "consul.svc"]),
            f"{P}-gateway-role",
            allowedDomains=["apps.secure-mesh.test", "consul.svc"],
        ),
        "a public role (no Consul chart path uses it) allows cluster-internal names ['consul.svc']",
    ),
    (
        "gateway-localhost",
        "dev",
        lambda s: edit(s, f"{P}-gateway-role", allowLocalhost=True),
        "localhost (allow_localhost)",
    ),
    (
        "gateway-ip-sans",
        "prod",
        lambda s: edit(s, f"{P}-gateway-role", allowIpSans=True),
        "IP SANs on a chain that excludes every IP address",
    ),
    (
        "webhook-beyond-kms-chain",
        "prod",
        lambda s: edit(
            s,
            f"{P}-webhook-role",
            allowedDomains=["consul-consul-connect-injector", "consul-consul-connect-injector.default.svc"],
        ),
        "outside the name constraints of the CA in consul/webhook/pki_int1",
    ),
]


@pytest.mark.parametrize(("case", "stack", "weaken", "expect"), ROLE_CHAIN_CASES, ids=[c[0] for c in ROLE_CHAIN_CASES])
def test_a_role_beyond_its_chain_or_purpose_is_caught(case: str, stack: str, weaken: Weaken, expect: str) -> None:
    subjects = weaken(subjects_of(stack))
    found = findings("pki-role-hygiene-chain", subjects)
    role = f"{P}-{case.split('-')[0]}-role"
    assert any(expect in m and name == role for m, name in found), found


def test_a_hand_written_public_role_on_a_new_mount_is_held_to_public_names() -> None:
    subjects = subjects_of("dev")
    subjects.append(
        Subject(
            type=t.PKI_ROLE,
            name="extra-role",
            props=good_role(backend="consul/extra/pki", allowedDomains=["kubernetes.default.svc"]),
            urn="urn:pulumi:dev::secure-mesh::vault:pkiSecret/secretBackendRole:SecretBackendRole::extra-role",
        )
    )
    found = findings("pki-role-hygiene-chain", subjects)
    assert [name for _, name in found] == ["extra-role"], found


@pytest.mark.parametrize(
    ("props", "caught"),
    [
        ({"backend": "consul/pki_root", "csr": "<literal CSR>", "permittedDnsDomains": ["example.com"]}, True),
        (
            {"backend": "consul/pki_root", "csr": "<literal CSR>", "permittedIpRanges": ["10.1.0.0/16"]},
            False,
        ),
        (
            {"backend": "consul/pki_root", "csr": "<literal CSR>", "excludedIpRanges": ["0.0.0.0/0", "::/0"]},
            False,
        ),
    ],
)
def test_a_hand_written_level_no_chain_path_reaches_still_needs_an_ip_constraint(
    props: dict[str, Any], caught: bool
) -> None:
    subjects = subjects_of("dev")
    subjects.append(
        Subject(
            type=t.PKI_SIGN_INTERMEDIATE,
            name="extra-signed",
            props={"maxPathLength": 0.0, **props},
            urn=f"urn:pulumi:dev::secure-mesh::{t.PKI_SIGN_INTERMEDIATE}::extra-signed",
        )
    )
    found = findings("pki-name-constraints-chain", subjects)
    assert [name for _, name in found] == (["extra-signed"] if caught else []), found
    if caught:
        assert "has no IP constraint" in found[0][0]


def test_a_chain_of_signers_stops_at_a_loop() -> None:
    """Two mounts that name each other as signer (a broken stack) give each level once, never an endless walk."""

    def level(mount: str, signer: str) -> Level:
        return Level(
            res=Res(t.PKI_SET_SIGNED, mount, f"urn:{mount}", {}),
            how="vault",
            signer=signer,
            mount=mount,
            ttl=None,
            path_length=None,
            dns=[],
            uri=[],
            ip=[],
            excluded_ip=[],
            fields={},
        )

    by_mount = {"a": level("a", "b"), "b": level("b", "a"), "c": level("c", "a")}
    assert [lvl.mount for lvl in chain_up(by_mount, "c")] == ["c", "a", "b"]
    assert [lvl.mount for lvl in chain_up(by_mount, "a")] == ["a", "b"]
    assert chain_up(by_mount, "unknown") == []
