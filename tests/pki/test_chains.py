"""The PKI under mocks: mounts, CAs, signing order, path lengths, name constraints, hygiene and protect."""

from __future__ import annotations

import pytest

from secure_mesh.settings import duration_seconds
from tests.conftest import stack_run
from tests.harness import ProgramRun, deep_merge, layout_of_run, load_stack_config, run_program

from .helpers import (
    CRL,
    CSR,
    DEFAULT_ISSUER,
    ISSUER,
    KMS_SIGNED,
    MOUNT,
    PKI_PREFIX,
    ROLE,
    ROOT_CERT,
    SET_SIGNED,
    SIGN,
    TIDY,
    URLS,
    by_backend,
    dependency_names,
    pki_resources,
)

L1, L2 = 63072000, 47304000  # the default intermediate TTLs 17520h, 13140h (prod writes them out)
DEV_MOUNTS = {
    "consul/pki_root": 315360000,  # rootTtl 87600h
    "consul/server/pki_int1": L1,
    "consul/server/pki_int2": L2,
    "consul/connect/pki_int1": L1,
    "consul/connect/pki_int2": L2,
    "consul/gateway/pki_int1": L1,
    "consul/webhook/pki_int1": L1,
}
PROD_MOUNTS = {
    "consul/server/pki_int1": L1,
    "consul/server/pki_int2": L2,
    "consul/connect/pki_int1": L1,
    "consul/connect/pki_int2": L2,
    "consul/gateway/pki_int1": L1,
    "consul/gateway/pki_int2": L2,
    "consul/webhook/pki_int1": L1,
}
DEV_SERVER_DOMAINS = [
    "dc1.consul",
    "consul-consul-server",
    "consul-consul-server.consul",
    "consul-consul-server.consul.svc",
]
DEV_WEBHOOK_NAMES = [
    "consul-consul-connect-injector",
    "consul-consul-connect-injector.consul",
    "consul-consul-connect-injector.consul.svc",
    "consul-consul-connect-injector.consul.svc.cluster.local",
]


def _levels_run(levels: int) -> ProgramRun:
    ttls = {1: ["43800h"], 3: ["43800h", "26280h", "17520h"]}[levels]
    chain = {"levels": levels, "intermediateTtls": ttls}
    config = deep_merge(
        load_stack_config("dev"),
        {"pki": {"chains": {"server": chain, "connect": chain, "gateway": chain, "webhook": chain}}},
    )
    return run_program(config)


_LEVEL_RUNS: dict[int, ProgramRun] = {}


@pytest.fixture(params=[1, 3], ids=["1-level", "3-levels"])
def levels_run(request: pytest.FixtureRequest) -> tuple[int, ProgramRun]:
    if request.param not in _LEVEL_RUNS:
        _LEVEL_RUNS[request.param] = _levels_run(request.param)
    return request.param, _LEVEL_RUNS[request.param]


# ----------------------------------------------------------------------------------------- mounts


@pytest.mark.parametrize(("stack", "expected"), [("dev", DEV_MOUNTS), ("prod", PROD_MOUNTS)])
def test_one_pki_mount_per_ca_with_exact_paths_and_lease_limits(
    stack: str, expected: dict[str, int], dev_run: ProgramRun, prod_run: ProgramRun
) -> None:
    run = dev_run if stack == "dev" else prod_run
    consul_path = layout_of_run(run).connect_intermediate_pki_path
    mounts = {r.inputs["path"]: r for r in run.of_type(MOUNT) if r.inputs["type"] == "pki"}
    assert sorted(mounts) == sorted([*expected, consul_path])
    mounts.pop(consul_path)
    for path, ca_ttl in expected.items():
        mount = mounts[path]
        assert mount.inputs["maxLeaseTtlSeconds"] == ca_ttl, f"{mount.name}: max lease must equal the CA TTL"
        assert mount.inputs["maxLeaseTtlSeconds"] >= ca_ttl
        assert mount.inputs["defaultLeaseTtlSeconds"] == 3600, mount.name


