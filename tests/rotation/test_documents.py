"""Pure layer of day-2 operations: the version step rule, the settings rules, the Job and its Vault policy."""

from __future__ import annotations

from typing import Any

import pytest

from secure_mesh.layout import Layout
from secure_mesh.rotation.documents import (
    RotationJobArgs,
    RotationVersionError,
    bootstrap_token_job,
    check_recorded_step,
    check_version_step,
    server_restart_rules,
)
from secure_mesh.rotation.plan import (
    RotationNames,
    bootstrap_token_job_args,
    bootstrap_token_rotator_policy,
    gossip_rotator_policy,
    stack_bootstrap_token_job,
)
from secure_mesh.rotation.plan import stack_gossip_job as gossip_job
from secure_mesh.settings import SettingsError, load_settings
from tests.harness import deep_merge, load_stack_config

KEY = "rotation.gossipKeyVersion"


@pytest.mark.parametrize(("deployed", "requested"), [(None, 1), (None, 7), (1, 1), (1, 2), (5, 5), (5, 6), (2.0, 3)])
def test_the_same_version_or_one_more_is_accepted(deployed: Any, requested: int) -> None:
    assert check_version_step(KEY, deployed, requested) == requested


@pytest.mark.parametrize(
    ("deployed", "requested", "text"),
    [
        (2, 1, "RotationVersionError: secure-mesh:rotation.gossipKeyVersion: 1 is lower than the deployed version 2; "
         "a rotation cannot be undone by lowering its version (allowed: 2 or 3)"),
        (1, 3, "RotationVersionError: secure-mesh:rotation.gossipKeyVersion: 3 skips version(s) 2..2 after the "
         "deployed version 1; raise it by one per `pulumi up` (allowed: 1 or 2)"),
        ("2", 2, "RotationVersionError: secure-mesh:rotation.gossipKeyVersion: the deployed version '2' is not an "
         "integer"),
        (True, 1, "the deployed version True is not an integer"),
        (1.5, 2, "the deployed version 1.5 is not an integer"),
    ],
)
def test_lowering_skipping_or_a_garbled_record_is_refused(deployed: Any, requested: int, text: str) -> None:
    with pytest.raises(RotationVersionError) as caught:
        check_version_step(KEY, deployed, requested)
    assert text in str(caught.value)


@pytest.mark.parametrize(
    ("record", "requested"),
    [(None, 5), ({}, 5), ({"bootstrapTokenVersion": 9}, 5), ({"gossipKeyVersion": 4}, 5)],
    ids=["never-deployed", "empty-record", "another-key-only", "one-step-up"],
)
def test_a_version_is_checked_against_its_own_key_in_the_record(record: Any, requested: int) -> None:
    assert check_recorded_step("gossipKeyVersion", record, requested) == requested


def test_a_recorded_version_is_refused_under_its_key() -> None:
    with pytest.raises(RotationVersionError) as caught:
        check_recorded_step("serverTlsGeneration", {"serverTlsGeneration": 3, "gossipKeyVersion": 1}, 1)
    assert "secure-mesh:rotation.serverTlsGeneration: 1 is lower than the deployed version 3" in str(caught.value)


def settings_with(override: dict[str, Any]) -> Any:
    return load_settings(deep_merge(load_stack_config("dev"), override))


