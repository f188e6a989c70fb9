"""The settings rules the PKI stands on: the TTL cascade, custody fields, key sizes (with key-path errors)."""

from __future__ import annotations

from typing import Any

import pytest

from components.layout import Layout
from components.pki.plan import build_plan, level_path_length, required_root_path_length
from components.settings import ChainName, SettingsError, load_settings
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
        ({"rootTtl": "40000h"}, "pki.chains.server.intermediateTtls[0]", "shorter than pki.rootTtl"),
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
    assert ttls == [157680000, 94608000, 63072000]  # 43800h > 26280h > 17520h
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