def test_mount_counts_follow_levels(levels_run: tuple[int, ProgramRun]) -> None:
    levels, run = levels_run
    paths = sorted(r.inputs["path"] for r in run.of_type(MOUNT) if r.inputs["type"] == "pki")
    expected = ["consul/pki_root", "consul/connect/pki_consul_dc1"] + [
        f"consul/{chain}/pki_int{level}"
        for chain in ("connect", "gateway", "server", "webhook")
        for level in range(1, levels + 1)
    ]
    assert paths == sorted(expected)


def test_every_vault_held_ca_mount_has_urls_crl_tidy_and_a_default_issuer(any_stack: ProgramRun) -> None:
    consul_path = layout_of_run(any_stack).connect_intermediate_pki_path
    mounts = [r.inputs["path"] for r in any_stack.of_type(MOUNT) if r.inputs["type"] == "pki"]
    mounts.remove(consul_path)  # Consul's own: below
    urls, crls = by_backend(any_stack, URLS), by_backend(any_stack, CRL)
    tidies, defaults = by_backend(any_stack, TIDY), by_backend(any_stack, DEFAULT_ISSUER)
    issuers = by_backend(any_stack, ISSUER)
    address = layout_of_run(any_stack).settings.vault.address
    for path in mounts:
        assert urls[path].inputs["issuingCertificates"] == [f"{address}/v1/{path}/ca"], path
        assert urls[path].inputs["crlDistributionPoints"] == [f"{address}/v1/{path}/crl"], path
        crl = crls[path].inputs
        assert (crl["autoRebuild"], crl["enableDelta"], crl["disable"], crl["expiry"]) == (True, True, False, "72h"), (
            path
        )
        tidy = tidies[path].inputs
        assert tidy["enabled"] and tidy["tidyCertStore"] and tidy["tidyRevokedCerts"] and tidy["tidyExpiredIssuers"], (
            path
        )
        assert tidy["intervalDuration"] == "24h", path
        assert issuers[path].inputs["leafNotAfterBehavior"] == "err", path
        assert defaults[path].inputs["defaultFollowsLatestIssuer"] is False, path
        assert defaults[path].inputs["default"] == issuers[path].inputs["issuerRef"], (
            f"{defaults[path].name}: the default issuer must be the mount's own CA"
        )
    # Consul's own intermediate mount is declared empty, so nothing tidies or configures it behind Consul's back.
    inside = [r.name for r in pki_resources(any_stack) if consul_path == r.inputs.get("backend")]
    assert inside == [], f"{inside}: Consul writes the role, issuers and tidy of its intermediate mount"


def test_consuls_intermediate_mount_is_declared_empty_as_consul_would_mount_it(any_stack: ProgramRun) -> None:
    # consul agent/connect/ca/provider_vault.go setupIntermediatePKIPath: when <path>/ca/pem answers 404 the
    # provider POSTs sys/mounts/<path> {type: pki, max_lease_ttl: IntermediateCertTTL}; the servers' policy only
    # reads sys/mounts/<path> (Vault-managed paths), so the mount must already be there.
    layout = layout_of_run(any_stack)
    ttl = duration_seconds(layout.settings.pki.consul_intermediate_ttl)
    (mount,) = [r for r in any_stack.of_type(MOUNT) if r.inputs["path"] == layout.connect_intermediate_pki_path]
    assert mount.inputs == {
        "path": layout.connect_intermediate_pki_path,
        "type": "pki",
        "description": "Consul's connect intermediate CA (Consul generates and renews its CA inside)",
        "defaultLeaseTtlSeconds": ttl,
        "maxLeaseTtlSeconds": ttl,
    }, mount.name
    assert mount.protect is layout.settings.is_production, mount.name


def test_hygiene_is_configured_before_the_mount_signs_or_issues(dev_run: ProgramRun) -> None:
    sign = dev_run.one(SIGN, f"{PKI_PREFIX}-server-l2-signed")
    deps = dependency_names(dev_run, sign)
    assert {f"{PKI_PREFIX}-server-l1-urls", f"{PKI_PREFIX}-server-l1-crl", f"{PKI_PREFIX}-server-l1-tidy"} <= deps
    role = dev_run.one(ROLE, f"{PKI_PREFIX}-server-role")
    assert {f"{PKI_PREFIX}-server-l2-urls", f"{PKI_PREFIX}-server-l2-default-issuer"} <= dependency_names(dev_run, role)