@pytest.mark.parametrize(
    ("override", "path", "fragment"),
    [
        ({"rotation": {"gossipKeyVersion": 2}}, "rotation.gossipKeyVersion", "2 needs rotation.consulSecretsEngine"),
        ({"rotation": {"consulSecretsEngine": {"enabled": True}}}, "rotation.consulSecretsEngine.enabled",
         "needs consul.address"),
        (
            {"consul": {"address": "https://localhost:8501"},
             "rotation": {"consulSecretsEngine": {"enabled": True, "jobTtl": "31m"}}},
            "rotation.consulSecretsEngine.jobTtl",
            "'31m' is longer than rotation.consulSecretsEngine.jobMaxTtl ('30m')",
        ),
        (
            {"consul": {"address": "https://localhost:8501"}, "vault": {"placement": "external"},
             "rotation": {"consulSecretsEngine": {"enabled": True}}},
            "rotation.consulSecretsEngine.consulAddress",
            "is required with an external Vault",
        ),
        ({"rotation": {"gossipKeyVersion": 0}}, "rotation.gossipKeyVersion", ""),
        (
            {"rotation": {"bootstrapTokenVersion": 2}},
            "rotation.bootstrapTokenVersion",
            "2 needs rotation.consulSecretsEngine.enabled: the rotation Job authenticates to Consul with a "
            "short-lived token from Vault's Consul secrets engine, never the bootstrap token",
        ),
        ({"rotation": {"bootstrapTokenVersion": 0}}, "rotation.bootstrapTokenVersion", ""),
        ({"rotation": {"bootstrapTokenVersion": 10000}}, "rotation.bootstrapTokenVersion", ""),
    ],
)
def test_bad_rotation_settings_name_their_key(override: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_with(override)
    problems = [p for p in caught.value.problems if p.path == path]
    assert problems, caught.value.paths
    assert fragment in problems[0].message


def test_the_engine_with_its_ttls_at_the_boundary_is_accepted() -> None:
    settings = settings_with(
        {
            "consul": {"address": "https://localhost:8501"},
            "rotation": {"gossipKeyVersion": 2, "consulSecretsEngine": {"enabled": True, "jobTtl": "30m"}},
        }
    )
    assert settings.rotation.gossip_key_version == 2


def test_the_gossip_job_whole_document() -> None:
    layout = Layout(settings_with({"consul": {"address": "https://localhost:8501"},
                                   "rotation": {"consulSecretsEngine": {"enabled": True}}}))
    restricted = {
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    labels = {"app.kubernetes.io/name": "gossip-rotate", "secure-mesh/rotation-version": "4"}
    env = {
        "TARGET_VERSION": "4",
        "VAULT_ADDR": "https://vault.vault.svc.cluster.local:8200",
        "VAULT_AUTH_PATH": "auth/kubernetes-dc1",
        "VAULT_ROLE": "consul-consul-gossip-rotator",
        "SA_TOKEN_FILE": "/var/run/secrets/rotation/token",
        "CREDS_PATH": "consul/acl/creds/gossip-rotator",
        "KV_MOUNT": "consul/kv",
        "KV_CURRENT": "consul/gossip",
        "KV_NEXT": "consul/gossip-next",
        "KV_FIELD": "key",
        "CONSUL_HTTP_ADDR": "https://consul-consul-server.consul.svc:8501",
        "CONSUL_CACERT": "/rotation/consul-ca.pem",
        "WAIT_SECONDS": "300",
        "POLL_SECONDS": "5",
        "CALL_SECONDS": "30",
        "PATH": "/tools:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "VAULT_CACERT": "/vault/tls/tls.crt",  # the dev stack pins Vault's CA (vault.tls.caCertPem)
    }
    assert gossip_job(RotationNames(layout), 4) == {
        "metadata": {
            "name": "gossip-rotate-v4",
            "namespace": "consul",
            "labels": labels,
            "annotations": {"pulumi.com/replaceUnready": "true"},
        },
        "spec": {
            "backoffLimit": 1,
            "activeDeadlineSeconds": 600,
            "template": {
                "metadata": {"labels": labels, "annotations": {"consul.hashicorp.com/connect-inject": "false"}},
                "spec": {
                    "serviceAccountName": "consul-consul-gossip-rotator",
                    "automountServiceAccountToken": False,
                    "restartPolicy": "Never",
                    "initContainers": [
                        {
                            "name": "vault-cli",
                            "image": "hashicorp/vault:1.20.1",
                            "command": ["cp", "/bin/vault", "/tools/vault"],
                            "securityContext": restricted,
                            "volumeMounts": [{"name": "tools", "mountPath": "/tools"}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "rotate",
                            "image": "hashicorp/consul:2.0.3",
                            "command": ["/bin/sh", "/rotation/gossip-rotate.sh"],
                            "env": [{"name": k, "value": v} for k, v in env.items()],
                            "securityContext": restricted,
                            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                            "volumeMounts": [
                                {"name": "tools", "mountPath": "/tools", "readOnly": True},
                                {"name": "script", "mountPath": "/rotation", "readOnly": True},
                                {"name": "token", "mountPath": "/var/run/secrets/rotation", "readOnly": True},
                                {"name": "vault-ca", "mountPath": "/vault/tls", "readOnly": True},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "tools", "emptyDir": {"sizeLimit": "256Mi"}},
                        {"name": "script", "configMap": {"name": "gossip-rotate-v4"}},
                        {
                            "name": "token",
                            "projected": {
                                "sources": [
                                    {
                                        "serviceAccountToken": {
                                            "path": "token",
                                            "audience": "vault",
                                            "expirationSeconds": 600,
                                        }
                                    }
                                ]
                            },
                        },
                        {"name": "vault-ca", "secret": {"secretName": "consul-consul-vault-ca"}},
                    ],
                },
            },
        },
    }


def test_the_jobs_vault_policy_grants_only_what_the_script_does() -> None:
    layout = Layout(settings_with({}))
    assert gossip_rotator_policy(RotationNames(layout)).paths == {
        "auth/token/lookup-self": ["read"],
        "auth/token/renew-self": ["update"],
        "consul/acl/creds/gossip-rotator": ["read"],
        "consul/kv/data/consul/gossip": ["create", "read", "update"],
        "consul/kv/data/consul/gossip-next": ["read"],
    }


def test_production_rotation_runs_the_vault_cli_only_by_digest() -> None:
    prod = load_stack_config("prod")
    rotating = {
        "consul": {"address": "https://consul.example.com:8501"},
        "rotation": {
            "gossipKeyVersion": 2,
            "consulSecretsEngine": {"enabled": True, "consulAddress": "consul.example.com:8501"},
        },
    }
    config = deep_merge(prod, rotating)
    config["images"] = {k: v for k, v in config["images"].items() if k != "vaultAgent"}
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert "images.vaultAgent" in caught.value.paths
    pinned = load_settings(deep_merge(prod, rotating))
    job = gossip_job(RotationNames(Layout(pinned)), 2)["spec"]["template"]["spec"]
    assert job["initContainers"][0]["image"] == prod["images"]["vaultAgent"]
    assert job["containers"][0]["image"] == prod["images"]["consul"]


def engine_layout(**override: Any) -> Layout:
    return Layout(
        settings_with(
            deep_merge(
                {
                    "consul": {"address": "https://localhost:8501"},
                    "rotation": {"consulSecretsEngine": {"enabled": True}},
                },
                override,
            )
        )
    )


def test_the_bootstrap_token_job_is_the_gossip_jobs_shape_plus_what_restarting_the_servers_needs() -> None:
    """Whole documents: every difference from the gossip Job is listed here, so nothing else can drift."""
    names = RotationNames(engine_layout())
    gossip, token = gossip_job(names, 4), stack_bootstrap_token_job(names, 4)
    labels = {"app.kubernetes.io/name": "bootstrap-token-rotate", "secure-mesh/rotation-version": "4"}
    expected = __import__("copy").deepcopy(gossip)
    expected["metadata"].update(name="bootstrap-token-rotate-v4", labels=labels)
    spec = expected["spec"]
    spec["activeDeadlineSeconds"] = 1200  # the roll: 900 s plus ten calls, within the acl-rotator max TTL (30m)
    spec["template"]["metadata"]["labels"] = labels
    pod = spec["template"]["spec"]
    pod["serviceAccountName"] = "consul-consul-bootstrap-token-rotator"
    container = pod["containers"][0]
    container["command"] = ["/bin/sh", "/rotation/token-rotate.sh"]
    env = {e["name"]: e["value"] for e in container["env"]}
    env.update(
        VAULT_ROLE="consul-consul-bootstrap-token-rotator",
        CREDS_PATH="consul/acl/creds/acl-rotator",
        KV_CURRENT="consul/bootstrap-token",
        KV_NEXT="consul/bootstrap-token-next",
        KV_FIELD="token",
    )
    vault_ca = env.pop("VAULT_CACERT")
    env.update(
        JOB_NAME="bootstrap-token-rotate-v4",
        TOKEN_POLICY="global-management",
        NAMESPACE="consul",
        STATEFULSET="consul-consul-server",
        ROLL_ANNOTATION="secure-mesh/bootstrap-token-version",
        ROLLOUT_SECONDS="900",
        KUBE_API="https://kubernetes.default.svc",
        KUBE_TOKEN_FILE="/var/run/secrets/kubernetes-api/token",
        KUBE_CA_FILE="/var/run/secrets/kubernetes-api/ca.crt",
        VAULT_CACERT=vault_ca,
    )
    container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    container["volumeMounts"].insert(
        3, {"name": "kubernetes-api", "mountPath": "/var/run/secrets/kubernetes-api", "readOnly": True}
    )
    pod["volumes"][1] = {"name": "script", "configMap": {"name": "bootstrap-token-rotate-v4"}}
    pod["volumes"].insert(
        3,
        {
            "name": "kubernetes-api",
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": 600}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                ]
            },
        },
    )
    assert token == expected


def test_the_token_jobs_vault_policy_and_kubernetes_role_grant_only_what_the_script_does() -> None:
    names = RotationNames(engine_layout())
    document = bootstrap_token_rotator_policy(names)
    assert document.name == "consul-dc1-bootstrap-token-rotator"
    assert document.paths == {
        "auth/token/lookup-self": ["read"],
        "auth/token/renew-self": ["update"],
        "consul/acl/creds/acl-rotator": ["read"],
        "consul/kv/data/consul/bootstrap-token": ["create", "read", "update"],
        "consul/kv/data/consul/bootstrap-token-next": ["read"],
    }
    assert server_restart_rules(names.server_statefulset) == [
        {
            "apiGroups": ["apps"],
            "resources": ["statefulsets"],
            "resourceNames": ["consul-consul-server"],
            "verbs": ["get", "patch"],
        }
    ]


def test_the_token_job_names_follow_the_release_and_the_kv_mount() -> None:
    names = RotationNames(engine_layout(consul={"releaseName": "edge"}, vault={"mountPrefix": "mesh-east"}))
    args = bootstrap_token_job_args(names)
    assert (args.service_account, args.server_statefulset) == (
        "edge-consul-bootstrap-token-rotator",
        "edge-consul-server",
    )
    assert (args.kv_mount, args.kv_current, args.kv_next) == (
        "mesh-east/kv",
        "consul/bootstrap-token",
        "consul/bootstrap-token-next",
    )
    assert args.creds_path == "mesh-east/acl/creds/acl-rotator"


def test_a_token_job_without_the_statefulset_is_refused() -> None:
    args = bootstrap_token_job_args(RotationNames(engine_layout()))
    bare = RotationJobArgs(**{**args.__dict__, "server_statefulset": None})
    with pytest.raises(ValueError, match="needs server_statefulset"):
        bootstrap_token_job(bare, 2)
