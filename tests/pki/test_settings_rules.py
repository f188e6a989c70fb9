"""The settings rules the PKI stands on: the TTL cascade, custody fields, key sizes (with key-path errors)."""

from __future__ import annotations

from typing import Any

import pytest

from secure_mesh.layout import Layout
from secure_mesh.pki.plan import build_plan, level_path_length, required_root_path_length
from secure_mesh.settings import ChainName, SettingsError, load_settings
from tests.harness import deep_merge, load_stack_config


def _settings(pki: dict[str, Any], base: str = "dev") -> Any:
    return load_settings(deep_merge(load_stack_config(base), {"pki": pki}))


def _problems(pki: dict[str, Any], base: str = "dev") -> dict[str, str]:
    with pytest.raises(SettingsError) as raised:
        _settings(pki, base)
    return {p.path: p.message for p in raised.value.problems}


@pytest.mark.parametrize(
    ("pki", "path", "fragment"),
    [
        ({"rootTtl": "17000h"}, "pki.chains.server.intermediateTtls[0]", "shorter than pki.rootTtl"),
        (
            {"chains": {"server": {"levels": 2, "intermediateTtls": ["26280h", "26280h"]}}},
            "pki.chains.server.intermediateTtls[1]",
            "shorter than pki.chains.server.intermediateTtls[0]",
        ),
        (
            {"chains": {"gateway": {"levels": 1, "intermediateTtls": ["700h"]}}},
            "pki.chains.gateway.leafMaxTtl",
            "shorter than pki.chains.gateway.intermediateTtls[0]",
        ),
        (
            {"consulIntermediateTtl": "26280h"},
            "pki.consulIntermediateTtl",
            "shorter than pki.chains.connect.intermediateTtls[1]",
        ),
        (
            {"chains": {"server": {"levels": 3, "intermediateTtls": ["43800h"]}}},
            "pki.chains.server.intermediateTtls",
            "one TTL per level",
        ),
        ({"chains": {"server": {"leafTtl": "721h"}}}, "pki.chains.server.leafTtl", "must not exceed leafMaxTtl"),
        ({"keyType": "ec", "keyBits": 521}, "pki.keyBits", "allowed: 256, 384"),
        (
            {"rootCrlUrls": ["http://pki.example.com/root.crl"]},
            "pki.rootCrlUrls",
            "is only used with an offline root (rootCustody 'external' or 'aws-kms')",
        ),
        (
            {"rootIssuerUrls": ["http://pki.example.com/root.crt"]},
            "pki.rootIssuerUrls",
            "a root in Vault publishes its CRL and certificate at the root mount's own URLs",
        ),
        ({"rootCrlUrls": ["ftp://pki.example.com/root.crl"]}, "pki.rootCrlUrls[0]", "is not an http(s) URL"),
        ({"rootCustody": "aws-kms"}, "pki.awsKms", "is required with rootCustody 'aws-kms'"),
        (
            {"rootCustody": "aws-kms", "awsKms": {"keyId": "k", "region": "eu-west-1"}},
            "pki.awsKms.rootCertificatePem",
            "root-ca init",
        ),
        ({"awsKms": {"keyId": "k", "region": "eu-west-1"}}, "pki.awsKms", "only used with rootCustody 'aws-kms'"),
        (
            {
                "rootCustody": "external",
                "external": {
                    "signedIntermediates": {"server": load_stack_config("prod")["pki"]["awsKms"]["rootCertificatePem"]}
                },
            },
            "pki.external.rootCertificatePem",
            "is required once signedIntermediates are given",
        ),
    ],
)
def test_pki_rules_name_the_key_path(pki: dict[str, Any], path: str, fragment: str) -> None:
    problems = _problems(pki)
    assert path in problems, f"expected a problem at {path}; got {problems}"
    assert fragment in problems[path]


def test_prod_must_not_keep_the_root_in_vault() -> None:
    problems = _problems({"rootCustody": "vault", "awsKms": None}, base="prod")
    assert "use 'external' or 'aws-kms' in prod" in problems["pki.rootCustody"]


def test_default_chain_ttls_cascade_strictly() -> None:
    settings = _settings({"chains": {"server": {"levels": 3}}})
    plan = build_plan(settings, Layout(settings))
    ttls = [level.ttl_seconds for level in plan.chains[ChainName.SERVER]]
    assert ttls == [63072000, 47304000, 39420000]  # 17520h > 13140h > 10950h
    assert plan.root is not None and plan.root.ttl_seconds > ttls[0]
    server_role = next(r for r in plan.roles if r.chain is ChainName.SERVER)
    assert int(server_role.max_ttl) < ttls[-1]
    for mount in plan.mounts:
        assert mount.max_lease_ttl_seconds >= mount.ca_ttl_seconds, mount.path


def test_path_lengths_leave_room_for_every_level_and_consuls_intermediate() -> None:
    assert [level_path_length(ChainName.CONNECT, level, 3) for level in (1, 2, 3)] == [3, 2, 1]
    assert [level_path_length(ChainName.SERVER, level, 3) for level in (1, 2, 3)] == [2, 1, 0]
    settings = _settings({"chains": {"connect": {"levels": 3}}})
    assert required_root_path_length(settings) == 4