# ------------------------------------------------------------------------------------------- CAs


def test_dev_root_is_internal_alone_in_its_mount_and_only_signs_level_1(dev_run: ProgramRun) -> None:
    root = dev_run.one(ROOT_CERT)
    assert root.inputs["backend"] == "consul/pki_root"
    assert root.inputs["type"] == "internal"
    assert root.inputs["ttl"] == "315360000"
    assert (root.inputs["keyType"], root.inputs["keyBits"]) == ("ec", 256)
    assert root.inputs["maxPathLength"] == 3, "root must allow connect level 1 (2) + 1"
    signed_by_root = sorted(r.name for r in dev_run.of_type(SIGN) if r.inputs["backend"] == "consul/pki_root")
    assert signed_by_root == [f"{PKI_PREFIX}-{c}-l1-signed" for c in ("connect", "gateway", "server", "webhook")]
    assert not [r for r in dev_run.of_type(ROLE) if r.inputs["backend"] == "consul/pki_root"]


def test_keys_are_generated_inside_vault_with_the_chain_key_type(any_stack: ProgramRun) -> None:
    csrs = any_stack.of_type(CSR)
    dev = bool(any_stack.of_type(ROOT_CERT))
    layout = layout_of_run(any_stack)
    levels = sum(len(layout.chain_mounts(chain)) for chain in layout.local_chains)
    assert levels == (2 if layout.is_federation_secondary else 6 if dev else 7)  # a secondary: gateway, webhook
    assert len(csrs) == levels, "one CSR per Vault-held intermediate"
    expected = ("ec", 256) if dev else ("ec", 384)
    for csr in csrs:
        assert csr.inputs["type"] == "internal", csr.name
        assert (csr.inputs["keyType"], csr.inputs["keyBits"]) == expected, csr.name
        assert csr.inputs["addBasicConstraints"] is True, csr.name


@pytest.mark.parametrize(
    ("name", "signer", "ttl", "path_length"),
    [
        ("server-l1", "consul/pki_root", str(L1), 1),
        ("server-l2", "consul/server/pki_int1", str(L2), 0),
        ("connect-l1", "consul/pki_root", str(L1), 2),
        ("connect-l2", "consul/connect/pki_int1", str(L2), 1),
        ("gateway-l1", "consul/pki_root", str(L1), 0),
        ("webhook-l1", "consul/pki_root", str(L1), 0),
    ],
)
def test_signing_order_ttls_and_path_lengths_in_dev(
    dev_run: ProgramRun, name: str, signer: str, ttl: str, path_length: int
) -> None:
    sign = dev_run.one(SIGN, f"{PKI_PREFIX}-{name}-signed")
    assert sign.inputs["backend"] == signer, f"{sign.name} must be signed on {signer}"
    assert sign.inputs["ttl"] == ttl, sign.name
    assert sign.inputs["maxPathLength"] == path_length, sign.name
    assert sign.inputs["useCsrValues"] is False, sign.name
    deps = dependency_names(dev_run, sign)
    assert f"{PKI_PREFIX}-{name}-csr" in deps, f"{sign.name} must sign its own level's CSR"
    parent = "root" if signer == "consul/pki_root" else name.replace("l2", "l1")
    assert f"{PKI_PREFIX}-{parent}-default-issuer" in deps, f"{sign.name} waits for its signer's default issuer"
    set_signed = dev_run.one(SET_SIGNED, f"{PKI_PREFIX}-{name}-set-signed")
    assert set_signed.inputs["backend"] == f"consul/{name.split('-')[0]}/pki_int{name[-1]}"
    assert sign.name in dependency_names(dev_run, set_signed)
    assert sign.order < set_signed.order


def test_deeper_levels_are_signed_by_the_level_above(levels_run: tuple[int, ProgramRun]) -> None:
    levels, run = levels_run
    for chain, deepest in (("server", 0), ("connect", 1), ("gateway", 0), ("webhook", 0)):
        for level in range(1, levels + 1):
            sign = run.one(SIGN, f"{PKI_PREFIX}-{chain}-l{level}-signed")
            signer = "consul/pki_root" if level == 1 else f"consul/{chain}/pki_int{level - 1}"
            assert sign.inputs["backend"] == signer, sign.name
            assert sign.inputs["maxPathLength"] == deepest + levels - level, sign.name
    root = run.one(ROOT_CERT)
    assert root.inputs["maxPathLength"] == 1 + 1 + (levels - 1)


