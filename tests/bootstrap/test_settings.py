"""The bootstrap stack's settings: the checked-in stack loads; every bad value fails with its key path first."""

from __future__ import annotations

from typing import Any

import pytest

from secure_mesh_bootstrap.settings import BootstrapSettingsError, load_settings
from tests.bootstrap.runner import load_bootstrap_config, run_bootstrap_expecting_failure
from tests.harness import deep_merge

PROD = load_bootstrap_config("prod")


def _problems(override: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(BootstrapSettingsError) as caught:
        load_settings(deep_merge(PROD, override))
    return {p.path: p.message for p in caught.value.problems}


def test_the_checked_in_stack_loads() -> None:
    settings = load_settings(PROD)
    assert settings.github.repository == "example-org/secure-mesh"
    assert settings.aws.account_id == "111122223333"
    assert settings.vault.namespace is None


@pytest.mark.parametrize(
    ("override", "path", "bad"),
    [
        ({"github": {"repository": "secure-mesh"}}, "github.repository", "'secure-mesh'"),
        ({"github": {"repository": "org/repo/extra"}}, "github.repository", "'org/repo/extra'"),
        ({"github": {"repository": "-org/repo"}}, "github.repository", "'-org/repo'"),
        ({"vault": {"address": "http://vault.prod.example.com:8200"}}, "vault.address", "'http://vault"),
        ({"vault": {"address": "https://vault.example.com:8200/v1/"}}, "vault.address", "'https://vault"),
        ({"vault": {"mountPrefix": "/consul"}}, "vault.mountPrefix", "'/consul'"),
        ({"vault": {"kubernetesAuthMount": "kubernetes/"}}, "vault.kubernetesAuthMount", "'kubernetes/'"),
        ({"vault": {"policyPrefix": "consul/eu"}}, "vault.policyPrefix", "'consul/eu'"),
        ({"aws": {"accountId": "11112222333"}}, "aws.accountId", "'11112222333'"),
        ({"aws": {"accountId": "1111222233334"}}, "aws.accountId", "'1111222233334'"),
        ({"aws": {"region": "europe-west1"}}, "aws.region", "'europe-west1'"),
        ({"aws": {"stateBucket": "Example_State"}}, "aws.stateBucket", "'Example_State'"),
        ({"aws": {"stateBucket": "ab"}}, "aws.stateBucket", "'ab'"),
        ({"aws": {"rootKeyArn": "alias/root"}}, "aws.rootKeyArn", "'alias/root'"),
        ({"aws": {"rootKeyArn": "arn:aws:kms:eu-west-1:111122223333:alias/root"}}, "aws.rootKeyArn", "alias/root'"),
        ({"aws": {"eksClusterName": "prod eu"}}, "aws.eksClusterName", "'prod eu'"),
    ],
)
def test_a_bad_value_names_its_key_path_the_value_and_what_is_allowed(
    override: dict[str, Any], path: str, bad: str
) -> None:
    problems = _problems(override)
    assert list(problems) == [path]
    assert bad in problems[path]
    assert "does not match ^" in problems[path], "the message must say what is allowed"


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:kms:eu-west-1:111122223333:key/0c7a3d0e-5b5e-4b8e-9d7e-3f2f4b9d1a11",
        "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/0c7a3d0e-5b5e-4b8e-9d7e-3f2f4b9d1a11",
    ],
)
def test_key_arns_of_every_kind_are_accepted(value: str) -> None:
    assert load_settings(deep_merge(PROD, {"aws": {"rootKeyArn": value}})).aws.root_key_arn == value


def test_a_snake_case_key_is_refused_with_the_camel_case_spelling() -> None:
    config = deep_merge(PROD, {})
    config["aws"]["account_id"] = config["aws"].pop("accountId")
    with pytest.raises(BootstrapSettingsError) as caught:
        load_settings(config)
    messages = {p.path: p.message for p in caught.value.problems}
    assert "did you mean 'accountId'?" in messages["aws.account_id"]
    assert messages["aws.accountId"].startswith("is required but missing")


def test_an_unknown_key_lists_the_allowed_keys() -> None:
    problems = _problems({"github": {"branch": "main"}})
    assert problems == {"github.branch": "unknown key; allowed keys here: repository"}


def test_every_problem_is_reported_at_once_with_the_namespace() -> None:
    with pytest.raises(BootstrapSettingsError) as caught:
        load_settings({"github": {"repository": "x"}, "aws": {}})
    assert caught.value.paths == [
        "github.repository",
        "vault",
        "aws.accountId",
        "aws.region",
        "aws.stateBucket",
        "aws.rootKeyArn",
        "aws.eksClusterName",
    ]
    assert "secure-mesh-bootstrap:aws.accountId: is required but missing" in str(caught.value)


def test_bad_settings_fail_before_any_resource_is_registered() -> None:
    error, registered = run_bootstrap_expecting_failure(deep_merge(PROD, {"vault": {"address": "http://vault:8200"}}))
    assert isinstance(error, BootstrapSettingsError)
    assert error.paths == ["vault.address"]
    assert registered == []