@pytest.mark.parametrize("chain", ["server", "connect", "gateway", "webhook"])
def test_prod_refuses_a_level_1_longer_than_two_years(chain: str) -> None:
    levels = 1 if chain == "webhook" else 2
    ttls = ["17521h", "13140h"][:levels]
    problems = _problems({"chains": {chain: {"levels": levels, "intermediateTtls": ttls}}}, base="prod")
    key = f"pki.chains.{chain}.intermediateTtls[0]"
    assert problems[key] == (
        "'17521h' is longer than a production level-1 intermediate may live (at most 17520h, two years): the "
        "offline root signs level 1 rarely, so a compromised one must expire soon"
    )
    assert list(problems) == [key]


def test_prod_accepts_exactly_two_years_and_dev_accepts_more() -> None:
    prod = _settings({"chains": {"server": {"levels": 2, "intermediateTtls": ["17520h", "13140h"]}}}, base="prod")
    assert prod.pki.chains.server.intermediate_ttls == ["17520h", "13140h"]
    dev = _settings({"chains": {"server": {"levels": 2, "intermediateTtls": ["43800h", "26280h"]}}})
    assert dev.pki.chains.server.intermediate_ttls == ["43800h", "26280h"]


@pytest.mark.parametrize("key", ["rootCrlUrls", "rootIssuerUrls"])
def test_prod_with_an_offline_root_must_publish_its_crl_and_certificate(key: str) -> None:
    problems = _problems({key: []}, base="prod")
    assert list(problems) == [f"pki.{key}"]
    assert problems[f"pki.{key}"].startswith("is required in prod with an offline root, so a level-1 CA can be revoked")


def test_the_prod_stack_publishes_the_roots_crl_and_certificate() -> None:
    settings = _settings({}, base="prod")
    assert settings.pki.root_crl_urls == ["https://pki.example.com/secure-mesh/root.crl"]
    assert settings.pki.root_issuer_urls == ["https://pki.example.com/secure-mesh/root.crt"]


def test_prod_root_urls_must_be_https_like_every_url_setting() -> None:
    problems = _problems({"rootCrlUrls": ["http://pki.example.com/root.crl"]}, base="prod")
    assert list(problems) == ["pki.rootCrlUrls[0]"]


@pytest.mark.parametrize(
    ("consul_intermediate", "threshold", "allowed"),
    [
        # half = 4 days + 2 s: 4 days is below it (accepted), also with a day of 86,401 s
        ("192h4s", 4, None),
        # half = exactly 4 days: a threshold equal to half is refused (the leader renews only past half)
        ("192h", 4, "allowed: 1 to 3"),
        # half = 4 days + 1 s: the largest threshold below it is 4 (not 3, not 5)
        ("192h2s", 5, "allowed: 1 to 4"),
        # half = 1 day + 1 s: one day is below it
        ("48h2s", 2, "allowed: 1 to 1"),
        # half = exactly 1 day: no whole day is below it
        ("48h", 1, "allowed: none; raise pki.consulIntermediateTtl or set pki.expiryCheck.enabled false"),
    ],
)
def test_the_expiry_threshold_stays_below_half_of_the_consul_intermediate(
    consul_intermediate: str, threshold: int, allowed: str | None
) -> None:
    """Boundaries of the rule in consistency.py ``_expiry_threshold``, whole message."""
    override = {
        "pki": {
            "consulIntermediateTtl": consul_intermediate,
            "chains": {"connect": {"leafTtl": "1h"}},  # keeps Consul's 3 × leaf rule out of the way
            "expiryCheck": {"thresholdDays": threshold},
        }
    }
    config = deep_merge(load_stack_config("dev"), override)
    key = "pki.expiryCheck.thresholdDays"
    if allowed is None:
        load_settings(config)
        return
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    problems = [p.message for p in caught.value.problems if p.path == key]
    assert problems == [
        f"{threshold} is not below half of pki.consulIntermediateTtl ('{consul_intermediate}'), which Consul renews "
        f"at half life, so every run would fail; {allowed}"
    ]


@pytest.mark.parametrize(
    ("stack", "key", "chain", "levels"),
    [
        # two levels under an offline root: the deepest is signed inside Vault by level 1
        ("prod", "serverTlsGeneration", "server", 2),
        ("prod", "connectRootGeneration", "connect", 2),
        # one level under a root Vault holds: Vault signs it too
        ("dev", "serverTlsGeneration", "server", 1),
        ("dev", "connectRootGeneration", "connect", 1),
    ],
)
def test_a_generation_is_accepted_wherever_vault_signs_the_rotated_ca(
    stack: str, key: str, chain: str, levels: int
) -> None:
    ttls = ["17520h", "13140h"][:levels]
    config = deep_merge(
        load_stack_config(stack),
        {
            "pki": {"chains": {chain: {"levels": levels, "intermediateTtls": ttls}}},
            "consul": {"address": "https://localhost:8501"},
            "rotation": {key: 2},
        },
    )
    settings = load_settings(config)
    assert settings.rotation.model_dump(by_alias=True)[key] == 2
    assert settings.pki.chains.by_name(ChainName(chain)).levels == levels