NO_IP = ["0.0.0.0/0", "::/0"]
DEV_CONSTRAINTS = {
    "server": ([*DEV_SERVER_DOMAINS, "localhost"], [], ["127.0.0.1/32"], []),
    "connect": (["consul"], [".consul"], [], NO_IP),
    "gateway": (["apps.secure-mesh.test"], [], [], NO_IP),
    "webhook": (DEV_WEBHOOK_NAMES, [], [], NO_IP),
}


def _constraints(inputs: dict[str, object], snake: bool = False) -> tuple[object, ...]:
    keys = ("permittedDnsDomains", "permittedUriDomains", "permittedIpRanges", "excludedIpRanges")
    if snake:
        keys = ("permitted_dns_domains", "permitted_uri_domains", "permitted_ip_ranges", "excluded_ip_ranges")
    return tuple(inputs[key] for key in keys)


@pytest.mark.parametrize("chain", sorted(DEV_CONSTRAINTS))
def test_every_intermediate_carries_its_purpose_name_constraints(dev_run: ProgramRun, chain: str) -> None:
    signs = [r for r in dev_run.of_type(SIGN) if r.name.startswith(f"{PKI_PREFIX}-{chain}-")]
    assert signs
    for sign in signs:
        assert _constraints(sign.inputs) == DEV_CONSTRAINTS[chain], sign.name


def test_with_client_agents_the_mesh_chain_admits_their_auto_encrypt_names() -> None:
    config = deep_merge(load_stack_config("dev"), {"consul": {"clientsEnabled": True}})
    run = run_program(config)
    for sign in [r for r in run.of_type(SIGN) if r.name.startswith(f"{PKI_PREFIX}-connect-")]:
        # Client certificates name localhost and the host/pod IPs, which the program does not know.
        assert _constraints(sign.inputs) == (["consul", "localhost"], [".consul"], [], []), sign.name
    server = run.one(SIGN, f"{PKI_PREFIX}-server-l1-signed")
    assert _constraints(server.inputs) == DEV_CONSTRAINTS["server"]


def test_prod_kms_levels_carry_the_constraints_and_the_roots_crl_and_aia(prod_run: ProgramRun) -> None:
    prod = prod_run
    kms = {r.inputs["chain"]: r for r in prod.of_type(KMS_SIGNED)}
    signs = {r.inputs["backend"]: r for r in prod.of_type(SIGN)}
    for chain, level2 in (("server", "consul/server/pki_int1"), ("connect", "consul/connect/pki_int1")):
        # Level 1 (KMS) and level 2 (Vault) of a chain carry the same constraints.
        assert _constraints(kms[chain].inputs, snake=True) == _constraints(signs[level2].inputs), chain
    assert _constraints(kms["connect"].inputs, snake=True) == (["consul"], [".consul"], [], NO_IP)
    assert _constraints(kms["gateway"].inputs, snake=True) == (["shop.example.com"], [], [], NO_IP)
    for chain, resource in kms.items():
        assert resource.inputs["mount"] == f"consul/{chain}/pki_int1"
        assert resource.inputs["crl_distribution_points"] == ["https://pki.example.com/secure-mesh/root.crl"]
        assert resource.inputs["issuing_certificates"] == ["https://pki.example.com/secure-mesh/root.crt"]


def test_prod_level_1_is_signed_through_kms_and_deeper_levels_in_vault(prod_run: ProgramRun) -> None:
    assert not prod_run.of_type(ROOT_CERT), "the aws-kms root must not live in Vault"
    assert not [r for r in prod_run.of_type(MOUNT) if r.inputs["path"] == "consul/pki_root"]
    kms = {r.inputs["chain"]: r for r in prod_run.of_type(KMS_SIGNED)}
    assert sorted(kms) == ["connect", "gateway", "server", "webhook"]
    server = kms["server"].inputs
    assert server["key_id"] == "arn:aws:kms:eu-west-1:111122223333:key/0c7a3d0e-5b5e-4b8e-9d7e-3f2f4b9d1a11"
    assert server["region"] == "eu-west-1"
    assert server["max_path_length"] == 1 and kms["connect"].inputs["max_path_length"] == 2
    assert server["ttl_seconds"] == L1
    assert server["common_name"] == "Example Corp server CA level 1"
    assert "PRIVATE KEY" not in str({k: v for k, v in server.items() if k != "__provider"})
    assert {r.inputs["backend"] for r in prod_run.of_type(SIGN)} == {
        "consul/server/pki_int1",
        "consul/connect/pki_int1",
        "consul/gateway/pki_int1",
    }
    set_signed = prod_run.one(SET_SIGNED, f"{PKI_PREFIX}-server-l1-set-signed")
    assert kms["server"].name in dependency_names(prod_run, set_signed)


# ----------------------------------------------------------------------------------------- roles


def test_roles_sit_only_on_the_deepest_mount_of_server_gateway_and_webhook(any_stack: ProgramRun) -> None:
    roles = {r.inputs["name"]: r.inputs["backend"] for r in any_stack.of_type(ROLE) if r.name.startswith(PKI_PREFIX)}
    layout = layout_of_run(any_stack)
    prefix = layout.mount_prefix
    gateway_deepest = f"{prefix}/gateway/pki_int1" if any_stack.of_type(ROOT_CERT) else f"{prefix}/gateway/pki_int2"
    expected = {
        "consul-server": f"{prefix}/server/pki_int2",
        "api-gateway": gateway_deepest,
        "connect-injector": f"{prefix}/webhook/pki_int1",
    }
    if layout.is_federation_primary:  # one server role per secondary, on the same mount
        secondaries = layout.settings.topology.secondaries
        expected.update({f"consul-server-{dc}": f"{prefix}/server/pki_int2" for dc in secondaries})
    if layout.is_federation_secondary:  # its servers use the role the primary keeps for it
        del expected["consul-server"]
    assert roles == expected
    assert not any(b.startswith(f"{prefix}/connect/") or b == f"{prefix}/pki_root" for b in roles.values())


def test_server_role_is_exactly_what_the_chart_requests(dev_run: ProgramRun) -> None:
    role = dev_run.one(ROLE, f"{PKI_PREFIX}-server-role").inputs
    assert role["allowedDomains"] == DEV_SERVER_DOMAINS
    expected_flags = {
        "allowSubdomains": True,
        "allowBareDomains": True,
        "allowLocalhost": True,
        "allowWildcardCertificates": True,
        "allowIpSans": True,
        "allowGlobDomains": False,
        "allowAnyName": False,
        "enforceHostnames": True,
        "serverFlag": True,
        "clientFlag": True,
        "codeSigningFlag": False,
        "emailProtectionFlag": False,
        "generateLease": False,
        "noStore": False,
        "keyType": "ec",
        "keyBits": 256,
        "ttl": "2592000",
        "maxTtl": "2592000",
    }
    assert {k: role[k] for k in expected_flags} == expected_flags


def test_the_server_role_inputs_are_all_explicit_and_scoped(dev_run: ProgramRun) -> None:
    # The whole input document: nothing left to Vault's defaults (key usage, EKUs, CSR names, CN).
    assert dev_run.one(ROLE, f"{PKI_PREFIX}-server-role").inputs == {
        "backend": "consul/server/pki_int2",
        "name": "consul-server",
        "allowedDomains": DEV_SERVER_DOMAINS,
        "allowSubdomains": True,
        "allowBareDomains": True,
        "allowLocalhost": True,
        "allowWildcardCertificates": True,
        "allowIpSans": True,
        "allowGlobDomains": False,
        "allowAnyName": False,
        "enforceHostnames": True,
        "serverFlag": True,
        "clientFlag": True,
        "codeSigningFlag": False,
        "emailProtectionFlag": False,
        "ttl": "2592000",
        "maxTtl": "2592000",
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
        "organizations": ["secure-mesh dev"],
    }


def test_a_federation_primary_keeps_a_server_role_per_secondary_and_permits_its_names() -> None:
    # One server CA for the federation (servers verify server.<dc>.<domain> across datacenters; consul-k8s
    # acceptance/tests/vault/vault_wan_fed_test.go issues dc2's certificates from dc1's mount with a dc2 role).
    run = stack_run("fed-primary")
    own = run.one(ROLE, f"{PKI_PREFIX}-server-role").inputs
    secondary = run.one(ROLE, f"{PKI_PREFIX}-server-role-consul-server-dc2").inputs
    names = ["consul-consul-server", "consul-consul-server.consul", "consul-consul-server.consul.svc"]
    assert own["allowedDomains"] == ["dc1.consul", *names]
    assert secondary == {**own, "name": "consul-server-dc2", "allowedDomains": ["dc2.consul", *names]}
    for level in ("server-l1", "server-l2"):
        sign = run.one(SIGN, f"{PKI_PREFIX}-{level}-signed").inputs
        assert sign["permittedDnsDomains"] == ["dc1.consul", *names, "dc2.consul", "localhost"], level
    assert run.outputs["secondaryServerIssuePaths"] == {"dc2": "consul-dc1/server/pki_int2/issue/consul-server-dc2"}


def test_gateway_role_allows_only_its_domains(dev_run: ProgramRun) -> None:
    role = dev_run.one(ROLE, f"{PKI_PREFIX}-gateway-role").inputs
    assert role["allowedDomains"] == ["apps.secure-mesh.test"]
    expected_flags = {
        "allowSubdomains": True,
        "allowBareDomains": True,
        "allowLocalhost": False,
        "allowWildcardCertificates": False,
        "allowIpSans": False,
        "allowGlobDomains": False,
        "allowAnyName": False,
        "enforceHostnames": True,
        "serverFlag": True,
        "clientFlag": False,
        "generateLease": False,
        "ttl": "2592000",
        "maxTtl": "2592000",
    }
    assert {k: role[k] for k in expected_flags} == expected_flags


def test_webhook_role_allows_only_the_injector_names(dev_run: ProgramRun) -> None:
    role = dev_run.one(ROLE, f"{PKI_PREFIX}-webhook-role").inputs
    assert role["allowedDomains"] == DEV_WEBHOOK_NAMES
    expected_flags = {
        "allowSubdomains": False,
        "allowBareDomains": True,
        "allowLocalhost": False,
        "allowWildcardCertificates": False,
        "allowIpSans": False,
        "allowGlobDomains": False,
        "allowAnyName": False,
        "enforceHostnames": True,
        "serverFlag": True,
        "clientFlag": False,
    }
    assert {k: role[k] for k in expected_flags} == expected_flags


def test_prod_role_ttls_are_seconds_from_the_chain_leaf_ttls(prod_run: ProgramRun) -> None:
    role = prod_run.one(ROLE, f"{PKI_PREFIX}-server-role").inputs
    assert (role["ttl"], role["maxTtl"]) == ("604800", "2592000")  # 168h, 720h
    assert (role["keyType"], role["keyBits"]) == ("ec", 384)
    assert role["allowedDomains"][0] == "eu-west-1.consul"


# --------------------------------------------------------------------------------------- protect


def test_prod_protects_mounts_and_ca_resources_dev_protects_nothing(dev_run: ProgramRun, prod_run: ProgramRun) -> None:
    must_protect = (MOUNT, CSR, SIGN, SET_SIGNED, ISSUER, DEFAULT_ISSUER, KMS_SIGNED, ROOT_CERT)
    prod = [r for r in pki_resources(prod_run) if r.type in must_protect]
    assert len(prod) == 8 + 7 + 3 + 7 + 7 + 7 + 4  # 8 mounts: 7 CAs and Consul's intermediate
    assert [r.name for r in prod if not r.protect] == []
    assert [r.name for r in pki_resources(dev_run) if r.protect] == []


def test_security_inputs_are_plain_values_in_preview() -> None:
    run = run_program(load_stack_config("dev"), preview=True)
    role = run.one(ROLE, f"{PKI_PREFIX}-server-role")
    assert role.inputs["allowedDomains"] == DEV_SERVER_DOMAINS and role.inputs["maxTtl"] == "2592000"
    sign = run.one(SIGN, f"{PKI_PREFIX}-connect-l1-signed")
    assert (sign.inputs["maxPathLength"], sign.inputs["permittedDnsDomains"]) == (2, ["consul"])
